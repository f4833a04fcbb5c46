//! `command: deploy`: preflight (read-only), one batched deploy, the wait, and the cancel on timeout
//! or signal.

use crate::api::ApiError;
use crate::api::ids::{self, Shape};
use crate::api::types::{EnvironmentStatuses, QueuedRequest, ServiceInfo, State, StateClass};
use crate::ci::Ci;
use crate::commands::Session;
use crate::console::Console;
use crate::durations;
use crate::error::Error;
use crate::history::{self, Finding, Proof};
use crate::locate;
use crate::logs::Failing;
use crate::plan::{self, DeployPlan, Target};
use crate::report::{Report, RunResult, ServiceReport};
use crate::signal::Shutdown;
use crate::wait::{self, ChangeLog, Done, End, Ended, Pacer, Stop, Tracker, Verdict, Watch};
use crate::{cancel, extra, health, links, logs, preflight};

/// How long the answer of a deploy already sent is awaited after a signal: it names the request
/// to cancel. Counted from the signal; the cancel then fits in what is left of
/// [`crate::signal::AFTER_SIGNAL`].
pub const POST_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `command: deploy` (see the module docs).
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    let environment_id = session.config.environment_id.to_string();
    let id = environment_id.as_str();

    session.ci.begin_section("Plan");
    let (environment, services, baseline) =
        preflight::environment(session.client, session.shutdown, id).await?;
    let plan = DeployPlan::new(session.config, &services)?;
    let console = Console::new(session.config, &environment);
    let destination = Destination {
        id,
        name: environment.name.as_deref(),
        services: &services,
        baseline: &baseline,
        console: console.as_ref(),
    };
    deploy_planned(session, destination, &plan, report).await
}

/// Where a batched deploy goes, as its preflight read it.
pub struct Destination<'a> {
    /// The environment's id.
    pub id: &'a str,
    pub name: Option<&'a str>,
    /// Its services (names the links' services).
    pub services: &'a [ServiceInfo],
    /// Its statuses before the deploy: what the wait compares with.
    pub baseline: &'a EnvironmentStatuses,
    pub console: Option<&'a Console>,
}

/// Everything `deploy` does once its plan is made, in the "Plan" section the caller opened: prints
/// the plan, sends the one batched `POST /environment/{id}/service/deploy`, then (with `wait`)
/// follows our deployment request to its end, cancelling it on timeout or signal; after the end,
/// explains a failure from the deployment log, or reads where the services answer (`url`, `urls`)
/// and runs the health check. `preview` runs it on the preview environment.
///
/// Errors: an interrupt before the POST; the POST's refusal; an API failure that ends the wait.
pub async fn deploy_planned(
    session: Session<'_>,
    destination: Destination<'_>,
    plan: &DeployPlan,
    report: &mut Report,
) -> Result<(), Error> {
    let Session {
        config,
        client,
        ci,
        shutdown,
        deadline,
    } = session;
    let Destination {
        id,
        name,
        services,
        baseline,
        console,
    } = destination;
    ci.line(&format!(
        "Deploying {} service(s) to environment {} ({id}):",
        plan.targets.len(),
        name.unwrap_or("?"),
    ));
    ci.line(plan.describe().trim_end());
    let (commit, commit_warning) = plan::commit_notes(config, &plan.targets);
    if let Some(line) = commit {
        ci.line(&line);
    }
    if let Some(warning) = commit_warning {
        ci.warning(&warning);
    }
    report.services = plan.targets.iter().map(ServiceReport::new).collect();
    report.console_url = console.map(|c| c.deployment(None));
    ci.end_section();

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    // From here on a deployment may exist. A signal during the POST gives its answer a short grace
    // (it names the request to cancel), never more.
    let Some(mut accepted) = post(
        shutdown,
        client.deploy_services(id, &plan.request()),
        report,
    )
    .await?
    else {
        return Ok(());
    };
    // Accepted: the deployment exists. An id of the wrong shape is dropped, never used in a path.
    let malformed = ids::take_malformed(
        "deployment request id",
        Shape::Uuid,
        &mut accepted.deployment_request_id,
    );
    let malformed_execution = ids::take_malformed(
        "execution id",
        Shape::Execution,
        &mut accepted.last_deployment_id,
    );
    let answered = accepted.deployment_request_id.clone();
    report.state = Some(accepted.state.to_string()).filter(|s| !s.is_empty());
    if let Some(problem) = &malformed {
        ci.warning(&format!("Qovery accepted the deployment, but {problem}; it is followed by its new execution id instead"));
    } else if answered.is_none() {
        ci.warning("Qovery accepted the deployment without a deployment request id; it is followed by its new execution id instead");
    }
    if let Some(problem) = &malformed_execution {
        ci.warning(&format!(
            "Qovery accepted the deployment, but {problem}; it is not used"
        ));
    }
    ci.progress(&format!(
        "deployment request {} accepted{}",
        answered.as_deref().unwrap_or("(no id returned)"),
        shown_state(&accepted.state)
    ));
    let request_id = if locate::answer_is_suspect(
        answered.as_deref(),
        baseline.environment.deployment_request_id.as_deref(),
        &baseline.environment.state,
    ) {
        find_ours(client, shutdown, ci, id, answered.as_deref(), &plan.targets).await
    } else {
        answered
    };
    report.deployment_request_ids = request_id.iter().cloned().collect();
    ci.hand_over(id, &report.deployment_request_ids);
    for service in &mut report.services {
        service.deployment_request_id = request_id.clone();
    }
    // The environment's latest execution when ours was accepted: one that carries a merged
    // request of ours started after it.
    let before = accepted
        .last_deployment_id
        .clone()
        .or_else(|| baseline.environment.last_deployment_id.clone());
    if let Some(console) = console {
        ci.line(&format!(
            "Follow it in the console: {}",
            console.deployment(None)
        ));
    }

    if !config.wait && shutdown.received().is_none() {
        report.result = RunResult::Queued;
        return Ok(());
    }

    ci.begin_section("Waiting for the deployment");
    let mut tracker = Tracker::new(request_id, baseline.environment.last_deployment_id.clone());
    let mut changes = ChangeLog::new(baseline, &plan.targets);
    let mut last = None;
    let mut pacer = Pacer::new(Watch::new(client, id, config, deadline), shutdown);
    let waited = wait::wait(
        &mut pacer,
        &mut tracker,
        &plan.targets,
        &mut changes,
        ci,
        &mut last,
        &baseline.environment,
        before.as_deref(),
    )
    .await;
    ci.end_section();

    let scope = cancel::Scope {
        config,
        client,
        environment_id: id,
    };
    let end = match waited {
        Ok(end) => end,
        Err(error) => {
            // An answer proving the wait cannot go on: what was seen stays reported, the cancel
            // is tried, and the error is the run's.
            note_seen(report, &tracker, console);
            cancel::after_failure(&error, scope, ci, shutdown, report, &[&tracker]).await;
            return Err(error.into());
        }
    };
    // The statuses the services' final states are read from, when they show our deployment.
    let stopped = match end {
        End::Stopped(stop) => Some(stop),
        End::Finished(_) => None,
    };
    // Our execution's record, when it could be read: which services failed when the statuses
    // describe another execution.
    let mut record = None;
    let statuses = match end {
        End::Finished(Ended::Finished(done)) => {
            let proof = read_proof(&mut pacer, ci, &tracker, &plan.targets).await;
            let verdict = conclude(&done, &plan.targets, &tracker, &proof, ci);
            if let Some(warning) = &verdict.warning {
                ci.warning(warning);
            }
            report.result = verdict.result;
            report.reason = verdict.reason;
            report.state = Some(done.state.to_string());
            if let Ok(proof) = &proof {
                record_proof(report, proof);
            }
            record = proof.ok();
            (!done.moved_on).then_some(*done.statuses)
        }
        End::Finished(Ended::Vanished(result, reason)) => {
            report.result = result;
            report.reason = Some(reason);
            None
        }
        End::Stopped(stop) => {
            let outcomes = cancel::after_stop(stop, scope, ci, shutdown, report, &[&tracker]).await;
            if let Some(state) = outcomes.first().and_then(cancel::Cancelled::learned) {
                learned_at_stop(ci, report, &mut tracker, state, stop);
            }
            ours_last(report, &tracker, last)
        }
    };
    if let Some(statuses) = &statuses {
        fill_services(report, &plan.targets, statuses, &changes);
    }
    note_seen(report, &tracker, console);

    // After the end, extras that never change the exit code: why it failed, or where it runs.
    let extra = extra::client(client, deadline, stopped);
    match report.result {
        RunResult::Failure | RunResult::Timeout => {
            let execution = tracker.execution_id();
            let failing = failing(&plan.targets, statuses.as_ref(), record.as_ref(), execution);
            logs::explain(extra, shutdown, ci, config, id, console, &failing, report).await;
        }
        RunResult::Success => {
            let targets = &plan.targets;
            let links = links::publish(extra, shutdown, ci, id, services, targets, report).await;
            if let Some(path) = &config.health_check_path {
                let roots = &config.extra_roots;
                let links = links.as_ref();
                health::gate(path, links, roots, deadline, shutdown, ci, report).await;
            }
        }
        RunResult::Cancelled | RunResult::Queued => {}
    }
    Ok(())
}

/// Sends the deploy, giving its answer [`POST_GRACE`] after a signal. `Ok(None)` when the answer
/// never came (abandoned after a signal, or cut by the deadline): the report then says that a
/// deployment may have been created, which cannot be cancelled without its id.
///
/// Errors: the POST's own failure (refused, or failed for good).
pub async fn post<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, ApiError>>,
    report: &mut Report,
) -> Result<Option<T>, Error> {
    let may_exist = |report: &Report| {
        format!(
            "the deploy request was sent but its answer never came: a deployment may have been created and cannot be identified to cancel it; check the Qovery console{}",
            report
                .console_url
                .as_deref()
                .map(|url| format!(": {url}"))
                .unwrap_or_default()
        )
    };
    match shutdown.within(POST_GRACE, work).await {
        Some(Ok(accepted)) => Ok(Some(accepted)),
        Some(Err(ApiError::DeadlineReached { .. })) => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!("the timeout passed while {}", may_exist(report)));
            Ok(None)
        }
        Some(Err(error)) if outcome_unknown(&error) => {
            // Sent, and the answer does not say whether it was processed (the connection failed,
            // a gateway answered 5xx, a 2xx that is not Qovery's answer): a deployment may exist.
            // The run does not mark its end, so the step after it knows nothing was settled.
            report.outcome_unknown = true;
            report.cancel_note = Some(may_exist(report).replacen(
                "its answer never came",
                "its outcome is unknown (the answer was lost or unreadable)",
                1,
            ));
            Err(error.into())
        }
        Some(Err(error)) => Err(error.into()),
        None => {
            let signal = shutdown.received().unwrap_or("a signal");
            report.result = RunResult::Cancelled;
            report.interrupted_by = shutdown.received();
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) and {}",
                may_exist(report)
            ));
            Ok(None)
        }
    }
}

/// ` (STATE)` after "accepted", or nothing when the answer named no state.
pub fn shown_state(state: &crate::api::types::State) -> String {
    if state.as_str().is_empty() {
        String::new()
    } else {
        format!(" ({state})")
    }
}

/// Whether a failed deploy `POST` leaves its outcome unknown: the connection failed after it was
/// sent, a gateway answered 500/502/504 (the backend may have processed it; 503 and 429 are
/// retried as unprocessed), or a 2xx answer could not be read as Qovery's (a proxy's page, the
/// wrong shape, too large). Anything else (400, 401, 403, 404, 409, a redirect) was refused.
pub fn outcome_unknown(error: &ApiError) -> bool {
    match error {
        ApiError::Transport { .. } | ApiError::Decode { .. } | ApiError::TooLarge { .. } => true,
        ApiError::Status { status, .. } => matches!(status, 500 | 502 | 504),
        _ => false,
    }
}

/// What the wait saw of ours: the last state (never the 202's `DEPLOYMENT_QUEUED` once more was
/// seen), the execution id and its console link.
fn note_seen(report: &mut Report, tracker: &Tracker, console: Option<&crate::console::Console>) {
    if let Some(state) = tracker.last_state() {
        report.state = Some(state.to_string());
    }
    report.execution_ids = tracker
        .execution_id()
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(console) = console {
        report.console_url = Some(console.deployment(tracker.execution_id()));
    }
}

/// The listed services to explain from the deployment log: those whose final status is not a
/// success (a failed state, or after a timeout where they stood). A service that sat out our deployment (`is_part_last_deployment: false`) is left out
/// unless it failed, but one whose `execution_id` is ours took part, whatever that flag says (it is
/// relative to the environment's latest execution; see [`wait::judge`]). Without statuses of ours
/// (the environment moved on before ours was judged), our execution's `record` says which failed.
fn failing(
    targets: &[Target],
    statuses: Option<&EnvironmentStatuses>,
    record: Option<&Proof>,
    execution: Option<&str>,
) -> Vec<Failing> {
    let failing = |target: &Target, state: Option<String>, own: Option<String>| Failing {
        id: target.id.clone(),
        name: target.name.clone(),
        state,
        execution_id: own,
        execution: execution.map(str::to_string),
    };
    if let (None, Some(record)) = (statuses, record) {
        return targets
            .iter()
            .zip(&record.services)
            .filter(|(_, deployed)| {
                matches!(
                    deployed.finding,
                    Finding::Failed(_) | Finding::Unfinished(_)
                )
            })
            .map(|(target, deployed)| {
                let state = deployed.state.as_ref().map(ToString::to_string);
                failing(target, state, Some(record.execution_id.clone()))
            })
            .collect();
    }
    targets
        .iter()
        .filter_map(|target| {
            let status = statuses.and_then(|s| s.service(&target.id));
            let class = status.map(|s| s.state.class());
            let ours = execution.is_some_and(|e| {
                status
                    .and_then(|s| s.execution_id.as_deref())
                    .is_some_and(|own| own.eq_ignore_ascii_case(e))
            });
            let skipped = status.is_some_and(|s| s.is_part_last_deployment == Some(false)) && !ours;
            let deployed =
                class == Some(StateClass::Success) && status.is_some_and(|s| s.state.is_deployed());
            if deployed || (skipped && class != Some(StateClass::Failure)) {
                return None;
            }
            let state = status.map(|s| s.state.to_string());
            Some(failing(
                target,
                state,
                status.and_then(|s| s.execution_id.clone()),
            ))
        })
        .collect()
}

/// The cancel at the deadline (or after a signal) learnt that ours had already ended in `state`:
/// the outputs carry that state, and after a timeout the result is what it says (`DEPLOYED` or
/// `RESTARTED` success, `CANCELED` cancelled, anything else failure), said to be learnt at the
/// deadline. After a signal the run stays cancelled (the job was), with the state it learnt.
fn learned_at_stop(ci: &Ci, report: &mut Report, tracker: &mut Tracker, state: &State, stop: Stop) {
    tracker.saw_state(state);
    if stop != Stop::TimedOut {
        return;
    }
    let learnt = format!("learnt at the deadline: our deployment had already ended {state}");
    ci.progress(&learnt);
    if state.is_deployed() {
        report.result = RunResult::Success;
        report.reason = None;
    } else if state.class() == StateClass::Canceled {
        report.result = RunResult::Cancelled;
        report.reason = Some(format!("the deployment was cancelled ({learnt})"));
    } else {
        report.result = RunResult::Failure;
        report.reason = Some(format!("the deployment ended {state} ({learnt})"));
    }
}

/// The last statuses, if they show our deployment; its environment state becomes the `state` output.
fn ours_last(
    report: &mut Report,
    tracker: &Tracker,
    last: Option<EnvironmentStatuses>,
) -> Option<EnvironmentStatuses> {
    let last = last.filter(|s| tracker.holds(&s.environment))?;
    report.state = Some(last.environment.state.to_string());
    Some(last)
}

/// The services' final states, from statuses that show our deployment, and their durations
/// ([`durations::service_seconds`]).
fn fill_services(
    report: &mut Report,
    targets: &[Target],
    statuses: &EnvironmentStatuses,
    changes: &ChangeLog,
) {
    for (service, target) in report.services.iter_mut().zip(targets) {
        let status = statuses.service(&target.id);
        if let Some(status) = status {
            service.state = Some(status.state.to_string());
        }
        service.duration_seconds = durations::service_seconds(status, changes.took(&target.id));
    }
}

/// The deploy answer named the request that held the busy environment before our `POST`: look
/// for ours in the queue (once) before following anything. Ours is the newest queued request that
/// carries every listed service; without one, ours is followed as the next new execution (and the
/// proof at the end checks what it deployed). Returns the request id to follow.
async fn find_ours(
    client: &crate::api::Client,
    shutdown: &mut Shutdown,
    ci: &crate::ci::Ci,
    id: &str,
    answered: Option<&str>,
    targets: &[Target],
) -> Option<String> {
    let named = answered.unwrap_or_default();
    let read = shutdown
        .race(client.without_retries().deployment_queue(id))
        .await;
    let queue: Vec<QueuedRequest> = match read {
        Ok(Ok(queue)) => queue,
        _ => Vec::new(),
    };
    match locate::in_queue(&queue, answered, answered, targets) {
        Some(ours) => {
            ci.progress(&format!(
                "Qovery's answer named deployment request {named}, which held the environment before ours was sent; ours is {}, found in the queue carrying every listed service",
                ours.request_id()
            ));
            Some(ours.request_id().to_string())
        }
        None => {
            ci.warning(&format!(
                "Qovery's answer named deployment request {named}, which held the environment before ours was sent, and no queued request carries every listed service: ours is followed as the next new execution, and the deployment history is checked for what it deployed"
            ));
            None
        }
    }
}

/// How many times the history is read while our execution's record lags (one read per tick): a
/// second look one tick later, no more, so the run still ends within about a poll interval of
/// our deployment's end.
const PROOF_READS: u32 = 2;

/// Reads our execution's record in the deployment history and checks it ([`history::prove`]),
/// reading again (a tick later, at most [`PROOF_READS`] times) while the record still shows a
/// service in progress. `Err` says in a few words why there is no proof.
async fn read_proof(
    pacer: &mut Pacer<'_>,
    ci: &crate::ci::Ci,
    tracker: &Tracker,
    targets: &[Target],
) -> Result<Proof, String> {
    let Some(execution) = tracker.execution_id() else {
        return Err("our execution id was never seen".to_string());
    };
    let mut best = Err("the deployment history could not be read".to_string());
    // Ours is normally the newest execution: a page of one is enough, and small whatever the
    // environment's size. When it is not there, a larger page is read at once (same tick).
    let mut page_size = 1;
    let mut reads = 0;
    while reads < PROOF_READS {
        if reads > 0 && pacer.pause().await.is_err() {
            break;
        }
        reads += 1;
        let mut page = pacer.history_page(ci, page_size).await;
        if page_size == 1 && matches!(&page, Ok(Some(p)) if history::find(p, execution).is_none()) {
            page_size = history::PAGE_SIZE;
            page = pacer.history_page(ci, page_size).await;
        }
        match page {
            Ok(Some(page)) => match history::find(&page, execution) {
                Some(entry) => {
                    let proof = history::prove(entry, targets);
                    if !proof.lags() {
                        return Ok(proof);
                    }
                    best = Ok(proof);
                }
                None if best.is_err() => {
                    best = Err(format!(
                        "the deployment history does not list execution {execution}"
                    ));
                }
                None => {}
            },
            Ok(None) => {}
            Err(_) => break,
        }
    }
    best
}

/// The verdict on our finished deployment: from the statuses, checked against the proof; or, when
/// the environment had moved on, from the proof (the statuses then describe another execution).
fn conclude(
    done: &Done,
    targets: &[Target],
    tracker: &Tracker,
    proof: &Result<Proof, String>,
    ci: &crate::ci::Ci,
) -> Verdict {
    let ours = tracker.execution_id();
    let from_statuses = || {
        wait::judge(
            &done.state,
            targets,
            &done.statuses,
            false,
            ours,
            tracker.request_id(),
        )
        .expect("an impatient judge always decides")
    };
    let proof = match proof {
        Ok(proof) => proof,
        Err(why) => {
            ci.warning(&format!(
                "what was deployed could not be proven: {why}; judged from the services' statuses alone"
            ));
            return from_statuses();
        }
    };
    let failures = proof.failures();
    let cancelled = proof.cancelled();
    let gaps = proof.gaps();
    let base = if done.moved_on {
        judge_record(&done.state, proof)
    } else {
        from_statuses()
    };
    if base.result != RunResult::Success {
        return base;
    }
    if !failures.is_empty() {
        return Verdict {
            result: RunResult::Failure,
            reason: Some(format!(
                "the deployment history contradicts the statuses: {}",
                failures.join("; ")
            )),
            warning: base.warning,
        };
    }
    if !cancelled.is_empty() {
        return Verdict {
            result: RunResult::Cancelled,
            reason: Some(format!(
                "the deployment history shows cancelled services: {}",
                cancelled.join(", ")
            )),
            warning: base.warning,
        };
    }
    if gaps.is_empty() {
        ci.progress(&format!(
            "proof: every listed service finished at the version asked, per the record of execution {} in the deployment history",
            proof.execution_id
        ));
        base
    } else {
        let gap = format!(
            "not every listed service could be proven from the record of execution {}: {}",
            proof.execution_id,
            gaps.join(", ")
        );
        Verdict {
            warning: Some(match base.warning {
                Some(warning) => format!("{warning}; {gap}"),
                None => gap,
            }),
            ..base
        }
    }
}

/// The verdict from our execution's record alone (the environment moved on before ours was
/// judged): its failures, else its cancels, else the state our request ended in.
fn judge_record(state: &crate::api::types::State, proof: &Proof) -> Verdict {
    use crate::api::types::StateClass;
    let failures = proof.failures();
    let cancelled = proof.cancelled();
    let verdict = |result, reason: Option<String>| Verdict {
        result,
        reason,
        warning: None,
    };
    if !failures.is_empty() {
        verdict(
            RunResult::Failure,
            Some(format!("deployment failed: {}", failures.join(", "))),
        )
    } else if !cancelled.is_empty() || state.class() == StateClass::Canceled {
        verdict(
            RunResult::Cancelled,
            Some(format!("the deployment was cancelled ({state})")),
        )
    } else if state.is_deployed() {
        verdict(RunResult::Success, None)
    } else {
        verdict(
            RunResult::Failure,
            Some(format!("the deployment ended {state}")),
        )
    }
}

/// The deployed versions (and, where the statuses do not say, the states) from the proof.
fn record_proof(report: &mut Report, proof: &Proof) {
    for (service, deployed) in report.services.iter_mut().zip(&proof.services) {
        if deployed.finding == Finding::Absent {
            continue;
        }
        if let Some(version) = &deployed.version {
            service.version = Some(version.clone());
        }
        if service.state.is_none() {
            service.state = deployed.state.as_ref().map(ToString::to_string);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::ServiceKind;
    use crate::plan::VersionField;

    const ENV: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";
    const API: &str = "a1000000-0000-4000-8000-000000000001";
    const WEB: &str = "a1000000-0000-4000-8000-000000000002";

    fn targets() -> Vec<Target> {
        [(API, "api"), (WEB, "web")]
            .into_iter()
            .map(|(id, name)| Target {
                id: id.into(),
                name: name.into(),
                kind: ServiceKind::Application,
                field: VersionField::GitCommit,
                version: Some("3f8a1c2".into()),
            })
            .collect()
    }

    fn names(failing: &[Failing]) -> Vec<(&str, Option<&str>)> {
        failing
            .iter()
            .map(|f| (f.name.as_str(), f.state.as_deref()))
            .collect()
    }

    #[test]
    fn a_service_of_our_execution_is_explained_whatever_is_part_last_deployment_says() {
        let ours = format!("{ENV}-42");
        let service = |id: &str, state: &str, execution: &str| {
            serde_json::json!({"id": id, "state": state, "is_part_last_deployment": false,
                               "execution_id": execution})
        };
        let statuses: EnvironmentStatuses = serde_json::from_value(serde_json::json!({
            "environment": {"id": ENV, "state": "DEPLOYING", "last_deployment_id": format!("{ENV}-43")},
            "applications": [service(API, "DEPLOYING", &ours), service(WEB, "DEPLOYING", &format!("{ENV}-41"))]
        }))
        .unwrap();
        let found = failing(&targets(), Some(&statuses), None, Some(&ours));
        assert_eq!(names(&found), [("api", Some("DEPLOYING"))]);
        assert_eq!(found[0].execution.as_deref(), Some(ours.as_str()));
    }

    #[test]
    fn without_statuses_of_ours_the_record_says_which_failed() {
        let ours = format!("{ENV}-42");
        let execution: crate::api::types::HistoryExecution =
            serde_json::from_value(serde_json::json!({
                "identifier": {"execution_id": ours},
                "stages": [{"name": "s", "services": [
                    {"identifier": {"service_id": API}, "status": "BUILD_ERROR",
                     "status_details": {"status": "ERROR"}},
                    {"identifier": {"service_id": WEB}, "status": "DEPLOYED",
                     "status_details": {"status": "SUCCESS"},
                     "details": {"commit": {"git_commit_id": "3f8a1c2e9b7d"}}}
                ]}]
            }))
            .unwrap();
        let record = history::prove(&execution, &targets());
        let found = failing(&targets(), None, Some(&record), Some(&ours));
        assert_eq!(names(&found), [("api", Some("BUILD_ERROR"))]);
        assert_eq!(found[0].execution_id.as_deref(), Some(ours.as_str()));
        // Neither statuses nor a record (a timeout before anything was seen): every target.
        assert_eq!(failing(&targets(), None, None, None).len(), 2);
    }
}
