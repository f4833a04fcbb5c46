//! Which read a poll tick makes: the small environment status while nothing changes, the
//! per-service statuses when it did.
//!
//! `GET /environment/{id}/statuses` lists every service of the environment: its size grows with the
//! environment (about 5 KB at 10 services, 300 KB at 500), against about 0.6 KB for
//! `GET /environment/{id}/status`, which carries everything the wait follows (state, deployment
//! request id, execution id). So a tick reads the status, and the next tick reads the statuses only
//! when this one saw the environment's status change (the services' lines then catch up, one tick
//! later). Judging at the end needs the statuses too: the wait reads them on the final tick when it
//! has only the status. Either way a tick makes one request while nothing changes.

use crate::api::types::{EnvironmentStatus, State};

/// What one tick reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// `GET /environment/{id}/status`.
    Status,
    /// `GET /environment/{id}/statuses`.
    Statuses,
}

/// The parts of the environment's status the wait follows; a change in any of them is a change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glance {
    state: State,
    last_deployment_state: Option<State>,
    request_id: Option<String>,
    execution_id: Option<String>,
}

impl Glance {
    fn of(env: &EnvironmentStatus) -> Glance {
        Glance {
            state: env.state.clone(),
            last_deployment_state: env.last_deployment_state.clone(),
            request_id: env.deployment_request_id.clone(),
            execution_id: env.last_deployment_id.clone(),
        }
    }
}

/// Chooses each tick's read and tells whether the environment's status changed.
#[derive(Debug, Clone)]
pub struct Cadence {
    last: Option<Glance>,
    services_due: bool,
}

impl Cadence {
    /// Starts from the status read before the deploy (the preflight's), so the first tick reads
    /// the small status unless told otherwise.
    pub fn new(baseline: &EnvironmentStatus) -> Cadence {
        Cadence {
            last: Some(Glance::of(baseline)),
            services_due: false,
        }
    }

    /// The read of the next tick.
    pub fn next(&self) -> Read {
        if self.services_due {
            Read::Statuses
        } else {
            Read::Status
        }
    }

    /// Records a tick's environment status, read with `read`; `true` when it differs from the
    /// previous tick's. After a change seen in the small status, the next tick reads the statuses.
    pub fn saw(&mut self, env: &EnvironmentStatus, read: Read) -> bool {
        let glance = Glance::of(env);
        let changed = self.last.as_ref() != Some(&glance);
        self.last = Some(glance);
        self.services_due = changed && read == Read::Status;
        changed
    }

    /// Asks for the statuses on the next tick (a service that lags its environment, a judge that
    /// needs one more look).
    pub fn want_services(&mut self) {
        self.services_due = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(state: &str, request: &str, execution: &str) -> EnvironmentStatus {
        EnvironmentStatus {
            state: State::new(state),
            deployment_request_id: Some(request.into()),
            last_deployment_id: Some(execution.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_statuses_are_read_once_after_each_change_and_never_while_nothing_changes() {
        let mut cadence = Cadence::new(&env("DEPLOYED", "prev", "e-41"));
        let mut reads = Vec::new();
        let ticks = [
            env("DEPLOYED", "prev", "e-41"),
            env("DEPLOYED", "prev", "e-41"),
            env("BUILDING", "ours", "e-42"),
            env("BUILDING", "ours", "e-42"),
            env("BUILDING", "ours", "e-42"),
            env("BUILDING", "ours", "e-42"),
            env("DEPLOYING", "ours", "e-42"),
            env("DEPLOYING", "ours", "e-42"),
        ];
        let mut changes = Vec::new();
        for seen in &ticks {
            let read = cadence.next();
            reads.push(read);
            changes.push(cadence.saw(seen, read));
        }
        use Read::*;
        assert_eq!(
            reads,
            [
                Status, Status, Status, Statuses, Status, Status, Status, Statuses
            ]
        );
        assert_eq!(
            changes,
            [false, false, true, false, false, false, true, false]
        );
    }

    #[test]
    fn a_change_seen_in_the_statuses_needs_no_second_read_and_more_can_be_asked() {
        let mut cadence = Cadence::new(&env("DEPLOYED", "prev", "e-41"));
        cadence.want_services();
        assert_eq!(cadence.next(), Read::Statuses);
        assert!(cadence.saw(&env("BUILDING", "ours", "e-42"), Read::Statuses));
        assert_eq!(cadence.next(), Read::Status);
        // A new request id alone is a change.
        assert!(cadence.saw(&env("BUILDING", "other", "e-42"), Read::Status));
        assert_eq!(cadence.next(), Read::Statuses);
    }
}
