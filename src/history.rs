//! Our execution's record in `GET /environment/{id}/deploymentHistoryV2`: finding it, and proving
//! from it what was deployed.
//!
//! The history lists executions by `identifier.execution_id` (the environment's
//! `last_deployment_id`, `{environment_id}-{n}`), each with its services' `status`,
//! `status_details` and, in `details`, the version each one actually deployed (notes §6, §13). It
//! has no deployment request id: an execution is found by the execution id the wait saw holding the
//! environment for our request, or, for a request Qovery merged into another (notes §13,
//! "Queueing and Merging"), as the first execution after our `POST` that carries every listed
//! service.
//!
//! What is promised by the spec: the fields read here. What is inferred from Qovery's public code
//! (console, CLI) and not promised: that `execution_id` equals `last_deployment_id`, that `n` grows
//! with each execution, and that the list is newest first. Each use below says which it rests on.

use std::cmp::Ordering;

use crate::api::types::{HistoryExecution, HistoryService, State, StateClass};
use crate::plan::{Target, VersionField};

/// How many executions one read of the history asks for (`pageSize`). Ours is normally the newest
/// or close to it; on a busy environment a few others may have started since. Each entry lists its
/// services, so the page grows with the environment: a small page keeps the read cheap.
pub const PAGE_SIZE: u32 = 5;

/// The number `n` of an execution id `{environment_id}-{n}`; `None` when it has no such suffix.
/// (Inference: the console and the API's `DeploymentBuildUsageReportRequest` describe the format
/// as "environment_id-version".)
pub fn execution_number(execution_id: &str) -> Option<u64> {
    execution_id.rsplit_once('-')?.1.parse().ok()
}

fn same_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Our execution's entry, by its id.
pub fn find<'a>(
    history: &'a [HistoryExecution],
    execution_id: &str,
) -> Option<&'a HistoryExecution> {
    history
        .iter()
        .find(|e| e.execution_id().is_some_and(|id| same_id(id, execution_id)))
}

/// Whether execution `candidate` started after execution `before`: by the number in the id when
/// both have one, else by the order of the list (newest first). `false` when neither tells.
fn started_after(history: &[HistoryExecution], candidate: usize, before: Option<&str>) -> bool {
    let Some(before) = before else {
        // Nothing to compare with: every execution in the page is a candidate.
        return true;
    };
    let id = history[candidate].execution_id().unwrap_or_default();
    if same_id(id, before) {
        return false;
    }
    match (execution_number(id), execution_number(before)) {
        (Some(n), Some(b)) => n > b,
        _ => history
            .iter()
            .position(|e| e.execution_id().is_some_and(|i| same_id(i, before)))
            .is_some_and(|at| candidate < at),
    }
}

/// The execution that carried our request when Qovery merged it into another: the oldest execution
/// that started after `before` (the environment's latest execution when our `POST` was accepted) and
/// lists every target. `None` when no such execution is in the page.
pub fn merged_into<'a>(
    history: &'a [HistoryExecution],
    before: Option<&str>,
    targets: &[Target],
) -> Option<&'a HistoryExecution> {
    let mut candidates: Vec<&HistoryExecution> = (0..history.len())
        .filter(|&i| history[i].execution_id().is_some())
        .filter(|&i| started_after(history, i, before))
        .filter(|&i| targets.iter().all(|t| history[i].service(&t.id).is_some()))
        .map(|i| &history[i])
        .collect();
    // Oldest first: by number when both have one, else the later in the list (newest-first order).
    candidates.sort_by(|a, b| {
        match (
            a.execution_id().and_then(execution_number),
            b.execution_id().and_then(execution_number),
        ) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => Ordering::Equal,
        }
    });
    let oldest_numbered = candidates
        .iter()
        .find(|e| e.execution_id().and_then(execution_number).is_some())
        .copied();
    oldest_numbered.or_else(|| candidates.last().copied())
}

/// Whether two versions are the same. Commits: case-insensitive, and a short SHA (7 or more hex
/// digits) equals the full one it starts. Image tags and chart versions: exact.
pub fn same_version(field: VersionField, asked: &str, deployed: &str) -> bool {
    match field {
        VersionField::GitCommit => {
            let (a, d) = (asked.to_ascii_lowercase(), deployed.to_ascii_lowercase());
            let (short, long) = if a.len() <= d.len() {
                (&a, &d)
            } else {
                (&d, &a)
            };
            a == d
                || (short.len() >= 7
                    && short.bytes().all(|b| b.is_ascii_hexdigit())
                    && long.starts_with(short.as_str()))
        }
        _ => asked == deployed,
    }
}

/// The version a history entry says the service deployed, read from the field the target's
/// version goes in: `details.commit.git_commit_id`, `details.tag`, or
/// `details.repository.chart_version`. For a target sent without a version field (a database, a
/// job redeployed as it is), whichever of them the entry has.
pub fn deployed_version(field: VersionField, service: &HistoryService) -> Option<String> {
    let details = service.details.as_ref()?;
    let commit = || details.commit.as_ref()?.git_commit_id.clone();
    let tag = || details.tag.clone();
    let chart = || details.repository.as_ref()?.chart_version.clone();
    let version = match field {
        VersionField::GitCommit => commit(),
        VersionField::ImageTag => tag(),
        VersionField::ChartVersion => chart(),
        VersionField::None => commit().or_else(tag).or_else(chart),
    };
    version.filter(|v| !v.is_empty())
}

/// What the history says about one listed service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Present, finished without error, and at the version asked (or no version was asked).
    Proven,
    /// Not in the execution at all.
    Absent,
    /// Still in progress in the record (the history can lag the statuses).
    Unfinished(State),
    /// Ended in an error.
    Failed(State),
    /// Cancelled.
    Cancelled(State),
    /// Deployed another version than the one asked.
    Mismatch { asked: String, deployed: String },
    /// Finished, but the record shows no version to compare with the one asked.
    Unrecorded,
}

/// One listed service, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub service_id: String,
    pub name: String,
    /// The state the record gives the service in this execution.
    pub state: Option<State>,
    /// The version the record says was deployed.
    pub version: Option<String>,
    pub finding: Finding,
}

/// The services' state in a history entry: the `status` (`StateEnum`), checked against
/// `status_details.status` (`ServiceActionStatusEnum`): an `ERROR` or `CANCELED` there wins over a
/// state that reads as success; `SUCCESS` with an unclassified state counts as done.
fn outcome(service: &HistoryService) -> (StateClass, State) {
    let state = service
        .status
        .clone()
        .unwrap_or_else(|| State::new("UNKNOWN"));
    let detail = service
        .status_details
        .as_ref()
        .and_then(|d| d.status.as_deref())
        .map(str::to_ascii_uppercase);
    let class = match (detail.as_deref(), state.class()) {
        (Some("ERROR"), _) => StateClass::Failure,
        (Some("CANCELED"), _) => StateClass::Canceled,
        (_, StateClass::Failure) => StateClass::Failure,
        (_, StateClass::Canceled) => StateClass::Canceled,
        (Some("SUCCESS") | None, StateClass::Success) => StateClass::Success,
        (Some("SUCCESS"), StateClass::Other) => StateClass::Success,
        // A state that reads as done while the details say the action still runs.
        (Some(_), StateClass::Success) => StateClass::Running,
        (_, class) => class,
    };
    (class, state)
}

/// Checks each listed service against the execution's record.
pub fn prove(execution: &HistoryExecution, targets: &[Target]) -> Proof {
    let services = targets
        .iter()
        .map(|target| {
            let Some(service) = execution.service(&target.id) else {
                return Deployed {
                    service_id: target.id.clone(),
                    name: target.name.clone(),
                    state: None,
                    version: None,
                    finding: Finding::Absent,
                };
            };
            let version = deployed_version(target.field, service);
            let (class, state) = outcome(service);
            let finding = match class {
                StateClass::Failure => Finding::Failed(state.clone()),
                StateClass::Canceled => Finding::Cancelled(state.clone()),
                // STOPPED or DELETED end other actions: for a deploy they are failures.
                StateClass::Success
                    if state.class() == StateClass::Success && !state.is_deployed() =>
                {
                    Finding::Failed(state.clone())
                }
                StateClass::Success => match (&target.version, &version) {
                    (Some(asked), Some(deployed))
                        if !same_version(target.field, asked, deployed) =>
                    {
                        Finding::Mismatch {
                            asked: asked.clone(),
                            deployed: deployed.clone(),
                        }
                    }
                    (Some(_), None) => Finding::Unrecorded,
                    _ => Finding::Proven,
                },
                _ => Finding::Unfinished(state.clone()),
            };
            Deployed {
                service_id: target.id.clone(),
                name: target.name.clone(),
                state: Some(state),
                version,
                finding,
            }
        })
        .collect();
    Proof {
        execution_id: execution.execution_id().unwrap_or_default().to_string(),
        state: execution.status.clone(),
        services,
    }
}

/// The record of our execution, checked service by service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub execution_id: String,
    /// The execution's own `status`.
    pub state: Option<State>,
    /// One per target, in the listed order.
    pub services: Vec<Deployed>,
}

impl Proof {
    /// Whether a service's record is still in progress (read the history again a little later).
    pub fn lags(&self) -> bool {
        self.services
            .iter()
            .any(|s| matches!(s.finding, Finding::Unfinished(_)))
    }

    /// Every listed service is proven.
    pub fn proven(&self) -> bool {
        self.services.iter().all(|s| s.finding == Finding::Proven)
    }

    /// What contradicts a success, one phrase per service: a version that is not the one asked, a
    /// service missing from the execution, an error. Empty when nothing does.
    pub fn failures(&self) -> Vec<String> {
        let execution = &self.execution_id;
        self.services
            .iter()
            .filter_map(|s| match &s.finding {
                Finding::Mismatch { asked, deployed } => Some(format!(
                    "{} deployed {deployed}, not the {asked} asked for (execution {execution})",
                    s.name
                )),
                Finding::Absent => Some(format!(
                    "{} is not part of execution {execution} (is it skipped in its deployment stage?)",
                    s.name
                )),
                Finding::Failed(state) => Some(format!("{} {state}", s.name)),
                _ => None,
            })
            .collect()
    }

    /// Services the record shows cancelled.
    pub fn cancelled(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|s| match &s.finding {
                Finding::Cancelled(state) => Some(format!("{} {state}", s.name)),
                _ => None,
            })
            .collect()
    }

    /// What could not be proven, without contradicting a success: a record still in progress, a
    /// version the record does not show.
    pub fn gaps(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|s| match &s.finding {
                Finding::Unfinished(state) => {
                    Some(format!("{} still {state} in the record", s.name))
                }
                Finding::Unrecorded => Some(format!("{} (no version in the record)", s.name)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::ServiceKind;

    const SHA: &str = "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a";
    const OLD: &str = "7d2f9a1b3c4e5f60718293a4b5c6d7e8f9012345";

    fn target(
        id: &str,
        name: &str,
        kind: ServiceKind,
        field: VersionField,
        version: Option<&str>,
    ) -> Target {
        Target {
            id: id.into(),
            name: name.into(),
            kind,
            field,
            version: version.map(str::to_string),
        }
    }

    fn targets() -> Vec<Target> {
        vec![
            target(
                "a1",
                "api",
                ServiceKind::Application,
                VersionField::GitCommit,
                Some(SHA),
            ),
            target(
                "c1",
                "worker",
                ServiceKind::Container,
                VersionField::ImageTag,
                Some("1.4.2"),
            ),
            target(
                "h1",
                "ingress",
                ServiceKind::Helm,
                VersionField::ChartVersion,
                None,
            ),
            target(
                "p1",
                "postgres",
                ServiceKind::Database,
                VersionField::None,
                None,
            ),
        ]
    }

    fn service(
        id: &str,
        status: &str,
        detail: &str,
        details: serde_json::Value,
    ) -> serde_json::Value {
        serde_json::json!({
            "identifier": {"service_id": id, "name": id, "service_type": "APPLICATION", "execution_id": "e-42"},
            "status": status,
            "status_details": {"action": "DEPLOY", "status": detail, "sub_action": "NONE"},
            "details": details, "icon_uri": "x", "auditing_data": {}
        })
    }

    fn execution(id: &str, services: Vec<serde_json::Value>) -> HistoryExecution {
        serde_json::from_value(serde_json::json!({
            "identifier": {"execution_id": id, "environment_id": "e"},
            "status": "DEPLOYED", "action_status": "SUCCESS", "trigger_action": "DEPLOY",
            "stages": [{"name": "all", "status": "DONE", "duration": "PT1S", "services": services}]
        }))
        .unwrap()
    }

    fn all_fine(id: &str, commit: &str) -> HistoryExecution {
        execution(
            id,
            vec![
                service(
                    "A1",
                    "DEPLOYED",
                    "SUCCESS",
                    serde_json::json!({"commit": {"git_commit_id": commit}}),
                ),
                service(
                    "c1",
                    "DEPLOYED",
                    "SUCCESS",
                    serde_json::json!({"image_name": "acme/worker", "tag": "1.4.2"}),
                ),
                service(
                    "h1",
                    "DEPLOYED",
                    "SUCCESS",
                    serde_json::json!({"repository": {"chart_name": "n", "chart_version": "4.11.1"}}),
                ),
                service("p1", "DEPLOYED", "SUCCESS", serde_json::json!({})),
            ],
        )
    }

    #[test]
    fn a_matching_record_proves_every_service_and_gives_the_deployed_versions() {
        let proof = prove(&all_fine("e-42", SHA), &targets());
        assert!(proof.proven(), "{proof:?}");
        let versions: Vec<Option<&str>> = proof
            .services
            .iter()
            .map(|s| s.version.as_deref())
            .collect();
        assert_eq!(versions, [Some(SHA), Some("1.4.2"), Some("4.11.1"), None]);
        assert!(proof.failures().is_empty() && proof.gaps().is_empty());
    }

    #[test]
    fn another_version_is_a_failure_naming_service_asked_and_deployed() {
        let proof = prove(&all_fine("e-42", OLD), &targets());
        assert!(!proof.proven());
        assert_eq!(
            proof.failures(),
            [format!(
                "api deployed {OLD}, not the {SHA} asked for (execution e-42)"
            )]
        );
    }

    #[test]
    fn absent_failed_cancelled_unfinished_and_unrecorded_services() {
        let record = execution(
            "e-42",
            vec![
                service(
                    "a1",
                    "BUILD_ERROR",
                    "ERROR",
                    serde_json::json!({"commit": {"git_commit_id": SHA}}),
                ),
                service(
                    "c1",
                    "DEPLOYING",
                    "ONGOING",
                    serde_json::json!({"tag": "1.4.2"}),
                ),
                service("h1", "CANCELED", "CANCELED", serde_json::json!({})),
            ],
        );
        let proof = prove(&record, &targets());
        let findings: Vec<&Finding> = proof.services.iter().map(|s| &s.finding).collect();
        assert_eq!(
            findings,
            [
                &Finding::Failed(State::new("BUILD_ERROR")),
                &Finding::Unfinished(State::new("DEPLOYING")),
                &Finding::Cancelled(State::new("CANCELED")),
                &Finding::Absent,
            ]
        );
        assert!(proof.lags());
        assert_eq!(proof.failures().len(), 2);
        assert_eq!(proof.cancelled(), ["ingress CANCELED"]);
        // A success with no version in the record is a gap, not a failure.
        let record = execution(
            "e-42",
            vec![service("a1", "DEPLOYED", "SUCCESS", serde_json::json!({}))],
        );
        let proof = prove(&record, &targets()[..1]);
        assert_eq!(proof.services[0].finding, Finding::Unrecorded);
        assert!(proof.failures().is_empty());
        // status_details wins over a state that reads as success.
        let record = execution(
            "e-42",
            vec![service("a1", "DEPLOYED", "ERROR", serde_json::json!({}))],
        );
        assert!(matches!(
            prove(&record, &targets()[..1]).services[0].finding,
            Finding::Failed(_)
        ));
        // An unknown state with SUCCESS details is done; without, it is still in progress.
        let record = execution(
            "e-42",
            vec![service(
                "a1",
                "HYPERSPACE",
                "SUCCESS",
                serde_json::json!({"commit": {"git_commit_id": SHA}}),
            )],
        );
        assert!(prove(&record, &targets()[..1]).proven());
        let record = execution(
            "e-42",
            vec![service(
                "a1",
                "HYPERSPACE",
                "ONGOING",
                serde_json::json!({}),
            )],
        );
        assert!(prove(&record, &targets()[..1]).lags());
    }

    #[test]
    fn versions_compare_by_kind() {
        assert!(same_version(VersionField::GitCommit, &SHA[..7], SHA));
        assert!(same_version(
            VersionField::GitCommit,
            &SHA.to_uppercase(),
            SHA
        ));
        assert!(!same_version(VersionField::GitCommit, &SHA[..6], SHA));
        assert!(!same_version(VersionField::GitCommit, OLD, SHA));
        assert!(same_version(VersionField::ImageTag, "1.4.2", "1.4.2"));
        assert!(!same_version(VersionField::ImageTag, "V1", "v1"));
        assert!(!same_version(VersionField::ChartVersion, "4.11", "4.11.2"));
    }

    #[test]
    fn executions_are_found_by_id_and_a_merge_by_services_after_our_post() {
        let history = vec![
            all_fine("env-44", SHA),
            all_fine("env-43", SHA),
            execution(
                "env-42",
                vec![service("a1", "DEPLOYED", "SUCCESS", serde_json::json!({}))],
            ),
            all_fine("env-41", OLD),
        ];
        assert_eq!(
            find(&history, "ENV-43").and_then(HistoryExecution::execution_id),
            Some("env-43")
        );
        assert!(find(&history, "env-40").is_none());
        // After env-41: env-42 lacks some targets, so the oldest that carries them all is env-43.
        let merged = merged_into(&history, Some("env-41"), &targets());
        assert_eq!(
            merged.and_then(HistoryExecution::execution_id),
            Some("env-43")
        );
        // Nothing after the newest.
        assert!(merged_into(&history, Some("env-44"), &targets()).is_none());
        // Ids without a number: the list order (newest first) decides.
        let history = vec![all_fine("b", SHA), all_fine("a", SHA), all_fine("z", SHA)];
        assert_eq!(
            merged_into(&history, Some("z"), &targets()).and_then(HistoryExecution::execution_id),
            Some("a")
        );
        assert!(merged_into(&history, Some("b"), &targets()).is_none());
        assert_eq!(
            execution_number("b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10-41"),
            Some(41)
        );
        assert_eq!(execution_number("abc"), None);
    }
}
