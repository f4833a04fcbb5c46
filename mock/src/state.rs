//! The time-driven deployment state machine.
//!
//! Nothing runs in the background: every API call first [`World::advance`]s the machine to
//! "now" (monotonic clock), replaying the pickups and completions that became due since the
//! previous call, in order. Given the same calls at the same instants the answers are the same.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::{
    Action, ActionStatus, AuditingData, EnvironmentStatus, EnvironmentStatuses, Origin,
    QueuedDeploymentRequest, QueuedIdentifier, State, Status, StatusDetails,
};
use crate::clock::Clock;
use crate::fixtures::{self, SERVICES, ServiceType, ids};
use crate::scenario::Scenario;
use crate::stages::Stages;

mod busy;
mod history;

pub(crate) use history::HistoryPage;

/// How long before the mock started the previous deployment happened.
const PREVIOUS_DEPLOYMENT_AGE: Duration = Duration::from_secs(3600);
/// How long the previous deployment took.
const PREVIOUS_DEPLOYMENT_SECONDS: u64 = 95;

/// `forceEvent` of a job deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobEvent {
    Start,
    Stop,
    Delete,
    Cron,
}

impl JobEvent {
    pub(crate) const NAMES: &'static str = "START, STOP, DELETE, CRON";

    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "START" => Some(JobEvent::Start),
            "STOP" => Some(JobEvent::Stop),
            "DELETE" => Some(JobEvent::Delete),
            "CRON" => Some(JobEvent::Cron),
            _ => None,
        }
    }
}

/// What a deployment request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// `POST /environment/{id}/service/deploy`: deploy the listed services.
    Services,
    /// `POST /job/{id}/deploy|redeploy`: run one job, optionally for a forced event.
    Job(Option<JobEvent>),
}

impl RequestKind {
    pub(crate) fn action(self) -> Action {
        match self {
            RequestKind::Job(Some(JobEvent::Stop)) => Action::Stop,
            RequestKind::Job(Some(JobEvent::Delete)) => Action::Delete,
            _ => Action::Deploy,
        }
    }

    /// State of a service once the request succeeded.
    fn success_state(self) -> State {
        match self {
            RequestKind::Job(Some(JobEvent::Stop)) => State::Stopped,
            RequestKind::Job(Some(JobEvent::Delete)) => State::Deleted,
            _ => State::Deployed,
        }
    }
}

/// A service a request deploys, with the version it asks for (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Index into [`SERVICES`].
    pub service: usize,
    /// Commit, image tag or chart version to deploy; `None` keeps the current one.
    pub version: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Building,
    Deploying,
    Executing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Canceled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Ends with this outcome after the last phase.
    Finish(Outcome),
    /// Stays in this phase forever after the listed ones (until cancelled).
    Hang(Phase),
}

/// The phases a started request goes through, decided when it is created.
#[derive(Clone, Debug)]
struct Plan {
    phases: Vec<(Phase, Duration)>,
    ending: Ending,
    /// On failure, the failing service still reports `DEPLOYED` (with status `ERROR`).
    failure_looks_deployed: bool,
}

impl Plan {
    fn phase_at(&self, elapsed: Duration) -> Phase {
        let mut end = Duration::ZERO;
        for &(phase, length) in &self.phases {
            end += length;
            if elapsed < end {
                return phase;
            }
        }
        match self.ending {
            Ending::Hang(phase) => phase,
            Ending::Finish(_) => self.phases.last().map_or(Phase::Deploying, |p| p.0),
        }
    }

    /// Time from start to outcome; `None` if it never ends on its own.
    fn duration(&self) -> Option<Duration> {
        match self.ending {
            Ending::Finish(_) => Some(self.phases.iter().map(|p| p.1).sum()),
            Ending::Hang(_) => None,
        }
    }

    fn outcome(&self) -> Outcome {
        match self.ending {
            Ending::Finish(outcome) => outcome,
            Ending::Hang(_) => Outcome::Canceled,
        }
    }
}

/// A started request.
#[derive(Clone, Copy, Debug)]
struct Run {
    execution: u32,
    started_at: Instant,
    cancel_at: Option<Instant>,
    finished: Option<(Instant, Outcome)>,
}

#[derive(Clone, Copy, Debug)]
enum Lifecycle {
    Queued,
    /// Cancelled while still queued.
    Dequeued,
    Started(Run),
}

/// Where a request stands at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    Queued,
    Running(Phase),
    Canceling,
    Done(Outcome),
}

#[derive(Clone, Debug)]
struct DeploymentRequest {
    id: String,
    kind: RequestKind,
    /// In canonical order (applications, containers, jobs, helms, databases, terraforms).
    targets: Vec<Target>,
    origin: Origin,
    triggered_by: &'static str,
    created_at: Instant,
    plan: Plan,
    lifecycle: Lifecycle,
}

impl DeploymentRequest {
    fn includes(&self, service: usize) -> bool {
        self.targets.iter().any(|target| target.service == service)
    }

    fn run(&self) -> Option<&Run> {
        match &self.lifecycle {
            Lifecycle::Started(run) => Some(run),
            _ => None,
        }
    }

    /// In the `fail` scenario, the first target is the one that fails.
    fn fails(&self, service: usize) -> bool {
        self.plan.outcome() == Outcome::Failure
            && self.targets.first().is_some_and(|t| t.service == service)
    }

    fn progress(&self, now: Instant) -> Progress {
        match self.lifecycle {
            Lifecycle::Queued => Progress::Queued,
            Lifecycle::Dequeued => Progress::Done(Outcome::Canceled),
            Lifecycle::Started(run) => match (run.finished, run.cancel_at) {
                (Some((_, outcome)), _) => Progress::Done(outcome),
                (None, Some(cancel_at)) if cancel_at <= now => Progress::Canceling,
                _ => Progress::Running(
                    self.plan
                        .phase_at(now.saturating_duration_since(run.started_at)),
                ),
            },
        }
    }

    /// State and status details of one of its services at this progress.
    fn service_view(&self, service: usize, progress: Progress) -> (State, ActionStatus) {
        let def = &SERVICES[service];
        match progress {
            Progress::Queued => (State::DeploymentQueued, ActionStatus::Queued),
            Progress::Running(Phase::Building) if def.builds() => {
                (State::Building, ActionStatus::Ongoing)
            }
            Progress::Running(Phase::Building) => (State::DeploymentQueued, ActionStatus::Ongoing),
            Progress::Running(Phase::Deploying) => (State::Deploying, ActionStatus::Ongoing),
            Progress::Running(Phase::Executing) => (State::Executing, ActionStatus::Executing),
            Progress::Canceling => (State::Canceling, ActionStatus::Canceling),
            Progress::Done(Outcome::Canceled) => (State::Canceled, ActionStatus::Canceled),
            Progress::Done(Outcome::Failure)
                if self.fails(service) && self.plan.failure_looks_deployed =>
            {
                (State::Deployed, ActionStatus::Error)
            }
            Progress::Done(Outcome::Failure) if self.fails(service) => {
                let state = match self.kind {
                    RequestKind::Services if def.builds() => State::BuildError,
                    _ => State::DeploymentError,
                };
                (state, ActionStatus::Error)
            }
            Progress::Done(_) => (self.kind.success_state(), ActionStatus::Success),
        }
    }
}

/// Environment-level state of a request at this progress.
fn environment_state(progress: Progress) -> State {
    match progress {
        Progress::Queued => State::Queued,
        Progress::Running(Phase::Building) => State::Building,
        Progress::Running(Phase::Deploying | Phase::Executing) => State::Deploying,
        Progress::Canceling => State::Canceling,
        Progress::Done(Outcome::Success) => State::Deployed,
        Progress::Done(Outcome::Failure) => State::DeploymentError,
        Progress::Done(Outcome::Canceled) => State::Canceled,
    }
}

fn execution_id(execution: u32) -> String {
    format!("{}-{execution}", ids::ENVIRONMENT)
}

/// How a started request ended, for its deployment log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunEnd {
    Success,
    Failure,
    Canceled,
}

/// One execution as its deployment log tells it (see [`crate::logs`]).
#[derive(Clone, Debug)]
pub(crate) struct RunLog {
    pub execution: u32,
    pub kind: RequestKind,
    /// The services of the request, in canonical order.
    pub targets: Vec<Target>,
    /// The service that fails, when the request ends in failure.
    pub failing: Option<usize>,
    pub started_at: Instant,
    /// When the deploy phase starts (`None`: a job request, which only executes).
    pub deploy_at: Option<Instant>,
    /// When a cancel was asked.
    pub cancel_at: Option<Instant>,
    pub finished: Option<(Instant, RunEnd)>,
    /// The state machine's step.
    pub step: Duration,
}

/// Why a queued request could not be cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CancelQueuedError {
    NotFound,
    NotQueued,
}

/// The whole mutable state of the mock's environment.
#[derive(Debug)]
pub(crate) struct World {
    scenario: Scenario,
    step: Duration,
    clock: Clock,
    /// Deployed version of each fixture service (index into [`SERVICES`]).
    versions: Vec<String>,
    stages: Stages,
    /// Every request ever made, in creation order.
    requests: Vec<DeploymentRequest>,
    /// Indices into `requests` of the requests waiting to start, FIFO.
    queue: VecDeque<usize>,
    running: Option<usize>,
    /// The request the environment status reports: the most recently started one.
    current: Option<usize>,
    /// Last execution number handed out.
    executions: u32,
    /// When the last running request finished.
    idle_since: Instant,
    /// When the queue's head last changed because a request left the queue.
    head_since: Instant,
    /// Whether a deployment happened before the mock started (the fixture environment); a
    /// freshly cloned environment has none: `READY`, `NEVER_DEPLOYED`, no execution yet.
    has_history: bool,
    /// Requests merged into another one (`merged` scenario): they never run on their own.
    merged: Vec<String>,
}

impl World {
    pub(crate) fn new(scenario: Scenario, step: Duration, clock: Clock) -> Self {
        let epoch = clock.epoch();
        let mut world = World {
            scenario,
            step,
            clock,
            versions: SERVICES
                .iter()
                .map(|s| s.initial_version.to_owned())
                .collect(),
            stages: Stages::default(),
            requests: Vec::new(),
            queue: VecDeque::new(),
            running: None,
            current: None,
            executions: fixtures::PREVIOUS_EXECUTION_NUMBER,
            idle_since: epoch,
            head_since: epoch,
            has_history: true,
            merged: Vec::new(),
        };
        if matches!(scenario, Scenario::Queued | Scenario::QueuedStuck) {
            world.start_other_deployment();
        }
        world.set_up_busy_scenario();
        world
    }

    /// A world that was never deployed, as a freshly cloned environment is: every service
    /// `READY` with status `NEVER`, no execution id and no deployment request until the first
    /// deployment (execution number 1). The `queued*` scenarios' other deployment does not run
    /// here: it belongs to the fixture environment.
    pub(crate) fn never_deployed(scenario: Scenario, step: Duration, clock: Clock) -> Self {
        let epoch = clock.epoch();
        World {
            scenario,
            step,
            clock,
            versions: SERVICES
                .iter()
                .map(|s| s.initial_version.to_owned())
                .collect(),
            stages: Stages::default(),
            requests: Vec::new(),
            queue: VecDeque::new(),
            running: None,
            current: None,
            executions: 0,
            idle_since: epoch,
            head_since: epoch,
            has_history: false,
            merged: Vec::new(),
        }
    }

    /// Whether a deployment request with this id was made in this world.
    pub(crate) fn knows_request(&self, id: &str) -> bool {
        (self.has_history && id == ids::PREVIOUS_DEPLOYMENT_REQUEST)
            || self.requests.iter().any(|request| request.id == id)
    }

    pub(crate) fn stages(&self) -> &Stages {
        &self.stages
    }

    pub(crate) fn stages_mut(&mut self) -> &mut Stages {
        &mut self.stages
    }

    /// Someone else's deployment of `web`, running since the epoch (`queued*` scenarios).
    fn start_other_deployment(&mut self) {
        let Some(web) = fixtures::service_index(ids::WEB) else {
            return;
        };
        let half = self.step * 2;
        let plan = if self.scenario == Scenario::QueuedStuck {
            Plan {
                phases: vec![(Phase::Building, half)],
                ending: Ending::Hang(Phase::Deploying),
                failure_looks_deployed: false,
            }
        } else {
            Plan {
                phases: vec![(Phase::Building, half), (Phase::Deploying, half)],
                ending: Ending::Finish(Outcome::Success),
                failure_looks_deployed: false,
            }
        };
        let epoch = self.clock.epoch();
        self.requests.push(DeploymentRequest {
            id: ids::OTHER_DEPLOYMENT_REQUEST.to_owned(),
            kind: RequestKind::Services,
            targets: vec![Target {
                service: web,
                version: None,
            }],
            origin: Origin::Console,
            triggered_by: fixtures::OTHER_USER,
            created_at: epoch,
            plan,
            lifecycle: Lifecycle::Queued,
        });
        self.start(self.requests.len() - 1, epoch);
    }

    /// Replays every pickup and completion due by `now`.
    pub(crate) fn advance(&mut self, now: Instant) {
        loop {
            if let Some(running) = self.running {
                match self.finish_time(running) {
                    Some(at) if at <= now => self.finish(running, at),
                    _ => return,
                }
            } else if let Some(&head) = self.queue.front() {
                let Some(at) = self.pickup_time(head) else {
                    return;
                };
                if at > now {
                    return;
                }
                self.queue.pop_front();
                self.head_since = at;
                self.start(head, at);
            } else {
                return;
            }
        }
    }

    /// When a queued request starts; `None` while it is held back (see [`World::pickup_delay`]).
    fn pickup_time(&self, index: usize) -> Option<Instant> {
        let delay = match self.scenario {
            Scenario::Stale => self.step * 3,
            _ => self.pickup_delay(index)?,
        };
        let ready = self.requests[index]
            .created_at
            .max(self.idle_since)
            .max(self.head_since);
        Some(ready + delay)
    }

    fn finish_time(&self, index: usize) -> Option<Instant> {
        let request = &self.requests[index];
        let run = request.run()?;
        if run.finished.is_some() {
            return None;
        }
        match run.cancel_at {
            Some(cancel_at) => Some(cancel_at + self.cancel_duration()),
            None => Some(run.started_at + request.plan.duration()?),
        }
    }

    fn start(&mut self, index: usize, at: Instant) {
        self.executions += 1;
        self.requests[index].lifecycle = Lifecycle::Started(Run {
            execution: self.executions,
            started_at: at,
            cancel_at: None,
            finished: None,
        });
        self.running = Some(index);
        self.current = Some(index);
    }

    fn finish(&mut self, index: usize, at: Instant) {
        let request = &mut self.requests[index];
        if let Lifecycle::Started(run) = &mut request.lifecycle {
            let outcome = if run.cancel_at.is_some() {
                Outcome::Canceled
            } else {
                request.plan.outcome()
            };
            run.finished = Some((at, outcome));
            if outcome != Outcome::Canceled {
                for (position, target) in request.targets.iter().enumerate() {
                    if request.fails(target.service)
                        || !busy::applies_version(self.scenario, request, position)
                    {
                        continue;
                    }
                    if let Some(version) = &target.version {
                        self.versions[target.service].clone_from(version);
                    }
                }
            }
        }
        self.running = None;
        self.idle_since = at;
    }

    /// Queues a new deployment request made through the API; returns its id.
    pub(crate) fn enqueue(
        &mut self,
        kind: RequestKind,
        targets: Vec<Target>,
        now: Instant,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        if self.merge(kind, &targets, &id) {
            return id;
        }
        let plan = self.plan(kind);
        self.requests.push(DeploymentRequest {
            id: id.clone(),
            kind,
            targets,
            origin: Origin::Api,
            triggered_by: fixtures::API_USER,
            created_at: now,
            plan,
            lifecycle: Lifecycle::Queued,
        });
        self.queue.push_back(self.requests.len() - 1);
        self.after_enqueue(kind, now);
        id
    }

    fn plan(&self, kind: RequestKind) -> Plan {
        let mut phases = match kind {
            RequestKind::Services => {
                vec![(Phase::Building, self.step), (Phase::Deploying, self.step)]
            }
            RequestKind::Job(_) => vec![(Phase::Executing, self.step)],
        };
        let ending = match self.scenario {
            Scenario::Fail | Scenario::DeployedError => Ending::Finish(Outcome::Failure),
            Scenario::Stuck | Scenario::CancelSlow => match phases.pop() {
                Some((phase, _)) => Ending::Hang(phase),
                None => Ending::Hang(Phase::Deploying),
            },
            _ => Ending::Finish(Outcome::Success),
        };
        Plan {
            phases,
            ending,
            failure_looks_deployed: self.scenario == Scenario::DeployedError,
        }
    }

    /// Starts cancelling the running request. `false` if nothing is running (or it is
    /// already being cancelled).
    pub(crate) fn cancel_running(&mut self, now: Instant) -> bool {
        let Some(index) = self.running else {
            return false;
        };
        match &mut self.requests[index].lifecycle {
            Lifecycle::Started(run) if run.cancel_at.is_none() => {
                run.cancel_at = Some(now);
                true
            }
            _ => false,
        }
    }

    /// Removes a queued request from the queue.
    pub(crate) fn cancel_queued(
        &mut self,
        id: &str,
        now: Instant,
    ) -> Result<(), CancelQueuedError> {
        let index = self
            .requests
            .iter()
            .position(|request| request.id == id)
            .ok_or(CancelQueuedError::NotFound)?;
        let position = self
            .queue
            .iter()
            .position(|&queued| queued == index)
            .ok_or(CancelQueuedError::NotQueued)?;
        self.queue.remove(position);
        if position == 0 {
            self.head_since = now;
        }
        self.requests[index].lifecycle = Lifecycle::Dequeued;
        Ok(())
    }

    /// `EnvDeploymentStatus.status` of a request; `None` if the id is unknown.
    pub(crate) fn deployment_status(&self, id: &str, now: Instant) -> Option<State> {
        if self.has_history && id == ids::PREVIOUS_DEPLOYMENT_REQUEST {
            return Some(State::Deployed);
        }
        if self.was_merged(id) {
            return None;
        }
        self.requests
            .iter()
            .find(|request| request.id == id)
            .map(|request| environment_state(request.progress(now)))
    }

    /// What the deployment log of execution number `execution` shows; `None` for an execution
    /// the mock did not run (the previous one included).
    pub(crate) fn run_log(&self, execution: u32) -> Option<RunLog> {
        let request = self
            .requests
            .iter()
            .find(|request| request.run().is_some_and(|run| run.execution == execution))?;
        let run = request.run()?;
        let deploy_at = match request.kind {
            RequestKind::Services => request
                .plan
                .phases
                .first()
                .map(|(_, length)| run.started_at + *length),
            RequestKind::Job(_) => None,
        };
        let finished = run.finished.map(|(at, outcome)| {
            let end = match outcome {
                Outcome::Success => RunEnd::Success,
                Outcome::Failure => RunEnd::Failure,
                Outcome::Canceled => RunEnd::Canceled,
            };
            (at, end)
        });
        Some(RunLog {
            execution,
            kind: request.kind,
            targets: request.targets.clone(),
            failing: request
                .targets
                .iter()
                .map(|t| t.service)
                .find(|&s| request.fails(s)),
            started_at: run.started_at,
            deploy_at,
            cancel_at: run.cancel_at,
            finished,
            step: self.step,
        })
    }

    /// The execution number the environment shows now (that of the previous deployment before
    /// any ran).
    pub(crate) fn current_execution(&self) -> u32 {
        self.current
            .and_then(|index| self.requests[index].run())
            .map_or(fixtures::PREVIOUS_EXECUTION_NUMBER, |run| run.execution)
    }

    /// The wall-clock date of an instant.
    pub(crate) fn date(&self, at: Instant) -> String {
        self.clock.date(at)
    }

    /// The version `service` runs now.
    pub(crate) fn version(&self, service: usize) -> &str {
        &self.versions[service]
    }

    /// `EnvironmentStatus`: the most recently started request (or the previous deployment). In
    /// the `early-id` scenario, the newest queued request's id shows at once.
    pub(crate) fn environment_status(&self, now: Instant) -> EnvironmentStatus {
        let status = self.started_status(now);
        match self.queue.back() {
            Some(&newest) if self.scenario == Scenario::EarlyId => EnvironmentStatus {
                deployment_request_id: Some(self.requests[newest].id.clone()),
                ..status
            },
            _ => status,
        }
    }

    fn started_status(&self, now: Instant) -> EnvironmentStatus {
        let current = self.current.and_then(|index| {
            let request = &self.requests[index];
            Some((request, request.run()?))
        });
        let Some((request, run)) = current else {
            if !self.has_history {
                return EnvironmentStatus {
                    id: ids::ENVIRONMENT,
                    state: State::Ready,
                    last_deployment_state: State::Ready,
                    last_deployment_date: None,
                    last_deployment_id: None,
                    total_deployment_duration_in_seconds: None,
                    origin: None,
                    triggered_by: None,
                    deployment_status: "NEVER_DEPLOYED",
                    deployment_request_id: None,
                };
            }
            return EnvironmentStatus {
                id: ids::ENVIRONMENT,
                state: State::Deployed,
                last_deployment_state: State::Deployed,
                last_deployment_date: Some(self.clock.date_before_epoch(PREVIOUS_DEPLOYMENT_AGE)),
                last_deployment_id: Some(ids::PREVIOUS_EXECUTION.to_owned()),
                total_deployment_duration_in_seconds: Some(PREVIOUS_DEPLOYMENT_SECONDS),
                origin: Some(Origin::Console),
                triggered_by: Some(fixtures::OTHER_USER.to_owned()),
                deployment_status: "UP_TO_DATE",
                deployment_request_id: Some(ids::PREVIOUS_DEPLOYMENT_REQUEST.to_owned()),
            };
        };
        let state = environment_state(request.progress(now));
        let finished_at = run.finished.map(|(at, _)| at);
        EnvironmentStatus {
            id: ids::ENVIRONMENT,
            state,
            last_deployment_state: state,
            last_deployment_date: Some(self.clock.date(finished_at.unwrap_or(run.started_at))),
            last_deployment_id: Some(execution_id(run.execution)),
            total_deployment_duration_in_seconds: finished_at
                .map(|at| at.duration_since(run.started_at).as_secs()),
            origin: Some(request.origin),
            triggered_by: Some(request.triggered_by.to_owned()),
            deployment_status: "UP_TO_DATE",
            deployment_request_id: Some(request.id.clone()),
        }
    }

    /// `Status` of one service.
    pub(crate) fn service_status(&self, service: usize, now: Instant) -> Status {
        let last_started = self
            .requests
            .iter()
            .filter(|request| request.includes(service))
            .filter_map(|request| Some((request, request.run()?)))
            .max_by_key(|(_, run)| run.execution);
        let is_part_last_deployment = match self.current {
            Some(index) => self.requests[index].includes(service),
            None => self.has_history,
        };

        let (state, details, date, execution, request_id) = match last_started {
            None if !self.has_history => (
                State::Ready,
                StatusDetails::new(Action::Deploy, ActionStatus::Never),
                None,
                None,
                None,
            ),
            None => (
                State::Deployed,
                StatusDetails::new(Action::Deploy, ActionStatus::Success),
                Some(self.clock.date_before_epoch(PREVIOUS_DEPLOYMENT_AGE)),
                Some(ids::PREVIOUS_EXECUTION.to_owned()),
                Some(ids::PREVIOUS_DEPLOYMENT_REQUEST.to_owned()),
            ),
            Some((request, run)) => {
                let (state, status) = request.service_view(service, request.progress(now));
                let at = run.finished.map_or(run.started_at, |(at, _)| at);
                (
                    state,
                    StatusDetails::new(request.kind.action(), status),
                    Some(self.clock.date(at)),
                    Some(execution_id(run.execution)),
                    Some(request.id.clone()),
                )
            }
        };

        let queued: Vec<&DeploymentRequest> = self
            .queue
            .iter()
            .map(|&index| &self.requests[index])
            .filter(|request| request.includes(service))
            .collect();
        let (deployment_request_id, deployment_requests_count) = match queued.last() {
            Some(latest) => (Some(latest.id.clone()), queued.len()),
            None => (request_id, 0),
        };
        let service_deployment_status = if execution.is_some() {
            "UP_TO_DATE"
        } else {
            "NEVER_DEPLOYED"
        };

        Status {
            id: SERVICES[service].id,
            state,
            service_deployment_status,
            last_deployment_date: date,
            is_part_last_deployment,
            execution_id: execution,
            status_details: details,
            deployment_request_id,
            deployment_requests_count,
        }
    }

    /// `EnvironmentStatuses`.
    pub(crate) fn statuses(&self, now: Instant) -> EnvironmentStatuses {
        let of_type = |service_type: ServiceType| -> Vec<Status> {
            SERVICES
                .iter()
                .enumerate()
                .filter(|(_, def)| def.service_type == service_type)
                .map(|(index, _)| self.service_status(index, now))
                .collect()
        };
        EnvironmentStatuses {
            environment: self.environment_status(now),
            applications: of_type(ServiceType::Application),
            containers: of_type(ServiceType::Container),
            jobs: of_type(ServiceType::Job),
            databases: of_type(ServiceType::Database),
            helms: of_type(ServiceType::Helm),
            terraforms: of_type(ServiceType::Terraform),
            agentic_workflows: Vec::new(),
        }
    }

    /// The requests waiting to start, in queue order.
    pub(crate) fn queued_requests(&self) -> Vec<QueuedDeploymentRequest> {
        self.queue
            .iter()
            .map(|&index| {
                let request = &self.requests[index];
                QueuedDeploymentRequest {
                    identifier: QueuedIdentifier {
                        deployment_request_id: request.id.clone(),
                        environment_id: ids::ENVIRONMENT,
                    },
                    auditing_data: AuditingData {
                        triggered_by: request.triggered_by.to_owned(),
                        origin: request.origin,
                    },
                    trigger_action: "DEPLOY",
                    stages: self.queued_stages(request),
                }
            })
            .collect()
    }

    /// `GET /environment/{id}/services` items, with the versions deployed now.
    pub(crate) fn services(&self) -> Vec<Value> {
        SERVICES
            .iter()
            .zip(&self.versions)
            .map(|(def, version)| fixtures::service(def, version))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    const S: Duration = Duration::from_secs(10);

    struct Harness {
        world: World,
        t0: Instant,
    }

    impl Harness {
        fn new(scenario: Scenario) -> Self {
            let t0 = Instant::now();
            let wall = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
            Harness {
                world: World::new(scenario, S, Clock::new(t0, wall)),
                t0,
            }
        }

        /// Instant `steps` steps (may be fractional) after the epoch.
        fn at(&self, steps: f64) -> Instant {
            self.t0 + S.mul_f64(steps)
        }

        fn deploy(&mut self, steps: f64, services: &[&str]) -> String {
            let now = self.at(steps);
            self.world.advance(now);
            let targets = services
                .iter()
                .map(|id| Target {
                    service: fixtures::service_index(id).expect("fixture id"),
                    version: Some("v2".to_owned()),
                })
                .collect();
            self.world.enqueue(RequestKind::Services, targets, now)
        }

        fn deploy_job(&mut self, steps: f64, event: Option<JobEvent>) -> String {
            let now = self.at(steps);
            self.world.advance(now);
            let target = Target {
                service: fixtures::service_index(ids::MIGRATE).expect("fixture id"),
                version: None,
            };
            self.world
                .enqueue(RequestKind::Job(event), vec![target], now)
        }

        fn env(&mut self, steps: f64) -> EnvironmentStatus {
            let now = self.at(steps);
            self.world.advance(now);
            self.world.environment_status(now)
        }

        fn service(&mut self, steps: f64, id: &str) -> Status {
            let now = self.at(steps);
            self.world.advance(now);
            self.world
                .service_status(fixtures::service_index(id).expect("fixture id"), now)
        }

        fn request_status(&mut self, steps: f64, id: &str) -> Option<State> {
            let now = self.at(steps);
            self.world.advance(now);
            self.world.deployment_status(id, now)
        }
    }

    #[test]
    fn initial_state_is_the_previous_deployment() {
        let mut h = Harness::new(Scenario::Happy);
        let env = h.env(0.0);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(
            env.last_deployment_id.as_deref(),
            Some(ids::PREVIOUS_EXECUTION)
        );
        assert_eq!(
            env.deployment_request_id.as_deref(),
            Some(ids::PREVIOUS_DEPLOYMENT_REQUEST)
        );
        assert_eq!(
            env.last_deployment_date.as_deref(),
            Some("2025-12-31T23:00:00.000Z")
        );
        let api = h.service(0.0, ids::API);
        assert!(api.is_part_last_deployment);
        assert_eq!(api.deployment_requests_count, 0);
        assert_eq!(api.execution_id.as_deref(), Some(ids::PREVIOUS_EXECUTION));
        assert_eq!(api.status_details.status, ActionStatus::Success);
    }

    #[test]
    fn a_never_deployed_world_has_no_previous_deployment() {
        let t0 = Instant::now();
        let clock = Clock::new(t0, UNIX_EPOCH + Duration::from_secs(1_767_225_600));
        let mut h = Harness {
            world: World::never_deployed(Scenario::Queued, S, clock),
            t0,
        };
        let env = h.env(0.0);
        assert_eq!(
            (env.state, env.last_deployment_state),
            (State::Ready, State::Ready)
        );
        assert_eq!(env.last_deployment_id, None);
        assert_eq!(env.deployment_request_id, None);
        assert_eq!(env.deployment_status, "NEVER_DEPLOYED");
        let api = h.service(0.0, ids::API);
        assert_eq!(
            (api.state, api.status_details.status),
            (State::Ready, ActionStatus::Never)
        );
        assert!(!api.is_part_last_deployment);
        assert_eq!((api.execution_id, api.deployment_request_id), (None, None));
        assert!(!h.world.knows_request(ids::PREVIOUS_DEPLOYMENT_REQUEST));
        assert_eq!(
            h.request_status(0.0, ids::PREVIOUS_DEPLOYMENT_REQUEST),
            None
        );

        // No other deployment runs here (`queued` plays it on the fixture only): picked up at once.
        let r = h.deploy(0.0, &[ids::API]);
        assert!(h.world.knows_request(&r));
        let env = h.env(1.5);
        assert_eq!(env.state, State::Building);
        assert_eq!(
            env.last_deployment_id.as_deref(),
            Some("b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10-1")
        );
        assert_eq!(h.env(3.0).state, State::Deployed);
        let web = h.service(3.0, ids::WEB);
        assert_eq!(
            (web.state, web.service_deployment_status),
            (State::Ready, "NEVER_DEPLOYED")
        );
        assert!(!web.is_part_last_deployment);
    }

    #[test]
    fn happy_deploy_progresses_through_every_state() {
        let mut h = Harness::new(Scenario::Happy);
        let r = h.deploy(0.0, &[ids::API, ids::WORKER]);

        // Queued: the environment still reports the previous deployment.
        let env = h.env(0.5);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(
            env.last_deployment_id.as_deref(),
            Some(ids::PREVIOUS_EXECUTION)
        );
        assert_eq!(h.request_status(0.5, &r), Some(State::Queued));
        let api = h.service(0.5, ids::API);
        assert_eq!(api.state, State::Deployed);
        assert_eq!(api.deployment_request_id.as_deref(), Some(r.as_str()));
        assert_eq!(api.deployment_requests_count, 1);
        assert_eq!(h.world.queued_requests().len(), 1);

        // Picked up after one step: building.
        let env = h.env(1.5);
        assert_eq!(env.state, State::Building);
        assert_eq!(env.deployment_request_id.as_deref(), Some(r.as_str()));
        assert_eq!(
            env.last_deployment_id.as_deref(),
            Some("b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10-42")
        );
        assert_eq!(env.origin, Some(Origin::Api));
        assert!(h.world.queued_requests().is_empty());
        let api = h.service(1.5, ids::API);
        assert_eq!(
            (api.state, api.status_details.status),
            (State::Building, ActionStatus::Ongoing)
        );
        assert_eq!(api.deployment_requests_count, 0);
        assert_eq!(h.service(1.5, ids::WORKER).state, State::DeploymentQueued);
        let web = h.service(1.5, ids::WEB);
        assert!(!web.is_part_last_deployment);
        assert_eq!(web.execution_id.as_deref(), Some(ids::PREVIOUS_EXECUTION));

        assert_eq!(h.env(2.5).state, State::Deploying);
        assert_eq!(h.service(2.5, ids::WORKER).state, State::Deploying);
        assert_eq!(h.request_status(2.5, &r), Some(State::Deploying));

        let env = h.env(3.0);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(env.total_deployment_duration_in_seconds, Some(20));
        let api = h.service(3.0, ids::API);
        assert_eq!(
            (api.state, api.status_details.status),
            (State::Deployed, ActionStatus::Success)
        );
        assert!(api.is_part_last_deployment);
        assert_eq!(h.request_status(100.0, &r), Some(State::Deployed));
        let services = h.world.services();
        assert_eq!(services[0]["git_repository"]["deployed_commit_id"], "v2");
        assert_eq!(services[2]["tag"], "v2");
    }

    #[test]
    fn requests_run_one_at_a_time() {
        let mut h = Harness::new(Scenario::Happy);
        let first = h.deploy(0.0, &[ids::API]);
        let second = h.deploy(0.2, &[ids::API]);
        assert_eq!(h.service(0.5, ids::API).deployment_requests_count, 2);
        assert_eq!(h.request_status(1.5, &first), Some(State::Building));
        assert_eq!(h.request_status(2.5, &second), Some(State::Queued));
        // First ends at 3, second picked one step later.
        assert_eq!(h.request_status(3.5, &second), Some(State::Queued));
        assert_eq!(h.request_status(4.0, &second), Some(State::Building));
        let env = h.env(6.0);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(env.deployment_request_id.as_deref(), Some(second.as_str()));
        assert!(env.last_deployment_id.is_some_and(|id| id.ends_with("-43")));
    }

    #[test]
    fn stale_pickup_takes_three_steps() {
        let mut h = Harness::new(Scenario::Stale);
        let r = h.deploy(0.0, &[ids::API]);
        let env = h.env(2.9);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(
            env.deployment_request_id.as_deref(),
            Some(ids::PREVIOUS_DEPLOYMENT_REQUEST)
        );
        assert_eq!(h.request_status(3.0, &r), Some(State::Building));
        assert_eq!(h.env(5.0).state, State::Deployed);
    }

    #[test]
    fn fail_marks_the_first_service() {
        let mut h = Harness::new(Scenario::Fail);
        // Given out of canonical order; targets are sorted by the validator, not here.
        let r = h.deploy(0.0, &[ids::WORKER, ids::API]);
        assert_eq!(h.env(2.5).state, State::Deploying);
        assert_eq!(h.env(3.0).state, State::DeploymentError);
        assert_eq!(h.request_status(3.0, &r), Some(State::DeploymentError));
        let worker = h.service(3.0, ids::WORKER);
        assert_eq!(
            (worker.state, worker.status_details.status),
            (State::DeploymentError, ActionStatus::Error)
        );
        assert_eq!(h.service(3.0, ids::API).state, State::Deployed);
        assert_eq!(h.world.services()[2]["tag"], "1.4.0");

        let mut h = Harness::new(Scenario::Fail);
        h.deploy(0.0, &[ids::API]);
        assert_eq!(h.service(3.0, ids::API).state, State::BuildError);
    }

    #[test]
    fn deployed_error_reports_deployed_with_status_error() {
        let mut h = Harness::new(Scenario::DeployedError);
        let r = h.deploy(0.0, &[ids::API, ids::WORKER]);
        assert_eq!(h.env(3.0).state, State::DeploymentError);
        assert_eq!(h.request_status(3.0, &r), Some(State::DeploymentError));
        let api = h.service(3.0, ids::API);
        assert_eq!(
            (api.state, api.status_details.status),
            (State::Deployed, ActionStatus::Error)
        );
        let worker = h.service(3.0, ids::WORKER);
        assert_eq!(
            (worker.state, worker.status_details.status),
            (State::Deployed, ActionStatus::Success)
        );
        assert_eq!(
            h.world.services()[0]["git_repository"]["deployed_commit_id"],
            fixtures::SERVICES[0].initial_version,
            "the failed service keeps its version"
        );
    }

    #[test]
    fn early_id_names_the_queued_request_with_the_previous_state() {
        let mut h = Harness::new(Scenario::EarlyId);
        let r = h.deploy(0.0, &[ids::API]);
        let env = h.env(0.5);
        assert_eq!(env.state, State::Deployed);
        assert_eq!(env.deployment_request_id.as_deref(), Some(r.as_str()));
        assert_eq!(
            env.last_deployment_id.as_deref(),
            Some(ids::PREVIOUS_EXECUTION)
        );
        let env = h.env(1.5);
        assert_eq!(env.state, State::Building);
        assert_eq!(env.deployment_request_id.as_deref(), Some(r.as_str()));
    }

    #[test]
    fn stuck_stays_deploying_until_cancelled() {
        let mut h = Harness::new(Scenario::Stuck);
        let r = h.deploy(0.0, &[ids::API]);
        assert_eq!(h.env(1000.0).state, State::Deploying);
        assert!(h.world.cancel_running(h.at(1000.0)));
        assert!(!h.world.cancel_running(h.at(1000.0)), "already canceling");
        assert_eq!(h.env(1000.5).state, State::Canceling);
        let api = h.service(1000.5, ids::API);
        assert_eq!(
            (api.state, api.status_details.status),
            (State::Canceling, ActionStatus::Canceling)
        );
        assert_eq!(h.env(1001.0).state, State::Canceled);
        assert_eq!(h.request_status(1001.0, &r), Some(State::Canceled));
        assert_eq!(
            h.service(1001.0, ids::API).status_details.status,
            ActionStatus::Canceled
        );
        assert!(!h.world.cancel_running(h.at(1001.0)), "nothing running");
    }

    #[test]
    fn cancel_queued_request() {
        let mut h = Harness::new(Scenario::Happy);
        let first = h.deploy(0.0, &[ids::API]);
        let second = h.deploy(0.1, &[ids::WEB]);
        h.world.advance(h.at(1.5));
        assert_eq!(
            h.world.cancel_queued(&first, h.at(1.5)),
            Err(CancelQueuedError::NotQueued)
        );
        assert_eq!(h.world.cancel_queued(&second, h.at(1.5)), Ok(()));
        assert_eq!(
            h.world.cancel_queued(&second, h.at(1.5)),
            Err(CancelQueuedError::NotQueued)
        );
        assert_eq!(
            h.world.cancel_queued("nope", h.at(1.5)),
            Err(CancelQueuedError::NotFound)
        );
        assert_eq!(h.request_status(10.0, &second), Some(State::Canceled));
        assert_eq!(h.service(10.0, ids::WEB).deployment_requests_count, 0);
        assert_eq!(
            h.env(10.0).deployment_request_id.as_deref(),
            Some(first.as_str())
        );
    }

    #[test]
    fn queued_scenario_runs_another_deployment_first() {
        let mut h = Harness::new(Scenario::Queued);
        let env = h.env(0.0);
        assert_eq!(env.state, State::Building);
        assert_eq!(
            env.deployment_request_id.as_deref(),
            Some(ids::OTHER_DEPLOYMENT_REQUEST)
        );
        assert_eq!(env.triggered_by.as_deref(), Some("someone@acme.dev"));
        let r = h.deploy(0.5, &[ids::API]);
        assert_eq!(h.env(3.0).state, State::Deploying);
        assert_eq!(h.request_status(4.5, &r), Some(State::Queued));
        assert_eq!(h.env(4.5).state, State::Deployed);
        assert_eq!(h.request_status(5.0, &r), Some(State::Building));
    }

    #[test]
    fn queued_stuck_scenario_blocks_until_cancelled() {
        let mut h = Harness::new(Scenario::QueuedStuck);
        let r = h.deploy(0.5, &[ids::API]);
        assert_eq!(h.request_status(500.0, &r), Some(State::Queued));
        assert_eq!(h.env(500.0).state, State::Deploying);
        // Cancelling the other deployment lets ours through.
        assert!(h.world.cancel_running(h.at(500.0)));
        assert_eq!(h.request_status(501.0, &r), Some(State::Queued));
        assert_eq!(
            h.request_status(501.0, ids::OTHER_DEPLOYMENT_REQUEST),
            Some(State::Canceled)
        );
        assert_eq!(h.request_status(502.0, &r), Some(State::Building));
    }

    #[test]
    fn job_stop_event() {
        let mut h = Harness::new(Scenario::Happy);
        let r = h.deploy_job(0.0, Some(JobEvent::Stop));
        let job = h.service(1.5, ids::MIGRATE);
        assert_eq!(
            (
                job.state,
                job.status_details.status,
                job.status_details.action
            ),
            (State::Executing, ActionStatus::Executing, Action::Stop)
        );
        assert_eq!(h.env(1.5).state, State::Deploying);
        let job = h.service(2.0, ids::MIGRATE);
        assert_eq!(
            (
                job.state,
                job.status_details.status,
                job.status_details.action
            ),
            (State::Stopped, ActionStatus::Success, Action::Stop)
        );
        assert_eq!(job.deployment_request_id.as_deref(), Some(r.as_str()));
        assert_eq!(h.request_status(2.0, &r), Some(State::Deployed));
    }

    #[test]
    fn job_outcomes_per_scenario() {
        let mut h = Harness::new(Scenario::Happy);
        h.deploy_job(0.0, Some(JobEvent::Delete));
        assert_eq!(h.service(2.0, ids::MIGRATE).state, State::Deleted);
        h.deploy_job(2.0, None);
        assert_eq!(h.service(4.0, ids::MIGRATE).state, State::Deployed);

        let mut h = Harness::new(Scenario::Fail);
        h.deploy_job(0.0, Some(JobEvent::Start));
        let job = h.service(2.0, ids::MIGRATE);
        assert_eq!(
            (job.state, job.status_details.status),
            (State::DeploymentError, ActionStatus::Error)
        );

        let mut h = Harness::new(Scenario::Stuck);
        h.deploy_job(0.0, None);
        assert_eq!(h.service(100.0, ids::MIGRATE).state, State::Executing);
    }
}
