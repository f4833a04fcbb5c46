//! Waiting for *our* deployment: one `GET /environment/{id}/statuses` per tick, a line per state
//! change, and never the previous deployment's `DEPLOYED` taken for ours.
//!
//! How ours is told apart (notes §7): the deploy `POST` answers with our `deployment_request_id`
//! (R), and before it we recorded the environment's `last_deployment_id` (the execution id, E0).
//! The environment is running ours when its `deployment_request_id` is R. A terminal state counts
//! only with evidence that something new ran: a new execution id, or an in-progress state seen for
//! R. Where the evidence is missing or contradictory (the API sends no request id, or ours finished
//! and another started between two polls), the one endpoint keyed by request,
//! `GET /environment/deploymentStatus?deploymentRequestId=R`, settles it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::types::{EnvironmentStatus, EnvironmentStatuses, ServiceStatus, State, StateClass};
use crate::api::{ApiError, Client};
use crate::ci::Ci;
use crate::durations::Stopwatch;
use crate::inputs::Config;
use crate::plan::Target;
use crate::report::RunResult;
use crate::signal::Shutdown;

/// What a [`Tracker`] reads from a status: whose deployment request it shows, which execution and
/// which state. The environment's status and a single service's status (a job run by
/// `deploy-job`) both carry these three.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub request_id: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub state: &'a State,
}

impl<'a> From<&'a EnvironmentStatus> for Sighting<'a> {
    fn from(env: &'a EnvironmentStatus) -> Self {
        Sighting {
            request_id: env.deployment_request_id.as_deref(),
            execution_id: env.last_deployment_id.as_deref(),
            state: &env.state,
        }
    }
}

impl<'a> From<&'a ServiceStatus> for Sighting<'a> {
    fn from(service: &'a ServiceStatus) -> Self {
        Sighting {
            request_id: service.deployment_request_id.as_deref(),
            execution_id: service.execution_id.as_deref(),
            state: &service.state,
        }
    }
}

/// Where our deployment is, as one environment status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not started: the environment still shows another deployment (`holder`, when it has an id)
    /// or the previous one.
    Waiting { holder: Option<String> },
    /// Ours holds the environment and is not finished.
    Running,
    /// Ours reached a terminal state.
    Finished,
    /// The status alone cannot tell; ask the deployment request's own status.
    Confirm,
}

/// Follows one deployment request across polls, on the environment's status or on one service's.
#[derive(Debug, Clone)]
pub struct Tracker {
    request_id: Option<String>,
    baseline_execution: Option<String>,
    execution_id: Option<String>,
    seen_running: bool,
    /// The last state seen that was ours (a status that [`Tracker::holds`], or the request's own
    /// status): what a stopped run reports, never the 202's `DEPLOYMENT_QUEUED` once more was seen.
    last_state: Option<State>,
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

impl Tracker {
    pub fn new(request_id: Option<String>, baseline_execution: Option<String>) -> Tracker {
        Tracker {
            request_id,
            baseline_execution,
            execution_id: None,
            seen_running: false,
            last_state: None,
        }
    }

    /// The last state of ours actually seen, if any.
    pub fn last_state(&self) -> Option<&State> {
        self.last_state.as_ref()
    }

    /// Whether this status positively shows our request: it names our request id. Unlike
    /// [`Tracker::holds`], a new execution without a request id is no proof: it is what a cancel
    /// requires before touching the environment.
    pub fn proves_ours(&self, status: &EnvironmentStatus) -> bool {
        self.request_id.is_some()
            && same(
                self.request_id.as_deref(),
                status.deployment_request_id.as_deref(),
            )
    }

    /// The same tracker, already following `execution_id`: a request whose deploy answer named
    /// its execution but no request id (a job that started at once; notes §13, "Jobs").
    pub fn with_execution(mut self, execution_id: Option<String>) -> Tracker {
        self.execution_id = execution_id;
        self
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Our execution id, once seen.
    pub fn execution_id(&self) -> Option<&str> {
        self.execution_id.as_deref()
    }

    /// Whether this status shows our deployment (holding the environment, or run by the service).
    pub fn holds<'a>(&self, seen: impl Into<Sighting<'a>>) -> bool {
        let seen = seen.into();
        match (self.request_id.as_deref(), seen.request_id) {
            (Some(ours), Some(shown)) => same(Some(ours), Some(shown)),
            // No request id to compare: the execution id must have moved on from the baseline.
            _ => match &self.execution_id {
                Some(e) => same(seen.execution_id, Some(e)),
                None => self.is_new_execution(seen),
            },
        }
    }

    fn is_new_execution(&self, seen: Sighting<'_>) -> bool {
        seen.execution_id.is_some() && !same(seen.execution_id, self.baseline_execution.as_deref())
    }

    pub fn observe<'a>(&mut self, seen: impl Into<Sighting<'a>>) -> Progress {
        let seen = seen.into();
        let direct = same(self.request_id.as_deref(), seen.request_id);
        let new_execution = self.is_new_execution(seen);
        if !self.holds(seen) {
            if self.execution_id.is_some() || self.seen_running {
                // Ours was running and the status has moved on: it ended between two polls.
                return Progress::Confirm;
            }
            let holder = seen
                .request_id
                .map(str::to_string)
                .filter(|_| self.request_id.is_some());
            return Progress::Waiting { holder };
        }
        if self.execution_id.is_none() && new_execution {
            self.execution_id = seen.execution_id.map(str::to_string);
        }
        self.last_state = Some(seen.state.clone());
        if !seen.state.is_terminal() {
            if matches!(seen.state.class(), StateClass::Queued | StateClass::Running) {
                self.seen_running = true;
            }
            return Progress::Running;
        }
        match (self.request_id.is_some(), direct) {
            // Our id, and proof that something ran since the POST.
            (true, true) if self.seen_running || new_execution => Progress::Finished,
            // Our id on a state that may still be the previous deployment's, or no id to match.
            (true, _) => Progress::Confirm,
            // The API gave no request id: a new execution that reached a terminal state is the best
            // evidence there is.
            (false, _) => Progress::Finished,
        }
    }
}

/// Asks the deployment request's own status, for a [`Progress::Confirm`]; `None` when there is no
/// request id to ask about, the answer has no status, or the read missed (any failure of this
/// endpoint is a missed tick, a 404 included: the environment is followed on).
pub async fn confirm(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    ci: &Ci,
) -> Result<Option<State>, Halt> {
    let Some(request_id) = tracker.request_id().map(str::to_string) else {
        return Ok(None);
    };
    let client = pacer.poller();
    let confirmed = pacer
        .read(
            ci,
            Reading::Request,
            client.deployment_request_status(&request_id),
        )
        .await?;
    let state = confirmed.and_then(|c| c.status);
    if let Some(state) = &state {
        tracker.last_state = Some(state.clone());
    }
    Ok(state)
}

/// Why a wait stopped before an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    TimedOut,
    Interrupted(&'static str),
}

/// A wait cut short: by the deadline or a signal, or by an API call that failed for good.
#[derive(Debug)]
pub enum Halt {
    Stop(Stop),
    Api(ApiError),
}

impl From<ApiError> for Halt {
    /// A call cut by the deadline is the run's timeout, never an API failure.
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::DeadlineReached { .. } => Halt::Stop(Stop::TimedOut),
            error => Halt::Api(error),
        }
    }
}

fn interrupted(signal: &'static str) -> Halt {
    Halt::Stop(Stop::Interrupted(signal))
}

/// How a wait ended: with what it waited for, or stopped early.
#[derive(Debug)]
pub enum End<T> {
    Finished(T),
    Stopped(Stop),
}

impl<T> End<T> {
    /// A stop is an outcome to report; an API failure is an error.
    pub fn from_wait(result: Result<T, Halt>) -> Result<End<T>, ApiError> {
        match result {
            Ok(done) => Ok(End::Finished(done)),
            Err(Halt::Stop(stop)) => Ok(End::Stopped(stop)),
            Err(Halt::Api(error)) => Err(error),
        }
    }
}

/// The settings of one wait.
pub struct Watch<'a> {
    pub client: &'a Client,
    pub environment_id: &'a str,
    pub poll_interval: Duration,
    pub deadline: Instant,
}

impl<'a> Watch<'a> {
    pub fn new(
        client: &'a Client,
        environment_id: &'a str,
        config: &Config,
        deadline: Instant,
    ) -> Watch<'a> {
        Watch {
            client,
            environment_id,
            poll_interval: config.poll_interval,
            deadline,
        }
    }
}

/// What a read during a wait is about, which decides which failures end the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The environment's status(es): a 404 proves the environment is gone.
    Environment,
    /// The deployment request's own status: a 404 proves nothing (the request may not be
    /// indexed yet, or the endpoint may lag); the environment is followed on.
    Request,
}

/// Whether a failed read ends the wait: only an answer proving that waiting cannot go on does
/// (401/403: the token was revoked or lost its rights; 404 on the environment: it was deleted).
/// Everything else (429, 5xx, network errors, request timeouts, unreadable, oversized or
/// redirected answers, a 404 from the request-status endpoint, any other status) is a missed tick.
pub fn ends_wait(reading: Reading, error: &ApiError) -> bool {
    match error {
        ApiError::Unauthorized { .. } | ApiError::Forbidden { .. } => true,
        ApiError::NotFound { .. } => reading == Reading::Environment,
        _ => false,
    }
}

/// The longest pause between two polls after consecutive missed ticks (unless `Retry-After` or
/// the poll interval asks for more).
const MAX_MISS_BACKOFF: Duration = Duration::from_secs(30);

/// Missed ticks, counted by kind: one line when a kind first shows, one line with the counts when
/// the API answers again or the wait ends. Never a line per retry.
#[derive(Debug, Default)]
struct Misses {
    /// `(call and kind, count)`, in the order first seen, since the last good answer.
    kinds: Vec<(String, u32)>,
    /// Consecutive missed ticks.
    streak: u32,
    /// What the last miss asked to wait (`Retry-After`).
    retry_after: Option<Duration>,
}

impl Misses {
    fn record(&mut self, ci: &Ci, error: &ApiError, left: Duration) {
        self.streak = self.streak.saturating_add(1);
        self.retry_after = error.retry_after();
        let key = format!("{}: {}", error.call(), error.kind());
        match self.kinds.iter_mut().find(|(kind, _)| *kind == key) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => {
                let first_line = error.to_string();
                let first_line = first_line.lines().next().unwrap_or_default();
                ci.progress(&format!(
                    "missed tick: {first_line}; the wait goes on ({}s left), repeats of this are counted, not printed",
                    left.as_secs()
                ));
                self.kinds.push((key, 1));
            }
        }
    }

    /// `HTTP 503 ×4, timed out ×1` (without the calls, which the first lines named).
    fn tally(&self) -> String {
        self.kinds
            .iter()
            .map(|(key, count)| {
                let kind = key.rsplit(": ").next().unwrap_or(key);
                format!("{kind} ×{count}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn total(&self) -> u32 {
        self.kinds.iter().map(|(_, count)| count).sum()
    }

    /// A good answer: says how many ticks were missed, if any, and starts over.
    fn recovered(&mut self, ci: &Ci) {
        if !self.kinds.is_empty() {
            ci.progress(&format!(
                "the API answers again after {} missed tick(s): {}",
                self.total(),
                self.tally()
            ));
        }
        *self = Misses::default();
    }

    /// The pause before the next poll: the poll interval, doubled per consecutive miss up to
    /// [`MAX_MISS_BACKOFF`], never less than what `Retry-After` asked.
    fn pause(&self, poll_interval: Duration) -> Duration {
        if self.streak == 0 {
            return poll_interval;
        }
        let doubled = poll_interval.saturating_mul(1 << self.streak.saturating_sub(1).min(5));
        let backoff = doubled.min(MAX_MISS_BACKOFF.max(poll_interval));
        backoff.max(self.retry_after.unwrap_or_default())
    }
}

/// The rhythm of a wait: API calls that give way to a signal and end at the deadline, missed
/// ticks counted, and pauses between polls.
pub struct Pacer<'a> {
    pub watch: Watch<'a>,
    shutdown: &'a mut Shutdown,
    /// The client without retries: during a wait the next tick is the retry.
    poll: Client,
    misses: Misses,
}

impl<'a> Pacer<'a> {
    pub fn new(watch: Watch<'a>, shutdown: &'a mut Shutdown) -> Pacer<'a> {
        let poll = watch.client.without_retries();
        Pacer {
            watch,
            shutdown,
            poll,
            misses: Misses::default(),
        }
    }

    /// The client a wait reads with: one attempt per call, the run's deadline.
    pub fn poller(&self) -> Client {
        self.poll.clone()
    }

    /// One API call, unless a signal arrives first (or already has: then nothing is sent). A call
    /// cut by the deadline is [`Stop::TimedOut`].
    pub async fn call<T>(
        &mut self,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, Halt> {
        Ok(self.shutdown.race(work).await.map_err(interrupted)??)
    }

    /// One read of a wait: `Some` answer, `None` for a missed tick (counted and logged by kind),
    /// or the end of the wait (a signal, the deadline, or an answer that [`ends_wait`]).
    pub async fn read<T>(
        &mut self,
        ci: &Ci,
        reading: Reading,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<Option<T>, Halt> {
        match self.call(work).await {
            Ok(answer) => {
                self.misses.recovered(ci);
                Ok(Some(answer))
            }
            Err(Halt::Api(error)) if !ends_wait(reading, &error) => {
                let left = self
                    .watch
                    .deadline
                    .saturating_duration_since(Instant::now());
                self.misses.record(ci, &error, left);
                Ok(None)
            }
            Err(halt) => Err(halt),
        }
    }

    /// `GET /environment/{id}/statuses`: the one call per tick; `None` for a missed tick.
    pub async fn statuses(&mut self, ci: &Ci) -> Result<Option<EnvironmentStatuses>, Halt> {
        let client = self.poller();
        let environment_id = self.watch.environment_id;
        self.read(ci, Reading::Environment, client.statuses(environment_id))
            .await
    }

    /// The line to print when a wait ends with ticks still being missed: how many, of which kinds.
    pub fn missed(&self) -> Option<String> {
        (self.misses.total() > 0).then(|| {
            format!(
                "{} tick(s) missed since the last good answer: {}",
                self.misses.total(),
                self.misses.tally()
            )
        })
    }

    /// Waits for the next poll (longer after missed ticks, see [`Misses::pause`]); stops at the
    /// deadline or on a signal.
    pub async fn pause(&mut self) -> Result<(), Halt> {
        let timed_out = || Err(Halt::Stop(Stop::TimedOut));
        let remaining = self
            .watch
            .deadline
            .saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return timed_out();
        }
        let nap = self.misses.pause(self.watch.poll_interval).min(remaining);
        self.shutdown
            .race(tokio::time::sleep(nap))
            .await
            .map_err(interrupted)?;
        if Instant::now() >= self.watch.deadline {
            return timed_out();
        }
        Ok(())
    }
}

/// Our batched deployment, finished: its final environment state and the statuses that show it.
#[derive(Debug)]
pub struct Done {
    pub state: State,
    pub statuses: Box<EnvironmentStatuses>,
}

/// The verdict on the listed services once the environment finished our deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub result: RunResult,
    pub reason: Option<String>,
    /// A note that does not change the result.
    pub warning: Option<String>,
}

/// Judges only the listed services. `None` while a listed service has not settled yet although the
/// environment is done (a service's status can lag the environment's by a poll).
pub fn judge(
    env_state: &State,
    targets: &[Target],
    statuses: &EnvironmentStatuses,
    patient: bool,
) -> Option<Verdict> {
    let mut failed = Vec::new();
    let mut cancelled = Vec::new();
    let mut unsettled = Vec::new();
    for target in targets {
        let Some(status) = statuses.service(&target.id) else {
            unsettled.push(format!("{} (missing from the statuses)", target.name));
            continue;
        };
        if status.is_part_last_deployment == Some(false)
            && status.state.class() != StateClass::Failure
        {
            failed.push(format!(
                "{} was not part of the deployment (is it skipped in its deployment stage?)",
                target.name
            ));
            continue;
        }
        // The state and `status_details.status` can disagree (`DEPLOYED` with `ERROR`): the
        // worse of the two decides, and both are named.
        let detail = status
            .status_details
            .as_ref()
            .and_then(|d| d.status.as_deref())
            .map(str::to_ascii_uppercase);
        let both = || match &detail {
            Some(detail) => format!(
                "{} {} (status_details.status {detail})",
                target.name, status.state
            ),
            None => format!("{} {}", target.name, status.state),
        };
        match (status.state.class(), detail.as_deref()) {
            (StateClass::Failure, _) => failed.push(format!("{} {}", target.name, status.state)),
            (_, Some("ERROR")) => failed.push(both()),
            (StateClass::Canceled, _) => {
                cancelled.push(format!("{} {}", target.name, status.state))
            }
            (_, Some("CANCELED" | "CANCELLED")) => cancelled.push(both()),
            (StateClass::Success, _) => {}
            _ => unsettled.push(format!("{} {}", target.name, status.state)),
        }
    }
    let env_class = env_state.class();
    if !unsettled.is_empty() && env_class == StateClass::Success && patient {
        return None;
    }
    let verdict = |result, reason: String| Verdict {
        result,
        reason: Some(reason),
        warning: None,
    };
    Some(if !failed.is_empty() {
        verdict(
            RunResult::Failure,
            format!("deployment failed: {}", failed.join(", ")),
        )
    } else if env_class == StateClass::Canceled || !cancelled.is_empty() {
        let who = if cancelled.is_empty() {
            String::new()
        } else {
            format!(": {}", cancelled.join(", "))
        };
        verdict(
            RunResult::Cancelled,
            format!("the deployment was cancelled ({env_state}){who}"),
        )
    } else if !unsettled.is_empty() {
        verdict(
            RunResult::Failure,
            format!(
                "the environment ended {env_state} but not every listed service did: {}",
                unsettled.join(", ")
            ),
        )
    } else {
        Verdict {
            result: RunResult::Success,
            reason: None,
            warning: (env_class == StateClass::Failure).then(|| {
                format!("every listed service is deployed, but the environment ended {env_state} because of other services")
            }),
        }
    })
}

/// The line while a deployment waits for its turn.
pub fn waiting_line(holder: Option<&str>, env_state: &State) -> String {
    match holder {
        // Another deployment is running: ours waits its turn in the queue.
        Some(other) if !env_state.is_terminal() => {
            format!("queued: the environment is busy with deployment request {other} ({env_state})")
        }
        // A never deployed (a new preview) or idle environment: nothing to mistake for ours.
        _ if env_state.as_str().eq_ignore_ascii_case("READY") => {
            format!("queued: waiting for Qovery to start it (the environment is idle, {env_state})")
        }
        // The environment still shows a finished deployment: ours has not been picked up yet.
        _ => format!(
            "queued: waiting for Qovery to start it (the environment still shows the previous deployment, {env_state})"
        ),
    }
}

/// Prints a line when something changes, not on every poll. Each thing followed has a key (a
/// service id, `environment`, …) and remembers the last value printed for it.
#[derive(Debug, Default)]
pub struct ChangeLog {
    seen: HashMap<String, String>,
    /// Times each followed service from in progress to final, for the summary's durations.
    stopwatch: Stopwatch,
}

const ENVIRONMENT_KEY: &str = "environment";
const WAITING_KEY: &str = "waiting";

impl ChangeLog {
    /// Starts from the states before the deploy, so the first line reads `DEPLOYED -> BUILDING`.
    pub fn new(baseline: &EnvironmentStatuses, targets: &[Target]) -> ChangeLog {
        let seen = targets
            .iter()
            .filter_map(|t| Some((t.id.clone(), baseline.service(&t.id)?.state.to_string())))
            .collect();
        ChangeLog {
            seen,
            ..ChangeLog::default()
        }
    }

    /// How long `key` (a service id) took from in progress to a final state, as the polls saw it.
    pub fn took(&self, key: &str) -> Option<Duration> {
        self.stopwatch.took(key)
    }

    /// `value` or `before -> value` when the value under `key` changed; records it.
    fn change(&mut self, key: &str, value: &str) -> Option<String> {
        self.stopwatch.observe(key, &State::new(value));
        match self.seen.insert(key.to_string(), value.to_string()) {
            Some(previous) if previous == value => None,
            Some(previous) => Some(format!("{previous} -> {value}")),
            None => Some(value.to_string()),
        }
    }

    /// `label: value`, or `label: before -> value`, when the value under `key` changed.
    pub fn state(&mut self, ci: &Ci, key: &str, label: &str, value: &str) {
        if let Some(change) = self.change(key, value) {
            ci.progress(&format!("{label}: {change}"));
        }
    }

    /// `line`, when it differs from the last line printed under `key`.
    pub fn line(&mut self, ci: &Ci, key: &str, line: String) {
        if self.seen.get(key) != Some(&line) {
            ci.progress(&line);
            self.seen.insert(key.to_string(), line);
        }
    }

    /// The batched deploy: the environment's state, then each listed service's.
    pub fn show(
        &mut self,
        ci: &Ci,
        progress: &Progress,
        statuses: &EnvironmentStatuses,
        targets: &[Target],
    ) {
        let env = &statuses.environment;
        if let Progress::Waiting { holder } = progress {
            self.line(ci, WAITING_KEY, waiting_line(holder.as_deref(), &env.state));
            return;
        }
        self.state(ci, ENVIRONMENT_KEY, ENVIRONMENT_KEY, env.state.as_str());
        // Services that made the same move share a line: `api, web: BUILDING -> DEPLOYING`.
        let mut moves: Vec<(String, Vec<&str>)> = Vec::new();
        for target in targets {
            let Some(status) = statuses.service(&target.id) else {
                continue;
            };
            let Some(change) = self.change(&target.id, status.state.as_str()) else {
                continue;
            };
            match moves.iter_mut().find(|(c, _)| *c == change) {
                Some((_, names)) => names.push(&target.name),
                None => moves.push((change, vec![&target.name])),
            }
        }
        for (change, names) in moves {
            ci.progress(&format!("{}: {change}", names.join(", ")));
        }
    }
}

/// Polls until our deployment finishes, the deadline passes or a signal arrives, or an answer
/// proves that waiting cannot go on ([`ends_wait`]). `last` keeps the latest statuses seen, for
/// the summary.
pub async fn wait(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    targets: &[Target],
    changes: &mut ChangeLog,
    ci: &Ci,
    last: &mut Option<EnvironmentStatuses>,
) -> Result<End<Done>, ApiError> {
    let followed = follow(pacer, tracker, targets, changes, ci, last).await;
    if let (Err(_), Some(missed)) = (&followed, pacer.missed()) {
        ci.progress(&missed);
    }
    End::from_wait(followed)
}

async fn follow(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    targets: &[Target],
    changes: &mut ChangeLog,
    ci: &Ci,
    last: &mut Option<EnvironmentStatuses>,
) -> Result<Done, Halt> {
    // Polls granted to services that lag an environment already done.
    let mut patience = 2;
    loop {
        let Some(statuses) = pacer.statuses(ci).await? else {
            pacer.pause().await?;
            continue;
        };
        let progress = tracker.observe(&statuses.environment);
        changes.show(ci, &progress, &statuses, targets);
        let finished = match progress {
            Progress::Finished => Some(statuses.environment.state.clone()),
            Progress::Confirm => confirm(pacer, tracker, ci)
                .await?
                .filter(State::is_terminal),
            Progress::Waiting { .. } | Progress::Running => None,
        };
        if let Some(state) = finished {
            if judge(&state, targets, &statuses, patience > 0).is_some() {
                return Ok(Done {
                    state,
                    statuses: Box::new(statuses),
                });
            }
            patience -= 1;
        }
        *last = Some(statuses);
        pacer.pause().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "11111111-1111-4111-8111-111111111111";
    const PREVIOUS: &str = "99999999-9999-4999-8999-999999999999";

    fn env(state: &str, drid: Option<&str>, exec: Option<&str>) -> EnvironmentStatus {
        EnvironmentStatus {
            state: State::new(state),
            deployment_request_id: drid.map(str::to_string),
            last_deployment_id: exec.map(str::to_string),
            ..Default::default()
        }
    }

    proptest::proptest! {
        /// The pause after missed ticks never panics, never goes below the poll interval, and
        /// honours any Retry-After, whatever the numbers.
        #[test]
        fn the_pause_after_misses_is_total(
            poll_secs in proptest::prelude::any::<u64>(),
            streak in proptest::prelude::any::<u32>(),
            retry_after in proptest::prelude::any::<Option<u64>>(),
        ) {
            let misses = Misses {
                kinds: Vec::new(),
                streak,
                retry_after: retry_after.map(Duration::from_secs),
            };
            let poll = Duration::from_secs(poll_secs);
            let pause = misses.pause(poll);
            proptest::prop_assert!(pause >= poll);
            if streak > 0 {
                proptest::prop_assert!(pause >= misses.retry_after.unwrap_or_default());
            }
        }
    }

    #[test]
    fn missed_ticks_back_off_and_honour_retry_after() {
        let s = Duration::from_secs;
        let misses = |streak, retry_after: Option<u64>| Misses {
            kinds: Vec::new(),
            streak,
            retry_after: retry_after.map(s),
        };
        assert_eq!(misses(0, Some(120)).pause(s(5)), s(5), "no miss");
        assert_eq!(misses(1, None).pause(s(5)), s(5));
        assert_eq!(misses(2, None).pause(s(5)), s(10));
        assert_eq!(misses(9, None).pause(s(5)), s(30), "capped");
        assert_eq!(
            misses(9, None).pause(s(60)),
            s(60),
            "never below the interval"
        );
        assert_eq!(misses(1, Some(120)).pause(s(5)), s(120));
        assert_eq!(misses(1, Some(0)).pause(s(5)), s(5), "a date in the past");
    }

    fn tracker() -> Tracker {
        Tracker::new(Some(OURS.into()), Some("env-41".into()))
    }

    #[test]
    fn the_previous_deployed_is_not_ours() {
        let mut t = tracker();
        assert_eq!(
            t.observe(&env("DEPLOYED", Some(PREVIOUS), Some("env-41"))),
            Progress::Waiting {
                holder: Some(PREVIOUS.into())
            }
        );
        assert_eq!(
            t.observe(&env("BUILDING", Some(OURS), Some("env-42"))),
            Progress::Running
        );
        assert_eq!(t.execution_id(), Some("env-42"));
        assert_eq!(
            t.observe(&env("DEPLOYED", Some(OURS), Some("env-42"))),
            Progress::Finished
        );
    }

    #[test]
    fn our_id_on_the_old_state_needs_confirmation() {
        // An API that tags the environment with our request as soon as it is queued, while the state
        // is still the previous deployment's DEPLOYED.
        let mut t = tracker();
        assert_eq!(
            t.observe(&env("DEPLOYED", Some(OURS), Some("env-41"))),
            Progress::Confirm
        );
        assert_eq!(
            t.observe(&env("DEPLOYING", Some(OURS), Some("env-41"))),
            Progress::Running
        );
        assert_eq!(
            t.observe(&env("DEPLOYED", Some(OURS), Some("env-41"))),
            Progress::Finished
        );
    }

    #[test]
    fn another_deployment_after_ours_asks_for_confirmation() {
        let mut t = tracker();
        t.observe(&env("DEPLOYING", Some(OURS), Some("env-42")));
        assert_eq!(
            t.observe(&env("BUILDING", Some(PREVIOUS), Some("env-43"))),
            Progress::Confirm
        );
    }

    #[test]
    fn without_request_ids_a_new_execution_is_required() {
        let mut t = Tracker::new(None, Some("env-41".into()));
        assert_eq!(
            t.observe(&env("DEPLOYED", None, Some("env-41"))),
            Progress::Waiting { holder: None }
        );
        assert_eq!(
            t.observe(&env("DEPLOYED", None, Some("env-42"))),
            Progress::Finished
        );
        // With our id known but the environment not reporting one, the request's own status decides.
        let mut t = Tracker::new(Some(OURS.into()), Some("env-41".into()));
        assert_eq!(
            t.observe(&env("DEPLOYED", None, Some("env-42"))),
            Progress::Confirm
        );
    }

    #[test]
    fn unknown_states_keep_waiting() {
        let mut t = tracker();
        assert_eq!(
            t.observe(&env("UNAVAILABLE", Some(OURS), Some("env-42"))),
            Progress::Running
        );
        assert_eq!(
            t.observe(&env("SOMETHING_NEW", Some(OURS), Some("env-42"))),
            Progress::Running
        );
    }

    fn target(id: &str, name: &str) -> Target {
        Target {
            id: id.into(),
            name: name.into(),
            kind: crate::kind::ServiceKind::Application,
            field: crate::plan::VersionField::GitCommit,
            version: None,
        }
    }

    fn statuses(services: &[(&str, &str, Option<bool>)]) -> EnvironmentStatuses {
        let applications = services
            .iter()
            .map(|(id, state, part)| {
                serde_json::from_value(
                    serde_json::json!({"id": id, "state": state, "is_part_last_deployment": part}),
                )
                .unwrap()
            })
            .collect();
        EnvironmentStatuses {
            applications,
            ..Default::default()
        }
    }

    #[test]
    fn only_listed_services_are_judged() {
        let targets = [target("a", "api")];
        let s = statuses(&[
            ("a", "DEPLOYED", Some(true)),
            ("b", "BUILD_ERROR", Some(true)),
        ]);
        let v = judge(&State::new("DEPLOYMENT_ERROR"), &targets, &s, true).unwrap();
        assert_eq!(v.result, RunResult::Success);
        assert!(v.warning.is_some());
        let s = statuses(&[("a", "BUILD_ERROR", Some(true))]);
        let v = judge(&State::new("DEPLOYMENT_ERROR"), &targets, &s, true).unwrap();
        assert_eq!(v.result, RunResult::Failure);
        assert!(v.reason.unwrap().contains("api BUILD_ERROR"));
    }

    #[test]
    fn lagging_services_get_patience_then_fail() {
        let targets = [target("a", "api")];
        let s = statuses(&[("a", "DEPLOYING", Some(true))]);
        assert_eq!(judge(&State::new("DEPLOYED"), &targets, &s, true), None);
        assert_eq!(
            judge(&State::new("DEPLOYED"), &targets, &s, false)
                .unwrap()
                .result,
            RunResult::Failure
        );
        let s = statuses(&[("a", "DEPLOYED", Some(false))]);
        assert_eq!(
            judge(&State::new("DEPLOYED"), &targets, &s, true)
                .unwrap()
                .result,
            RunResult::Failure
        );
        let s = statuses(&[("a", "CANCELED", Some(true))]);
        assert_eq!(
            judge(&State::new("CANCELED"), &targets, &s, true)
                .unwrap()
                .result,
            RunResult::Cancelled
        );
    }
}
