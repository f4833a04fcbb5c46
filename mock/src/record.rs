//! The gate every API request passes: it is recorded, then a configured fault, the scenario's
//! injected failures and the authentication check apply; the answer's status is recorded too.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};

use crate::error::ApiError;
use crate::inject;
use crate::scenario::Scenario;
use crate::server::Shared;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One request the mock received, as recorded in its log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path without the query string, e.g. `/environment/{id}/status`.
    pub path: String,
    /// Raw query string, without the `?`.
    pub query: Option<String>,
    /// The body: parsed JSON, or a JSON string holding the raw text if it is not JSON.
    /// `None` when empty.
    pub body: Option<serde_json::Value>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// When it arrived, since the server started (or was last reset). Serialized as
    /// `elapsed_ms`.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    /// The status it was answered with; `None` while unanswered, or never answered (a hanging
    /// fault, or a client that went away first).
    pub status: Option<u16>,
    /// The fault applied to it, in the `--fault` syntax.
    pub fault: Option<String>,
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}

impl RecordedRequest {
    fn new(parts: &Parts, body: &[u8], fault: Option<String>) -> Self {
        let header = |name| {
            parts
                .headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let body = (!body.is_empty()).then(|| {
            serde_json::from_slice(body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(body).into_owned())
            })
        });
        RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            body,
            authorization: header(header::AUTHORIZATION),
            content_type: header(header::CONTENT_TYPE),
            elapsed: Duration::ZERO,
            status: None,
            fault,
        }
    }
}

/// `Authorization: Token <token>` or `Bearer <token>`, with a non-empty token.
fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, token)| {
            (scheme.eq_ignore_ascii_case("Token") || scheme.eq_ignore_ascii_case("Bearer"))
                && !token.trim().is_empty()
        })
}

/// The failure the scenario injects for the `number`th request (1-based), if any.
fn injected_failure(scenario: Scenario, number: usize) -> Option<ApiError> {
    match scenario {
        Scenario::Unauthorized => Some(ApiError::Unauthorized),
        Scenario::Flaky if number == 5 => Some(ApiError::TooManyRequests),
        Scenario::Flaky if number % 3 == 0 => Some(ApiError::Unavailable),
        _ => None,
    }
}

fn is_test_hook(path: &str) -> bool {
    path == "/_mock" || path.starts_with("/_mock/")
}

/// Middleware: record, apply a configured fault, inject the scenario's failures, check
/// authentication, record the answer's status.
pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if is_test_hook(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
    let fault = shared.select_fault(parts.method.as_str(), parts.uri.path());
    let ticket = shared.record(RecordedRequest::new(
        &parts,
        bytes.as_ref().map_or(&[][..], Bytes::as_ref),
        fault.as_ref().map(ToString::to_string),
    ));
    let handle = async {
        let Ok(bytes) = bytes else {
            return ApiError::bad_request(format!(
                "the request body is unreadable or larger than {MAX_BODY_BYTES} bytes"
            ))
            .into_response();
        };
        if let Some(error) = injected_failure(shared.scenario(), ticket.number) {
            return error.into_response();
        }
        if !authorized(&parts.headers) {
            return ApiError::Unauthorized.into_response();
        }
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };
    let response = match &fault {
        Some(fault) => inject::answer(fault, handle).await,
        None => handle.await,
    };
    shared.answered(ticket, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::AUTHORIZATION, value);
        }
        headers
    }

    #[test]
    fn accepts_token_and_bearer_schemes() {
        assert!(authorized(&with_authorization("Token qov_abc")));
        assert!(authorized(&with_authorization("Bearer eyJ.x.y")));
        assert!(authorized(&with_authorization("token qov_abc")));
        assert!(!authorized(&with_authorization("Token ")));
        assert!(!authorized(&with_authorization("Token")));
        assert!(!authorized(&with_authorization("Basic dXNlcjpwYXNz")));
        assert!(!authorized(&with_authorization("qov_abc")));
        assert!(!authorized(&HeaderMap::new()));
    }

    #[test]
    fn flaky_schedule() {
        let failures: Vec<_> = (1..=9)
            .map(|n| injected_failure(Scenario::Flaky, n))
            .collect();
        assert_eq!(
            failures,
            [
                None,
                None,
                Some(ApiError::Unavailable),
                None,
                Some(ApiError::TooManyRequests),
                Some(ApiError::Unavailable),
                None,
                None,
                Some(ApiError::Unavailable),
            ]
        );
        assert_eq!(injected_failure(Scenario::Happy, 3), None);
    }
}
