//! The busy-environment scenarios: `merged`, `moved-on`, `version-mismatch`, `job-immediate`,
//! `cancel-slow` and `foreign-id`. Each is a small rule the state machine asks about at one point
//! (set-up, pickup, enqueue, cancel, completion); everything else is the ordinary machine.

use std::time::{Duration, Instant};

use super::{DeploymentRequest, Lifecycle, RequestKind, Target, World};
use crate::api::{ActionStatus, Origin, State, Status, StatusDetails};
use crate::fixtures::{self, ids};
use crate::scenario::Scenario;

/// Steps a cancel stays `CANCELING` in `cancel-slow` (one step otherwise).
const SLOW_CANCEL_STEPS: u32 = 4;

/// Services the `moved-on` follower may deploy, the first one ours does not list.
const FOLLOWER_CANDIDATES: [&str; 3] = [ids::CHARTS, ids::INFRA, ids::REPORT];

impl World {
    /// What a busy scenario has running or queued when the mock starts.
    /// - `merged`: someone else's deployment runs (as in `queued`), and a request of the API
    ///   token's user waits behind it, held back until another request of that user is merged
    ///   into it.
    /// - `foreign-id`: someone else's deployment runs (as in `queued`).
    pub(super) fn set_up_busy_scenario(&mut self) {
        match self.scenario {
            Scenario::Merged => {
                self.start_other_deployment();
                let charts = fixtures::service_index(ids::CHARTS);
                let epoch = self.clock.epoch();
                self.push_queued(
                    ids::SAME_USER_DEPLOYMENT_REQUEST,
                    charts.into_iter().collect(),
                    Origin::Api,
                    fixtures::API_USER,
                    epoch,
                );
            }
            Scenario::ForeignId => self.start_other_deployment(),
            _ => {}
        }
    }

    /// Queues a services request made by someone (not through [`World::enqueue`]).
    fn push_queued(
        &mut self,
        id: &str,
        services: Vec<usize>,
        origin: Origin,
        triggered_by: &'static str,
        at: Instant,
    ) {
        let plan = self.plan(RequestKind::Services);
        self.requests.push(DeploymentRequest {
            id: id.to_owned(),
            kind: RequestKind::Services,
            targets: services
                .into_iter()
                .map(|service| Target {
                    service,
                    version: None,
                })
                .collect(),
            origin,
            triggered_by,
            created_at: at,
            plan,
            lifecycle: Lifecycle::Queued,
        });
        self.queue.push_back(self.requests.len() - 1);
    }

    /// How long after it may start a queued request is picked up; `None` while it is held back.
    /// One step, except: the `moved-on` follower and `job-immediate` jobs start at once, and the
    /// `merged` same-user request waits for a merge.
    pub(super) fn pickup_delay(&self, index: usize) -> Option<Duration> {
        let request = &self.requests[index];
        match self.scenario {
            Scenario::MovedOn if request.id == ids::FOLLOWING_DEPLOYMENT_REQUEST => {
                Some(Duration::ZERO)
            }
            Scenario::JobImmediate if matches!(request.kind, RequestKind::Job(_)) => {
                Some(Duration::ZERO)
            }
            Scenario::Merged
                if request.id == ids::SAME_USER_DEPLOYMENT_REQUEST && self.merged.is_empty() =>
            {
                None
            }
            _ => Some(self.step),
        }
    }

    /// How long a cancelled request stays `CANCELING`.
    pub(super) fn cancel_duration(&self) -> Duration {
        match self.scenario {
            Scenario::CancelSlow => self.step * SLOW_CANCEL_STEPS,
            _ => self.step,
        }
    }

    /// `merged`: a services request through the API joins the queued request of the same user
    /// (Qovery's "Queueing and Merging": same user, same action). Its services are added to that
    /// request, with their versions; its own id never runs. `true` when it was merged.
    pub(super) fn merge(&mut self, kind: RequestKind, targets: &[Target], id: &str) -> bool {
        if self.scenario != Scenario::Merged || kind != RequestKind::Services {
            return false;
        }
        let Some(&index) = self.queue.iter().find(|&&i| {
            let request = &self.requests[i];
            request.origin == Origin::Api
                && request.triggered_by == fixtures::API_USER
                && request.kind == RequestKind::Services
        }) else {
            return false;
        };
        let into = &mut self.requests[index];
        for target in targets {
            match into
                .targets
                .iter_mut()
                .find(|t| t.service == target.service)
            {
                Some(existing) => {
                    if target.version.is_some() {
                        existing.version.clone_from(&target.version);
                    }
                }
                None => into.targets.push(target.clone()),
            }
        }
        into.targets.sort_by_key(|t| t.service);
        self.merged.push(id.to_owned());
        true
    }

    /// Whether a request id was merged into another request.
    pub(super) fn was_merged(&self, id: &str) -> bool {
        self.merged.iter().any(|m| m == id)
    }

    /// `moved-on`: the first request through the API gets a follower, queued right behind it,
    /// that deploys another service and starts the instant ours ends.
    pub(super) fn after_enqueue(&mut self, kind: RequestKind, now: Instant) {
        if self.scenario != Scenario::MovedOn
            || kind != RequestKind::Services
            || self
                .requests
                .iter()
                .any(|r| r.id == ids::FOLLOWING_DEPLOYMENT_REQUEST)
        {
            return;
        }
        let ours = self
            .requests
            .last()
            .map(|r| r.targets.clone())
            .unwrap_or_default();
        let service = FOLLOWER_CANDIDATES
            .iter()
            .filter_map(|id| fixtures::service_index(id))
            .find(|index| !ours.iter().any(|t| t.service == *index));
        self.push_queued(
            ids::FOLLOWING_DEPLOYMENT_REQUEST,
            service.into_iter().collect(),
            Origin::Console,
            fixtures::OTHER_USER,
            now,
        );
    }

    /// The request id the deploy `202` announces for request `ours`: in `foreign-id`, the id of
    /// the request that holds the environment (Qovery's answer describing the running deployment).
    pub(crate) fn announced_request_id(&self, ours: String) -> String {
        match (self.scenario, self.running) {
            (Scenario::ForeignId, Some(running)) => self.requests[running].id.clone(),
            _ => ours,
        }
    }

    /// The `202` `Status` of a job request just queued. In `job-immediate` the job starts at once
    /// when nothing else runs: the answer then has no deployment request id, only the new
    /// `execution_id` (what Qovery's console reads as "deploying now").
    pub(crate) fn job_accepted(
        &mut self,
        job: usize,
        kind: RequestKind,
        request_id: String,
        now: Instant,
    ) -> Status {
        self.advance(now);
        let started = self
            .requests
            .iter()
            .find(|r| r.id == request_id)
            .is_some_and(|r| r.run().is_some());
        let status = self.service_status(job, now);
        if self.scenario == Scenario::JobImmediate && started {
            return Status {
                deployment_request_id: None,
                ..status
            };
        }
        Status {
            state: State::DeploymentQueued,
            status_details: StatusDetails::new(kind.action(), ActionStatus::Queued),
            deployment_request_id: Some(request_id),
            ..status
        }
    }
}

/// Whether a successful request sets the version it asks for on the target at `position`. Not in
/// `version-mismatch` for its first target with a version: that service keeps its previous version
/// (what Qovery deployed is not what was asked, and only the history says so).
pub(super) fn applies_version(
    scenario: Scenario,
    request: &DeploymentRequest,
    position: usize,
) -> bool {
    scenario != Scenario::VersionMismatch
        || request.origin != Origin::Api
        || request.targets.iter().position(|t| t.version.is_some()) != Some(position)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::clock::Clock;
    use crate::fixtures::SERVICES;
    use crate::scenario::Scenario;
    use crate::state::JobEvent;

    const S: Duration = Duration::from_secs(10);

    struct At {
        world: World,
        t0: Instant,
    }

    impl At {
        fn new(scenario: Scenario) -> At {
            let t0 = Instant::now();
            let wall = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
            At {
                world: World::new(scenario, S, Clock::new(t0, wall)),
                t0,
            }
        }

        fn at(&mut self, steps: f64) -> Instant {
            let now = self.t0 + S.mul_f64(steps);
            self.world.advance(now);
            now
        }

        fn deploy(&mut self, steps: f64, services: &[(&str, &str)]) -> String {
            let now = self.at(steps);
            let targets = services
                .iter()
                .map(|(id, version)| Target {
                    service: fixtures::service_index(id).unwrap(),
                    version: Some((*version).to_owned()),
                })
                .collect();
            self.world.enqueue(RequestKind::Services, targets, now)
        }

        fn env(&mut self, steps: f64) -> (State, Option<String>, Option<String>) {
            let now = self.at(steps);
            let env = self.world.environment_status(now);
            (env.state, env.deployment_request_id, env.last_deployment_id)
        }

        fn history(&mut self, steps: f64) -> Vec<serde_json::Value> {
            let now = self.at(steps);
            self.world.history(now, 20).results
        }
    }

    fn execution(n: u32) -> String {
        format!("{}-{n}", ids::ENVIRONMENT)
    }

    fn service<'a>(execution: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
        execution["stages"]
            .as_array()?
            .iter()
            .flat_map(|stage| stage["services"].as_array().into_iter().flatten())
            .find(|s| s["identifier"]["service_id"] == id)
    }

    #[test]
    fn merged_requests_ride_in_the_same_users_queued_request() {
        let mut w = At::new(Scenario::Merged);
        assert_eq!(w.world.queued_requests().len(), 1);
        let ours = w.deploy(0.5, &[(ids::API, "abc1234")]);
        // Ours is never queued on its own, and its id is unknown to the request-status endpoint.
        let queued = w.world.queued_requests();
        assert_eq!(queued.len(), 1);
        assert_eq!(
            queued[0].identifier.deployment_request_id,
            ids::SAME_USER_DEPLOYMENT_REQUEST
        );
        assert_eq!(
            queued[0].stages.len(),
            2,
            "backend (api) and frontend (charts)"
        );
        assert_eq!(w.world.deployment_status(&ours, w.t0), None);
        // The other user's deployment runs 4 steps; the merged request starts one step later.
        assert_eq!(w.env(4.5).1.as_deref(), Some(ids::OTHER_DEPLOYMENT_REQUEST));
        let (state, holder, execution_id) = w.env(5.5);
        assert_eq!(state, State::Building);
        assert_eq!(holder.as_deref(), Some(ids::SAME_USER_DEPLOYMENT_REQUEST));
        assert_eq!(execution_id, Some(execution(43)));
        assert_eq!(w.env(8.0).0, State::Deployed);
        let history = w.history(8.0);
        assert_eq!(
            history[0]["identifier"]["execution_id"],
            execution(43).as_str()
        );
        let api = service(&history[0], ids::API).expect("api rode in execution 43");
        assert_eq!(api["details"]["commit"]["git_commit_id"], "abc1234");
        assert!(service(&history[0], ids::CHARTS).is_some());
    }

    #[test]
    fn without_a_merge_the_same_users_request_stays_queued() {
        let mut w = At::new(Scenario::Merged);
        assert_eq!(w.env(100.0).0, State::Deployed);
        assert_eq!(w.world.queued_requests().len(), 1);
    }

    #[test]
    fn moved_on_starts_another_deployment_the_instant_ours_ends() {
        let mut w = At::new(Scenario::MovedOn);
        let ours = w.deploy(0.0, &[(ids::API, "abc1234")]);
        assert_eq!(w.env(2.5).1.as_deref(), Some(ours.as_str()));
        // Ours ends at 3 steps; the follower starts at the same instant.
        let (state, holder, execution_id) = w.env(3.0);
        assert_eq!(state, State::Building);
        assert_eq!(holder.as_deref(), Some(ids::FOLLOWING_DEPLOYMENT_REQUEST));
        assert_eq!(execution_id, Some(execution(43)));
        assert_eq!(
            w.world.deployment_status(&ours, w.t0 + S * 3),
            Some(State::Deployed)
        );
        let api = w.world.service_status(0, w.t0 + S * 3);
        assert!(!api.is_part_last_deployment);
        let history = w.history(3.0);
        let ours = history
            .iter()
            .find(|e| e["identifier"]["execution_id"] == execution(42).as_str())
            .unwrap();
        assert_eq!(ours["status"], "DEPLOYED");
        assert_eq!(service(ours, ids::API).unwrap()["status"], "DEPLOYED");
        assert!(service(&history[0], ids::CHARTS).is_some());
    }

    #[test]
    fn version_mismatch_keeps_the_first_services_previous_version() {
        let mut w = At::new(Scenario::VersionMismatch);
        w.deploy(0.0, &[(ids::API, "abc1234"), (ids::WORKER, "1.5.0")]);
        let history = w.history(3.0);
        assert_eq!(history[0]["status"], "DEPLOYED");
        let api = service(&history[0], ids::API).unwrap();
        assert_eq!(api["status"], "DEPLOYED");
        assert_eq!(
            api["details"]["commit"]["git_commit_id"],
            SERVICES[0].initial_version
        );
        assert_eq!(
            service(&history[0], ids::WORKER).unwrap()["details"]["tag"],
            "1.5.0"
        );
        assert_eq!(
            w.world.services()[0]["git_repository"]["deployed_commit_id"],
            SERVICES[0].initial_version
        );
    }

    #[test]
    fn job_immediate_answers_an_execution_and_no_request_id() {
        let mut w = At::new(Scenario::JobImmediate);
        let now = w.at(0.0);
        let job = fixtures::service_index(ids::MIGRATE).unwrap();
        let kind = RequestKind::Job(Some(JobEvent::Start));
        let target = Target {
            service: job,
            version: None,
        };
        let id = w.world.enqueue(kind, vec![target.clone()], now);
        let answer = w.world.job_accepted(job, kind, id, now);
        assert_eq!(answer.deployment_request_id, None);
        assert_eq!(answer.state, State::Executing);
        assert_eq!(answer.execution_id, Some(execution(42)));
        // While it runs, a second one is queued as usual.
        let second = w.world.enqueue(kind, vec![target], now);
        let answer = w.world.job_accepted(job, kind, second.clone(), now);
        assert_eq!(answer.deployment_request_id, Some(second));
        assert_eq!(answer.state, State::DeploymentQueued);
    }

    #[test]
    fn cancel_slow_stays_canceling_for_four_steps() {
        let mut w = At::new(Scenario::CancelSlow);
        w.deploy(0.0, &[(ids::API, "abc1234")]);
        let now = w.at(10.0);
        assert!(w.world.cancel_running(now));
        assert_eq!(w.env(13.9).0, State::Canceling);
        assert_eq!(w.env(14.0).0, State::Canceled);
    }

    #[test]
    fn foreign_id_announces_the_running_request() {
        let mut w = At::new(Scenario::ForeignId);
        let ours = w.deploy(0.5, &[(ids::API, "abc1234")]);
        assert_eq!(
            w.world.announced_request_id(ours.clone()),
            ids::OTHER_DEPLOYMENT_REQUEST
        );
        assert_eq!(
            w.world.queued_requests()[0]
                .identifier
                .deployment_request_id,
            ours
        );
        // Once nothing else runs, the answer would be ours.
        w.at(100.0);
        assert_eq!(w.world.announced_request_id(ours.clone()), ours);
    }

    #[test]
    fn every_scenario_lists_the_previous_execution_first_when_nothing_ran() {
        for scenario in [Scenario::Happy, Scenario::Stale, Scenario::Flaky] {
            let mut w = At::new(scenario);
            let history = w.history(0.0);
            assert_eq!(history.len(), 1);
            assert_eq!(
                history[0]["identifier"]["execution_id"],
                ids::PREVIOUS_EXECUTION
            );
            assert_eq!(
                history[0]["stages"].as_array().unwrap().len(),
                3,
                "every service, in its stage"
            );
        }
    }
}
