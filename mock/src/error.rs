//! Error answers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every non-2xx answer the mock gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400 `{"status":400,"error":"Bad Request","message":...}`.
    BadRequest(String),
    /// 401 `{"message":"Unauthorized"}`.
    Unauthorized,
    /// 403 `{"status":403,"error":"Forbidden","message":...}`.
    Forbidden(&'static str),
    /// 404 `{"status":404,"error":"Not Found","message":...}`.
    NotFound(String),
    /// 405, same shape as 404.
    MethodNotAllowed,
    /// 409 `{"message":...}`.
    Conflict(&'static str),
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// 503.
    Unavailable,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        ApiError::NotFound(format!("{what} `{id}` not found"))
    }
}

fn detailed(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or_default(),
        "message": message,
    });
    (status, Json(body)).into_response()
}

fn message(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(text) => detailed(StatusCode::BAD_REQUEST, &text),
            ApiError::NotFound(text) => detailed(StatusCode::NOT_FOUND, &text),
            ApiError::Forbidden(text) => detailed(StatusCode::FORBIDDEN, text),
            ApiError::MethodNotAllowed => detailed(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this path",
            ),
            ApiError::Unauthorized => message(StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::Conflict(text) => message(StatusCode::CONFLICT, text),
            ApiError::Unavailable => {
                message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
            ApiError::TooManyRequests => {
                let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
        }
    }
}
