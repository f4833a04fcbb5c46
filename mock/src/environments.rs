//! The project's other environments: clones of the fixture environment (preview environments),
//! the project's environment list, and deletion.
//!
//! A clone is a whole environment: the fixture's services, deployment stages and deployment state
//! machine under new ids, never deployed yet. It is served by the same routes as the fixture
//! environment, through its own [`World`](crate::state::World): a request that names a clone's ids
//! is translated to the fixture ids, answered by the clone's own router, and its answer translated
//! back. So every endpoint the mock serves for the fixture environment works for a clone, with
//! the clone's ids in every answer (execution ids `<clone id>-<n>` included).
//!
//! What a clone adds:
//! - **Setup**: the first [`SETUP_READS`] reads of its service list answer an empty list (and its
//!   statuses list no service), as a clone still being copied would.
//! - **Deletion**: `DELETE /environment/{id}` answers 204; the next [`DELETE_READS`] reads of the
//!   environment (`GET /environment/{id}`, `/status`, `/statuses`) show it `DELETING`; the read
//!   after that answers 404 and it leaves the project's list. Writes to it meanwhile answer 409.
//! - **Names** are unique in the project, case-insensitively: a clone named like an existing
//!   environment answers 409. In the `clone-race` scenario the first clone of each name creates the
//!   environment *and* answers 409, as when a concurrent run created it a moment earlier.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tower_service::Service;

use crate::api::State as StateEnum;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::fixtures::{self, SERVICES, STAGES, ids};
use crate::scenario::Scenario;
use crate::server::Shared;
use crate::validate;

/// Reads of a new clone's service list that still answer an empty list.
pub(crate) const SETUP_READS: usize = 2;
/// Reads of a deleted environment that still show it `DELETING` before it is gone.
pub(crate) const DELETE_READS: usize = 2;
/// Largest body the translation reads (as the request gate).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// `EnvironmentModeEnum`.
const MODES: [&str; 4] = ["DEVELOPMENT", "PREVIEW", "PRODUCTION", "STAGING"];
const CLONE_FIELDS: [&str; 5] = [
    "name",
    "cluster_id",
    "mode",
    "apply_deployment_rule",
    "project_id",
];
const NAME_TAKEN: &str = "Environment name within the project is already taken";
const BEING_DELETED: &str = "Operation is in progress: the environment is being deleted";

/// An environment of the fixture project, as a test sees it ([`crate::MockServer::environments`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockEnvironment {
    /// Its id.
    pub id: String,
    /// Its name, as given to the clone request.
    pub name: String,
    /// `EnvironmentModeEnum`: `STAGING` for the fixture, `PREVIEW` for a preview clone.
    pub mode: String,
    /// `apply_deployment_rule` as the clone request gave it (`false` when absent or the fixture).
    pub apply_deployment_rule: bool,
    /// Whether it is being deleted.
    pub deleting: bool,
    /// Its services, `(name, id)`, in the fixture's order.
    pub services: Vec<(String, String)>,
}

/// One clone.
#[derive(Debug)]
struct Cloned {
    id: String,
    name: String,
    mode: String,
    cluster_id: String,
    created_at: String,
    apply_deployment_rule: bool,
    /// `(fixture id, clone id)` for the environment, its services, stages and stage links.
    ids: Vec<(String, String)>,
    /// Its own state, behind its own routes (see the module docs).
    shared: Arc<Shared>,
    router: axum::Router,
    /// Reads of the service list left before the services show.
    setup_reads: usize,
    /// Once deleted: reads left before it is gone.
    deleting: Option<usize>,
}

impl Cloned {
    fn new(shared: &Shared, request: CloneRequest) -> Cloned {
        let id = new_id();
        let mut map = vec![(ids::ENVIRONMENT.to_owned(), id.clone())];
        map.extend(SERVICES.iter().map(|s| (s.id.to_owned(), new_id())));
        map.extend(STAGES.iter().map(|s| (s.id.to_owned(), new_id())));
        map.extend((0..SERVICES.len()).map(|i| (fixtures::stage_link_id(i), new_id())));
        let inner = Arc::new(shared.for_clone());
        Cloned {
            id,
            name: request.name,
            mode: request.mode,
            cluster_id: request.cluster_id,
            created_at: clock::rfc3339(std::time::SystemTime::now()),
            apply_deployment_rule: request.apply_deployment_rule,
            ids: map,
            router: crate::routes::api(Arc::clone(&inner)),
            shared: inner,
            setup_reads: SETUP_READS,
            deleting: None,
        }
    }

    fn owns(&self, id: &str) -> bool {
        self.ids
            .iter()
            .any(|(_, ours)| ours.eq_ignore_ascii_case(id))
    }

    /// `Environment`.
    fn environment(&self) -> Value {
        let mut body = fixtures::environment();
        body["id"] = json!(self.id);
        body["name"] = json!(self.name);
        body["mode"] = json!(self.mode);
        body["cluster_id"] = json!(self.cluster_id);
        body["created_at"] = json!(self.created_at);
        body["updated_at"] = json!(self.created_at);
        body
    }

    fn describe(&self) -> MockEnvironment {
        MockEnvironment {
            id: self.id.clone(),
            name: self.name.clone(),
            mode: self.mode.clone(),
            apply_deployment_rule: self.apply_deployment_rule,
            deleting: self.deleting.is_some(),
            services: SERVICES
                .iter()
                .zip(&self.ids[1..])
                .map(|(def, (_, id))| (def.name.to_owned(), id.clone()))
                .collect(),
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The clones of the fixture environment, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Environments {
    clones: Vec<Cloned>,
    /// Names whose first clone request already played the `clone-race` conflict (lower case).
    raced: Vec<String>,
}

impl Environments {
    fn name_taken(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(fixtures::ENVIRONMENT_NAME)
            || self
                .clones
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Every environment of the project: the fixture first, then the clones.
    pub(crate) fn describe(&self) -> Vec<MockEnvironment> {
        let fixture = MockEnvironment {
            id: ids::ENVIRONMENT.to_owned(),
            name: fixtures::ENVIRONMENT_NAME.to_owned(),
            mode: "STAGING".to_owned(),
            apply_deployment_rule: false,
            deleting: false,
            services: SERVICES
                .iter()
                .map(|s| (s.name.to_owned(), s.id.to_owned()))
                .collect(),
        };
        std::iter::once(fixture)
            .chain(self.clones.iter().map(Cloned::describe))
            .collect()
    }
}

/// A validated `CloneEnvironmentRequest`.
#[derive(Debug)]
struct CloneRequest {
    name: String,
    mode: String,
    cluster_id: String,
    apply_deployment_rule: bool,
}

/// Validates a `CloneEnvironmentRequest` strictly (unknown keys, wrong types, `""`, modes and ids
/// outside the fixture's are refused).
fn clone_request(object: &Map<String, Value>) -> ApiResult<CloneRequest> {
    if let Some(key) = object.keys().find(|k| !CLONE_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field `{key}` (allowed: {})",
            CLONE_FIELDS.join(", ")
        )));
    }
    let text = |key: &str| -> ApiResult<Option<String>> {
        match object.get(key) {
            None => Ok(None),
            Some(Value::String(value)) if !value.trim().is_empty() => Ok(Some(value.clone())),
            Some(_) => Err(ApiError::bad_request(format!(
                "`{key}` must be a non-empty string (omit it to leave it unset)"
            ))),
        }
    };
    let name = text("name")?.ok_or_else(|| ApiError::bad_request("`name` is required"))?;
    let mode = match text("mode")? {
        None => "STAGING".to_owned(),
        Some(mode) if MODES.contains(&mode.as_str()) => mode,
        Some(mode) => {
            return Err(ApiError::bad_request(format!(
                "`mode` `{mode}` is not one of {}",
                MODES.join(", ")
            )));
        }
    };
    let cluster_id = match text("cluster_id")? {
        None => ids::CLUSTER.to_owned(),
        Some(id) if uuid::Uuid::try_parse(&id).is_err() => {
            return Err(ApiError::bad_request(format!(
                "`cluster_id` `{id}` is not a UUID"
            )));
        }
        Some(id) if !id.eq_ignore_ascii_case(ids::CLUSTER) => {
            return Err(ApiError::not_found("cluster", &id));
        }
        Some(id) => id,
    };
    if let Some(project) = text("project_id")? {
        if !project.eq_ignore_ascii_case(ids::PROJECT) {
            return Err(ApiError::not_found("project", &project));
        }
    }
    let apply_deployment_rule = match object.get("apply_deployment_rule") {
        None => false,
        Some(Value::Bool(value)) => *value,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`apply_deployment_rule` must be a boolean",
            ));
        }
    };
    Ok(CloneRequest {
        name,
        mode,
        cluster_id,
        apply_deployment_rule,
    })
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

/// Creates a clone; 202 with its `Environment`.
fn create_clone(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(StatusCode, Json<Value>)> {
    let object = validate::required_object(content_type(headers), body)?;
    let request = clone_request(&object)?;
    let race = shared.scenario() == Scenario::CloneRace;
    shared.with_environments(|environments| {
        if environments.name_taken(&request.name) {
            return Err(ApiError::Conflict(NAME_TAKEN));
        }
        let key = request.name.to_lowercase();
        let raced = race && !environments.raced.contains(&key);
        let clone = Cloned::new(shared, request);
        let answer = clone.environment();
        environments.clones.push(clone);
        if raced {
            // A concurrent run's clone of the same name got there first.
            environments.raced.push(key);
            return Err(ApiError::Conflict(NAME_TAKEN));
        }
        Ok((StatusCode::ACCEPTED, Json(answer)))
    })
}

/// `POST /environment/{id}/clone` of the fixture environment (clones of clones go through
/// [`dispatch`]).
pub(crate) async fn clone_fixture(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if id != ids::ENVIRONMENT {
        return Err(ApiError::not_found("environment", &id));
    }
    create_clone(&shared, &headers, &body)
}

/// `GET /project/{id}/environment`: `EnvironmentResponseList`, the fixture first.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    if project != ids::PROJECT {
        return Err(ApiError::not_found("project", &project));
    }
    let mut results = vec![fixtures::environment()];
    shared.with_environments(|environments| {
        results.extend(environments.clones.iter().map(Cloned::environment));
    });
    Ok(Json(json!({ "results": results })))
}

/// `DELETE /environment/{id}` of the fixture environment: refused with 403, so that a test sees
/// a client that tries it fail loudly (clones are deleted through [`dispatch`]).
pub(crate) async fn delete_fixture(Path(id): Path<String>) -> ApiError {
    if id == ids::ENVIRONMENT {
        ApiError::Forbidden("qovery-mock does not delete its fixture environment")
    } else {
        ApiError::not_found("environment", &id)
    }
}

/// What a request to a clone asks for.
enum Route {
    /// `GET`/`DELETE /environment/{id}`, `POST /environment/{id}/clone`.
    Environment,
    Delete,
    Clone,
    /// `GET /environment/{id}/status` or `/statuses`: reads that advance a deletion.
    Status,
    /// `GET /environment/{id}/services`.
    Services,
    /// Anything else: translated and answered by the clone's routes.
    Other,
}

fn route(method: &Method, segments: &[&str]) -> Route {
    match (method, segments) {
        (&Method::GET, ["environment", _]) => Route::Environment,
        (&Method::DELETE, ["environment", _]) => Route::Delete,
        (&Method::POST, ["environment", _, "clone"]) => Route::Clone,
        (&Method::GET, ["environment", _, "status" | "statuses"]) => Route::Status,
        (&Method::GET, ["environment", _, "services"]) => Route::Services,
        _ => Route::Other,
    }
}

/// The deployment request id a request is keyed by, if any (`deploymentStatus`, queue cancel).
fn request_key(uri: &Uri, segments: &[&str]) -> Option<String> {
    match segments {
        ["environment", "deploymentStatus"] => uri
            .query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("deploymentRequestId=").map(str::to_owned)),
        ["deploymentQueue", id, "cancelDeployment"] => Some((*id).to_owned()),
        _ => None,
    }
}

/// What the dispatcher needs of a clone, taken out of the lock.
struct Target {
    index: usize,
    ids: Vec<(String, String)>,
    router: axum::Router,
}

/// Middleware (inside the request gate): requests that name a clone are answered for that clone;
/// the others go on to the fixture's routes.
pub(crate) async fn dispatch(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let key = request_key(request.uri(), &segments);
    let target = shared.with_environments(|environments| {
        let index = environments.clones.iter().position(|clone| match &key {
            Some(key) => clone.shared.with_world(|world, _| world.knows_request(key)),
            None => segments.iter().any(|segment| clone.owns(segment)),
        })?;
        let clone = &environments.clones[index];
        Some(Target {
            index,
            ids: clone.ids.clone(),
            router: clone.router.clone(),
        })
    });
    let Some(target) = target else {
        return next.run(request).await;
    };
    let names_environment = matches!(segments.as_slice(), ["environment", id, ..]
        if target.ids[0].1.eq_ignore_ascii_case(id));
    let route = if names_environment {
        route(request.method(), &segments)
    } else {
        Route::Other
    };
    let status = match answer_locally(&shared, &target, &route, request.method()) {
        Local::Answer(response) => return response,
        Local::Forward(status) => status,
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::bad_request("the request body is unreadable").into_response();
    };
    if matches!(route, Route::Clone) {
        return create_clone(&shared, &parts.headers, &body).into_response();
    }
    if let Some(error) = foreign_id(&target, parts.uri.path(), &body) {
        return error.into_response();
    }
    let response = forward(&target, parts, &body).await;
    match (route, status) {
        (Route::Status, Shown::Deleting) => rewrite(response, show_deleting).await,
        (Route::Status, Shown::SettingUp) => rewrite(response, hide_services).await,
        _ => response,
    }
}

/// How a clone's status answers must look beyond what its routes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    AsIs,
    /// Still copying its services: the statuses list none.
    SettingUp,
    /// Deleted: it and its services `DELETING`.
    Deleting,
}

enum Local {
    Answer(Response),
    Forward(Shown),
}

/// The parts of a clone's behaviour that its fixture routes do not have: its `Environment`,
/// setup, deletion.
fn answer_locally(shared: &Shared, target: &Target, route: &Route, method: &Method) -> Local {
    shared.with_environments(|environments| {
        let Some(clone) = environments.clones.get_mut(target.index) else {
            return Local::Answer(ApiError::not_found("environment", "").into_response());
        };
        if let Some(left) = clone.deleting {
            let read = matches!(route, Route::Environment | Route::Status);
            if read && left == 0 {
                let gone = environments.clones.remove(target.index);
                return Local::Answer(ApiError::not_found("environment", &gone.id).into_response());
            }
            if read {
                clone.deleting = Some(left - 1);
            }
            return match route {
                Route::Environment => Local::Answer(Json(clone.environment()).into_response()),
                Route::Delete => Local::Answer(StatusCode::NO_CONTENT.into_response()),
                _ if *method != Method::GET => {
                    Local::Answer(ApiError::Conflict(BEING_DELETED).into_response())
                }
                _ => Local::Forward(Shown::Deleting),
            };
        }
        match route {
            Route::Environment => Local::Answer(Json(clone.environment()).into_response()),
            Route::Delete => {
                clone.deleting = Some(DELETE_READS);
                Local::Answer(StatusCode::NO_CONTENT.into_response())
            }
            Route::Services if clone.setup_reads > 0 => {
                clone.setup_reads -= 1;
                Local::Answer(Json(json!({ "results": [] })).into_response())
            }
            _ if clone.setup_reads > 0 => Local::Forward(Shown::SettingUp),
            _ => Local::Forward(Shown::AsIs),
        }
    })
}

/// A request to a clone that names the fixture's own ids (a service of the environment it was
/// cloned from) is refused as the real API would: those ids are not in the clone. The fixture's
/// ids would otherwise reach the clone's routes untranslated and be taken for its own.
fn foreign_id(target: &Target, path: &str, body: &[u8]) -> Option<ApiError> {
    let body = String::from_utf8_lossy(body);
    let (fixture, _) = target
        .ids
        .iter()
        .find(|(fixture, _)| path.contains(fixture.as_str()) || body.contains(fixture.as_str()))?;
    let message = format!(
        "`{fixture}` belongs to environment {}, not to environment {}",
        ids::ENVIRONMENT,
        target.ids[0].1
    );
    Some(if path.contains(fixture.as_str()) {
        ApiError::NotFound(message)
    } else {
        ApiError::bad_request(message)
    })
}

/// Replaces every id of one side of the map by the other side's, in a string.
fn translate(text: &str, ids: &[(String, String)], to_fixture: bool) -> String {
    let mut text = text.to_owned();
    for (fixture, clone) in ids {
        let (from, to) = if to_fixture {
            (clone, fixture)
        } else {
            (fixture, clone)
        };
        if text.contains(from.as_str()) {
            text = text.replace(from.as_str(), to);
        }
    }
    text
}

fn translate_json(value: &mut Value, ids: &[(String, String)], to_fixture: bool) {
    match value {
        Value::String(text) => *text = translate(text, ids, to_fixture),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| translate_json(item, ids, to_fixture)),
        Value::Object(fields) => fields
            .values_mut()
            .for_each(|field| translate_json(field, ids, to_fixture)),
        _ => {}
    }
}

fn translate_body(body: &[u8], ids: &[(String, String)], to_fixture: bool) -> Bytes {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value) if !body.is_empty() => {
            translate_json(&mut value, ids, to_fixture);
            Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
        }
        _ => Bytes::copy_from_slice(body),
    }
}

/// Answers a request with the clone's routes, its ids translated both ways.
async fn forward(target: &Target, mut parts: axum::http::request::Parts, body: &[u8]) -> Response {
    let uri = translate(&parts.uri.to_string(), &target.ids, true);
    parts.uri = match uri.parse() {
        Ok(uri) => uri,
        Err(_) => return ApiError::bad_request("malformed path").into_response(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    // The outer route's path parameters live in the extensions; the clone's routes match anew.
    parts.extensions = axum::http::Extensions::new();
    let request = Request::from_parts(parts, Body::from(translate_body(body, &target.ids, true)));
    let mut router = target.router.clone();
    let Ok(response) = router.call(request).await;
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(translate_body(&body, &target.ids, false)))
}

/// Applies `edit` to a 200 JSON answer.
async fn rewrite(response: Response, edit: fn(&mut Value)) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return Response::from_parts(parts, Body::from(body));
    };
    edit(&mut value);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

/// `EnvironmentStatus` or `EnvironmentStatuses` of an environment being deleted: it and its
/// services `DELETING`.
fn show_deleting(value: &mut Value) {
    let deleting = json!(StateEnum::Deleting);
    let mark = |status: &mut Value| {
        status["state"] = deleting.clone();
        if status.get("last_deployment_state").is_some() {
            status["last_deployment_state"] = deleting.clone();
        }
    };
    let Some(fields) = value.as_object_mut() else {
        return;
    };
    if !fields.contains_key("environment") {
        mark(value);
        return;
    }
    for (key, field) in fields.iter_mut() {
        match field {
            Value::Array(services) => services.iter_mut().for_each(mark),
            _ if key == "environment" => mark(field),
            _ => {}
        }
    }
}

/// `EnvironmentStatuses` of a clone still copying its services: no service yet.
fn hide_services(value: &mut Value) {
    if let Some(fields) = value.as_object_mut() {
        for field in fields.values_mut() {
            if let Value::Array(services) = field {
                services.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn clone_requests_are_validated() {
        let ok = clone_request(&object(json!({"name": "pr-1", "mode": "PREVIEW"}))).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.mode.as_str(), ok.cluster_id.as_str()),
            ("pr-1", "PREVIEW", ids::CLUSTER)
        );
        assert!(!ok.apply_deployment_rule);
        let full = clone_request(&object(json!({
            "name": "pr-1", "mode": "PREVIEW", "cluster_id": ids::CLUSTER,
            "apply_deployment_rule": true, "project_id": ids::PROJECT,
        })))
        .unwrap();
        assert!(full.apply_deployment_rule);
        assert_eq!(
            clone_request(&object(json!({"name": "x"}))).unwrap().mode,
            "STAGING"
        );
        for (bad, why) in [
            (json!({}), "`name` is required"),
            (json!({"name": ""}), "non-empty"),
            (json!({"name": null}), "non-empty"),
            (json!({"name": "x", "mode": "REVIEW"}), "not one of"),
            (json!({"name": "x", "cluster_id": "c1"}), "not a UUID"),
            (
                json!({"name": "x", "apply_deployment_rule": "true"}),
                "boolean",
            ),
            (json!({"name": "x", "blueprint": true}), "unknown field"),
        ] {
            match clone_request(&object(bad.clone())) {
                Err(ApiError::BadRequest(message)) => {
                    assert!(message.contains(why), "{bad}: {message}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let unknown_cluster =
            json!({"name": "x", "cluster_id": "00000000-0000-4000-8000-000000000000"});
        assert!(matches!(
            clone_request(&object(unknown_cluster)),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn translation_maps_ids_both_ways_and_keeps_the_rest() {
        let map = vec![
            (ids::ENVIRONMENT.to_owned(), "env-clone".to_owned()),
            (ids::API.to_owned(), "api-clone".to_owned()),
        ];
        let mut value = json!({
            "id": ids::ENVIRONMENT,
            "last_deployment_id": format!("{}-3", ids::ENVIRONMENT),
            "services": [{"id": ids::API, "name": "api", "count": 3}],
            "message": format!("service `{}` not found", ids::API),
        });
        translate_json(&mut value, &map, false);
        assert_eq!(
            value,
            json!({
                "id": "env-clone",
                "last_deployment_id": "env-clone-3",
                "services": [{"id": "api-clone", "name": "api", "count": 3}],
                "message": "service `api-clone` not found",
            })
        );
        translate_json(&mut value, &map, true);
        assert_eq!(value["id"], ids::ENVIRONMENT);
        assert_eq!(
            translate("/environment/env-clone/services?x=api-clone", &map, true),
            format!("/environment/{}/services?x={}", ids::ENVIRONMENT, ids::API)
        );
        assert_eq!(translate_body(b"", &map, true), Bytes::new());
        assert_eq!(translate_body(b"not json", &map, true), "not json");
    }
}
