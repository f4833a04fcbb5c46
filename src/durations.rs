//! How long each service's deployment took, for the duration column of the log table and the step
//! summary.
//!
//! Two sources, from the status data the wait reads anyway (no extra request):
//! - Qovery's own `steps.total_duration_sec` (the spec's `Status.steps`, `ServiceStepMetrics`),
//!   when the status shows the service finished in our deployment: exact, queueing included;
//! - else what the wait saw ([`Stopwatch`]): from the first poll that showed the service in
//!   progress to the first poll that showed it in a final state, so within one poll interval.
//!
//! A service never seen in progress (it finished between two polls) and without Qovery's figure
//! has no duration (`-`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::types::{ServiceStatus, State, StateClass};

/// Times each followed key (a service id) from its first in-progress state to its first final
/// state after that, as the polls show them.
#[derive(Debug, Default)]
pub struct Stopwatch {
    started: HashMap<String, Instant>,
    took: HashMap<String, Duration>,
}

impl Stopwatch {
    /// Records that `key` shows `state` now.
    pub fn observe(&mut self, key: &str, state: &State) {
        self.observe_at(key, state, Instant::now());
    }

    fn observe_at(&mut self, key: &str, state: &State, now: Instant) {
        match state.class() {
            StateClass::Queued | StateClass::Running => {
                self.started.entry(key.to_string()).or_insert(now);
            }
            StateClass::Success | StateClass::Failure | StateClass::Canceled => {
                if let Some(start) = self.started.get(key) {
                    let took = now.saturating_duration_since(*start);
                    self.took.entry(key.to_string()).or_insert(took);
                }
            }
            StateClass::Other => {}
        }
    }

    /// How long `key` took from in progress to final, if both were seen.
    pub fn took(&self, key: &str) -> Option<Duration> {
        self.took.get(key).copied()
    }
}

/// A service's duration in whole seconds (rounded to the nearest): Qovery's
/// `steps.total_duration_sec` when `status` shows the service in a final state of our deployment
/// (`is_part_last_deployment` not false), else `observed` (see the module docs).
pub fn service_seconds(status: Option<&ServiceStatus>, observed: Option<Duration>) -> Option<u64> {
    let qovery = status
        .filter(|s| s.state.is_terminal() && s.is_part_last_deployment != Some(false))
        .and_then(|s| s.steps.as_ref())
        .and_then(|steps| steps.total_duration_sec);
    qovery.or_else(|| observed.map(|d| d.as_secs_f64().round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stopwatch_runs_from_first_in_progress_to_first_final_state() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut watch = Stopwatch::default();
        watch.observe_at("api", &State::new("DEPLOYED"), at(0)); // the previous deployment's
        watch.observe_at("api", &State::new("DEPLOYMENT_QUEUED"), at(5));
        watch.observe_at("api", &State::new("BUILDING"), at(10));
        watch.observe_at("api", &State::new("UNAVAILABLE"), at(12));
        watch.observe_at("api", &State::new("DEPLOYED"), at(65));
        watch.observe_at("api", &State::new("DEPLOYED"), at(70));
        assert_eq!(watch.took("api"), Some(Duration::from_secs(60)));
        // Never seen in progress: no figure rather than a wrong one.
        watch.observe_at("web", &State::new("DEPLOYED"), at(65));
        assert_eq!(watch.took("web"), None);
        watch.observe_at("job", &State::new("EXECUTING"), at(1));
        watch.observe_at("job", &State::new("BUILD_ERROR"), at(4));
        assert_eq!(watch.took("job"), Some(Duration::from_secs(3)));
    }

    fn status(json: serde_json::Value) -> ServiceStatus {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn qovery_s_figure_wins_once_the_service_finished_in_our_deployment() {
        let observed = Some(Duration::from_millis(61_600));
        let done = status(serde_json::json!({"id": "a", "state": "DEPLOYED",
            "is_part_last_deployment": true, "steps": {"total_duration_sec": 58}}));
        assert_eq!(service_seconds(Some(&done), observed), Some(58));
        // Still running: Qovery's figure is not final (the spec: null until completed).
        let running = status(serde_json::json!({"id": "a", "state": "DEPLOYING",
            "steps": {"total_duration_sec": 12}}));
        assert_eq!(service_seconds(Some(&running), None), None);
        // Not in our deployment: its figure is an older deployment's.
        let other = status(serde_json::json!({"id": "a", "state": "DEPLOYED",
            "is_part_last_deployment": false, "steps": {"total_duration_sec": 9}}));
        assert_eq!(service_seconds(Some(&other), observed), Some(62));
        let bare = status(serde_json::json!({"id": "a", "state": "DEPLOYED"}));
        assert_eq!(service_seconds(Some(&bare), observed), Some(62));
        assert_eq!(service_seconds(None, None), None);
    }
}
