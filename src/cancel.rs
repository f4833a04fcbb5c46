//! Cancelling **our** deployment request, and nothing else.
//!
//! - Ours holds the environment: `POST /environment/{id}/cancelDeployment` (with `force_cancel`).
//!   The environment's status is read again right before, so a deployment that started after ours
//!   finished is never the one cancelled.
//! - Ours still waits in the queue behind someone else's: `POST /deploymentQueue/{R}/cancelDeployment`.
//! - A 409 answer: read the status once more and report what is true.
//!
//! (`command: cancel`, which cancels whatever runs in the environment, is [`crate::commands::cancel`].)

use std::time::{Duration, Instant};

use crate::api::types::{EnvironmentStatus, StateClass};
use crate::api::{ApiError, Client};
use crate::ci::Ci;
use crate::inputs::Config;
use crate::report::{Report, RunResult};
use crate::wait::{Stop, Tracker};

/// How long a cancel may take after the timeout passed: the step's budget is spent, but leaving our
/// deployment running would be worse.
pub const CANCEL_BUDGET_AFTER_TIMEOUT: Duration = Duration::from_secs(20);
/// GitHub sends SIGTERM 7.5 s after SIGINT and kills 2.5 s later: the cancel must fit well inside.
pub const CANCEL_BUDGET_AFTER_SIGNAL: Duration = Duration::from_secs(6);

/// The client a cancel uses after a wait stopped: a budget of its own, and no retries when the
/// runner is about to kill us.
pub fn cancel_client(client: &Client, stop: Stop) -> Client {
    match stop {
        Stop::TimedOut => client.with_deadline(Instant::now() + CANCEL_BUDGET_AFTER_TIMEOUT),
        Stop::Interrupted(_) => client
            .with_deadline(Instant::now() + CANCEL_BUDGET_AFTER_SIGNAL)
            .without_retries(),
    }
}

/// What the cancel did, in words fit for the log and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Qovery accepted the cancel.
    Requested(String),
    /// Nothing of ours was left to cancel.
    NothingToCancel(String),
    /// The cancel could not be confirmed.
    Unconfirmed(String),
}

impl Cancelled {
    pub fn describe(&self) -> &str {
        match self {
            Cancelled::Requested(s) | Cancelled::NothingToCancel(s) | Cancelled::Unconfirmed(s) => {
                s
            }
        }
    }
}

/// Cancels each of our requests, the last listed first: requests queue in the order they were
/// sent, so the ones behind are removed from the queue before the running one is stopped (which
/// would let the next one start).
pub async fn cancel_all(
    client: &Client,
    environment_id: &str,
    trackers: &[&Tracker],
    force: bool,
) -> Vec<Cancelled> {
    let mut outcomes = Vec::with_capacity(trackers.len());
    for tracker in trackers.iter().rev() {
        outcomes.push(cancel_own(client, environment_id, tracker, force).await);
    }
    outcomes.reverse();
    outcomes
}

pub async fn cancel_own(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    force: bool,
) -> Cancelled {
    match try_cancel(client, environment_id, tracker, force).await {
        Ok(done) => done,
        Err(error) => Cancelled::Unconfirmed(format!("the cancel could not be confirmed: {error}")),
    }
}

async fn try_cancel(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    force: bool,
) -> Result<Cancelled, ApiError> {
    let status = client.status(environment_id).await?;
    if tracker.holds(&status) {
        return cancel_running(client, environment_id, tracker, &status, force).await;
    }
    let Some(request_id) = tracker.request_id() else {
        return Ok(Cancelled::NothingToCancel(
            "Qovery gave no deployment request id and the environment does not show ours running; nothing was cancelled"
                .to_string(),
        ));
    };
    let queued = client.queued_requests(environment_id).await?;
    if !queued.iter().any(|id| id.eq_ignore_ascii_case(request_id)) {
        return Ok(Cancelled::NothingToCancel(format!(
            "deployment request {request_id} is neither running nor queued any more (environment {})",
            status.state
        )));
    }
    match client.cancel_queued_request(request_id).await {
        Ok(()) => Ok(Cancelled::Requested(format!(
            "removed deployment request {request_id} from the queue; the deployment running now is not ours and was left alone"
        ))),
        Err(error) if error.is_conflict() => {
            // It may have left the queue and started in between.
            let status = client.status(environment_id).await?;
            if tracker.holds(&status) {
                cancel_running(client, environment_id, tracker, &status, force).await
            } else {
                Ok(after_conflict(&status, request_id))
            }
        }
        Err(error) => Err(error),
    }
}

async fn cancel_running(
    client: &Client,
    environment_id: &str,
    tracker: &Tracker,
    status: &EnvironmentStatus,
    force: bool,
) -> Result<Cancelled, ApiError> {
    let ours = tracker.request_id().unwrap_or("(no request id)");
    if status.state.is_terminal() {
        return Ok(Cancelled::NothingToCancel(format!(
            "deployment request {ours} had already finished ({})",
            status.state
        )));
    }
    match client
        .cancel_environment_deployment(environment_id, force)
        .await
    {
        Ok(_) => Ok(Cancelled::Requested(format!(
            "cancel of deployment request {ours} accepted by Qovery{}",
            if force { " (force)" } else { "" }
        ))),
        Err(error) if error.is_conflict() => {
            let status = client.status(environment_id).await?;
            Ok(after_conflict(&status, ours))
        }
        Err(error) => Err(error),
    }
}

/// A 409 says "already cancelled or an operation is in progress": say which is true now.
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

/// A wait stopped before our request(s) ended: cancel them (on a signal always, on the timeout when
/// `cancel-on-timeout`), then record why. The cancel goes first: after a signal the runner kills
/// us within seconds. `environment_id` is the environment the requests were made in (a preview
/// environment's, for `preview`; `environment-id` otherwise).
pub async fn after_stop(
    stop: Stop,
    config: &Config,
    client: &Client,
    environment_id: &str,
    ci: &Ci,
    report: &mut Report,
    trackers: &[&Tracker],
) {
    let cancel = matches!(stop, Stop::Interrupted(_)) || config.cancel_on_timeout;
    let outcomes = if cancel {
        let client = cancel_client(client, stop);
        cancel_all(&client, environment_id, trackers, config.force_cancel).await
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
        let note = "cancel-on-timeout is false: the deployment was left running".to_string();
        ci.warning(&note);
        report.cancel_note = Some(note);
    }
}

/// Logs what each cancel did and keeps it for the summary.
pub fn note_cancel(ci: &Ci, report: &mut Report, outcomes: &[Cancelled]) {
    for outcome in outcomes {
        match outcome {
            Cancelled::Unconfirmed(text) => ci.warning(text),
            Cancelled::Requested(text) | Cancelled::NothingToCancel(text) => {
                ci.progress(&format!("cancel: {text}"))
            }
        }
    }
    let notes: Vec<&str> = outcomes.iter().map(Cancelled::describe).collect();
    report.cancel_note = Some(notes.join("; "));
}
