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

use crate::api::types::{EnvironmentStatus, EnvironmentStatuses, State, StateClass};
use crate::api::{ApiError, Client};
use crate::ci::Ci;
use crate::plan::Target;
use crate::report::RunResult;
use crate::signal::Shutdown;

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

/// Follows one deployment request across polls.
#[derive(Debug, Clone)]
pub struct Tracker {
    request_id: Option<String>,
    baseline_execution: Option<String>,
    execution_id: Option<String>,
    seen_running: bool,
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
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Our execution id, once seen.
    pub fn execution_id(&self) -> Option<&str> {
        self.execution_id.as_deref()
    }

    /// Whether this status shows our deployment holding the environment.
    pub fn holds(&self, env: &EnvironmentStatus) -> bool {
        let drid = env.deployment_request_id.as_deref();
        match (self.request_id.as_deref(), drid) {
            (Some(_), Some(_)) => same(self.request_id.as_deref(), drid),
            // No request id to compare: the execution id must have moved on from the baseline.
            _ => match &self.execution_id {
                Some(e) => same(env.last_deployment_id.as_deref(), Some(e)),
                None => {
                    env.last_deployment_id.is_some()
                        && !same(
                            env.last_deployment_id.as_deref(),
                            self.baseline_execution.as_deref(),
                        )
                }
            },
        }
    }

    pub fn observe(&mut self, env: &EnvironmentStatus) -> Progress {
        let direct = same(
            self.request_id.as_deref(),
            env.deployment_request_id.as_deref(),
        );
        let new_execution = env.last_deployment_id.is_some()
            && !same(
                env.last_deployment_id.as_deref(),
                self.baseline_execution.as_deref(),
            );
        if !self.holds(env) {
            if self.execution_id.is_some() || self.seen_running {
                // Ours was running and the environment has moved on: it ended between two polls.
                return Progress::Confirm;
            }
            let holder = env
                .deployment_request_id
                .clone()
                .filter(|_| self.request_id.is_some());
            return Progress::Waiting { holder };
        }
        if self.execution_id.is_none() && new_execution {
            self.execution_id = env.last_deployment_id.clone();
        }
        if !env.state.is_terminal() {
            if matches!(env.state.class(), StateClass::Queued | StateClass::Running) {
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

/// How the wait ended.
#[derive(Debug)]
pub enum End {
    Finished {
        state: State,
        statuses: Box<EnvironmentStatuses>,
    },
    TimedOut,
    Interrupted(&'static str),
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
        match status.state.class() {
            StateClass::Success => {}
            StateClass::Failure => failed.push(format!("{} {}", target.name, status.state)),
            StateClass::Canceled => cancelled.push(format!("{} {}", target.name, status.state)),
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

/// Prints a line when something changes, not on every poll.
#[derive(Debug, Default)]
pub struct ChangeLog {
    environment: Option<String>,
    waiting: Option<String>,
    services: HashMap<String, String>,
}

impl ChangeLog {
    /// Starts from the states before the deploy, so the first line reads `DEPLOYED -> BUILDING`.
    pub fn new(baseline: &EnvironmentStatuses, targets: &[Target]) -> ChangeLog {
        let services = targets
            .iter()
            .filter_map(|t| Some((t.id.clone(), baseline.service(&t.id)?.state.to_string())))
            .collect();
        ChangeLog {
            environment: None,
            waiting: None,
            services,
        }
    }

    pub fn show(
        &mut self,
        ci: &Ci,
        progress: &Progress,
        statuses: &EnvironmentStatuses,
        targets: &[Target],
    ) {
        let env = &statuses.environment;
        if let Progress::Waiting { holder } = progress {
            let line = match holder {
                Some(other) => format!(
                    "queued: the environment is busy with deployment request {other} ({})",
                    env.state
                ),
                None => "queued: waiting for Qovery to start the deployment".to_string(),
            };
            if self.waiting.as_ref() != Some(&line) {
                ci.progress(&line);
                self.waiting = Some(line);
            }
            return;
        }
        let state = env.state.to_string();
        if self.environment.as_ref() != Some(&state) {
            match &self.environment {
                Some(previous) => ci.progress(&format!("environment: {previous} -> {state}")),
                None => ci.progress(&format!("environment: {state}")),
            }
            self.environment = Some(state);
        }
        for target in targets {
            let Some(status) = statuses.service(&target.id) else {
                continue;
            };
            let state = status.state.to_string();
            let previous = self.services.insert(target.id.clone(), state.clone());
            match previous {
                Some(previous) if previous == state => {}
                Some(previous) => ci.progress(&format!("{}: {previous} -> {state}", target.name)),
                None => ci.progress(&format!("{}: {state}", target.name)),
            }
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

/// Polls until our deployment finishes, the deadline passes or a signal arrives. `last` keeps the
/// latest statuses seen, for the summary.
pub async fn wait(
    watch: &Watch<'_>,
    tracker: &mut Tracker,
    targets: &[Target],
    changes: &mut ChangeLog,
    shutdown: &mut Shutdown,
    ci: &Ci,
    last: &mut Option<EnvironmentStatuses>,
) -> Result<End, ApiError> {
    // Polls granted to services that lag an environment already done.
    let mut patience = 2;
    loop {
        let statuses = tokio::select! {
            result = watch.client.statuses(watch.environment_id) => result?,
            signal = shutdown.wait() => return Ok(End::Interrupted(signal)),
        };
        let progress = tracker.observe(&statuses.environment);
        changes.show(ci, &progress, &statuses, targets);
        let finished = match progress {
            Progress::Finished => Some(statuses.environment.state.clone()),
            Progress::Confirm => match tracker.request_id() {
                Some(request_id) => {
                    let confirmed = tokio::select! {
                        result = watch.client.deployment_request_status(request_id) => result?,
                        signal = shutdown.wait() => return Ok(End::Interrupted(signal)),
                    };
                    confirmed.status.filter(State::is_terminal)
                }
                None => None,
            },
            Progress::Waiting { .. } | Progress::Running => None,
        };
        if let Some(state) = finished {
            if judge(&state, targets, &statuses, patience > 0).is_some() {
                return Ok(End::Finished {
                    state,
                    statuses: Box::new(statuses),
                });
            }
            patience -= 1;
        }
        *last = Some(statuses);

        let remaining = watch.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(End::TimedOut);
        }
        tokio::select! {
            _ = tokio::time::sleep(watch.poll_interval.min(remaining)) => {}
            signal = shutdown.wait() => return Ok(End::Interrupted(signal)),
        }
        if Instant::now() >= watch.deadline {
            return Ok(End::TimedOut);
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
