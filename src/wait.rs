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

use crate::api::types::{
    EnvironmentStatus, EnvironmentStatuses, HistoryExecution, QueuedRequest, ServiceStatus, State,
    StateClass,
};
use crate::api::{ApiError, Client};
use crate::cadence::{Cadence, Read};
use crate::ci::Ci;
use crate::durations::Stopwatch;
use crate::history;
use crate::inputs::Config;
use crate::locate::{self, Whereabouts};
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
    /// `execution_id` was named by Qovery as ours (a job's deploy answer, or the execution our
    /// merged request rode in), not guessed from a new execution: it identifies ours for a cancel.
    named_execution: bool,
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
            named_execution: false,
        }
    }

    /// The last state of ours actually seen, if any.
    pub fn last_state(&self) -> Option<&State> {
        self.last_state.as_ref()
    }

    /// Whether this status positively shows our request: it names our request id. Unlike
    /// [`Tracker::holds`], a new execution without a request id is no proof: it is what a cancel
    /// requires before touching the environment.
    ///
    /// Without a request id, an execution Qovery named as ours ([`Tracker::with_execution`],
    /// [`Tracker::adopt`]) is proof when the status shows it.
    pub fn proves_ours(&self, status: &EnvironmentStatus) -> bool {
        match self.request_id.as_deref() {
            Some(ours) => same(Some(ours), status.deployment_request_id.as_deref()),
            None => {
                self.named_execution
                    && same(
                        self.execution_id.as_deref(),
                        status.last_deployment_id.as_deref(),
                    )
            }
        }
    }

    /// Whether a cancel can tell ours apart: a request id, or an execution Qovery named as ours.
    pub fn identified(&self) -> bool {
        self.request_id.is_some() || (self.named_execution && self.execution_id.is_some())
    }

    /// The same tracker, already following `execution_id`: a request whose deploy answer named
    /// its execution but no request id (a job that started at once; notes §13, "Jobs").
    pub fn with_execution(mut self, execution_id: Option<String>) -> Tracker {
        self.named_execution = execution_id.is_some();
        self.execution_id = execution_id;
        self
    }

    /// Follows `execution` from now on: the execution our request rode in when Qovery merged it
    /// into another request ([`crate::locate`]). `holder`: the request that holds the environment
    /// for that execution, when the environment shows it now; without it the execution id alone
    /// identifies ours.
    pub fn adopt(&mut self, execution: String, holder: Option<String>) {
        self.request_id = holder;
        self.execution_id = Some(execution);
        self.named_execution = true;
    }

    /// Whether the environment shows another execution than ours (once ours is known): it moved
    /// on before ours was judged, and its statuses describe the newer one.
    pub fn moved_on(&self, env: &EnvironmentStatus) -> bool {
        self.execution_id.is_some()
            && env.last_deployment_id.is_some()
            && !same(
                env.last_deployment_id.as_deref(),
                self.execution_id.as_deref(),
            )
    }

    /// Records a state of ours learnt elsewhere (the history of our execution).
    pub fn saw_state(&mut self, state: &State) {
        self.last_state = Some(state.clone());
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

    /// `GET /environment/{id}/statuses`, every service's status; `None` for a missed tick.
    pub async fn statuses(&mut self, ci: &Ci) -> Result<Option<EnvironmentStatuses>, Halt> {
        let client = self.poller();
        let environment_id = self.watch.environment_id;
        self.read(ci, Reading::Environment, client.statuses(environment_id))
            .await
    }

    /// `GET /environment/{id}/status`, the environment's own (small) status; `None` for a missed
    /// tick.
    pub async fn status(&mut self, ci: &Ci) -> Result<Option<EnvironmentStatus>, Halt> {
        let client = self.poller();
        let environment_id = self.watch.environment_id;
        self.read(ci, Reading::Environment, client.status(environment_id))
            .await
    }

    /// One tick's read, as [`Cadence`] chose it; `None` for a missed tick.
    pub async fn tick(&mut self, ci: &Ci, read: Read) -> Result<Option<Tick>, Halt> {
        Ok(match read {
            Read::Status => self.status(ci).await?.map(Tick::Status),
            Read::Statuses => self
                .statuses(ci)
                .await?
                .map(|s| Tick::Statuses(Box::new(s))),
        })
    }

    /// `GET /environment/{id}/deploymentQueue`; `None` for a missed read.
    pub async fn queue(&mut self, ci: &Ci) -> Result<Option<Vec<QueuedRequest>>, Halt> {
        let client = self.poller();
        let environment_id = self.watch.environment_id;
        self.read(
            ci,
            Reading::Environment,
            client.deployment_queue(environment_id),
        )
        .await
    }

    /// `GET /environment/{id}/deploymentHistoryV2`, the [`history::PAGE_SIZE`] latest executions;
    /// `None` for a missed read.
    pub async fn history(&mut self, ci: &Ci) -> Result<Option<Vec<HistoryExecution>>, Halt> {
        self.history_page(ci, history::PAGE_SIZE).await
    }

    /// The `page_size` latest executions of the history; `None` for a missed read.
    pub async fn history_page(
        &mut self,
        ci: &Ci,
        page_size: u32,
    ) -> Result<Option<Vec<HistoryExecution>>, Halt> {
        let client = self.poller();
        let environment_id = self.watch.environment_id;
        self.read(
            ci,
            Reading::Environment,
            client.deployment_history(environment_id, page_size),
        )
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

    /// Waits for the next poll (longer after missed ticks, see `Misses::pause`); stops at the
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

/// What one tick read: the environment's status alone, or with every service's.
#[derive(Debug)]
pub enum Tick {
    Status(EnvironmentStatus),
    Statuses(Box<EnvironmentStatuses>),
}

impl Tick {
    pub fn environment(&self) -> &EnvironmentStatus {
        match self {
            Tick::Status(env) => env,
            Tick::Statuses(statuses) => &statuses.environment,
        }
    }

    pub fn statuses(&self) -> Option<&EnvironmentStatuses> {
        match self {
            Tick::Status(_) => None,
            Tick::Statuses(statuses) => Some(statuses),
        }
    }
}

/// Our batched deployment, finished: its final state and the statuses read then.
#[derive(Debug)]
pub struct Done {
    pub state: State,
    pub statuses: Box<EnvironmentStatuses>,
    /// The environment had moved on to another execution before ours was judged: the statuses
    /// describe that one as much as ours, and ours is judged from its history entry.
    pub moved_on: bool,
}

/// How following our batched deployment ended.
#[derive(Debug)]
pub enum Ended {
    /// Ours reached a terminal state.
    Finished(Done),
    /// Ours left the queue without ever holding the environment, the environment is idle, and no
    /// execution since our request carries its services: it will not run. `Cancelled` when its
    /// own status says it was cancelled, else `Failure`; the reason, for the log.
    Vanished(RunResult, String),
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
///
/// `our_execution`: a service whose `execution_id` is ours is ours, whatever its
/// `is_part_last_deployment` says (that flag is relative to the environment's latest execution,
/// which may already be another one; notes §13).
///
/// A service's end counts only when it is ours ([`Whose`]): one that names another execution (or,
/// ours unknown, another request) still shows an older deployment and is unsettled: waited for
/// within the patience, then a failure. A deploy succeeds only on `DEPLOYED` or `RESTARTED`
/// ([`State::is_deployed`]): a service (or environment) that ended `STOPPED` or `DELETED` failed.
pub fn judge(
    env_state: &State,
    targets: &[Target],
    statuses: &EnvironmentStatuses,
    patient: bool,
    our_execution: Option<&str>,
    our_request: Option<&str>,
) -> Option<Verdict> {
    let mut failed = Vec::new();
    let mut cancelled = Vec::new();
    let mut unsettled = Vec::new();
    for target in targets {
        let Some(status) = statuses.service(&target.id) else {
            unsettled.push(format!("{} (missing from the statuses)", target.name));
            continue;
        };
        let whose = whose(status, our_execution, our_request);
        if let Whose::Other(which) = &whose {
            unsettled.push(format!(
                "{} still shows {} of another deployment ({which})",
                target.name, status.state
            ));
            continue;
        }
        let ours = whose == Whose::Ours && our_execution.is_some();
        if status.is_part_last_deployment == Some(false)
            && !ours
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
            (StateClass::Success, _) if status.state.is_deployed() => {}
            (StateClass::Success, _) => failed.push(format!(
                "{} ended {}, which is not a deployment's end (was it stopped or deleted meanwhile?)",
                target.name, status.state
            )),
            _ => unsettled.push(format!("{} {}", target.name, status.state)),
        }
    }
    let env_class = env_state.class();
    if !unsettled.is_empty() && failed.is_empty() && env_state.is_terminal() && patient {
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
    } else if env_class == StateClass::Success && !env_state.is_deployed() {
        verdict(
            RunResult::Failure,
            format!("the environment ended {env_state}, which is not a deployment's end"),
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

/// Whose deployment a service's status shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    /// Its execution id (or, our execution unknown, its request id) is ours.
    Ours,
    /// It names another execution (or, ours unknown, another request): the text says which.
    Other(String),
    /// It names neither: judged as before, by `is_part_last_deployment`.
    Unknown,
}

/// Whose deployment `status` shows. The execution id decides when both are known (a service's
/// `deployment_request_id` may already name a request queued after ours); else the request id.
pub fn whose(
    status: &ServiceStatus,
    our_execution: Option<&str>,
    our_request: Option<&str>,
) -> Whose {
    if let (Some(ours), Some(shown)) = (our_execution, status.execution_id.as_deref()) {
        return if same(Some(ours), Some(shown)) {
            Whose::Ours
        } else {
            Whose::Other(format!("execution {shown}"))
        };
    }
    if let (Some(ours), Some(shown)) = (our_request, status.deployment_request_id.as_deref()) {
        return if same(Some(ours), Some(shown)) {
            Whose::Ours
        } else {
            Whose::Other(format!("deployment request {shown}"))
        };
    }
    Whose::Unknown
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
        if self.show_environment(ci, progress, &statuses.environment) {
            self.show_services(ci, statuses, targets);
        }
    }

    /// The environment's line: waiting, or its state when it changed. `false` while ours waits
    /// (the services' states are then not ours to show).
    pub fn show_environment(
        &mut self,
        ci: &Ci,
        progress: &Progress,
        env: &EnvironmentStatus,
    ) -> bool {
        if let Progress::Waiting { holder } = progress {
            self.line(ci, WAITING_KEY, waiting_line(holder.as_deref(), &env.state));
            return false;
        }
        self.state(ci, ENVIRONMENT_KEY, ENVIRONMENT_KEY, env.state.as_str());
        true
    }

    /// The listed services' lines, for those whose state changed.
    pub fn show_services(&mut self, ci: &Ci, statuses: &EnvironmentStatuses, targets: &[Target]) {
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
/// the summary. `baseline`: the environment's status read before our `POST`; `before`: its latest
/// execution when the `POST` was accepted (a merged request's execution started after it).
#[allow(clippy::too_many_arguments)]
pub async fn wait(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    targets: &[Target],
    changes: &mut ChangeLog,
    ci: &Ci,
    last: &mut Option<EnvironmentStatuses>,
    baseline: &EnvironmentStatus,
    before: Option<&str>,
) -> Result<End<Ended>, ApiError> {
    let mut course = Course {
        targets,
        before,
        cadence: Cadence::new(baseline),
        probe: Probe::default(),
        confirming: false,
        vanished_looks: 0,
    };
    let followed = follow(pacer, tracker, &mut course, changes, ci, last).await;
    if let (Err(_), Some(missed)) = (&followed, pacer.missed()) {
        ci.progress(&missed);
    }
    End::from_wait(followed)
}

/// The state of one wait between ticks.
struct Course<'a> {
    targets: &'a [Target],
    before: Option<&'a str>,
    cadence: Cadence,
    probe: Probe,
    /// Ours ran and the environment no longer shows it, but its end is not confirmed yet: ask on
    /// every tick until it is.
    confirming: bool,
    /// Consecutive looks that found ours gone ([`Whereabouts::Vanished`]): it takes two, a tick
    /// apart, to conclude (a request that just left the queue may not show anywhere yet).
    vanished_looks: u32,
}

/// Whether the environment shows a settled state: finished (any way) or `READY`. An unknown state
/// (`UNAVAILABLE`, a value this build does not know) is not.
fn settled(state: &State) -> bool {
    state.is_terminal() || state.as_str().eq_ignore_ascii_case("READY")
}

/// When to look for our request while it waits on an idle environment, where no change will come
/// to prompt it: after 3 idle ticks, then 6, 12, … That tick's one request is the queue instead
/// of the status, so a tick still makes one request while nothing changes.
#[derive(Debug, Clone)]
struct Probe {
    idle_ticks: u32,
    next: u32,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            idle_ticks: 0,
            next: 3,
        }
    }
}

impl Probe {
    /// Counts a tick: ours not started yet on an idle environment (`idle`), else starts over.
    fn count(&mut self, idle: bool) {
        if idle {
            self.idle_ticks += 1;
        } else {
            *self = Probe::default();
        }
    }

    /// Whether the next tick looks for our request instead of reading the status.
    fn due(&self) -> bool {
        self.idle_ticks >= self.next
    }

    fn done(&mut self) {
        self.idle_ticks = 0;
        self.next = self.next.saturating_mul(2);
    }
}

/// Whether our request has not started: waiting, or our id shown on a state that may still be
/// the previous deployment's (nothing of ours seen running).
fn not_started(progress: &Progress, tracker: &Tracker) -> bool {
    match progress {
        Progress::Waiting { .. } => true,
        Progress::Confirm => tracker.execution_id().is_none() && !tracker.seen_running,
        _ => false,
    }
}

async fn follow(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    course: &mut Course<'_>,
    changes: &mut ChangeLog,
    ci: &Ci,
    last: &mut Option<EnvironmentStatuses>,
) -> Result<Ended, Halt> {
    // Polls granted to services that lag an environment already done.
    let mut patience = 2;
    let targets = course.targets;
    loop {
        if course.probe.due() {
            course.probe.done();
            if let Some(gone) = look_for_ours(pacer, tracker, course, None, changes, ci).await? {
                return Ok(gone);
            }
            pacer.pause().await?;
            continue;
        }
        let read = course.cadence.next();
        let Some(tick) = pacer.tick(ci, read).await? else {
            pacer.pause().await?;
            continue;
        };
        let env = tick.environment().clone();
        let changed = course.cadence.saw(&env, read);
        let mut progress = tracker.observe(&env);
        if not_started(&progress, tracker) && changed && tracker.request_id().is_some() {
            // Something changed while ours waits (another deployment started or ended): is ours
            // still queued?
            if let Some(gone) =
                look_for_ours(pacer, tracker, course, Some(&env), changes, ci).await?
            {
                return Ok(gone);
            }
            progress = tracker.observe(&env);
        }
        let idle = settled(&env.state);
        course
            .probe
            .count(not_started(&progress, tracker) && idle && tracker.request_id().is_some());
        if changes.show_environment(ci, &progress, &env) {
            if let Some(statuses) = tick.statuses() {
                changes.show_services(ci, statuses, targets);
            }
        }
        let finished = match progress {
            Progress::Finished => Some(env.state.clone()),
            Progress::Confirm if changed || course.confirming => {
                let state = settle(pacer, tracker, &env, ci).await?;
                course.confirming = state.is_none() && tracker.execution_id().is_some();
                state
            }
            _ => None,
        };
        let Some(state) = finished else {
            if let Tick::Statuses(statuses) = tick {
                *last = Some(*statuses);
            }
            pacer.pause().await?;
            continue;
        };
        // Ours ended: its services' statuses, read now when this tick read only the status.
        let statuses = match tick {
            Tick::Statuses(statuses) => Some(statuses),
            Tick::Status(_) => {
                let statuses = pacer.statuses(ci).await?.map(Box::new);
                if let Some(statuses) = &statuses {
                    if !tracker.moved_on(&env) {
                        changes.show_services(ci, statuses, targets);
                    }
                }
                statuses
            }
        };
        let Some(statuses) = statuses else {
            course.cadence.want_services();
            course.confirming = true;
            pacer.pause().await?;
            continue;
        };
        if tracker.moved_on(&env) {
            changes.line(
                ci,
                "moved-on",
                format!(
                    "the environment moved on to execution {} before ours ({}) was judged: ours is judged from its record in the deployment history",
                    env.last_deployment_id.as_deref().unwrap_or("?"),
                    tracker.execution_id().unwrap_or("?")
                ),
            );
            return Ok(Ended::Finished(Done {
                state,
                statuses,
                moved_on: true,
            }));
        }
        if judge(
            &state,
            targets,
            &statuses,
            patience > 0,
            tracker.execution_id(),
            tracker.request_id(),
        )
        .is_some()
        {
            return Ok(Ended::Finished(Done {
                state,
                statuses,
                moved_on: false,
            }));
        }
        patience -= 1;
        course.cadence.want_services();
        course.confirming = true;
        *last = Some(*statuses);
        pacer.pause().await?;
    }
}

/// Settles a [`Progress::Confirm`]: the request's own status, else (no request id to ask, or no
/// answer) our execution's entry in the history when the environment has moved on. `None` while
/// ours is not known to have ended.
async fn settle(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    env: &EnvironmentStatus,
    ci: &Ci,
) -> Result<Option<State>, Halt> {
    if let Some(state) = confirm(pacer, tracker, ci).await? {
        if state.is_terminal() {
            return Ok(Some(state));
        }
        if state.class() != StateClass::Other {
            return Ok(None);
        }
    }
    if !tracker.moved_on(env) {
        return Ok(None);
    }
    let Some(history) = pacer.history(ci).await? else {
        return Ok(None);
    };
    let state = tracker
        .execution_id()
        .and_then(|e| history::find(&history, e))
        .and_then(|e| e.status.clone())
        .filter(State::is_terminal);
    if let Some(state) = &state {
        tracker.saw_state(state);
    }
    Ok(state)
}

/// Looks for our request, which the environment does not show: still queued, or (not in the
/// queue, never held the environment) merged into another request's execution, which it then
/// follows ([`Tracker::adopt`]). `Some(Ended::Vanished)` when it is gone for good
/// ([`Whereabouts::Vanished`]).
/// `env`: this tick's status, when the look was prompted by a change (else the probe reads none).
async fn look_for_ours(
    pacer: &mut Pacer<'_>,
    tracker: &mut Tracker,
    course: &mut Course<'_>,
    env: Option<&EnvironmentStatus>,
    changes: &mut ChangeLog,
    ci: &Ci,
) -> Result<Option<Ended>, Halt> {
    let Some(ours) = tracker.request_id().map(str::to_string) else {
        return Ok(None);
    };
    let Some(queue) = pacer.queue(ci).await? else {
        return Ok(None);
    };
    if locate::in_queue(&queue, Some(&ours), None, course.targets).is_some() {
        return Ok(None);
    }
    // Not queued. Started (or ended) since the last look? The request's own status says.
    let request_state = confirm(pacer, tracker, ci).await?;
    if let Some(state) = &request_state {
        if matches!(state.class(), StateClass::Queued | StateClass::Running) {
            return Ok(None);
        }
    }
    let env = match env {
        Some(env) => env.clone(),
        None => match pacer.status(ci).await? {
            Some(env) => env,
            None => return Ok(None),
        },
    };
    if tracker.holds(&env) {
        return Ok(None);
    }
    let Some(history) = pacer.history(ci).await? else {
        return Ok(None);
    };
    let idle = queue.is_empty() && settled(&env.state);
    let found = locate::whereabouts(&history, course.before, course.targets, idle);
    if found != Whereabouts::Vanished {
        course.vanished_looks = 0;
    }
    match found {
        Whereabouts::Execution(execution) => {
            let holder = env
                .deployment_request_id
                .clone()
                .filter(|_| same(env.last_deployment_id.as_deref(), Some(&execution)));
            ci.progress(&format!(
                "deployment request {ours} is not in the queue and never held the environment: Qovery merged it into execution {execution}{} (the first execution after ours that carries every listed service); following that one",
                holder
                    .as_deref()
                    .map(|h| format!(" of deployment request {h}"))
                    .unwrap_or_default()
            ));
            tracker.adopt(execution, holder);
            Ok(None)
        }
        Whereabouts::Unknown => {
            changes.line(
                ci,
                "lost",
                format!(
                    "deployment request {ours} left the queue without holding the environment; looking for the execution that carries it"
                ),
            );
            Ok(None)
        }
        Whereabouts::Vanished if course.vanished_looks == 0 => {
            course.vanished_looks = 1;
            // Look once more at the next tick, instead of its status read.
            course.probe.idle_ticks = course.probe.next;
            changes.line(
                ci,
                "lost",
                format!(
                    "deployment request {ours} is not queued, not running, and no execution carries it; looking once more before concluding"
                ),
            );
            Ok(None)
        }
        Whereabouts::Vanished => {
            let nothing = "nothing else is queued or running, and no execution since ours carries every listed service";
            Ok(Some(match request_state {
                Some(state) if state.class() == StateClass::Canceled => Ended::Vanished(
                    RunResult::Cancelled,
                    format!(
                        "deployment request {ours} was cancelled before it ran ({state}); {nothing}"
                    ),
                ),
                _ => Ended::Vanished(
                    RunResult::Failure,
                    format!(
                        "deployment request {ours} left the queue without ever holding the environment, {nothing}: it will not run (was it cancelled in the Qovery console?)"
                    ),
                ),
            }))
        }
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
        let v = judge(
            &State::new("DEPLOYMENT_ERROR"),
            &targets,
            &s,
            true,
            None,
            None,
        )
        .unwrap();
        assert_eq!(v.result, RunResult::Success);
        assert!(v.warning.is_some());
        let s = statuses(&[("a", "BUILD_ERROR", Some(true))]);
        let v = judge(
            &State::new("DEPLOYMENT_ERROR"),
            &targets,
            &s,
            true,
            None,
            None,
        )
        .unwrap();
        assert_eq!(v.result, RunResult::Failure);
        assert!(v.reason.unwrap().contains("api BUILD_ERROR"));
    }

    #[test]
    fn a_service_of_another_execution_is_not_ours() {
        let targets = [target("a", "api")];
        let mut s = statuses(&[("a", "DEPLOYED", Some(true))]);
        s.applications[0].execution_id = Some("env-41".into());
        s.applications[0].deployment_request_id = Some(PREVIOUS.into());
        let ended = State::new("DEPLOYMENT_ERROR");
        let judged = |s: &EnvironmentStatuses, patient, exec, req| {
            judge(&ended, &targets, s, patient, exec, req)
        };
        assert_eq!(judged(&s, true, Some("env-42"), Some(OURS)), None);
        let v = judged(&s, false, Some("env-42"), Some(OURS)).unwrap();
        assert_eq!(v.result, RunResult::Failure);
        assert!(v.reason.unwrap().contains("execution env-41"));
        // Our execution unknown: the request id decides.
        let v = judged(&s, false, None, Some(OURS)).unwrap();
        assert_eq!(v.result, RunResult::Failure);
        // Ours by execution (its request id may already name a later queued request): counted.
        s.applications[0].execution_id = Some("env-42".into());
        let v = judge(
            &State::new("DEPLOYED"),
            &targets,
            &s,
            false,
            Some("env-42"),
            Some(OURS),
        );
        assert_eq!(v.unwrap().result, RunResult::Success);
    }

    #[test]
    fn stopped_and_deleted_are_not_deployed() {
        let targets = [target("a", "api")];
        for state in ["STOPPED", "DELETED"] {
            let s = statuses(&[("a", state, Some(true))]);
            let v = judge(&State::new("DEPLOYED"), &targets, &s, true, None, None).unwrap();
            assert_eq!(v.result, RunResult::Failure, "{state}");
        }
        let s = statuses(&[("a", "RESTARTED", Some(true))]);
        let v = judge(&State::new("STOPPED"), &targets, &s, true, None, None).unwrap();
        assert_eq!(v.result, RunResult::Failure, "the environment stopped");
        let v = judge(&State::new("DEPLOYED"), &targets, &s, true, None, None).unwrap();
        assert_eq!(v.result, RunResult::Success);
    }

    #[test]
    fn lagging_services_get_patience_then_fail() {
        let targets = [target("a", "api")];
        let s = statuses(&[("a", "DEPLOYING", Some(true))]);
        assert_eq!(
            judge(&State::new("DEPLOYED"), &targets, &s, true, None, None),
            None
        );
        assert_eq!(
            judge(&State::new("DEPLOYED"), &targets, &s, false, None, None)
                .unwrap()
                .result,
            RunResult::Failure
        );
        let s = statuses(&[("a", "DEPLOYED", Some(false))]);
        assert_eq!(
            judge(&State::new("DEPLOYED"), &targets, &s, true, None, None)
                .unwrap()
                .result,
            RunResult::Failure
        );
        let s = statuses(&[("a", "CANCELED", Some(true))]);
        assert_eq!(
            judge(&State::new("CANCELED"), &targets, &s, true, None, None)
                .unwrap()
                .result,
            RunResult::Cancelled
        );
    }
}
