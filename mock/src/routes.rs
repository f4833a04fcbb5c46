//! HTTP routes: thin handlers that validate input and call into the [`World`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get, post, put};
use serde_json::{Value, json};

use crate::api::{
    DeploymentStage, EnvDeploymentStatus, EnvironmentStatus, EnvironmentStatuses,
    QueuedDeploymentRequest, Results, State as ServiceState, Status,
};
use crate::environments;
use crate::error::{ApiError, ApiResult};
use crate::fixtures::{self, SERVICES, ServiceType, ids};
use crate::links;
use crate::logs;
use crate::record::{self, RecordedRequest};
use crate::scenario::Scenario;
use crate::server::Shared;
use crate::state::{CancelQueuedError, HistoryPage, JobEvent, RequestKind, Target, World};
use crate::validate;

type AppState = State<Arc<Shared>>;
type Accepted<T> = ApiResult<(StatusCode, Json<T>)>;

/// The whole API, behind the recording/auth gate; `/_mock/*` test hooks bypass the gate.
/// Requests that name a clone of the fixture environment are answered for that clone
/// (`environments::dispatch`).
pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    // The services behind the links: outside the clone dispatch (their path names an environment,
    // but they are not the API), and, as test hooks, outside the gate's recording and auth.
    let app = get(links::app).with_state(Arc::clone(&shared));
    api(Arc::clone(&shared))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            environments::dispatch,
        ))
        .route("/_mock/app/{environment}/{service}", app.clone())
        .route("/_mock/app/{environment}/{service}/{*rest}", app)
        .layer(middleware::from_fn_with_state(shared, record::gate))
}

/// The routes alone, without the gate: a clone's requests are answered by its own copy.
pub(crate) fn api(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/environment/deploymentStatus", get(deployment_status))
        .route(
            "/environment/{id}",
            get(environment).delete(environments::delete_fixture),
        )
        .route("/environment/{id}/clone", post(environments::clone_fixture))
        .route("/project/{id}/environment", get(environments::list))
        .route("/environment/{id}/link", get(links::list))
        .route("/environment/{id}/services", get(services))
        .route("/environment/{id}/status", get(environment_status))
        .route("/environment/{id}/statuses", get(environment_statuses))
        .route("/environment/{id}/service/deploy", post(deploy_services))
        .route("/environment/{id}/deploymentQueue", get(deployment_queue))
        .route(
            "/environment/{id}/deploymentHistoryV2",
            get(deployment_history),
        )
        .route(
            "/environment/{id}/cancelDeployment",
            post(cancel_environment),
        )
        .route("/environment/{id}/deploymentStage", get(environment_stages))
        .route("/environment/{id}/logs", get(environment_logs))
        .route(
            "/deploymentQueue/{id}/cancelDeployment",
            post(cancel_queued),
        )
        .route(
            "/deploymentStage/{stage}/service/{service}",
            put(attach_to_stage),
        )
        .route("/service/{id}/deploymentStage", get(service_stage))
        .route("/job/{id}/deploy", post(deploy_job))
        .route("/job/{id}/redeploy", post(redeploy_job))
        .route("/job/{id}/status", status_of(ServiceType::Job))
        .route(
            "/application/{id}/status",
            status_of(ServiceType::Application),
        )
        .route("/container/{id}/status", status_of(ServiceType::Container))
        .route("/helm/{id}/status", status_of(ServiceType::Helm))
        .route("/database/{id}/status", status_of(ServiceType::Database))
        .route("/_mock/requests", get(recorded_requests))
        .route("/_mock/reset", post(reset))
        .route(
            "/_mock/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn check_environment(id: &str) -> ApiResult<()> {
    if id == ids::ENVIRONMENT {
        Ok(())
    } else {
        Err(ApiError::not_found("environment", id))
    }
}

fn service(id: &str) -> ApiResult<usize> {
    fixtures::service_index(id).ok_or_else(|| ApiError::not_found("service", id))
}

fn service_of_type(id: &str, service_type: ServiceType) -> ApiResult<usize> {
    fixtures::service_index(id)
        .filter(|&index| SERVICES[index].service_type == service_type)
        .ok_or_else(|| ApiError::not_found(&service_type.as_str().to_lowercase(), id))
}

fn refuse_if_busy(shared: &Shared) -> ApiResult<()> {
    if shared.scenario() == Scenario::Busy {
        Err(ApiError::Conflict("Operation is in progress"))
    } else {
        Ok(())
    }
}

async fn environment(Path(id): Path<String>) -> ApiResult<Json<Value>> {
    check_environment(&id)?;
    Ok(Json(fixtures::environment()))
}

async fn services(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<Results<Value>>> {
    check_environment(&id)?;
    let results = shared.with_world(|world, _| world.services());
    Ok(Json(Results { results }))
}

async fn environment_status(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<EnvironmentStatus>> {
    check_environment(&id)?;
    Ok(Json(
        shared.with_world(|world, now| world.environment_status(now)),
    ))
}

async fn environment_statuses(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<EnvironmentStatuses>> {
    check_environment(&id)?;
    Ok(Json(shared.with_world(|world, now| world.statuses(now))))
}

fn status_of(service_type: ServiceType) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(shared): AppState, Path(id): Path<String>| async move {
            let index = service_of_type(&id, service_type)?;
            ApiResult::Ok(Json(
                shared.with_world(|world, now| world.service_status(index, now)),
            ))
        },
    )
}

async fn deploy_services(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Accepted<EnvironmentStatus> {
    check_environment(&id)?;
    let body = validate::required_object(content_type(&headers), &body)?;
    let targets = validate::deploy_all(&body)?;
    refuse_if_busy(&shared)?;
    let status = shared.with_world(|world, now| {
        let request_id = world.enqueue(RequestKind::Services, targets, now);
        EnvironmentStatus {
            state: ServiceState::DeploymentQueued,
            deployment_request_id: Some(world.announced_request_id(request_id)),
            ..world.environment_status(now)
        }
    });
    Ok((StatusCode::ACCEPTED, Json(status)))
}

async fn deployment_queue(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<Results<QueuedDeploymentRequest>>> {
    check_environment(&id)?;
    let results = shared.with_world(|world, _| world.queued_requests());
    Ok(Json(Results { results }))
}

/// `GET /environment/{id}/deploymentHistoryV2?pageSize=N` (default 20, at least 1).
async fn deployment_history(
    State(shared): AppState,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<HistoryPage>> {
    check_environment(&id)?;
    let page_size = match query_param(query.as_deref(), "pageSize") {
        None => 20,
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiError::bad_request(format!("pageSize must be a positive number, got `{value}`"))
            })?,
    };
    Ok(Json(
        shared.with_world(|world, now| world.history(now, page_size)),
    ))
}

async fn deployment_status(
    State(shared): AppState,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<EnvDeploymentStatus>> {
    let request_id = query_param(query.as_deref(), "deploymentRequestId")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("query parameter `deploymentRequestId` is required")
        })?;
    let status = shared
        .with_world(|world, now| world.deployment_status(&request_id, now))
        .ok_or_else(|| ApiError::not_found("deployment request", &request_id))?;
    Ok(Json(EnvDeploymentStatus {
        deployment_request_id: request_id,
        environment_id: ids::ENVIRONMENT,
        status,
    }))
}

async fn cancel_environment(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Accepted<EnvironmentStatus> {
    check_environment(&id)?;
    let body = validate::optional_object(content_type(&headers), &body)?;
    validate::cancel_environment(body.as_ref())?;
    shared.with_world(|world, now| {
        if world.cancel_running(now) {
            Ok((StatusCode::ACCEPTED, Json(world.environment_status(now))))
        } else {
            Err(ApiError::Conflict(
                "Environment deployment is already cancelled or an operation is in progress",
            ))
        }
    })
}

async fn cancel_queued(
    State(shared): AppState,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let body = validate::optional_object(content_type(&headers), &body)?;
    validate::empty_object(body.as_ref())?;
    shared
        .with_world(|world, now| world.cancel_queued(&request_id, now))
        .map_err(|error| match error {
            CancelQueuedError::NotFound => ApiError::not_found("deployment request", &request_id),
            CancelQueuedError::NotQueued => ApiError::Conflict(
                "Deployment request is already cancelled or an operation is in progress",
            ),
        })?;
    Ok(StatusCode::ACCEPTED)
}

fn force_event(query: Option<&str>) -> ApiResult<Option<JobEvent>> {
    match query_param(query, "forceEvent") {
        None => Ok(None),
        Some(value) => JobEvent::parse(&value).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid forceEvent `{value}` (expected one of {})",
                JobEvent::NAMES
            ))
        }),
    }
}

/// Queues a job request and answers its 202 `Status`.
fn accept_job(
    shared: &Shared,
    job: usize,
    event: Option<JobEvent>,
    version: Option<String>,
) -> (StatusCode, Json<Status>) {
    let status = shared.with_world(|world: &mut World, now| {
        let kind = RequestKind::Job(event);
        let target = Target {
            service: job,
            version,
        };
        let request_id = world.enqueue(kind, vec![target], now);
        world.job_accepted(job, kind, request_id, now)
    });
    (StatusCode::ACCEPTED, Json(status))
}

async fn deploy_job(
    State(shared): AppState,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Accepted<Status> {
    let job = service_of_type(&id, ServiceType::Job)?;
    let event = force_event(query.as_deref())?;
    let body = validate::optional_object(content_type(&headers), &body)?;
    let version = validate::job_deploy(body.as_ref(), job)?;
    refuse_if_busy(&shared)?;
    Ok(accept_job(&shared, job, event, version))
}

async fn redeploy_job(
    State(shared): AppState,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Accepted<Status> {
    let job = service_of_type(&id, ServiceType::Job)?;
    let event = force_event(query.as_deref())?;
    let body = validate::optional_object(content_type(&headers), &body)?;
    validate::empty_object(body.as_ref())?;
    refuse_if_busy(&shared)?;
    Ok(accept_job(&shared, job, event, None))
}

async fn environment_stages(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<Results<DeploymentStage>>> {
    check_environment(&id)?;
    let results = shared.with_world(|world, _| world.stages().all());
    Ok(Json(Results { results }))
}

async fn service_stage(
    State(shared): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentStage>> {
    let index = service(&id)?;
    shared
        .with_world(|world, _| world.stages().of_service(index))
        .map(Json)
        .ok_or_else(|| ApiError::not_found("deployment stage of service", &id))
}

async fn attach_to_stage(
    State(shared): AppState,
    Path((stage_id, service_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Results<DeploymentStage>>> {
    let service = service(&service_id)?;
    let body = validate::optional_object(content_type(&headers), &body)?;
    let is_skipped = validate::attach_stage(body.as_ref())?;
    shared.with_world(|world, _| {
        let stage = world
            .stages()
            .find(&stage_id)
            .ok_or_else(|| ApiError::not_found("deployment stage", &stage_id))?;
        world.stages_mut().attach(stage, service, is_skipped);
        Ok(Json(Results {
            results: world.stages().all(),
        }))
    })
}

async fn environment_logs(
    State(shared): AppState,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<Value>>> {
    check_environment(&id)?;
    let version = query_param(query.as_deref(), "version");
    let entries = shared.with_world(|world, now| {
        let execution = match version.as_deref() {
            None | Some("") => Some(world.current_execution()),
            Some(version) => logs::execution_number(version),
        };
        execution
            .and_then(|n| world.run_log(n))
            .map(|log| logs::entries(world, &log, now))
            .unwrap_or_default()
    });
    Ok(Json(entries))
}

async fn recorded_requests(State(shared): AppState) -> Json<Vec<RecordedRequest>> {
    Json(shared.requests())
}

async fn reset(State(shared): AppState) -> Json<Value> {
    shared.reset();
    Json(json!({ "message": "state reset" }))
}

/// `GET /_mock/faults`: `{"faults": [{"spec", "counted", "applied"}]}`.
async fn list_faults(State(shared): AppState) -> Json<Value> {
    let faults: Vec<Value> = shared
        .faults()
        .into_iter()
        .map(|status| {
            json!({
                "spec": status.fault.to_string(),
                "counted": status.counted,
                "applied": status.applied,
            })
        })
        .collect();
    Json(json!({ "faults": faults }))
}

/// `POST /_mock/faults` with `{"faults": ["SPEC or PRESET", ...]}`: adds them (all or none).
async fn add_faults(State(shared): AppState, body: Bytes) -> ApiResult<Json<Value>> {
    let specs: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| serde_json::from_value(body.get("faults")?.clone()).ok())
        .ok_or_else(|| ApiError::bad_request("expected {\"faults\": [\"SPEC or PRESET\", ...]}"))?;
    let mut faults = Vec::new();
    for spec in &specs {
        faults.extend(
            crate::parse_faults(spec).map_err(|error| ApiError::bad_request(error.to_string()))?,
        );
    }
    let added = faults.len();
    shared.add_faults(faults);
    Ok(Json(json!({ "added": added })))
}

/// `DELETE /_mock/faults`: removes every fault.
async fn clear_faults(State(shared): AppState) -> Json<Value> {
    shared.clear_faults();
    Json(json!({ "message": "faults cleared" }))
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("a=1&forceEvent=STOP"), "forceEvent").as_deref(),
            Some("STOP")
        );
        assert_eq!(
            query_param(Some("forceEvent"), "forceEvent").as_deref(),
            Some("")
        );
        assert_eq!(query_param(Some("a=1"), "forceEvent"), None);
        assert_eq!(query_param(None, "forceEvent"), None);
    }

    #[test]
    fn force_events() {
        assert_eq!(force_event(None), Ok(None));
        assert_eq!(
            force_event(Some("forceEvent=STOP")),
            Ok(Some(JobEvent::Stop))
        );
        assert!(force_event(Some("forceEvent=stop")).is_err());
        assert!(force_event(Some("forceEvent=")).is_err());
    }
}
