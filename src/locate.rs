//! Finding our deployment request when the environment does not show it: still in the queue,
//! merged into another request's execution, or gone.
//!
//! Qovery's docs ("Queueing and Merging") say that requests queued by the same user with the same
//! action are merged into one; CI runs sharing a token are the same user. A merged request may
//! never hold the environment and may leave `GET /environment/{id}/deploymentQueue` without running
//! on its own (notes §13). Nothing in the API links it to the execution that carried it: the
//! history has no request id and the queue no execution id. So the execution is found by what it
//! carries: the first execution that started after our `POST` and lists every service we asked
//! for ([`crate::history::merged_into`]). That is an inference, and the proof at the end
//! ([`crate::history::prove`]) checks what it deployed.

use crate::api::types::{HistoryExecution, QueuedRequest, State, StateClass};
use crate::history;
use crate::plan::Target;

/// Our request in the queue: the queued request with our id, else (when the deploy answer's id is
/// not to be trusted, see [`answer_is_suspect`]) the newest queued request that carries every
/// listed service and is not `not_this` (the queue is in order, ours was queued last).
pub fn in_queue<'a>(
    queue: &'a [QueuedRequest],
    request_id: Option<&str>,
    not_this: Option<&str>,
    targets: &[Target],
) -> Option<&'a QueuedRequest> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if let Some(ours) = request_id {
        if let Some(found) = queue.iter().find(|q| same(q.request_id(), ours)) {
            return Some(found);
        }
    }
    if request_id.is_some() && not_this.is_none() {
        return None;
    }
    queue
        .iter()
        .rev()
        .filter(|q| not_this.is_none_or(|other| !same(q.request_id(), other)))
        .find(|q| targets.iter().all(|t| q.carries(&t.id)))
}

/// Whether the deploy answer's request id cannot be taken as ours: it is the request that held
/// the busy environment before our `POST`. (Inference, notes §13: no Qovery tool reads that id, and
/// on a busy environment the answer may describe the running request.)
pub fn answer_is_suspect(
    answered: Option<&str>,
    holder_before: Option<&str>,
    state_before: &State,
) -> bool {
    let busy = matches!(
        state_before.class(),
        StateClass::Queued | StateClass::Running
    );
    busy && matches!((answered, holder_before), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Where a request that neither holds the environment nor waits in the queue went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whereabouts {
    /// It rode in this execution (merged into another request, or it ran between two polls).
    Execution(String),
    /// Not found yet: the environment is busy or something is queued; look again at the next
    /// change.
    Unknown,
    /// Gone: the environment is idle, nothing is queued and no execution carries it.
    Vanished,
}

/// Settles where our request went, from the history and whether anything may still carry it.
/// `before`: the environment's latest execution when our `POST` was accepted. `idle`: the
/// environment shows a finished state and the queue is empty.
pub fn whereabouts(
    history: &[HistoryExecution],
    before: Option<&str>,
    targets: &[Target],
    idle: bool,
) -> Whereabouts {
    match history::merged_into(history, before, targets).and_then(HistoryExecution::execution_id) {
        Some(execution) => Whereabouts::Execution(execution.to_string()),
        None if idle => Whereabouts::Vanished,
        None => Whereabouts::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::ServiceKind;
    use crate::plan::VersionField;

    fn target(id: &str) -> Target {
        Target {
            id: id.into(),
            name: id.into(),
            kind: ServiceKind::Application,
            field: VersionField::GitCommit,
            version: Some("abc1234".into()),
        }
    }

    fn queued(id: &str, services: &[&str]) -> QueuedRequest {
        let services: Vec<serde_json::Value> = services
            .iter()
            .map(|s| serde_json::json!({"identifier": {"service_id": s, "service_type": "APPLICATION", "name": s}, "status": "QUEUED"}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "identifier": {"deployment_request_id": id, "environment_id": "e"},
            "auditing_data": {"triggered_by": "x"}, "trigger_action": "DEPLOY",
            "stages": [{"name": "s", "status": "QUEUED", "services": services}]
        }))
        .unwrap()
    }

    #[test]
    fn ours_is_found_by_id_or_by_what_it_carries() {
        let queue = [
            queued("other", &["a", "b"]),
            queued("ours", &["a", "b"]),
            queued("third", &["c"]),
        ];
        let targets = [target("a"), target("b")];
        let found =
            |id, not_this| in_queue(&queue, id, not_this, &targets).map(QueuedRequest::request_id);
        assert_eq!(found(Some("OURS"), None), Some("ours"));
        // A trusted id that is not queued: not found (no guessing).
        assert_eq!(found(Some("gone"), None), None);
        // An id not to be trusted: the newest request carrying every listed service.
        assert_eq!(found(Some("running"), Some("running")), Some("ours"));
        assert_eq!(found(None, Some("ours")), Some("other"));
        assert_eq!(
            in_queue(&queue, None, Some("x"), &[target("z")]).map(QueuedRequest::request_id),
            None
        );
    }

    #[test]
    fn the_answer_is_suspect_only_when_it_names_the_busy_holder() {
        let running = State::new("DEPLOYING");
        assert!(answer_is_suspect(Some("H"), Some("h"), &running));
        assert!(!answer_is_suspect(Some("R"), Some("H"), &running));
        assert!(!answer_is_suspect(
            Some("H"),
            Some("H"),
            &State::new("DEPLOYED")
        ));
        assert!(!answer_is_suspect(None, Some("H"), &running));
    }

    #[test]
    fn whereabouts_come_from_the_history_and_whether_anything_may_still_carry_it() {
        let execution = |id: &str, services: &[&str]| -> HistoryExecution {
            let services: Vec<serde_json::Value> = services
                .iter()
                .map(
                    |s| serde_json::json!({"identifier": {"service_id": s}, "status": "DEPLOYING"}),
                )
                .collect();
            serde_json::from_value(serde_json::json!({
                "identifier": {"execution_id": id}, "stages": [{"services": services}]
            }))
            .unwrap()
        };
        let history = [
            execution("e-43", &["a", "b", "c"]),
            execution("e-42", &["a", "b"]),
        ];
        let targets = [target("a"), target("b")];
        assert_eq!(
            whereabouts(&history, Some("e-41"), &targets, false),
            Whereabouts::Execution("e-42".into())
        );
        assert_eq!(
            whereabouts(&history, Some("e-42"), &targets, true),
            Whereabouts::Execution("e-43".into())
        );
        assert_eq!(
            whereabouts(&history, Some("e-43"), &targets, false),
            Whereabouts::Unknown
        );
        assert_eq!(
            whereabouts(&history, Some("e-43"), &targets, true),
            Whereabouts::Vanished
        );
    }
}
