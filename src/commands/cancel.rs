//! `command: cancel`: cancel the deployment running in the environment, whoever started it
//! (`POST /environment/{id}/cancelDeployment` with `force_cancel`), and with `wait`, follow the
//! environment until it leaves its in-progress states.
//!
//! The status is read first: with nothing in progress there is nothing to send.
//!
//! A 409 ("already cancelled or an operation is in progress") is never a crash: the status is read
//! once more and decides.
//! - Nothing in progress any more (it finished, or was already cancelled): exit 0, `result: success`.
//!   The goal of the step, an environment with nothing running, is met; a cleanup step (`if:
//!   cancelled()`, `when: on_failure`) must not turn red because the deployment ended first.
//! - `CANCELING`: a cancel is already under way; exit 0, `result: cancelled` (and waited on with `wait`).
//! - Still running, held by another operation Qovery will not cancel now: with `wait`, wait for it
//!   to end and report its final state (exit 0; 3 on timeout). Without `wait`, exit 4: the API
//!   refused the request, the same class as a 409 on deploy. Not 1 (no deployment failed), not 2
//!   (the input is fine), not 5 (nothing was cancelled).

use crate::api::Client;
use crate::api::types::{EnvironmentStatus, State, StateClass};
use crate::ci::Ci;
use crate::commands::Session;
use crate::console::Console;
use crate::error::Error;
use crate::inputs::Config;
use crate::preflight;
use crate::report::{Report, RunResult};
use crate::wait::{ChangeLog, End, Halt, Pacer, Reading, Stop, Watch};

/// What the environment is doing, as far as a cancel is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    /// Nothing to cancel: finished (any way) or idle (`READY`).
    Idle,
    /// A cancel is already under way.
    Cancelling,
    /// Queued or running.
    InProgress,
    /// A state this build does not classify (`UNAVAILABLE`, a new value).
    Unknown,
}

impl Activity {
    fn of(state: &State) -> Activity {
        match state.class() {
            _ if state.as_str().eq_ignore_ascii_case("CANCELING") => Activity::Cancelling,
            StateClass::Queued | StateClass::Running => Activity::InProgress,
            StateClass::Success | StateClass::Failure | StateClass::Canceled => Activity::Idle,
            StateClass::Other if state.as_str().eq_ignore_ascii_case("READY") => Activity::Idle,
            StateClass::Other => Activity::Unknown,
        }
    }
}

/// What the cancel request found.
enum Answer {
    /// Nothing in progress: nothing was (or had to be) cancelled.
    Nothing(String),
    /// The deployment is being cancelled; the state Qovery reported, when it did.
    Cancelling(String, Option<State>),
    /// Qovery refused (409) and another operation still holds the environment.
    Busy(EnvironmentStatus),
}

/// Runs `command: cancel` (see the module docs for the exit codes of each answer).
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
    let (environment, status) = preflight::read(shutdown, async {
        Ok((client.environment(id).await?, client.status(id).await?))
    })
    .await?;
    let console = Console::new(config, &environment);
    report.state = Some(status.state.to_string());
    report.deployment_request_ids = status.deployment_request_id.iter().cloned().collect();
    report.execution_ids = status.last_deployment_id.iter().cloned().collect();
    report.console_url = console
        .as_ref()
        .map(|c| c.deployment(status.last_deployment_id.as_deref()));
    ci.line(&format!(
        "Environment {} ({id}) is {}{}",
        environment.name.as_deref().unwrap_or("?"),
        status.state,
        status
            .deployment_request_id
            .as_deref()
            .map(|r| format!(", deployment request {r}"))
            .unwrap_or_default()
    ));

    if let Some(signal) = shutdown.received() {
        return Err(Error::Interrupted(signal));
    }
    let answer = match Activity::of(&status.state) {
        Activity::Idle => Answer::Nothing(format!(
            "nothing to cancel: no deployment is in progress ({})",
            status.state
        )),
        Activity::Cancelling => Answer::Cancelling(
            format!(
                "a cancel is already under way ({}); nothing sent",
                status.state
            ),
            Some(status.state.clone()),
        ),
        Activity::InProgress | Activity::Unknown => request_cancel(config, client, id).await?,
    };
    let other_operation = match answer {
        Answer::Nothing(text) => {
            ci.progress(&text);
            report.result = RunResult::Success;
            return Ok(());
        }
        Answer::Cancelling(text, state) => {
            ci.progress(&text);
            report.result = RunResult::Cancelled;
            if let Some(state) = state {
                report.state = Some(state.to_string());
            }
            false
        }
        Answer::Busy(status) if config.wait => {
            ci.warning(&format!(
                "Qovery refused the cancel (409): another operation holds the environment ({}); waiting for it to end",
                status.state
            ));
            report.result = RunResult::Success;
            report.state = Some(status.state.to_string());
            true
        }
        Answer::Busy(status) => {
            return Err(Error::Busy {
                state: status.state.to_string(),
            });
        }
    };
    if !config.wait {
        return Ok(());
    }
    let mut pacer = Pacer::new(Watch::new(client, id, config, deadline), shutdown);
    let end = End::from_wait(settle(&mut pacer, report, ci).await)?;
    conclude(end, other_operation, config, report, ci);
    Ok(())
}

/// Sends the cancel; a 409 is answered by reading the status once more.
async fn request_cancel(config: &Config, client: &Client, id: &str) -> Result<Answer, Error> {
    let force = if config.force_cancel { " (force)" } else { "" };
    match client
        .cancel_environment_deployment(id, config.force_cancel)
        .await
    {
        Ok(accepted) => Ok(Answer::Cancelling(
            format!("cancel accepted by Qovery{force}"),
            accepted.map(|status| status.state),
        )),
        Err(error) if error.is_conflict() => {
            let status = client.status(id).await?;
            Ok(match Activity::of(&status.state) {
                Activity::InProgress => Answer::Busy(status),
                Activity::Cancelling => Answer::Cancelling(
                    format!(
                        "Qovery answered 409: a cancel is already under way ({})",
                        status.state
                    ),
                    Some(status.state),
                ),
                Activity::Idle | Activity::Unknown => Answer::Nothing(format!(
                    "nothing to cancel: Qovery answered 409 and the environment is {} (already cancelled or finished)",
                    status.state
                )),
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Polls `GET /environment/{id}/status` until the environment leaves its in-progress states;
/// returns the state it settled in.
async fn settle(pacer: &mut Pacer<'_>, report: &mut Report, ci: &Ci) -> Result<State, Halt> {
    let mut changes = ChangeLog::default();
    let client = pacer.poller();
    let id = pacer.watch.environment_id;
    loop {
        pacer.pause().await?;
        let Some(status) = pacer
            .read(ci, Reading::Environment, client.status(id))
            .await?
        else {
            continue;
        };
        changes.state(ci, "environment", "environment", status.state.as_str());
        report.state = Some(status.state.to_string());
        if Activity::of(&status.state) == Activity::Idle {
            return Ok(status.state);
        }
    }
}

/// The result once the wait ended. `other_operation`: the cancel was refused and the wait was for
/// an operation Qovery would not cancel.
fn conclude(end: End<State>, other_operation: bool, config: &Config, report: &mut Report, ci: &Ci) {
    match end {
        End::Finished(state) if state.class() == StateClass::Canceled => {
            report.result = RunResult::Cancelled;
        }
        End::Finished(state) => {
            let note = if other_operation {
                format!("the environment is free: the other operation ended {state}")
            } else {
                format!(
                    "the deployment ended {state} before the cancel took effect; nothing is in progress now"
                )
            };
            ci.warning(&note);
            report.result = RunResult::Success;
            report.cancel_note = Some(note);
        }
        End::Stopped(Stop::TimedOut) => {
            report.result = RunResult::Timeout;
            report.reason = Some(format!(
                "the environment was still {} when the timeout passed ({}s)",
                report.state.as_deref().unwrap_or("in progress"),
                config.timeout.as_secs()
            ));
        }
        End::Stopped(Stop::Interrupted(signal)) => {
            report.result = RunResult::Cancelled;
            report.interrupted_by = Some(signal);
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) while waiting for the environment to settle"
            ));
        }
    }
}
