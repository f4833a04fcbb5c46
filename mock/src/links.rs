//! Where the fixture's public services answer: `GET /environment/{id}/link` (`LinkResponseList`),
//! and the services themselves, played by the mock under `/_mock/app/…`.
//!
//! The links point back at the mock, `http://<Host header>/_mock/app/<environment id>/<name>` (the
//! default link) and `…/<name>/p<port>` (the port link), so that a health check against them works
//! without any network. The environment's id in the path makes a clone's links (translated like
//! every answer of a clone) differ from the fixture's. The services answer any GET with
//! `200 {"status":"ok",…}`, or `503 {"status":"starting"}` in the `unhealthy` scenario; every
//! request they get is recorded apart from the API's ([`crate::MockServer::app_requests`]), so a
//! test can see that no token was sent to them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fixtures::ids;
use crate::record::RecordedRequest;
use crate::scenario::Scenario;
use crate::server::Shared;

/// Services with a public address: `(service id, name, internal port)`.
const PUBLIC: [(&str, &str, u16); 2] = [(ids::API, "api", 8080), (ids::WEB, "web", 3000)];

/// One `Link`.
fn link(service: &str, url: String, port: u16, is_default: bool) -> Value {
    json!({
        "service_id": service,
        "service_type": "APPLICATION",
        "url": url,
        "internal_port": port,
        "external_port": 443,
        "is_qovery_domain": true,
        "is_default": is_default,
    })
}

/// `http://<host>` from the request's `Host` header (a plain host and port only), else
/// `http://127.0.0.1`.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `GET /environment/{id}/link`: for each public service, its port link and its default link.
pub(crate) async fn list(Path(id): Path<String>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    if id != ids::ENVIRONMENT {
        return Err(ApiError::not_found("environment", &id));
    }
    let base = base(&headers);
    let results: Vec<Value> = PUBLIC
        .iter()
        .flat_map(|&(service, name, port)| {
            let url = format!("{base}/_mock/app/{id}/{name}");
            [
                link(service, format!("{url}/p{port}"), port, false),
                link(service, url, port, true),
            ]
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// `GET /_mock/app/{environment}/{service}[/…]`: a public service answering on its link, recorded
/// apart, without authentication: 200, or 503 in `unhealthy`; 404 for an unknown environment or a
/// service without a link.
pub(crate) async fn app(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    uri: Uri,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let header = |name| {
        headers
            .get(name)
            .map(|v: &axum::http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    shared.record_app(RecordedRequest {
        method: "GET".into(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        body: None,
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
        elapsed: std::time::Duration::ZERO,
        status: None,
        fault: None,
    });
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (environment, name) = (param("environment"), param("service"));
    let known = environment == ids::ENVIRONMENT
        || shared.with_environments(|environments| {
            environments
                .describe()
                .iter()
                .any(|e| e.id.eq_ignore_ascii_case(&environment))
        });
    if !known || !PUBLIC.iter().any(|(_, public, _)| *public == name) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"status": "not found", "service": name})),
        );
    }
    if shared.scenario() == Scenario::Unhealthy {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "starting", "service": name})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "service": name})),
    )
}
