//! Cancelling **our** deployment request, and nothing else.
//!
//! - Ours holds the environment: `POST /environment/{id}/cancelDeployment` (with `force_cancel`).
//!   The environment's status is read again right before, so a deployment that started after ours
//!   finished is never the one cancelled.
//! - Ours still waits in the queue behind someone else's: `POST /deploymentQueue/{R}/cancelDeployment`.
//! - A 409 answer: read the status once more and report what is true.
//! - No request id (Qovery's answer had none): nothing is cancelled, unless Qovery named our
//!   execution (a job that started at once, the execution a merged request rode in). A new
//!   execution in the environment is no proof that it is ours; the log says so and links the
//!   console.
//! - Once a cancel of the running deployment is accepted, the environment is followed until ours
//!   is `CANCELED` (or ends otherwise), within the cancel's budget; the outcome says which.
//!
//! The cancel reads the environment through `/statuses`, not the `/status` the poll ticks read (see
//! `environment` below).
//!
//! The environment-level cancel is sent only when the status read right before names our request
//! id ([`Tracker::proves_ours`]).
//!
//! Time: after a signal, the whole cancel (its reads included) ends within
//! [`crate::signal::AFTER_SIGNAL`] of the signal; after the timeout it has
//! [`CANCEL_BUDGET_AFTER_TIMEOUT`], cut short the same way by a signal arriving meanwhile.
//!
//! (`command: cancel`, which cancels whatever runs in the environment, is [`crate::commands::cancel`].)

use std::time::{Duration, Instant};

use crate::api::types::{EnvironmentStatus, State, StateClass};
use crate::api::{ApiError, Client};
use crate::ci::Ci;
use crate::inputs::Config;
use crate::report::{Report, RunResult};
use crate::signal::{AFTER_SIGNAL, Shutdown};
use crate::wait::{Stop, Tracker};

/// How long a cancel may take after the timeout passed: the step's budget is spent, but leaving our
/// deployment running would be worse.
pub const CANCEL_BUDGET_AFTER_TIMEOUT: Duration = Duration::from_secs(20);

/// The client a cancel uses after a wait stopped: a budget of its own, and no retries when the
/// runner is about to kill us (the budget then counts from the signal).
pub fn cancel_client(client: &Client, stop: Stop, shutdown: &Shutdown) -> Client {
    let now = Instant::now();
    match (stop, shutdown.received_at()) {
        (Stop::Interrupted(_), Some(signal)) => client
            .with_deadline(signal.at.into_std() + AFTER_SIGNAL)
            .without_retries(),
        (Stop::Interrupted(_), None) => client.with_deadline(now + AFTER_SIGNAL).without_retries(),
        (Stop::TimedOut, _) => client.with_deadline(now + CANCEL_BUDGET_AFTER_TIMEOUT),
    }
}

/// How often the environment is read while a cancel takes effect.
const CANCEL_POLL: Duration = Duration::from_secs(1);
/// How long a cancel accepted after a signal is followed: the runner kills the container soon
/// (GitHub: SIGTERM 7.5 s after SIGINT, SIGKILL 2.5 s later), and the exit must come first.
pub const FOLLOW_AFTER_SIGNAL: Duration = Duration::from_secs(3);
/// How long a cancel accepted after the timeout is followed (within its budget).
pub const FOLLOW_AFTER_TIMEOUT: Duration = Duration::from_secs(15);

/// What the cancel did, in words fit for the log and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Qovery accepted the cancel, and ours is seen `CANCELED`.
    Confirmed(String),
    /// Qovery accepted the cancel (removed ours from the queue, or is cancelling it).
    Requested(String),
    /// Nothing of ours was left to cancel.
    NothingToCancel(String),
    /// Ours had already ended, in this state (seen on a status that names it, or in its own
    /// request status): the cancel learnt its outcome, which the run reports.
    Ended(String, State),
    /// The cancel could not be confirmed.
    Unconfirmed(String),
    /// Nothing was cancelled: the deployment cannot be identified as ours.
    Unidentified(String),
}

impl Cancelled {
    pub fn describe(&self) -> &str {
        match self {
            Cancelled::Confirmed(s)
            | Cancelled::Requested(s)
            | Cancelled::NothingToCancel(s)
            | Cancelled::Ended(s, _)
            | Cancelled::Unconfirmed(s)
            | Cancelled::Unidentified(s) => s,
        }
    }

    /// The final state of ours, when the cancel learnt that it had already ended.
    pub fn learned(&self) -> Option<&State> {
        match self {
            Cancelled::Ended(_, state) => Some(state),
            _ => None,
        }
    }

    /// Whether our deployment may still be running after this.
    pub fn may_still_run(&self) -> bool {
        matches!(self, Cancelled::Unconfirmed(_) | Cancelled::Unidentified(_))
    }
}

/// Cancels each of our requests, the last listed first: requests queue in the order they were
/// sent, so the ones behind are removed from the queue before the running one is stopped (which
/// would let the next one start).
///
/// `follow`: how long an accepted cancel of a running deployment is followed to its end.
pub async fn cancel_all(
    client: &Client,
    environment_id: &str,
    trackers: &[&Tracker],
    force: bool,
    console: Option<&str>,
    follow: Duration,
) -> Vec<Cancelled> {
    let mut outcomes = Vec::with_capacity(trackers.len());
    for tracker in trackers.iter().rev() {
        outcomes.push(cancel_own(client, environment_id, tracker, force, console, follow).await);
    }
    outcomes.reverse();
    outcomes
}

pub async fn cancel_own(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    force: bool,
    console: Option<&str>,
    follow: Duration,
) -> Cancelled {
    if !tracker.identified() {
        return Cancelled::Unidentified(format!(
            "nothing was cancelled: Qovery gave no deployment request id, so the deployment cannot be identified as ours (a new execution in the environment may be someone else's); it may still be running, check it in the Qovery console{}",
            console.map(|url| format!(": {url}")).unwrap_or_default()
        ));
    }
    match try_cancel(client, environment_id, tracker, force, follow).await {
        Ok(done) => done,
        Err(ApiError::DeadlineReached { .. }) => Cancelled::Unconfirmed(format!(
            "the cancel of deployment request {} got no answer in time; the deployment may still be running{}",
            tracker.request_id().unwrap_or_default(),
            console.map(|url| format!(": {url}")).unwrap_or_default()
        )),
        Err(error) => Cancelled::Unconfirmed(format!(
            "the cancel could not be confirmed: {}; the deployment may still be running{}",
            first_line(&error.to_string()),
            console.map(|url| format!(": {url}")).unwrap_or_default()
        )),
    }
}

/// The environment's status, as the cancel reads it: through `GET /environment/{id}/statuses`,
/// not the small `/status` every poll tick reads. One request, once; a poll endpoint that fails
/// (a proxy's 5xx, a hanging read) does not also blind the cancel that follows.
async fn environment(client: &Client, environment_id: &str) -> Result<EnvironmentStatus, ApiError> {
    Ok(client.statuses(environment_id).await?.environment)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

async fn try_cancel(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    force: bool,
    follow: Duration,
) -> Result<Cancelled, ApiError> {
    // The read is given half of what is left, so that a hanging one leaves time to ask our
    // request's own status and to cancel.
    let half = client.deadline().saturating_duration_since(Instant::now()) / 2;
    let read = match tokio::time::timeout(half, environment(client, environment_id)).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::DeadlineReached {
            call: crate::api::Call {
                method: reqwest::Method::GET,
                path: format!("/environment/{environment_id}/statuses"),
            },
        }),
    };
    let status = match read {
        Ok(status) => status,
        Err(error @ ApiError::DeadlineReached { .. }) if tracker.request_id().is_none() => {
            return Err(error);
        }
        // Without a status nothing proves ours is running; the queue's cancel is keyed by our
        // id, so it is safe to try blind (a 409 means it is not queued).
        Err(error) => {
            let Some(request_id) = tracker.request_id() else {
                return Err(error);
            };
            if let Some(ended) = ended_by_request(client, request_id).await {
                return Ok(ended);
            }
            return match client.cancel_queued_request(request_id).await {
                Ok(()) => Ok(Cancelled::Requested(format!(
                    "removed deployment request {request_id} from the queue (the environment's status could not be read)"
                ))),
                Err(_) => Err(error),
            };
        }
    };
    if tracker.proves_ours(&status) {
        return cancel_running(client, environment_id, tracker, &status, force, follow).await;
    }
    let Some(request_id) = tracker.request_id() else {
        // Identified by an execution Qovery named (no request id): not shown running any more.
        return Ok(Cancelled::NothingToCancel(format!(
            "execution {} is not running any more (environment {})",
            tracker.execution_id().unwrap_or("?"),
            status.state
        )));
    };
    let queued = client.queued_requests(environment_id).await?;
    if !queued.iter().any(|id| id.eq_ignore_ascii_case(request_id)) {
        if let Some(ended) = ended_by_request(client, request_id).await {
            return Ok(ended);
        }
        return Ok(Cancelled::NothingToCancel(format!(
            "deployment request {request_id} is neither running nor queued any more (environment {})",
            status.state
        )));
    }
    match client.cancel_queued_request(request_id).await {
        Ok(()) => Ok(Cancelled::Requested(removed_from_queue(
            request_id, &status,
        ))),
        Err(error) if error.is_conflict() => {
            // It may have left the queue and started in between.
            let status = environment(client, environment_id).await?;
            if tracker.proves_ours(&status) {
                cancel_running(client, environment_id, tracker, &status, force, follow).await
            } else {
                Ok(after_conflict(&status, request_id))
            }
        }
        Err(error) => Err(error),
    }
}

/// Asks our request's own status (`GET /environment/deploymentStatus?deploymentRequestId=…`):
/// [`Cancelled::Ended`] when it says ours already ended; `None` when it does not answer or ours is
/// not finished.
async fn ended_by_request(client: &Client, request_id: &str) -> Option<Cancelled> {
    let state = client
        .deployment_request_status(request_id)
        .await
        .ok()?
        .status
        .filter(State::is_terminal)?;
    Some(Cancelled::Ended(
        format!("deployment request {request_id} had already ended {state}: nothing to cancel"),
        state,
    ))
}

async fn cancel_running(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    status: &EnvironmentStatus,
    force: bool,
    follow: Duration,
) -> Result<Cancelled, ApiError> {
    let ours = tracker.request_id().unwrap_or("(no request id)");
    if status.state.is_terminal() {
        return Ok(Cancelled::Ended(
            format!(
                "deployment request {ours} had already finished ({})",
                status.state
            ),
            status.state.clone(),
        ));
    }
    match client
        .cancel_environment_deployment(environment_id, force)
        .await
    {
        Ok(_) => Ok(follow_cancel(client, environment_id, tracker, force, follow).await),
        Err(error) if error.is_conflict() => {
            let status = environment(client, environment_id).await?;
            match after_conflict(&status, ours) {
                Cancelled::Requested(_) if !status.state.is_terminal() => {
                    Ok(follow_cancel(client, environment_id, tracker, force, follow).await)
                }
                outcome => Ok(outcome),
            }
        }
        Err(error) => Err(error),
    }
}

/// After Qovery accepted the cancel of ours: a cancel goes through `CANCELING` to `CANCELED` at a
/// safe point (and Terraform actions cannot be stopped; notes §13), so the environment is read
/// every [`CANCEL_POLL`] until ours ends, for `follow` at most and within what is left of the
/// cancel's budget (its client's deadline). The outcome says honestly which it was: cancelled,
/// ended otherwise before the cancel took effect, or requested but not confirmed.
async fn follow_cancel(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    force: bool,
    follow: Duration,
) -> Cancelled {
    let ours = tracker.request_id().unwrap_or("(no request id)");
    let force = if force { " (force)" } else { "" };
    let started = Instant::now();
    let end = client.deadline().min(started + follow);
    let mut last_seen: Option<String> = None;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        // Leave an attempt time to answer.
        let Some(nap) = left
            .checked_sub(Duration::from_millis(500))
            .map(|spare| spare.min(CANCEL_POLL))
        else {
            break;
        };
        tokio::time::sleep(nap).await;
        // No read may outlive the follow.
        let within = |work| tokio::time::timeout_at(end.into(), work);
        let status = match within(environment(client, environment_id)).await {
            Ok(Ok(status)) => status,
            Err(_) | Ok(Err(ApiError::DeadlineReached { .. })) => break,
            // A missed read: the next one may answer.
            Ok(Err(_)) => continue,
        };
        let after = started.elapsed().as_secs();
        // The environment may already show the next deployment: ask ours.
        let state = if tracker.proves_ours(&status) {
            status.state
        } else {
            match tracker.request_id() {
                Some(request) => {
                    match tokio::time::timeout_at(
                        end.into(),
                        client.deployment_request_status(request),
                    )
                    .await
                    {
                        Ok(Ok(answer)) => match answer.status {
                            Some(state) => state,
                            None => continue,
                        },
                        Err(_) | Ok(Err(ApiError::DeadlineReached { .. })) => break,
                        Ok(Err(_)) => continue,
                    }
                }
                None => break,
            }
        };
        match state.class() {
            StateClass::Canceled => {
                return Cancelled::Confirmed(format!(
                    "deployment request {ours} cancelled{force}: {state} {after}s after the cancel was accepted"
                ));
            }
            StateClass::Success | StateClass::Failure => {
                return Cancelled::Ended(
                    format!(
                        "the cancel of deployment request {ours} was accepted{force}, but it ended {state} before the cancel took effect"
                    ),
                    state,
                );
            }
            _ => last_seen = Some(state.to_string()),
        }
    }
    Cancelled::Unconfirmed(format!(
        "the cancel of deployment request {ours} was requested{force} and accepted, but not confirmed: it was still {} {}s later, when the cancel's time ran out; it may still be running",
        last_seen.as_deref().unwrap_or("in progress"),
        started.elapsed().as_secs()
    ))
}

/// A 409 says "already cancelled or an operation is in progress": say which is true now.
/// What removing our queued request did: another deployment is named as running (and left alone)
/// only when the status shows one running.
fn removed_from_queue(request_id: &str, status: &EnvironmentStatus) -> String {
    match status.state.class() {
        StateClass::Running => format!(
            "removed deployment request {request_id} from the queue; the deployment running now ({}) is not ours and was left alone",
            status.state
        ),
        _ => format!(
            "removed deployment request {request_id} from the queue (environment {})",
            status.state
        ),
    }
}

fn after_conflict(status: &EnvironmentStatus, request_id: &str) -> Cancelled {
    match status.state.class() {
        StateClass::Canceled => {
            Cancelled::Requested(format!("deployment request {request_id} is cancelled"))
        }
        _ if status.state.as_str().eq_ignore_ascii_case("CANCELING") => Cancelled::Requested(
            format!("deployment request {request_id} is being cancelled"),
        ),
        StateClass::Success | StateClass::Failure => Cancelled::NothingToCancel(format!(
            "deployment request {request_id} finished before the cancel ({})",
            status.state
        )),
        _ => Cancelled::Unconfirmed(format!(
            "Qovery refused the cancel (409) and the environment is still {}",
            status.state
        )),
    }
}

/// Where a cancel after a wait acts: the run's inputs and client, and the environment the
/// requests were made in (a preview environment's, for `preview`; `environment-id` otherwise).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub config: &'a Config,
    pub client: &'a Client,
    pub environment_id: &'a str,
}

/// A wait stopped before our request(s) ended: cancel them (on a signal always, on the timeout when
/// `cancel-on-timeout`), then record why. Returns what each cancel did: one may have learnt that
/// ours had already ended ([`Cancelled::learned`]). The cancel goes first: after a signal the runner kills
/// us within seconds, so the cancel then ends within [`AFTER_SIGNAL`] of the signal, whatever the
/// API does (a signal arriving during a timeout's cancel cuts it the same way).
pub async fn after_stop(
    stop: Stop,
    scope: Scope<'_>,
    ci: &Ci,
    shutdown: &mut Shutdown,
    report: &mut Report,
    trackers: &[&Tracker],
) -> Vec<Cancelled> {
    let config = scope.config;
    let cancel = matches!(stop, Stop::Interrupted(_)) || config.cancel_on_timeout;
    let outcomes = if cancel {
        cancel_within_budget(stop, scope, shutdown, report, trackers).await
    } else {
        Vec::new()
    };
    match stop {
        Stop::TimedOut => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "the deployment did not finish within the timeout ({}s)",
                config.timeout.as_secs()
            ));
        }
        Stop::Interrupted(signal) => {
            report.result = RunResult::Cancelled;
            report.reason = Some(format!("the CI job was cancelled ({signal}) while waiting"));
            report.interrupted_by = Some(signal);
        }
    }
    if cancel {
        note_cancel(ci, report, &outcomes);
    } else {
        let note = format!(
            "cancel-on-timeout is false: the deployment was left running{}",
            report
                .console_url
                .as_deref()
                .map(|url| format!(" ({url})"))
                .unwrap_or_default()
        );
        ci.warning(&note);
        report.cancel_note = Some(note);
    }
    outcomes
}

/// A wait that ended early on an answer proving it cannot go on (a revoked token, a deleted
/// environment): says that our deployment may still be running, and tries the cancel when
/// `cancel-on-timeout` allows (it may well be refused for the same reason).
pub async fn after_failure(
    error: &ApiError,
    scope: Scope<'_>,
    ci: &Ci,
    shutdown: &mut Shutdown,
    report: &mut Report,
    trackers: &[&Tracker],
) {
    ci.warning(&format!(
        "the wait stopped: {}; the deployment may still be running{}",
        first_line(&error.to_string()),
        report
            .console_url
            .as_deref()
            .map(|url| format!(", check it in the Qovery console: {url}"))
            .unwrap_or_default()
    ));
    if scope.config.cancel_on_timeout {
        let outcomes =
            cancel_within_budget(Stop::TimedOut, scope, shutdown, report, trackers).await;
        note_cancel(ci, report, &outcomes);
    }
}

/// [`cancel_all`] with the client and the time a `stop` allows.
async fn cancel_within_budget(
    stop: Stop,
    scope: Scope<'_>,
    shutdown: &mut Shutdown,
    report: &Report,
    trackers: &[&Tracker],
) -> Vec<Cancelled> {
    let client = cancel_client(scope.client, stop, shutdown);
    let console = report.console_url.as_deref();
    let follow = match stop {
        Stop::TimedOut => FOLLOW_AFTER_TIMEOUT,
        Stop::Interrupted(_) => FOLLOW_AFTER_SIGNAL,
    };
    let cancel = cancel_all(
        &client,
        scope.environment_id,
        trackers,
        scope.config.force_cancel,
        console,
        follow,
    );
    match shutdown.within(AFTER_SIGNAL, cancel).await {
        Some(outcomes) => outcomes,
        None => vec![Cancelled::Unconfirmed(format!(
            "the cancel was cut {}s after the signal, before Qovery confirmed it; the deployment may still be running{}",
            AFTER_SIGNAL.as_secs(),
            console.map(|url| format!(": {url}")).unwrap_or_default()
        ))],
    }
}

/// Logs what each cancel did and keeps it for the summary.
pub fn note_cancel(ci: &Ci, report: &mut Report, outcomes: &[Cancelled]) {
    for outcome in outcomes {
        match outcome {
            Cancelled::Unconfirmed(text) | Cancelled::Unidentified(text) => ci.warning(text),
            Cancelled::Confirmed(text)
            | Cancelled::Requested(text)
            | Cancelled::NothingToCancel(text)
            | Cancelled::Ended(text, _) => ci.progress(&format!("cancel: {text}")),
        }
    }
    let notes: Vec<&str> = outcomes.iter().map(Cancelled::describe).collect();
    report.cancel_note = Some(notes.join("; "));
    report.cancel_pending = outcomes
        .iter()
        .any(|outcome| matches!(outcome, Cancelled::Unconfirmed(_)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str) -> EnvironmentStatus {
        serde_json::from_value(serde_json::json!({"id": "e", "state": state})).unwrap()
    }

    #[test]
    fn another_deployment_is_named_only_when_one_is_running() {
        assert_eq!(
            removed_from_queue("r1", &status("DEPLOYED")),
            "removed deployment request r1 from the queue (environment DEPLOYED)"
        );
        assert_eq!(
            removed_from_queue("r1", &status("DEPLOYING")),
            "removed deployment request r1 from the queue; the deployment running now (DEPLOYING) is not ours and was left alone"
        );
    }
}
