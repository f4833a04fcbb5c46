//! Response payloads, with the field names of the Qovery OpenAPI spec.

use serde::Serialize;

/// `StateEnum` (the values the mock produces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum State {
    Ready,
    Queued,
    DeploymentQueued,
    Building,
    Deploying,
    Executing,
    Deployed,
    Stopped,
    Deleted,
    BuildError,
    DeploymentError,
    Canceling,
    Canceled,
    Deleting,
}

/// `ServiceActionEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Action {
    Deploy,
    Stop,
    Delete,
}

/// `ServiceActionStatusEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ActionStatus {
    Queued,
    Ongoing,
    Success,
    Error,
    Executing,
    Canceled,
    Canceling,
    Never,
}

/// `EnvironmentStatusEventOriginEnum` / `OrganizationEventOrigin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Origin {
    Api,
    Console,
}

/// `StatusDetails`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct StatusDetails {
    pub action: Action,
    pub status: ActionStatus,
    pub sub_action: &'static str,
}

impl StatusDetails {
    pub(crate) fn new(action: Action, status: ActionStatus) -> Self {
        StatusDetails {
            action,
            status,
            sub_action: "NONE",
        }
    }
}

/// `EnvironmentStatus`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EnvironmentStatus {
    pub id: &'static str,
    pub state: State,
    pub last_deployment_state: State,
    pub last_deployment_date: Option<String>,
    pub last_deployment_id: Option<String>,
    pub total_deployment_duration_in_seconds: Option<u64>,
    /// Not nullable in the spec: omitted when there was no deployment yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    pub triggered_by: Option<String>,
    pub deployment_status: &'static str,
    pub deployment_request_id: Option<String>,
}

/// `Status` (service level).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Status {
    pub id: &'static str,
    pub state: State,
    pub service_deployment_status: &'static str,
    /// Not nullable in the spec: omitted while the service was never deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_date: Option<String>,
    pub is_part_last_deployment: bool,
    /// Not nullable in the spec: omitted while the service was never deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    pub status_details: StatusDetails,
    pub deployment_request_id: Option<String>,
    pub deployment_requests_count: usize,
}

/// `EnvironmentStatuses`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EnvironmentStatuses {
    pub environment: EnvironmentStatus,
    pub applications: Vec<Status>,
    pub containers: Vec<Status>,
    pub jobs: Vec<Status>,
    pub databases: Vec<Status>,
    pub helms: Vec<Status>,
    pub terraforms: Vec<Status>,
    pub agentic_workflows: Vec<Status>,
}

/// `EnvDeploymentStatus`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EnvDeploymentStatus {
    pub deployment_request_id: String,
    pub environment_id: &'static str,
    pub status: State,
}

/// `QueuedDeploymentRequestWithStages`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct QueuedDeploymentRequest {
    pub identifier: QueuedIdentifier,
    pub auditing_data: AuditingData,
    pub trigger_action: &'static str,
    pub stages: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct QueuedIdentifier {
    pub deployment_request_id: String,
    pub environment_id: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct AuditingData {
    pub triggered_by: String,
    pub origin: Origin,
}

/// `{"results": [...]}`, the shape of every list response.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Results<T> {
    pub results: Vec<T>,
}

/// `DeploymentStageResponse`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DeploymentStage {
    pub id: &'static str,
    pub created_at: &'static str,
    pub updated_at: &'static str,
    pub environment: Reference,
    pub name: &'static str,
    pub description: &'static str,
    pub deployment_order: usize,
    pub services: Vec<DeploymentStageService>,
}

/// `DeploymentStageServiceResponse`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DeploymentStageService {
    pub id: String,
    pub created_at: &'static str,
    pub service_id: &'static str,
    pub service_type: &'static str,
    pub is_skipped: bool,
}

/// `ReferenceObject`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Reference {
    pub id: &'static str,
}
