//! Request and response bodies, as in `qovery-openapi.yaml`.
//!
//! Requests are exact: an absent optional field is omitted, never `null` or `""`.
//! Responses are lenient: unknown fields are ignored, every field we do not strictly need is
//! optional, and enum values are kept as text so that a value Qovery adds tomorrow cannot break us.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::ids::{self, MalformedId, Shape};
use crate::inputs::TerraformAction;
use crate::kind::ServiceKind;

// ---------------------------------------------------------------------------------------------
// States

/// A `StateEnum` value, kept as the API wrote it, except that control and invisible characters are
/// escaped on arrival ([`crate::neutral::inline`]): a state is printed in many places, and none of
/// them may receive a line break or a terminal escape from the API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct State(pub String);

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(State(printable(String::deserialize(deserializer)?)))
    }
}

/// Text from the API that is only ever shown (names, states, details), made single-line and free
/// of control characters on arrival ([`crate::neutral::inline`]); every sink still neutralises it
/// again for its own rules.
fn printable(text: String) -> String {
    match crate::neutral::inline(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

fn printable_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(printable(String::deserialize(deserializer)?))
}

fn printable_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(printable))
}

/// What a state means for a waiting client (notes §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateClass {
    /// Waiting for its turn.
    Queued,
    /// Building, deploying, executing, cancelling, …
    Running,
    /// Done and fine: DEPLOYED, and the ends of other actions (RESTARTED, STOPPED, DELETED).
    Success,
    /// Any `*_ERROR`.
    Failure,
    /// CANCELED.
    Canceled,
    /// READY, RECAP, UNAVAILABLE or a value this build does not know: keep waiting (bounded by the timeout).
    Other,
}

impl State {
    pub fn new(value: &str) -> Self {
        State(value.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn class(&self) -> StateClass {
        let s = self.0.to_ascii_uppercase();
        match s.as_str() {
            "DEPLOYED" | "RESTARTED" | "STOPPED" | "DELETED" => StateClass::Success,
            "CANCELED" | "CANCELLED" => StateClass::Canceled,
            "QUEUED" | "DEPLOYMENT_QUEUED" | "DELETE_QUEUED" | "RESTART_QUEUED" | "STOP_QUEUED" => {
                StateClass::Queued
            }
            "BUILDING" | "DEPLOYING" | "EXECUTING" | "RESTARTING" | "STOPPING" | "DELETING"
            | "CANCELING" | "WAITING_RUNNING" | "WAITING_RESTARTING" | "WAITING_STOPPING"
            | "WAITING_DELETING" => StateClass::Running,
            _ if s.ends_with("_ERROR") => StateClass::Failure,
            _ if s.ends_with("_QUEUED") => StateClass::Queued,
            _ => StateClass::Other,
        }
    }

    /// Whether this state means "running what a deploy asked for": `DEPLOYED`, or `RESTARTED`
    /// (a redeploy of a running service). `STOPPED` and `DELETED` end other actions (notes §8;
    /// `StateEnum`): for a deploy they are failures, not successes.
    pub fn is_deployed(&self) -> bool {
        self.0.eq_ignore_ascii_case("DEPLOYED") || self.0.eq_ignore_ascii_case("RESTARTED")
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self.class(),
            StateClass::Success | StateClass::Failure | StateClass::Canceled
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// `EnvironmentStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvironmentStatus {
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub last_deployment_state: Option<State>,
    /// The execution id of the latest deployment (`{environment_id}-{n}`), not a UUID.
    #[serde(default)]
    pub last_deployment_id: Option<String>,
    #[serde(default)]
    pub deployment_request_id: Option<String>,
    #[serde(default)]
    pub total_deployment_duration_in_seconds: Option<u64>,
    #[serde(default)]
    pub triggered_by: Option<String>,
}

impl EnvironmentStatus {
    /// Checks the ids used later: `deployment_request_id` (UUID) and `last_deployment_id`
    /// (execution id); empty ones become `None`.
    ///
    /// Errors: the first id of the wrong shape.
    pub fn check_ids(&mut self) -> Result<(), MalformedId> {
        ids::check_optional(
            "deployment request id",
            Shape::Uuid,
            &mut self.deployment_request_id,
        )?;
        ids::check_optional(
            "execution id",
            Shape::Execution,
            &mut self.last_deployment_id,
        )
    }
}

/// `StatusDetails`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct StatusDetails {
    #[serde(default, deserialize_with = "printable_option")]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub status: Option<String>,
}

/// `ServiceStepMetrics`, only what the summary shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Steps {
    #[serde(default)]
    pub total_duration_sec: Option<u64>,
}

/// `Status`: one service's state (also the 202 answer of a job deploy).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceStatus {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    #[serde(default)]
    pub is_part_last_deployment: Option<bool>,
    #[serde(default)]
    pub deployment_request_id: Option<String>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub steps: Option<Steps>,
}

impl ServiceStatus {
    /// How bad this status is, to choose between two entries for one service: a failure
    /// (`*_ERROR` or `status_details.status` `ERROR`) 3, cancelled 2, anything unsettled 1, a
    /// successful end 0.
    pub fn severity(&self) -> u8 {
        let detail = self
            .status_details
            .as_ref()
            .and_then(|d| d.status.as_deref())
            .map(str::to_ascii_uppercase);
        match (self.state.class(), detail.as_deref()) {
            (StateClass::Failure, _) | (_, Some("ERROR")) => 3,
            (StateClass::Canceled, _) | (_, Some("CANCELED" | "CANCELLED")) => 2,
            (StateClass::Success, _) => 0,
            _ => 1,
        }
    }
}

/// `EnvironmentStatuses`: the environment and every service, one request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvironmentStatuses {
    pub environment: EnvironmentStatus,
    #[serde(default)]
    pub applications: Vec<ServiceStatus>,
    #[serde(default)]
    pub containers: Vec<ServiceStatus>,
    #[serde(default)]
    pub jobs: Vec<ServiceStatus>,
    #[serde(default)]
    pub databases: Vec<ServiceStatus>,
    #[serde(default)]
    pub helms: Vec<ServiceStatus>,
    #[serde(default)]
    pub terraforms: Vec<ServiceStatus>,
    /// The lookup table of [`EnvironmentStatuses::service`]; leave it to its `Default`.
    #[serde(skip)]
    pub index: ServiceIndex,
}

/// Where each service is in the lists of an [`EnvironmentStatuses`], by [`ServiceKey`]: built
/// once, on the first lookup of an answer (so once per poll), instead of a scan per listed
/// service. The lists are not changed after an answer is read; a copy carries its index along.
#[derive(Debug, Clone, Default)]
pub struct ServiceIndex(OnceLock<HashMap<ServiceKey, (usize, usize)>>);

/// A service id, normalised for lookups: a UUID (any case, the form Qovery uses) as its 128 bits,
/// anything else in ASCII lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    Uuid(u128),
    Other(String),
}

impl ServiceKey {
    pub fn new(id: &str) -> ServiceKey {
        match uuid::Uuid::try_parse(id) {
            Ok(uuid) => ServiceKey::Uuid(uuid.as_u128()),
            Err(_) => ServiceKey::Other(id.to_ascii_lowercase()),
        }
    }
}

impl ServiceStatus {
    /// Checks `id` (UUID, unless empty), `deployment_request_id` (UUID) and `execution_id`
    /// (execution id); empty optional ones become `None`.
    ///
    /// Errors: the first id of the wrong shape.
    pub fn check_ids(&mut self) -> Result<(), MalformedId> {
        if !self.id.is_empty() {
            ids::check("service id", Shape::Uuid, &self.id)?;
        }
        ids::check_optional(
            "deployment request id",
            Shape::Uuid,
            &mut self.deployment_request_id,
        )?;
        ids::check_optional("execution id", Shape::Execution, &mut self.execution_id)
    }
}

impl EnvironmentStatuses {
    /// Checks the ids of the environment's status and of every service's ([`ServiceStatus::check_ids`]).
    ///
    /// Errors: the first id of the wrong shape.
    pub fn check_ids(&mut self) -> Result<(), MalformedId> {
        self.environment.check_ids()?;
        for service in [
            &mut self.applications,
            &mut self.containers,
            &mut self.jobs,
            &mut self.databases,
            &mut self.helms,
            &mut self.terraforms,
        ]
        .into_iter()
        .flatten()
        {
            service.check_ids()?;
        }
        Ok(())
    }

    fn lists(&self) -> [&Vec<ServiceStatus>; 6] {
        [
            &self.applications,
            &self.containers,
            &self.jobs,
            &self.databases,
            &self.helms,
            &self.terraforms,
        ]
    }

    /// The status of the service `id` (compared as a [`ServiceKey`]), if the answer lists it. The
    /// first call indexes the answer; each call after is a hash lookup. When an id is listed twice
    /// (in two lists, or twice in one), the worse entry counts ([`ServiceStatus::severity`]):
    /// contradictory duplicates never read as a success that one of them denies.
    pub fn service(&self, id: &str) -> Option<&ServiceStatus> {
        let index = self.index.0.get_or_init(|| {
            let lists = self.lists();
            let mut index: HashMap<ServiceKey, (usize, usize)> = HashMap::new();
            for (list, statuses) in lists.iter().enumerate() {
                for (position, status) in statuses.iter().enumerate() {
                    let slot = index
                        .entry(ServiceKey::new(&status.id))
                        .or_insert((list, position));
                    if status.severity() > lists[slot.0][slot.1].severity() {
                        *slot = (list, position);
                    }
                }
            }
            index
        });
        let &(list, position) = index.get(&ServiceKey::new(id))?;
        self.lists()[list].get(position)
    }
}

/// `EnvDeploymentStatus` (no field is required by the spec).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentRequestStatus {
    #[serde(default)]
    pub status: Option<State>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Reference {
    pub id: String,
}

/// `Environment`: what the console link needs, and what tells a preview environment from the
/// others (its `mode`). Every field is optional here: the answer of a clone may be thin.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Environment {
    /// Its UUID (`Base.id`); empty when the answer had none.
    #[serde(default)]
    pub id: String,
    /// Case-insensitive in Qovery (the spec: "name is case insensitive"). Control and invisible
    /// characters escaped on arrival (see [`State`]).
    #[serde(default, deserialize_with = "printable_option")]
    pub name: Option<String>,
    /// `EnvironmentModeEnum` (`DEVELOPMENT`, `PREVIEW`, `PRODUCTION`, `STAGING`), kept as text so
    /// that a value added later reads as "not a preview" instead of failing.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub organization: Option<Reference>,
    #[serde(default)]
    pub project: Option<Reference>,
}

impl Environment {
    /// Whether its mode is `PREVIEW` (any case). An absent mode is not a preview.
    pub fn is_preview(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|mode| mode.eq_ignore_ascii_case(EnvironmentMode::Preview.as_str()))
    }

    /// Whether it is named `name`, compared as Qovery does (case-insensitively).
    pub fn is_named(&self, name: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|own| own.trim().to_lowercase() == name.trim().to_lowercase())
    }
}

/// `Link`: one address a service answers at (`GET /environment/{id}/link`). Outside text: the
/// URL is checked before it is used ([`Link::web_url`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Link {
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub service_type: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// "the root of the domain and not one derived from a port".
    #[serde(default)]
    pub is_default: Option<bool>,
    /// A domain managed by Qovery (`false`: the user's own domain).
    #[serde(default)]
    pub is_qovery_domain: Option<bool>,
}

impl Link {
    /// The URL when it is a plain `http(s)://` address: nothing that could break out of a
    /// Markdown link, a dotenv line or a log line (whitespace, control characters, quotes,
    /// brackets, backticks, `|`), at most 2048 bytes. Anything else is `None`.
    pub fn web_url(&self) -> Option<&str> {
        plain_web_url(self.url.as_deref()?)
    }
}

/// `url` (trimmed) when it is a plain `http(s)://` address, as [`Link::web_url`] defines it; also
/// for other URLs from the API (a log entry's documentation link).
pub fn plain_web_url(url: &str) -> Option<&str> {
    {
        let url = url.trim();
        let scheme_ok = ["https://", "http://"].iter().any(|scheme| {
            url.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        });
        let clean = url.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '`' | '|' | '{' | '}' | '\\'
                )
        });
        (scheme_ok && clean && url.len() > "https://".len() && url.len() <= 2048).then_some(url)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Results<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// An item of a list that may not read as `T`: a newer or broken entry is skipped, not fatal
/// (forward compatibility). Only list endpoints whose entries are independent use it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Lenient<T> {
    Read(T),
    Unreadable(serde::de::IgnoredAny),
}

impl<T> Lenient<T> {
    pub fn ok(self) -> Option<T> {
        match self {
            Lenient::Read(value) => Some(value),
            Lenient::Unreadable(_) => None,
        }
    }
}

/// One entry of `GET /environment/{id}/logs` (`EnvironmentLogs`, spec L22180), only what the
/// failure report reads. Every field is optional here: an entry is outside text to be shown, and a
/// missing part only means less to show.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogEntry {
    /// `info`, `warning`, `error`, … (free text in the spec).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub details: Option<LogDetails>,
    /// Present on the entries that say why something failed.
    #[serde(default)]
    pub error: Option<LogError>,
    #[serde(default)]
    pub message: Option<LogMessage>,
}

/// `EnvironmentLogs.details`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogDetails {
    /// The execution the entry belongs to (`{environment_id}-{n}`).
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Who wrote the entry: a service (`id` is its id) or the environment (`type: Environment`).
    #[serde(default)]
    pub transmitter: Option<LogTransmitter>,
    #[serde(default)]
    pub stage: Option<LogStage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogTransmitter {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `EnvironmentLogs.details.stage`: the step (`Build`, `Deploy`, …) the entry was written in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogStage {
    #[serde(default)]
    pub step: Option<String>,
}

/// `EnvironmentLogs.error`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogError {
    #[serde(default)]
    pub tag: Option<String>,
    /// The message for the user.
    #[serde(default)]
    pub user_log_message: Option<String>,
    /// A documentation link about this error.
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub hint_message: Option<String>,
    #[serde(default)]
    pub underlying_error: Option<LogUnderlyingError>,
}

/// `EnvironmentLogs.error.underlying_error`; `full_details` is not read (it can be large).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogUnderlyingError {
    #[serde(default)]
    pub message: Option<String>,
}

/// `EnvironmentLogs.message`; `full_details` is not read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogMessage {
    #[serde(default)]
    pub safe_message: Option<String>,
}

/// Where a service's code comes from, which decides the version field to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A git repository: send `git_commit_id`.
    Git,
    /// A container image: send `image_tag`.
    Image,
    /// A Helm repository: send `chart_version`.
    HelmRepository,
    /// No version (databases).
    None,
    /// A job that claims both an image and a git source: the API takes only one of `image_tag`
    /// and `git_commit_id`, and which one cannot be told.
    Ambiguous,
    /// The API described a source this build does not know.
    Unknown,
}

/// One entry of `GET /environment/{id}/services` (a oneOf over the service types).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceInfo {
    pub id: String,
    /// Control and invisible characters escaped on arrival (see [`State`]); entries are matched
    /// against this text.
    #[serde(default, deserialize_with = "printable_string")]
    pub name: String,
    #[serde(default)]
    pub service_type: Option<String>,
    #[serde(default)]
    pub job_type: Option<String>,
    /// Jobs: `{image: …}` or `{docker: …}`; helms: `{git: …}` or `{repository: …}`.
    #[serde(default)]
    pub source: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ServiceInfo {
    pub fn kind(&self) -> Option<ServiceKind> {
        self.service_type
            .as_deref()
            .and_then(ServiceKind::from_api_type)
    }

    /// The version field to send, from the service's source (notes §10).
    pub fn source(&self) -> Source {
        let has = |key: &str| {
            self.source
                .as_ref()
                .and_then(|s| s.get(key))
                .is_some_and(|v| !v.is_null())
        };
        match self.kind() {
            Some(ServiceKind::Application) | Some(ServiceKind::Terraform) => Source::Git,
            Some(ServiceKind::Container) => Source::Image,
            Some(ServiceKind::Database) => Source::None,
            Some(ServiceKind::Job) if has("image") && (has("docker") || has("git")) => {
                Source::Ambiguous
            }
            Some(ServiceKind::Job) if has("image") => Source::Image,
            Some(ServiceKind::Job) if has("docker") || has("git") => Source::Git,
            Some(ServiceKind::Helm) if has("repository") => Source::HelmRepository,
            Some(ServiceKind::Helm) if has("git") => Source::Git,
            _ => Source::Unknown,
        }
    }
}

/// One page of `GET /environment/{id}/deploymentHistoryV2`
/// (`DeploymentHistoryEnvironmentPaginatedResponseListV2`): the latest executions, newest first.
///
/// Its text (names, states, versions, auditing data) is escaped on arrival like every text from the
/// API (see [`State`]); its ids are checked by [`HistoryPage::check_ids`] before anything uses them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryPage {
    #[serde(default, deserialize_with = "lenient_list")]
    pub results: Vec<HistoryExecution>,
}

impl HistoryPage {
    /// Leaves out what carries an id of the wrong shape ([`ids`]): an execution whose
    /// `identifier.execution_id` is not `<uuid>-<n>`, a service whose `identifier.service_id` is
    /// not a UUID. Neither can be ours (ours are known by checked ids), and an execution id found
    /// here may become the one the run follows, prints and links to (a merged request's), so none
    /// of another shape is kept. An empty id reads as absent. Lenient like the rest of the page: one
    /// odd entry does not make the page unreadable.
    ///
    /// Returns what was left out, for tests and messages.
    pub fn check_ids(&mut self) -> Vec<MalformedId> {
        let mut dropped = Vec::new();
        self.results.retain_mut(|execution| {
            let Some(identifier) = execution.identifier.as_mut() else {
                return true;
            };
            match ids::check_optional(
                "execution id",
                Shape::Execution,
                &mut identifier.execution_id,
            ) {
                Ok(()) => true,
                Err(problem) => {
                    dropped.push(problem);
                    false
                }
            }
        });
        for stage in self.results.iter_mut().flat_map(|e| e.stages.iter_mut()) {
            stage.services.retain_mut(|service| {
                let Some(identifier) = service.identifier.as_mut() else {
                    return true;
                };
                match ids::check_optional("service id", Shape::Uuid, &mut identifier.service_id) {
                    Ok(()) => true,
                    Err(problem) => {
                        dropped.push(problem);
                        false
                    }
                }
            });
        }
        dropped
    }
}

/// `DeploymentHistoryEnvironmentV2`: one execution of an environment deployment. Every field is
/// optional here (the spec requires most of them, but an entry that lacks one must not hide the
/// others); enum values are kept as text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryExecution {
    #[serde(default)]
    pub identifier: Option<HistoryExecutionId>,
    #[serde(default)]
    pub auditing_data: Option<HistoryAuditing>,
    /// `StateEnum` of the whole execution.
    #[serde(default)]
    pub status: Option<State>,
    /// `DeploymentHistoryTriggerAction` (`DEPLOY`, `RESTART`, …).
    #[serde(default, deserialize_with = "printable_option")]
    pub trigger_action: Option<String>,
    /// `DeploymentHistoryActionStatus` (`QUEUED`, `ONGOING`, `SUCCESS`, `ERROR`, `CANCELED`, …).
    #[serde(default, deserialize_with = "printable_option")]
    pub action_status: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub stages: Vec<HistoryStage>,
}

impl HistoryExecution {
    /// `identifier.execution_id`: `{environment_id}-{n}`, the same id as
    /// `EnvironmentStatus.last_deployment_id` (notes §11, §13).
    pub fn execution_id(&self) -> Option<&str> {
        self.identifier.as_ref()?.execution_id.as_deref()
    }

    /// Every service of every stage.
    pub fn services(&self) -> impl Iterator<Item = &HistoryService> {
        self.stages.iter().flat_map(|stage| stage.services.iter())
    }

    /// The entry of one service (ids compared case-insensitively).
    pub fn service(&self, service_id: &str) -> Option<&HistoryService> {
        self.services().find(|s| {
            s.service_id()
                .is_some_and(|id| id.eq_ignore_ascii_case(service_id))
        })
    }
}

/// `DeploymentHistoryEnvironmentV2.identifier`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryExecutionId {
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// `DeploymentHistoryAuditingData`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryAuditing {
    /// RFC 3339 date-time.
    #[serde(default, deserialize_with = "printable_option")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub triggered_by: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub origin: Option<String>,
}

/// `DeploymentHistoryStage`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryStage {
    #[serde(default, deserialize_with = "printable_option")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub services: Vec<HistoryService>,
}

/// `DeploymentHistoryService`: one service in one execution, with the version it deployed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryService {
    #[serde(default)]
    pub identifier: Option<HistoryServiceId>,
    /// `StateEnum` of the service in this execution.
    #[serde(default)]
    pub status: Option<State>,
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    /// `DeploymentHistoryServiceDetails`, a oneOf read as one lenient object.
    #[serde(default)]
    pub details: Option<HistoryDetails>,
}

impl HistoryService {
    pub fn service_id(&self) -> Option<&str> {
        self.identifier.as_ref()?.service_id.as_deref()
    }
}

/// `DeploymentHistoryService.identifier`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryServiceId {
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub service_type: Option<String>,
}

/// `DeploymentHistoryServiceDetails`: the branches of its oneOf merged into one set of optional
/// fields. Applications carry `commit`; containers `image_name` + `tag`; jobs `image_name` + `tag`
/// and, when built from git, `commit`; helms `commit` or `repository.chart_version`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryDetails {
    #[serde(default)]
    pub commit: Option<HistoryCommit>,
    #[serde(default, deserialize_with = "printable_option")]
    pub image_name: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub tag: Option<String>,
    #[serde(default)]
    pub repository: Option<HistoryChart>,
}

/// `Commit`, only its id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryCommit {
    #[serde(default, deserialize_with = "printable_option")]
    pub git_commit_id: Option<String>,
}

/// `HelmDeploymentHistoryDetails.repository`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryChart {
    #[serde(default, deserialize_with = "printable_option")]
    pub chart_name: Option<String>,
    #[serde(default, deserialize_with = "printable_option")]
    pub chart_version: Option<String>,
}

/// A list whose unreadable items are dropped rather than failing the whole answer: one odd entry
/// in the history must not hide our execution. `null` reads as an empty list.
///
/// Memory: one item at a time is held as its raw JSON text ([`RawValue`]) and read from it, then
/// dropped before the next. Reading the whole list as `serde_json::Value` first made a tree of
/// maps and strings several times the size of the text: a 500-service history page (250 KB)
/// peaked at 7.3 MB RSS, past the 6 MB budget (README, "Dependencies").
fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    struct Items<T>(std::marker::PhantomData<T>);

    impl<'de, T: serde::de::DeserializeOwned> serde::de::Visitor<'de> for Items<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_seq(self)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
                items.extend(serde_json::from_str(raw.get()).ok());
            }
            Ok(items)
        }
    }

    deserializer.deserialize_option(Items(std::marker::PhantomData))
}

/// A `QueuedDeploymentRequestWithStages`: its identifier and the services it carries.
#[derive(Debug, Clone, Deserialize)]
pub struct QueuedRequest {
    pub identifier: QueuedIdentifier,
    #[serde(default, deserialize_with = "lenient_list")]
    pub stages: Vec<QueuedStage>,
}

impl QueuedRequest {
    pub fn request_id(&self) -> &str {
        &self.identifier.deployment_request_id
    }

    /// Whether the request carries this service (ids compared case-insensitively).
    pub fn carries(&self, service_id: &str) -> bool {
        self.stages.iter().flat_map(|s| &s.services).any(|s| {
            s.identifier
                .as_ref()
                .and_then(|i| i.service_id.as_deref())
                .is_some_and(|id| id.eq_ignore_ascii_case(service_id))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueuedIdentifier {
    pub deployment_request_id: String,
}

/// One stage of a queued request, only its services.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueuedStage {
    #[serde(default, deserialize_with = "lenient_list")]
    pub services: Vec<QueuedService>,
}

/// One service of a queued request's stage.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueuedService {
    #[serde(default)]
    pub identifier: Option<HistoryServiceId>,
}

/// `DeploymentStageResponse`, only what `skip`/`unskip` need.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStage {
    pub id: String,
    #[serde(default, deserialize_with = "printable_option")]
    pub name: Option<String>,
    #[serde(default)]
    pub services: Vec<StageService>,
}

impl DeploymentStage {
    /// Whether the stage lists the service as skipped; `None` when the stage does not list it.
    pub fn is_skipped(&self, service_id: &str) -> Option<bool> {
        self.services
            .iter()
            .find(|s| {
                s.service_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(service_id))
            })
            .map(|s| s.is_skipped.unwrap_or(false))
    }
}

/// One entry of `DeploymentStageResponse.services`.
#[derive(Debug, Clone, Deserialize)]
pub struct StageService {
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub is_skipped: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Requests

/// `EnvironmentModeEnum`, the values this tool sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnvironmentMode {
    Preview,
}

impl EnvironmentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentMode::Preview => "PREVIEW",
        }
    }
}

/// `CloneEnvironmentRequest` (`POST /environment/{id}/clone`). `project_id` is never sent: a
/// preview lives in its blueprint's project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloneEnvironmentRequest {
    pub name: String,
    pub mode: EnvironmentMode,
    /// The cluster to run on; omitted to keep the blueprint's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// Apply the project's deployment rules to the new environment (spec default `false`).
    pub apply_deployment_rule: bool,
}

/// `DeployAllRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeployAllRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<ApplicationDeploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerDeploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobDeploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub helms: Vec<HelmDeploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terraforms: Vec<TerraformDeploy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationDeploy {
    pub application_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerDeploy {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

/// Also the body of `POST /job/{id}/deploy` (`JobDeployRequest`) without the id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobDeploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelmDeploy {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerraformDeploy {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<TerraformAction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_classified_and_unknown_values_are_kept() {
        assert_eq!(State::new("DEPLOYED").class(), StateClass::Success);
        assert_eq!(State::new("BUILD_ERROR").class(), StateClass::Failure);
        assert_eq!(
            State::new("SOMETHING_NEW_ERROR").class(),
            StateClass::Failure
        );
        assert_eq!(State::new("DEPLOYMENT_QUEUED").class(), StateClass::Queued);
        assert_eq!(State::new("EXECUTING").class(), StateClass::Running);
        assert_eq!(State::new("CANCELED").class(), StateClass::Canceled);
        assert_eq!(State::new("UNAVAILABLE").class(), StateClass::Other);
        assert_eq!(State::new("HYPERSPACE").class(), StateClass::Other);
        let s: EnvironmentStatus = serde_json::from_str(
            r#"{"state":"HYPERSPACE","extra":{"x":1},"deployment_request_id":null}"#,
        )
        .unwrap();
        assert_eq!(s.state.as_str(), "HYPERSPACE");
        assert!(!s.state.is_terminal());
    }

    #[test]
    fn services_are_found_by_normalised_id_in_any_list() {
        let statuses: EnvironmentStatuses = serde_json::from_value(serde_json::json!({
            "environment": {"state": "DEPLOYED"},
            "applications": [{"id": "A1000000-0000-4000-8000-000000000001", "state": "DEPLOYED"}],
            "jobs": [
                {"id": "b1000000-0000-4000-8000-000000000001", "state": "BUILDING"},
                {"id": "b1000000-0000-4000-8000-000000000001", "state": "DEPLOYED"}
            ],
            "terraforms": [{"id": "Not-A-Uuid", "state": "STOPPED"}]
        }))
        .unwrap();
        let state = |id: &str| statuses.service(id).map(|s| s.state.as_str().to_string());
        assert_eq!(
            state("a1000000-0000-4000-8000-000000000001").as_deref(),
            Some("DEPLOYED")
        );
        // Braces, no hyphens, any case: the same UUID. The first of two entries counts.
        assert_eq!(
            state(
                "B10000000000400080000000000000 01"
                    .replace(' ', "")
                    .as_str()
            )
            .as_deref(),
            Some("BUILDING")
        );
        assert_eq!(state("not-a-uuid").as_deref(), Some("STOPPED"));
        assert_eq!(state("c1000000-0000-4000-8000-000000000001"), None);
        // A copy of the answer indexes (or has indexed) the same data.
        assert!(
            statuses
                .clone()
                .service("a1000000-0000-4000-8000-000000000001")
                .is_some()
        );
    }

    #[test]
    fn sources_decide_the_version_field() {
        let svc = |json: &str| serde_json::from_str::<ServiceInfo>(json).unwrap().source();
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"APPLICATION"}"#),
            Source::Git
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"JOB","source":{"image":{"tag":"1"}}}"#),
            Source::Image
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"JOB","source":{"docker":{}}}"#),
            Source::Git
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"HELM","source":{"repository":{}}}"#),
            Source::HelmRepository
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"HELM","source":{"git":{}}}"#),
            Source::Git
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"ARGOCD_APP"}"#),
            Source::Unknown
        );
        assert_eq!(
            svc(r#"{"id":"1","name":"a","service_type":"JOB","source":{"image":{},"docker":{}}}"#),
            Source::Ambiguous
        );
    }

    #[test]
    fn stages_tell_whether_a_service_is_skipped() {
        let stage: DeploymentStage = serde_json::from_value(serde_json::json!({
            "id": "s1", "name": "apps", "created_at": "2026-01-01T00:00:00Z",
            "services": [
                {"id": "x", "service_id": "A", "is_skipped": true},
                {"id": "y", "service_id": "b"}
            ]
        }))
        .unwrap();
        assert_eq!(stage.is_skipped("a"), Some(true));
        assert_eq!(stage.is_skipped("b"), Some(false));
        assert_eq!(stage.is_skipped("c"), None);
    }

    #[test]
    fn environments_read_leniently_and_compare_names_like_qovery() {
        let env: Environment = serde_json::from_value(serde_json::json!({
            "id": "e1", "name": "PR-12", "mode": "PREVIEW", "cluster_id": "c1",
            "organization": {"id": "o"}, "project": {"id": "p"}, "expires_at": null, "new": [1]
        }))
        .unwrap();
        assert!(env.is_preview());
        assert!(env.is_named("pr-12") && env.is_named(" Pr-12 ") && !env.is_named("pr-1"));
        let other = |mode: serde_json::Value| {
            serde_json::from_value::<Environment>(serde_json::json!({"id": "e", "mode": mode}))
                .unwrap()
        };
        assert!(other("preview".into()).is_preview());
        for mode in [
            serde_json::json!("STAGING"),
            serde_json::json!("EPHEMERAL"),
            serde_json::Value::Null,
        ] {
            assert!(!other(mode.clone()).is_preview(), "{mode}");
        }
        assert!(!Environment::default().is_named(""));
    }

    #[test]
    fn only_plain_web_urls_are_taken_from_links() {
        let link = |url: &str| Link {
            url: Some(url.into()),
            ..Default::default()
        };
        for good in [
            "https://api-pr-7.example.com",
            "http://p8080-z12.example.com:8080/path?q=1&x=%20",
            " HTTPS://x.io ",
        ] {
            assert!(link(good).web_url().is_some(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "https://x.io) [click](https://evil",
            "https://x.io\n::error::forged",
            "https://x.io/a b",
            "ftp://x.io",
            "https://",
            "https://x.io/`code`",
            "https://x.io/|table|",
            "https://ex\u{e9}mple.com",
        ] {
            assert_eq!(link(bad).web_url(), None, "{bad}");
        }
        assert_eq!(Link::default().web_url(), None);
        assert_eq!(
            link(&format!("https://x.io/{}", "a".repeat(3000))).web_url(),
            None
        );
    }

    #[test]
    fn the_clone_request_omits_an_unset_cluster() {
        let mut request = CloneEnvironmentRequest {
            name: "pr-12".into(),
            mode: EnvironmentMode::Preview,
            cluster_id: None,
            apply_deployment_rule: false,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"name": "pr-12", "mode": "PREVIEW", "apply_deployment_rule": false})
        );
        request.cluster_id = Some("c1".into());
        request.apply_deployment_rule = true;
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"name": "pr-12", "mode": "PREVIEW", "cluster_id": "c1", "apply_deployment_rule": true})
        );
    }

    #[test]
    fn lenient_lists_read_the_same_from_bytes_as_from_a_value() {
        // The client reads bytes (`from_slice`), the tests mostly values: both skip the same items.
        let json = serde_json::json!({"results": [
            7,
            {"identifier": {"execution_id": "e-2"}, "stages": [
                {"name": "a", "services": [{"identifier": {"service_id": "s1"}}, "x", {"status": 3}]},
                null,
                {"name": "b\u{1b}", "services": null}
            ]},
            {"identifier": {"execution_id": "e-1"}, "stages": null}
        ]});
        let from_bytes: HistoryPage = serde_json::from_slice(&serde_json::to_vec(&json).unwrap())
            .expect("a page with odd items still reads");
        let from_value: HistoryPage = serde_json::from_value(json).unwrap();
        for page in [&from_bytes, &from_value] {
            let ids: Vec<_> = page.results.iter().map(|e| e.execution_id()).collect();
            assert_eq!(ids, [Some("e-2"), Some("e-1")]);
            let stages = &page.results[0].stages;
            assert_eq!(stages.len(), 2, "{stages:?}");
            assert_eq!(stages[0].services.len(), 1);
            assert_eq!(stages[0].services[0].service_id(), Some("s1"));
            assert_eq!(stages[1].name.as_deref(), Some("b\\u{1b}"));
            assert!(page.results[1].stages.is_empty());
        }
        // Not a list at all is still an unreadable page, as before.
        assert!(serde_json::from_slice::<HistoryPage>(br#"{"results": 5}"#).is_err());
    }

    #[test]
    fn history_is_read_leniently() {
        let page: HistoryPage = serde_json::from_value(serde_json::json!({
            "page": 1, "page_size": 20,
            "results": [
                "not an execution",
                {"identifier": {"execution_id": "e-43", "environment_id": "x"},
                 "status": "HYPERSPACE", "action_status": "SOMETHING_NEW", "trigger_action": "DEPLOY",
                 "stages": [
                    {"name": "apps", "status": "DONE", "duration": "PT1S", "services": [
                        {"identifier": {"service_id": "A1", "name": "api", "service_type": "APPLICATION", "execution_id": "e-43"},
                         "status": "DEPLOYED", "status_details": {"action": "DEPLOY", "status": "SUCCESS", "sub_action": "NONE"},
                         "details": {"commit": {"git_commit_id": "abc", "tag": "", "message": "m"}, "build_pod_name": "b"},
                         "icon_uri": "x", "extra": [1, 2]},
                        {"identifier": {"service_id": "c1", "name": "worker", "service_type": "CONTAINER"},
                         "status": "DEPLOYED", "details": {"image_name": "acme/worker", "tag": "1.4.2", "arguments": []}},
                        {"identifier": {"service_id": "h1", "name": "chart", "service_type": "HELM"},
                         "details": {"repository": {"chart_name": "n", "chart_version": "4.11.2"}}},
                        42
                    ]},
                    {"name": "empty", "services": null}
                 ]},
                {"identifier": null, "stages": null}
            ]
        }))
        .unwrap();
        assert_eq!(page.results.len(), 2);
        let execution = &page.results[0];
        assert_eq!(execution.execution_id(), Some("e-43"));
        assert_eq!(execution.status.as_ref().unwrap().as_str(), "HYPERSPACE");
        assert_eq!(execution.action_status.as_deref(), Some("SOMETHING_NEW"));
        assert_eq!(execution.services().count(), 3);
        let api = execution.service("a1").unwrap();
        assert_eq!(
            api.details
                .as_ref()
                .unwrap()
                .commit
                .as_ref()
                .unwrap()
                .git_commit_id
                .as_deref(),
            Some("abc")
        );
        let chart = execution.service("H1").unwrap();
        assert!(chart.status.is_none());
        assert_eq!(
            chart
                .details
                .as_ref()
                .unwrap()
                .repository
                .as_ref()
                .unwrap()
                .chart_version
                .as_deref(),
            Some("4.11.2")
        );
        assert_eq!(page.results[1].execution_id(), None);
        let queued: QueuedRequest = serde_json::from_value(serde_json::json!({
            "identifier": {"deployment_request_id": "r", "environment_id": "e"},
            "stages": [{"name": "s", "status": "QUEUED", "services": [
                {"identifier": {"service_id": "A1", "service_type": "APPLICATION", "name": "api"}, "status": "QUEUED"}
            ]}]
        }))
        .unwrap();
        assert!(queued.carries("a1") && !queued.carries("b1"));
    }

    #[test]
    fn history_ids_of_the_wrong_shape_are_left_out_and_text_is_escaped() {
        let env = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";
        let api = "a1000000-0000-4000-8000-000000000001";
        let mut page: HistoryPage = serde_json::from_value(serde_json::json!({"results": [
            {"identifier": {"execution_id": format!("{env}-43/../../x")}, "stages": []},
            {"identifier": {"execution_id": "../cancelDeployment"}, "stages": []},
            {"identifier": {"execution_id": format!("{env}-42")}, "status": "DEPLOYED\n::error::x",
             "stages": [{"name": "apps\n::warning::x", "services": [
                {"identifier": {"service_id": "../x", "name": "evil"}},
                {"identifier": {"service_id": api, "name": "api\r\n::set-output name=result::success"},
                 "status": "DEPLOYED", "status_details": {"status": "SUCCESS\n"},
                 "details": {"commit": {"git_commit_id": "abc\n::stop-commands::qd"},
                             "tag": "1.4.2\u{1b}[2J", "repository": {"chart_version": "1\u{202e}"}}}
             ]}]},
            {"identifier": {"execution_id": ""}, "stages": []}
        ]}))
        .unwrap();
        let dropped = page.check_ids();
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(dropped[0].to_string().contains("is not an execution id"));
        assert!(dropped[2].to_string().contains("the service id `../x`"));
        let ids: Vec<Option<&str>> = page
            .results
            .iter()
            .map(HistoryExecution::execution_id)
            .collect();
        assert_eq!(ids, [Some(format!("{env}-42").as_str()), None]);
        let ours = &page.results[0];
        assert_eq!(ours.services().count(), 1);
        let service = ours.service(api).unwrap();
        let identifier = service.identifier.as_ref().unwrap();
        assert_eq!(
            identifier.name.as_deref(),
            Some("api\\r\\n::set-output name=result::success")
        );
        let details = service.details.as_ref().unwrap();
        assert_eq!(
            details.commit.as_ref().unwrap().git_commit_id.as_deref(),
            Some("abc\\n::stop-commands::qd")
        );
        assert_eq!(details.tag.as_deref(), Some("1.4.2\\u{1b}[2J"));
        assert_eq!(
            details
                .repository
                .as_ref()
                .unwrap()
                .chart_version
                .as_deref(),
            Some("1\\u{202e}")
        );
        assert_eq!(
            ours.status.as_ref().unwrap().as_str(),
            "DEPLOYED\\n::error::x"
        );
        assert_eq!(ours.stages[0].name.as_deref(), Some("apps\\n::warning::x"));
    }

    #[test]
    fn absent_versions_are_omitted_not_null() {
        let body = DeployAllRequest {
            jobs: vec![JobDeploy {
                id: Some("j".into()),
                image_tag: Some("t".into()),
                git_commit_id: None,
            }],
            databases: vec!["d".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"jobs":[{"id":"j","image_tag":"t"}],"databases":["d"]})
        );
    }
}
