//! `command: deploy-job` and `redeploy-job`: one `POST /job/{id}/deploy` (or `/redeploy`) per
//! listed job, then a wait for each job's own deployment request.
//!
//! Each request is followed with the same [`Tracker`] logic as the batched deploy, twice:
//! - on the job's own `Status` (its `deployment_request_id` and `execution_id`), which tells how the
//!   job ended;
//! - on the environment's status, which tells when the request ended even if the job never ran in
//!   it (a `forceEvent` the job does not define: "the job won't be deployed"), and which the cancel
//!   acts on (the environment-level cancel only when the environment shows our request).
//!
//! A terminal state that may be the job's previous run (its `DEPLOYED`/`SUCCESS` from before the
//! POST) is never accepted without the request's own status, `GET /environment/deploymentStatus`.
//!
//! A job that fails (or has not finished at the timeout) is explained from the deployment log of
//! the execution its request ran in ([`crate::logs`]), as a service of `deploy` is.

use crate::api::ids::{self, Shape};
use crate::api::types::{
    EnvironmentStatus, EnvironmentStatuses, ServiceInfo, ServiceStatus, State, StateClass,
};
use crate::api::{Client, JobAction};
use crate::cadence::{Cadence, Read};
use crate::ci::Ci;
use crate::commands::{Session, deploy};
use crate::console::Console;
use crate::durations;
use crate::error::Error;
use crate::inputs::{Command, Config, InputError, JobEvent};
use crate::logs::{self, Failing};
use crate::plan::{self, Target};
use crate::report::{Report, RunResult, ServiceReport};
use crate::signal::Shutdown;
use crate::wait::{
    self, ChangeLog, End, Halt, Pacer, Progress, Tick, Tracker, Verdict, Watch, waiting_line,
};
use crate::{cancel, extra, preflight};

/// Polls granted to a job whose status lags the end of its request.
const PATIENCE: u8 = 2;

/// Runs `command: deploy-job` or `redeploy-job` (see the module docs).
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        deadline,
    } = session;
    let environment_id = config.environment_id.to_string();
    let id = environment_id.as_str();

    ci.begin_section("Plan");
    let (environment, services, baseline) = preflight::environment(client, shutdown, id).await?;
    let targets = targets(config, &services)?;
    let console = Console::new(config, &environment);
    ci.line(&headline(config, &targets, environment.name.as_deref(), id));
    ci.line(plan::describe(&targets).trim_end());
    let (commit, commit_warning) = plan::commit_notes(config, &targets);
    if let Some(line) = commit {
        ci.line(&line);
    }
    if let Some(warning) = commit_warning {
        ci.warning(&warning);
    }
    report.services = targets.iter().map(ServiceReport::new).collect();
    report.console_url = console.as_ref().map(|c| c.deployment(None));
    ci.end_section();

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    let mut jobs = submit(config, client, ci, shutdown, &targets, &baseline, report).await?;
    if jobs.is_empty() && report.reason.is_some() {
        // The first POST's answer never came (a signal, the deadline): nothing to follow.
        return Ok(());
    }
    if let Some(console) = &console {
        for job in &jobs {
            let link = console.service(&job.target.id, None);
            ci.line(&format!(
                "Follow {} in the console: {link}",
                job.target.name
            ));
        }
    }
    if !config.wait && shutdown.received().is_none() {
        report.result = RunResult::Queued;
        record(&jobs, report, console.as_ref());
        return Ok(());
    }

    ci.begin_section("Waiting for the job(s)");
    let mut changes = ChangeLog::new(&baseline, &targets);
    let mut pacer = Pacer::new(Watch::new(client, id, config, deadline), shutdown);
    let followed = follow(
        &mut pacer,
        &mut jobs,
        config.job_event,
        &mut changes,
        ci,
        &baseline.environment,
    )
    .await;
    if let (Err(_), Some(missed)) = (&followed, pacer.missed()) {
        ci.progress(&missed);
    }
    let end = End::from_wait(followed);
    ci.end_section();

    let scope = cancel::Scope {
        config,
        client,
        environment_id: id,
    };
    let unsettled: Vec<&Tracker> = jobs
        .iter()
        .filter(|job| job.verdict.is_none())
        .map(|job| &job.env)
        .collect();
    let stopped = match end {
        Ok(End::Finished(())) => {
            conclude(&jobs, report);
            None
        }
        Ok(End::Stopped(stop)) => {
            cancel::after_stop(stop, scope, ci, shutdown, report, &unsettled).await;
            Some(stop)
        }
        Err(error) => {
            record(&jobs, report, console.as_ref());
            cancel::after_failure(&error, scope, ci, shutdown, report, &unsettled).await;
            return Err(error.into());
        }
    };
    for (job, service) in jobs.iter().zip(report.services.iter_mut()) {
        let observed = durations::service_seconds(None, changes.took(&job.target.id));
        service.duration_seconds = job.seconds.or(observed);
    }
    record(&jobs, report, console.as_ref());
    // Why the jobs that failed (or did not finish) did, from the log of the execution each ran in.
    if matches!(report.result, RunResult::Failure | RunResult::Timeout) {
        let extra = extra::client(client, deadline, stopped);
        let failing = failing(&jobs);
        let console = console.as_ref();
        logs::explain(extra, shutdown, ci, config, id, console, &failing, report).await;
    }
    Ok(())
}

/// The jobs that failed, or had not finished when the run stopped.
fn failing(jobs: &[Job]) -> Vec<Failing> {
    jobs.iter()
        .filter(|job| {
            job.verdict
                .as_ref()
                .is_none_or(|v| v.result == RunResult::Failure)
        })
        .map(|job| Failing {
            id: job.target.id.clone(),
            name: job.target.name.clone(),
            state: job.state.clone(),
            execution_id: job.own.execution_id().map(str::to_string),
            execution: job
                .env
                .execution_id()
                .or(job.own.execution_id())
                .map(str::to_string),
        })
        .collect()
}

/// `Deploying 2 job(s) in environment staging (…), event STOP:`
fn headline(config: &Config, targets: &[Target], name: Option<&str>, id: &str) -> String {
    let verb = match config.command {
        Command::RedeployJob => "Redeploying",
        _ => "Deploying",
    };
    let event = config
        .job_event
        .map(|e| format!(", event {}", e.as_str()))
        .unwrap_or_default();
    format!(
        "{verb} {} job(s) in environment {} ({id}){event}:",
        targets.len(),
        name.unwrap_or("?")
    )
}

/// Resolves the listed jobs; `deploy-job` also picks each one's version field from its source.
/// Every error here is bad input, found before anything is sent.
fn targets(config: &Config, services: &[ServiceInfo]) -> Result<Vec<Target>, InputError> {
    plan::resolve(&config.entries, services)?
        .iter()
        .map(|(entry, service)| match config.command {
            Command::DeployJob => plan::target(config, entry, service),
            _ => Ok(Target::bare(entry, service)),
        })
        .collect()
}

/// Which of a job's two views of its request.
#[derive(Debug, Clone, Copy)]
enum View {
    Own,
    Environment,
}

/// One listed job and its deployment request, followed.
#[derive(Debug)]
struct Job {
    target: Target,
    /// Our request, on the job's own status.
    own: Tracker,
    /// Our request, on the environment's status.
    env: Tracker,
    /// The job showed our request in progress at least once.
    ran: bool,
    /// The job's latest state that is ours (not its previous run's).
    state: Option<String>,
    verdict: Option<Verdict>,
    patience: u8,
    /// Qovery's duration of our run, once the job's status showed it finished.
    seconds: Option<u64>,
    /// The request ended (or seemed to) but the job is not judged yet: look again next tick.
    unsettled: bool,
}

/// The execution a job deploy answer says started at once: Qovery's console reads a `null`
/// `deployment_request_id` as "deploying now" (not queued) and follows the answer's
/// `execution_id` (notes §13, "Jobs"). `None` when the answer has a request id, or no execution id
/// that differs from the job's previous one.
fn started_now(
    accepted: &ServiceStatus,
    baseline: &EnvironmentStatuses,
    job_id: &str,
) -> Option<String> {
    if accepted.deployment_request_id.is_some() {
        return None;
    }
    let previous = baseline
        .service(job_id)
        .and_then(|s| s.execution_id.as_deref());
    accepted
        .execution_id
        .clone()
        .filter(|e| !e.is_empty() && previous.is_none_or(|p| !p.eq_ignore_ascii_case(e)))
}

impl Job {
    /// `execution`: the execution the deploy answer says is already running ours ([`started_now`]).
    fn new(
        target: &Target,
        request_id: Option<String>,
        execution: Option<String>,
        baseline: &EnvironmentStatuses,
    ) -> Job {
        let job_execution = baseline
            .service(&target.id)
            .and_then(|s| s.execution_id.clone());
        let env_execution = baseline.environment.last_deployment_id.clone();
        Job {
            target: target.clone(),
            own: Tracker::new(request_id.clone(), job_execution).with_execution(execution.clone()),
            env: Tracker::new(request_id, env_execution).with_execution(execution),
            ran: false,
            state: None,
            verdict: None,
            patience: PATIENCE,
            seconds: None,
            unsettled: false,
        }
    }

    fn waiting_key(&self) -> String {
        format!("{}/waiting", self.target.id)
    }

    fn request_label(&self) -> &str {
        self.own.request_id().unwrap_or("(no id returned)")
    }

    /// One tick: read this job's part of the statuses, confirm with the request's own status when
    /// the statuses alone cannot tell, and judge once the request ended.
    async fn tick(
        &mut self,
        pacer: &mut Pacer<'_>,
        statuses: &EnvironmentStatuses,
        event: Option<JobEvent>,
        changes: &mut ChangeLog,
        ci: &Ci,
    ) -> Result<(), Halt> {
        self.unsettled = false;
        let env_progress = self.env.observe(&statuses.environment);
        let Some(status) = statuses.service(&self.target.id) else {
            let line = format!(
                "{}: not in the environment's statuses yet",
                self.target.name
            );
            changes.line(ci, &self.waiting_key(), line);
            return Ok(());
        };
        let own_progress = self.own.observe(status);
        if matches!(own_progress, Progress::Running | Progress::Finished) {
            self.ran |= own_progress == Progress::Running;
            self.state = Some(status.state.to_string());
        }
        self.show(changes, ci, &own_progress, &env_progress, statuses, status);
        if own_progress == Progress::Finished {
            self.settle(event, status, &status.state);
            self.unsettled = self.verdict.is_none();
            return Ok(());
        }
        let Some(view) = self.to_confirm(&own_progress, &env_progress) else {
            return Ok(());
        };
        let tracker = match view {
            View::Own => &mut self.own,
            View::Environment => &mut self.env,
        };
        match wait::confirm(pacer, tracker, ci).await? {
            Some(state) if state.is_terminal() => {
                self.settle(event, status, &state);
                self.unsettled = self.verdict.is_none();
            }
            Some(state) => {
                let line = self.pending_line(&state, &env_progress, statuses);
                changes.line(ci, &self.waiting_key(), line);
            }
            // No answer: ask again next tick.
            None => self.unsettled = true,
        }
        Ok(())
    }

    /// Which view of our request needs the request's own status to be sure, if any.
    fn to_confirm(&self, own: &Progress, env: &Progress) -> Option<View> {
        match (own, env) {
            (Progress::Confirm, _) => Some(View::Own),
            // The job shows nothing of ours yet: has the request ended without running it?
            (Progress::Waiting { .. }, Progress::Finished | Progress::Confirm) => {
                Some(View::Environment)
            }
            _ => None,
        }
    }

    /// The request is not finished (`state`): who holds the environment, or where it stands.
    fn pending_line(
        &self,
        state: &State,
        env: &Progress,
        statuses: &EnvironmentStatuses,
    ) -> String {
        let line = match env {
            Progress::Waiting {
                holder: Some(holder),
            } => waiting_line(Some(holder), &statuses.environment.state),
            _ => format!("deployment request {} is {state}", self.request_label()),
        };
        format!("{}: {line}", self.target.name)
    }

    /// Our request ended (`request_state`): judge the job, or wait a little for a lagging status.
    fn settle(&mut self, event: Option<JobEvent>, status: &ServiceStatus, request_state: &State) {
        let patient = self.patience > 0;
        let (verdict, state) = if self.own.holds(status) {
            self.seconds = durations::service_seconds(Some(status), None);
            let verdict = judge_job(&self.target.name, event, status, patient);
            (verdict, &status.state)
        } else {
            (
                self.judge_request(event, request_state, patient),
                request_state,
            )
        };
        match verdict {
            Some(verdict) => {
                self.state = Some(state.to_string());
                self.verdict = Some(verdict);
            }
            None => self.patience = self.patience.saturating_sub(1),
        }
    }

    /// The request ended but the job's status does not show it: judge by the request's state.
    fn judge_request(
        &self,
        event: Option<JobEvent>,
        request_state: &State,
        patient: bool,
    ) -> Option<Verdict> {
        let name = &self.target.name;
        let request = self.request_label();
        match request_state.class() {
            StateClass::Failure => Some(failure(format!(
                "job {name}: deployment request {request} ended {request_state}"
            ))),
            StateClass::Canceled => Some(cancelled(format!(
                "job {name}: deployment request {request} was cancelled ({request_state})"
            ))),
            _ if self.ran => Some(success()),
            _ if patient => None,
            _ => Some(failure(format!(
                "job {name} did not run in deployment request {request} (it ended {request_state}){}",
                event
                    .map(|e| format!("; check that the job defines the {} event", e.as_str()))
                    .unwrap_or_default()
            ))),
        }
    }

    /// The job's log lines: waiting, or its state changes.
    fn show(
        &self,
        changes: &mut ChangeLog,
        ci: &Ci,
        own: &Progress,
        env: &Progress,
        statuses: &EnvironmentStatuses,
        status: &ServiceStatus,
    ) {
        let name = &self.target.name;
        match (own, env) {
            (Progress::Running | Progress::Finished, _) => {
                changes.state(ci, &self.target.id, name, status.state.as_str());
            }
            (Progress::Waiting { .. }, Progress::Waiting { holder }) => {
                let line = waiting_line(holder.as_deref(), &statuses.environment.state);
                changes.line(ci, &self.waiting_key(), format!("{name}: {line}"));
            }
            (Progress::Waiting { .. }, Progress::Running) => changes.line(
                ci,
                &self.waiting_key(),
                format!(
                    "{name}: deployment request {} is running (environment {})",
                    self.request_label(),
                    statuses.environment.state
                ),
            ),
            _ => {}
        }
    }
}

/// Sends one POST per job, in the listed order. A signal stops the sending (the wait then cancels
/// what was sent); a refused POST stops the run, leaving the requests already accepted to run.
async fn submit(
    config: &Config,
    client: &Client,
    ci: &Ci,
    shutdown: &mut Shutdown,
    targets: &[Target],
    baseline: &EnvironmentStatuses,
    report: &mut Report,
) -> Result<Vec<Job>, Error> {
    let mut jobs: Vec<Job> = Vec::with_capacity(targets.len());
    for (index, target) in targets.iter().enumerate() {
        if shutdown.received().is_some() {
            break;
        }
        let body = target.job_body();
        let action = match config.command {
            Command::RedeployJob => JobAction::Redeploy,
            _ => JobAction::Deploy(&body),
        };
        // A signal during the POST gives its answer a short grace (it names the request to
        // cancel), never more.
        let posted = deploy::post(
            shutdown,
            client.run_job(&target.id, action, config.job_event),
            report,
        )
        .await;
        let mut accepted = match posted {
            Ok(Some(accepted)) => accepted,
            // The answer never came (a signal, the deadline): the report says so; the requests
            // already accepted are followed (and cancelled) as usual.
            Ok(None) => {
                ci.warning(&format!(
                    "{}: {}",
                    target.name,
                    report.reason.as_deref().unwrap_or_default()
                ));
                break;
            }
            Err(error) => {
                warn_accepted(ci, &jobs);
                return Err(error);
            }
        };
        // Accepted: the request exists. An id of the wrong shape is dropped, never used in a path
        // or a link. A request id that was malformed (rather than `null`) does not say that the
        // job started at once: the job is then followed by its next new execution.
        let malformed_request = ids::take_malformed(
            "deployment request id",
            Shape::Uuid,
            &mut accepted.deployment_request_id,
        );
        if let Some(problem) = &malformed_request {
            ci.warning(&format!(
                "{}: Qovery accepted the job, but {problem}; it is followed by its new execution id instead",
                target.name
            ));
        }
        if let Some(problem) =
            ids::take_malformed("execution id", Shape::Execution, &mut accepted.execution_id)
        {
            ci.warning(&format!(
                "{}: Qovery accepted the job, but {problem}; it is not used",
                target.name
            ));
        }
        let request_id = accepted.deployment_request_id.clone();
        let execution =
            started_now(&accepted, baseline, &target.id).filter(|_| malformed_request.is_none());
        match (&request_id, &execution) {
            (None, Some(execution)) => ci.progress(&format!(
                "{}: deploying now, execution {execution} ({}Qovery answered without a deployment request id: the job was not queued)",
                target.name,
                Some(accepted.state.as_str()).filter(|s| !s.is_empty()).map(|s| format!("{s}; ")).unwrap_or_default()
            )),
            (None, None) => ci.warning(&format!(
                "{}: Qovery accepted the job without a deployment request id or a new execution id; it is followed by the next new execution",
                target.name
            )),
            (Some(request), _) => ci.progress(&format!(
                "{}: deployment request {request} accepted{}",
                target.name,
                deploy::shown_state(&accepted.state)
            )),
        }
        if let Some(service) = report.services.get_mut(index) {
            service.deployment_request_id = request_id.clone();
            service.state = Some(accepted.state.to_string());
        }
        report
            .deployment_request_ids
            .push(request_id.clone().unwrap_or_default());
        ci.hand_over(
            &config.environment_id.to_string(),
            &report.deployment_request_ids,
        );
        jobs.push(Job::new(target, request_id, execution, baseline));
    }
    Ok(jobs)
}

/// After a refused POST: the jobs already accepted keep running, and the user should know.
fn warn_accepted(ci: &Ci, jobs: &[Job]) {
    if jobs.is_empty() {
        return;
    }
    let accepted: Vec<String> = jobs
        .iter()
        .map(|job| format!("{} (request {})", job.target.name, job.request_label()))
        .collect();
    ci.warning(&format!(
        "already accepted and left running: {}; follow them in the Qovery console, or stop them with `command: cancel`",
        accepted.join(", ")
    ));
}

/// Polls until every job's request ended, the deadline passes or a signal arrives.
///
/// A tick reads the environment's small status ([`Cadence`]); when it changed (and on the first
/// tick), the statuses too (the jobs' own), and each job is looked at. A job whose end is not settled yet (a status lagging
/// its request, an unanswered confirmation) asks for the statuses on the next tick as well.
async fn follow(
    pacer: &mut Pacer<'_>,
    jobs: &mut [Job],
    event: Option<JobEvent>,
    changes: &mut ChangeLog,
    ci: &Ci,
    baseline: &EnvironmentStatus,
) -> Result<(), Halt> {
    let mut cadence = Cadence::new(baseline);
    // The first tick looks at the jobs themselves: where each request stands, for the log.
    cadence.want_services();
    loop {
        let read = cadence.next();
        let Some(tick) = pacer.tick(ci, read).await? else {
            pacer.pause().await?;
            continue;
        };
        let changed = cadence.saw(tick.environment(), read);
        let statuses = match tick {
            Tick::Statuses(statuses) => Some(statuses),
            Tick::Status(_) if changed => pacer.statuses(ci).await?.map(Box::new),
            Tick::Status(_) => None,
        };
        let Some(statuses) = statuses else {
            if changed {
                cadence.want_services();
            }
            pacer.pause().await?;
            continue;
        };
        // Read this tick: the next one need not read them again for this change.
        cadence.saw(&statuses.environment, Read::Statuses);
        for job in jobs.iter_mut().filter(|job| job.verdict.is_none()) {
            job.tick(pacer, &statuses, event, changes, ci).await?;
        }
        if jobs.iter().all(|job| job.verdict.is_some()) {
            return Ok(());
        }
        if jobs
            .iter()
            .any(|job| job.verdict.is_none() && job.unsettled)
        {
            cadence.want_services();
        }
        pacer.pause().await?;
    }
}

/// Whether a state is how a run for this event ends: `DEPLOYED` or `RESTARTED` for any event,
/// `STOPPED` for `STOP`, `DELETED` for `DELETE` (conventions, "Success of a job event").
fn ends_event(event: Option<JobEvent>, state: &State) -> bool {
    match state.as_str().to_ascii_uppercase().as_str() {
        "DEPLOYED" | "RESTARTED" => true,
        "STOPPED" => event == Some(JobEvent::Stop),
        "DELETED" => event == Some(JobEvent::Delete),
        _ => false,
    }
}

/// Judges a job status that shows our request: `status_details.status` `SUCCESS` with a state that
/// ends the event is success; `ERROR` or `*_ERROR` is failure; `CANCELED` is cancelled. `None` while
/// it has not settled (when `patient`).
fn judge_job(
    name: &str,
    event: Option<JobEvent>,
    status: &ServiceStatus,
    patient: bool,
) -> Option<Verdict> {
    let detail = status
        .status_details
        .as_ref()
        .and_then(|d| d.status.as_deref())
        .unwrap_or("none")
        .to_ascii_uppercase();
    let state = &status.state;
    match (detail.as_str(), state.class()) {
        ("ERROR", _) | (_, StateClass::Failure) => Some(failure(format!(
            "job {name} failed: {state} (status {detail})"
        ))),
        ("CANCELED", _) | (_, StateClass::Canceled) => Some(cancelled(format!(
            "job {name} was cancelled ({state}, status {detail})"
        ))),
        ("SUCCESS", StateClass::Success) if ends_event(event, state) => Some(success()),
        ("SUCCESS", StateClass::Success) => Some(failure(format!(
            "job {name} ended {state}, which is not how a {} run ends; check the job's events in the Qovery console",
            event.map_or("deploy", JobEvent::as_str)
        ))),
        _ if patient => None,
        _ => Some(failure(format!(
            "job {name}'s deployment request ended, but the job shows {state} (status {detail})"
        ))),
    }
}

fn success() -> Verdict {
    Verdict {
        result: RunResult::Success,
        reason: None,
        warning: None,
    }
}

fn failure(reason: String) -> Verdict {
    Verdict {
        result: RunResult::Failure,
        reason: Some(reason),
        warning: None,
    }
}

fn cancelled(reason: String) -> Verdict {
    Verdict {
        result: RunResult::Cancelled,
        reason: Some(reason),
        warning: None,
    }
}

/// Every job settled: a failure wins, then a cancel; else success.
fn conclude(jobs: &[Job], report: &mut Report) {
    let verdicts: Vec<&Verdict> = jobs.iter().filter_map(|job| job.verdict.as_ref()).collect();
    let worst = [RunResult::Failure, RunResult::Cancelled]
        .into_iter()
        .find(|result| verdicts.iter().any(|v| v.result == *result))
        .unwrap_or(RunResult::Success);
    let reasons: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.result == worst)
        .filter_map(|v| v.reason.as_deref())
        .collect();
    report.result = worst;
    report.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
}

/// The `state` output of several jobs: one state for the run, never a list (README, "Outputs"):
/// their state when they all agree, else the state of the first listed job that did not succeed
/// (the one `result` speaks of), else the first known one. Each job's own state is in `services`.
fn combined_state<'a>(jobs: &[Job], states: &[&'a str]) -> Option<&'a str> {
    let known = || states.iter().copied().filter(|s| !s.is_empty());
    let first = known().next()?;
    if known().all(|s| s == first) && states.iter().all(|s| !s.is_empty()) {
        return Some(first);
    }
    jobs.iter()
        .zip(states)
        .find(|(job, state)| {
            !state.is_empty()
                && job
                    .verdict
                    .as_ref()
                    .is_none_or(|v| v.result != RunResult::Success)
        })
        .map(|(_, state)| *state)
        .or(Some(first))
}

/// The outputs that come from the jobs: states and execution ids in listed order, the link.
fn record(jobs: &[Job], report: &mut Report, console: Option<&Console>) {
    for (job, service) in jobs.iter().zip(report.services.iter_mut()) {
        if job.state.is_some() {
            service.state.clone_from(&job.state);
        }
    }
    let states: Vec<&str> = report
        .services
        .iter()
        .take(jobs.len())
        .map(|s| s.state.as_deref().unwrap_or_default())
        .collect();
    report.state = combined_state(jobs, &states)
        .map(str::to_string)
        .or(report.state.take());
    let executions: Vec<&str> = jobs
        .iter()
        .map(|job| job.own.execution_id().unwrap_or_default())
        .collect();
    if executions.iter().any(|e| !e.is_empty()) {
        report.execution_ids = executions.into_iter().map(str::to_string).collect();
    }
    if let (Some(console), [job]) = (console, jobs) {
        report.console_url = Some(console.service(&job.target.id, job.own.execution_id()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, detail: &str) -> ServiceStatus {
        serde_json::from_value(serde_json::json!({
            "id": "j", "state": state,
            "status_details": {"action": "DEPLOY", "status": detail, "sub_action": "NONE"}
        }))
        .unwrap()
    }

    fn result(event: Option<JobEvent>, state: &str, detail: &str) -> Option<RunResult> {
        judge_job("migrate", event, &status(state, detail), true).map(|v| v.result)
    }

    #[test]
    fn a_job_succeeds_on_success_and_the_state_its_event_ends_in() {
        assert_eq!(
            result(None, "DEPLOYED", "SUCCESS"),
            Some(RunResult::Success)
        );
        assert_eq!(
            result(Some(JobEvent::Cron), "RESTARTED", "SUCCESS"),
            Some(RunResult::Success)
        );
        assert_eq!(
            result(Some(JobEvent::Stop), "STOPPED", "SUCCESS"),
            Some(RunResult::Success)
        );
        assert_eq!(
            result(Some(JobEvent::Delete), "DELETED", "SUCCESS"),
            Some(RunResult::Success)
        );
        assert_eq!(
            result(Some(JobEvent::Start), "STOPPED", "SUCCESS"),
            Some(RunResult::Failure)
        );
    }

    #[test]
    fn errors_and_cancels_are_judged_and_unsettled_states_wait() {
        assert_eq!(
            result(None, "DEPLOYMENT_ERROR", "ERROR"),
            Some(RunResult::Failure)
        );
        assert_eq!(result(None, "DEPLOYED", "ERROR"), Some(RunResult::Failure));
        assert_eq!(
            result(None, "CANCELED", "CANCELED"),
            Some(RunResult::Cancelled)
        );
        assert_eq!(result(None, "DEPLOYED", "ONGOING"), None);
        assert_eq!(result(None, "EXECUTING", "EXECUTING"), None);
        let impatient = judge_job("m", None, &status("DEPLOYED", "ONGOING"), false).unwrap();
        assert_eq!(impatient.result, RunResult::Failure);
    }
}
