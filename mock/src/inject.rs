//! Turning a [`Fault`] into an HTTP answer: the delay, the hang, the replaced status, the broken
//! body (streamed lazily: an endless body costs the mock nothing), the extra headers.

use std::io;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde_json::json;

use crate::fault::{Fault, FaultBody, HOSTILE_TEXT, HOSTILE_URL_TEXT};

/// Size of each chunk of a padded body.
const CHUNK: usize = 64 * 1024;

/// The HTML page of a failing proxy, as load balancers send them.
const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

/// Answers a request `fault` applies to; `handle` is the mock's normal handling of it, run only
/// if the fault lets the request be processed.
pub(crate) async fn answer(fault: &Fault, handle: impl Future<Output = Response>) -> Response {
    if !fault.delay_time().is_zero() {
        tokio::time::sleep(fault.delay_time()).await;
    }
    let normal = if fault.is_processed() {
        Some(handle.await)
    } else {
        None
    };
    if fault.hangs() {
        // Dropped with the connection (the client gave up) or the server's runtime.
        return std::future::pending().await;
    }
    let status = fault
        .status_code()
        .and_then(|code| StatusCode::from_u16(code).ok());
    let mut response = match normal {
        Some(response) => response,
        None => default_answer(status.unwrap_or(StatusCode::OK)),
    };
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    let mut response = reshape(response, fault.body_fault()).await;
    let now = SystemTime::now();
    let headers = response.headers_mut();
    for (name, value) in fault.extra_headers() {
        let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.render(now)),
        ) else {
            continue;
        };
        headers.insert(name, value);
    }
    if let Some(location) = fault.location().and_then(|l| HeaderValue::try_from(l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// What an unprocessed request gets before the body fault: `{"message": reason}` for an error
/// status, nothing otherwise.
fn default_answer(status: StatusCode) -> Response {
    if status.is_client_error() || status.is_server_error() {
        let message = status.canonical_reason().unwrap_or("Error");
        (status, axum::Json(json!({ "message": message }))).into_response()
    } else {
        (status, Body::empty()).into_response()
    }
}

async fn reshape(response: Response, body: FaultBody) -> Response {
    if body == FaultBody::Keep {
        return response;
    }
    let (mut parts, original) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let original = axum::body::to_bytes(original, usize::MAX)
        .await
        .unwrap_or_default();
    let json = HeaderValue::from_static("application/json");
    let body = match body {
        FaultBody::Keep => Body::from(original),
        FaultBody::Empty => {
            parts.headers.remove(header::CONTENT_TYPE);
            Body::empty()
        }
        FaultBody::Html => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Body::from(HTML_PAGE)
        }
        FaultBody::Truncated => Body::from(original.slice(..original.len() / 2)),
        FaultBody::Dropped => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, length(original.len() as u64));
            let half = original.slice(..original.len() / 2);
            let cut = async {
                // A pause first: the status line, the headers and the half are flushed to the
                // client before the connection is cut.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Err(io::Error::other("connection dropped by a fault"))
            };
            Body::from_stream(stream::once(async { Ok(half) }).chain(stream::once(cut)))
        }
        FaultBody::Oversized(total) => {
            parts.headers.insert(header::CONTENT_TYPE, json);
            let prefix = padding_prefix(&original);
            let closing = Bytes::from_static(b"\"}");
            let fixed = (prefix.len() + closing.len()) as u64;
            let padding = total.saturating_sub(fixed);
            parts
                .headers
                .insert(header::CONTENT_LENGTH, length(fixed + padding));
            Body::from_stream(
                stream::once(async { Ok::<_, io::Error>(prefix) })
                    .chain(padding_stream(padding))
                    .chain(stream::once(async { Ok(closing) })),
            )
        }
        FaultBody::Hostile => {
            let mut value: serde_json::Value = match serde_json::from_slice(&original) {
                Ok(value) => value,
                Err(_) => return Response::from_parts(parts, Body::from(original)),
            };
            make_hostile(&mut value);
            parts.headers.insert(header::CONTENT_TYPE, json);
            Body::from(value.to_string())
        }
        FaultBody::Endless => {
            parts.headers.insert(header::CONTENT_TYPE, json);
            let prefix = padding_prefix(&original);
            let chunk = Bytes::from(vec![b'x'; CHUNK]);
            Body::from_stream(
                stream::once(async { Ok::<_, io::Error>(prefix) })
                    .chain(stream::repeat(chunk).map(Ok)),
            )
        }
    };
    Response::from_parts(parts, body)
}

/// The keys whose strings get [`HOSTILE_TEXT`]: names, messages, and the deployment log's texts.
const HOSTILE_KEYS: [&str; 5] = [
    "name",
    "message",
    "safe_message",
    "user_log_message",
    "hint_message",
];

/// Appends [`HOSTILE_TEXT`] to every string of [`HOSTILE_KEYS`], and [`HOSTILE_URL_TEXT`] to every
/// `url` and `link`, at any depth.
fn make_hostile(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    serde_json::Value::String(text) if HOSTILE_KEYS.contains(&key.as_str()) => {
                        text.push_str(HOSTILE_TEXT);
                    }
                    serde_json::Value::String(text) if key == "url" || key == "link" => {
                        text.push_str(HOSTILE_URL_TEXT);
                    }
                    other => make_hostile(other),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(make_hostile),
        _ => {}
    }
}

fn length(bytes: u64) -> HeaderValue {
    HeaderValue::from(bytes)
}

/// The start of the normal JSON object with a `"padding"` string opened at its end, so that
/// whatever follows keeps it a valid document of the same shape (unknown fields are ignored).
fn padding_prefix(original: &[u8]) -> Bytes {
    let text = std::str::from_utf8(original).unwrap_or_default().trim_end();
    let mut prefix = match text.strip_suffix('}') {
        Some(open) if text.starts_with('{') => {
            let separator = if open.trim_end().ends_with('{') {
                ""
            } else {
                ","
            };
            format!("{open}{separator}")
        }
        _ => "{".to_owned(),
    };
    prefix.push_str("\"padding\":\"");
    Bytes::from(prefix)
}

/// `bytes` of `x`, in chunks.
fn padding_stream(bytes: u64) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    stream::unfold(bytes, move |left| {
        let chunk = chunk.clone();
        async move {
            if left == 0 {
                return None;
            }
            let take = left.min(CHUNK as u64);
            Some((Ok(chunk.slice(..take as usize)), left - take))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_keeps_the_json_shape() {
        let close = |prefix: Bytes| {
            let mut text = String::from_utf8(prefix.to_vec()).unwrap();
            text.push_str("xx\"}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        };
        let padded = close(padding_prefix(br#"{"state":"DEPLOYED"}"#));
        assert_eq!(padded["state"], "DEPLOYED");
        assert_eq!(padded["padding"], "xx");
        assert_eq!(close(padding_prefix(b"{}"))["padding"], "xx");
        assert_eq!(close(padding_prefix(b""))["padding"], "xx");
        assert_eq!(close(padding_prefix(b"[1]"))["padding"], "xx");
    }

    #[test]
    fn hostile_text_reaches_names_messages_log_texts_and_urls() {
        let mut value = serde_json::json!({"results": [
            {"id": "i", "name": "api", "state": "DEPLOYED", "url": "https://a.example"},
            {"message": {"safe_message": "line"}, "error": {"user_log_message": "m",
             "hint_message": "h", "link": "https://docs.example", "tag": "T"}}
        ]});
        make_hostile(&mut value);
        let items = &value["results"];
        assert_eq!(items[0]["name"], format!("api{HOSTILE_TEXT}"));
        assert_eq!(items[0]["id"], "i");
        assert_eq!(items[0]["state"], "DEPLOYED");
        assert_eq!(
            items[0]["url"],
            format!("https://a.example{HOSTILE_URL_TEXT}")
        );
        assert_eq!(
            items[1]["message"]["safe_message"],
            format!("line{HOSTILE_TEXT}")
        );
        assert_eq!(
            items[1]["error"]["user_log_message"],
            format!("m{HOSTILE_TEXT}")
        );
        assert_eq!(
            items[1]["error"]["hint_message"],
            format!("h{HOSTILE_TEXT}")
        );
        assert_eq!(items[1]["error"]["tag"], "T");
        assert_eq!(
            items[1]["error"]["link"],
            format!("https://docs.example{HOSTILE_URL_TEXT}")
        );
        assert!(!HOSTILE_URL_TEXT.contains([' ', '\n', '"', '<', '>', '[', ']', '`', '|']));
    }
}
