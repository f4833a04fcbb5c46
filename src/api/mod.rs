//! The Qovery API client: one `reqwest` client (rustls with embedded roots), a timeout on every
//! attempt, `Token`/`Bearer` auth, and retries with jittered exponential backoff for transient
//! failures only (429, 5xx, network, an unreadable body on a read), honouring `Retry-After` and
//! bounded by the run's deadline.
//!
//! Three rules hold for every call, whatever the server answers:
//! - **The deadline is absolute**: a call still in flight at the client's deadline is cut, and
//!   that is [`ApiError::DeadlineReached`] (the run's timeout), never an API failure.
//! - **Bodies are bounded**: an answer larger than [`MAX_BODY_BYTES`] (announced or streamed) is
//!   not read further ([`ApiError::TooLarge`]); memory stays small against an endless body.
//! - **Redirects are never followed**: a 3xx is [`ApiError::Redirect`]. A write must reach the
//!   API it was meant for, and a read that is redirected points at a wrong `api-url`.
//!
//! Numbers from headers (`Retry-After`, `X-RateLimit-Reset`) use saturating arithmetic: no value
//! can panic or overflow a deadline.

pub mod ids;
pub mod types;

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::inputs::{ExtraRoots, InputError, JobEvent, Secret};
use crate::neutral::{self, Redactor};
use ids::{MalformedId, Shape};
use types::*;

const USER_AGENT: &str = concat!("qovery-deploy/", env!("CARGO_PKG_VERSION"));
/// The longest a single attempt may take, when the deadline leaves more.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RETRIES: usize = 6;
/// Until the API has answered once, a connection that fails (refused, no such host) is retried only
/// this many times, [`FIRST_CONTACT_WAIT`] × the attempt number apart: an `api-url` where nothing
/// listens fails within seconds, naming `api-url`, while a blip at the very start is survived.
/// Once the API has answered, the usual retries apply.
const FIRST_CONTACT_RETRIES: usize = 2;
const FIRST_CONTACT_WAIT: Duration = Duration::from_millis(500);
/// The shortest wait before a retry, whatever `Retry-After` says.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The largest answer read, in bytes: 1 MiB. Qovery's largest answers (`/statuses` of an
/// environment of a few hundred services) are a few hundred KiB at most; anything past this is not
/// an answer to parse. Not more: the whole process must stay within its 6 MB peak RSS budget
/// (measured by .ci/bench: 3,332 KiB for a plain run, 4,868 KiB against endless bodies, 5,160 KiB
/// for 1000 KiB answers; a 4 MiB limit once gave 9.5 MB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How much of an error answer is read: only its message is used.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// One API call, for messages: `POST /environment/…/service/deploy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    pub path: String,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// An API call that failed for good (after any retries). Each variant says what to check.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "{call}: the API token was refused (401 Unauthorized)\n  hint: check that `api-token` holds a valid, unexpired Qovery API token"
    )]
    Unauthorized { call: Call },
    #[error(
        "{call}: forbidden (403){message}\n  hint: the token's role must allow this action on this environment (Qovery console: Organization settings → API Token)"
    )]
    Forbidden { call: Call, message: String },
    #[error(
        "{call}: not found (404){message}\n  hint: check the ids (environment-id, service ids) and that they belong to the token's organization"
    )]
    NotFound { call: Call, message: String },
    #[error(
        "{call}: conflict (409){message}\n  hint: another deployment or operation is in progress on this environment; retry when it ends or cancel it"
    )]
    Conflict { call: Call, message: String },
    #[error("{call}: the request was rejected (400){message}")]
    BadRequest { call: Call, message: String },
    #[error("{call}: HTTP {status}{message}{retried}")]
    Status {
        call: Call,
        status: u16,
        message: String,
        retried: Retried,
        /// What `Retry-After` (or `X-RateLimit-Reset`) asked for, if anything.
        retry_after: Option<Duration>,
    },
    #[error("{call}: {message}{retried}")]
    Transport {
        call: Call,
        message: String,
        retried: Retried,
    },
    #[error("{call}: unexpected response: {message}")]
    Decode { call: Call, message: String },
    /// No connection could be made before the API had answered anything: most likely `api-url`.
    #[error(
        "{call}: cannot connect to {base} ({cause}){retried}\n  hint: {}",
        unreachable_hint(.base, .cause)
    )]
    Unreachable {
        call: Call,
        base: String,
        cause: String,
        retried: Retried,
    },
    #[error(
        "{call}: the answer is larger than {limit} bytes and was not read\n  hint: check that `api-url` points at the Qovery API"
    )]
    TooLarge { call: Call, limit: usize },
    #[error(
        "{call}: HTTP {status} redirect to {location}, not followed{why}\n  hint: set `api-url` to the address the Qovery API answers on (redirects are never followed)"
    )]
    Redirect {
        call: Call,
        status: u16,
        location: String,
        why: &'static str,
    },
    #[error("{call}: no answer before the deadline (the run's timeout)")]
    DeadlineReached { call: Call },
    /// The server's TLS certificate was not trusted; never retried.
    #[error(
        "{call}: the server's TLS certificate is not trusted ({reason})\n  hint: if a TLS-intercepting proxy or a private CA signs it, set SSL_CERT_FILE to a PEM file holding that CA's certificate (or SSL_CERT_DIR to a directory of them); they are trusted besides the embedded roots"
    )]
    Certificate { call: Call, reason: String },
    /// An id from an earlier answer does not have its shape ([`ids`]): the request that would carry
    /// it in its path or query was not sent.
    /// `call`'s path is the template (`/job/{id}/deploy`): the id itself is not fit to show there.
    #[error("{call}: not sent, because {error}")]
    MalformedId { call: Call, error: MalformedId },
}

/// The hint of [`ApiError::Unreachable`]: a TLS handshake that failed is not "nothing there"; an
/// answer that is no TLS at all (rustls: "received corrupt message") is most often `https://` to a
/// plain-http server, such as the local mock.
fn unreachable_hint(base: &str, cause: &str) -> String {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        let http = base
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| format!("http://{}", &base[8..]))
            .unwrap_or_else(|| "http://".to_string());
        return format!(
            "check the `api-url` input ({base}): the server there does not speak TLS, so the scheme may be wrong; for a plain-http server such as a local mock on a loopback address, write {http}"
        );
    }
    if lower.contains("certificate") || lower.contains("handshake") || lower.contains("tls") {
        return format!(
            "check the `api-url` input ({base}; the default is https://api.qovery.com): the TLS handshake failed; the server must present a valid certificate for its host name"
        );
    }
    format!(
        "check the `api-url` input ({base}; the default is https://api.qovery.com): nothing there accepted a connection; a local mock must be started first"
    )
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Conflict { .. } => Some(409),
            ApiError::BadRequest { .. } => Some(400),
            ApiError::Status { status, .. } | ApiError::Redirect { status, .. } => Some(*status),
            ApiError::Transport { .. }
            | ApiError::Decode { .. }
            | ApiError::Unreachable { .. }
            | ApiError::TooLarge { .. }
            | ApiError::DeadlineReached { .. }
            | ApiError::MalformedId { .. }
            | ApiError::Certificate { .. } => None,
        }
    }

    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// The call that failed.
    pub fn call(&self) -> &Call {
        match self {
            ApiError::Unauthorized { call }
            | ApiError::Forbidden { call, .. }
            | ApiError::NotFound { call, .. }
            | ApiError::Conflict { call, .. }
            | ApiError::BadRequest { call, .. }
            | ApiError::Status { call, .. }
            | ApiError::Transport { call, .. }
            | ApiError::Decode { call, .. }
            | ApiError::Unreachable { call, .. }
            | ApiError::TooLarge { call, .. }
            | ApiError::Redirect { call, .. }
            | ApiError::DeadlineReached { call }
            | ApiError::MalformedId { call, .. }
            | ApiError::Certificate { call, .. } => call,
        }
    }

    /// What the server asked to wait before the next call (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The kind of failure, in a few words, for a line that counts the failures of one kind
    /// (`HTTP 503`, `timed out`, `unreadable answer`).
    pub fn kind(&self) -> String {
        match self {
            ApiError::Transport { message, .. } if message.ends_with("(timed out)") => {
                "timed out".to_string()
            }
            ApiError::Transport { .. } | ApiError::Unreachable { .. } => {
                "connection failed".to_string()
            }
            ApiError::Decode { .. } => "unreadable answer".to_string(),
            ApiError::TooLarge { limit, .. } => format!("answer larger than {limit} bytes"),
            ApiError::Redirect { status, .. } => format!("HTTP {status} redirect"),
            ApiError::DeadlineReached { .. } => "deadline reached".to_string(),
            other => match other.status() {
                Some(status) => format!("HTTP {status}"),
                None => "failed".to_string(),
            },
        }
    }
}

/// How many attempts a failure took, for messages (`after 4 attempts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retried(pub usize);

impl fmt::Display for Retried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 1 {
            write!(f, " (gave up after {} attempts)", self.0)?;
        }
        Ok(())
    }
}

/// Whether repeating a request is harmless. A deploy `POST` is not: a 502 may hide a deployment that
/// was created, and sending it again would queue a second one. It is retried only when the request
/// cannot have been processed (429, 503, or no connection at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idempotency {
    Safe,
    Unsafe,
    /// [`Idempotency::Unsafe`], and its 2xx answer is the only proof of what happened (the
    /// deploy and job deploy `POST`s): a body that cannot be read is an error, never "no body".
    UnsafeProof,
}

/// What went wrong in one attempt.
#[derive(Debug)]
enum Attempt {
    Transport {
        message: String,
        /// No connection was made (refused, no such host, TLS handshake), or it timed out.
        connect: bool,
        timed_out: bool,
        /// The innermost cause alone (`Connection refused (os error 111)`).
        cause: String,
        /// The server's certificate was refused (rustls' reason): retrying cannot help.
        certificate: Option<String>,
    },
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: String,
        location: Option<String>,
    },
    /// The body is larger than the limit (announced or read so far).
    TooLarge { limit: usize },
}

impl Attempt {
    fn transport(error: reqwest::Error) -> Attempt {
        let mut message = error.to_string();
        let mut innermost = message.clone();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            innermost = cause.to_string();
            message.push_str(": ");
            message.push_str(&innermost);
            source = cause.source();
        }
        if error.is_timeout() {
            message.push_str(" (timed out)");
        }
        Attempt::Transport {
            message,
            connect: error.is_connect(),
            timed_out: error.is_timeout(),
            cause: innermost,
            certificate: certificate_problem(&error),
        }
    }

    /// No connection at all, and not for lack of time: nothing accepted it.
    fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Attempt::Transport {
                connect: true,
                timed_out: false,
                ..
            }
        )
    }

    fn is_transient(&self, idempotency: Idempotency) -> bool {
        let idempotency = match idempotency {
            Idempotency::UnsafeProof => Idempotency::Unsafe,
            other => other,
        };
        match (self, idempotency) {
            // An answer over the size limit will be as large the next time (a wrong `api-url`, a
            // proxy's endless page): retrying only spends the budget. During a wait every read is
            // one attempt anyway, and the next tick reads again.
            (Attempt::TooLarge { .. }, _) => false,
            (
                Attempt::Transport {
                    certificate: Some(_),
                    ..
                },
                _,
            ) => false,
            (Attempt::Transport { .. }, Idempotency::Safe) => true,
            (Attempt::Transport { connect, .. }, Idempotency::Unsafe) => *connect,
            (Attempt::Status { status, .. }, Idempotency::Safe) => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            (Attempt::Status { status, .. }, Idempotency::Unsafe) => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::SERVICE_UNAVAILABLE
            }
            (_, Idempotency::UnsafeProof) => unreachable!("mapped to Unsafe above"),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Attempt::Status { retry_after, .. } => *retry_after,
            Attempt::Transport { .. } | Attempt::TooLarge { .. } => None,
        }
    }

    /// The error to report. `first_contact`: the API has never answered (`base` is then named).
    /// Every text from the other side is redacted, then escaped, then cut.
    fn into_error(
        self,
        call: Call,
        attempts: usize,
        first_contact: Option<&str>,
        redactor: &Redactor,
    ) -> ApiError {
        let retried = Retried(attempts);
        // A refused certificate is no unreachable API: say what to set, whatever came before.
        if let Attempt::Transport {
            certificate: Some(reason),
            ..
        } = self
        {
            return ApiError::Certificate { call, reason };
        }
        if let (true, Some(base)) = (self.is_unreachable(), first_contact) {
            let Attempt::Transport { cause, .. } = self else {
                unreachable!("is_unreachable holds for transport failures only")
            };
            return ApiError::Unreachable {
                call,
                base: base.to_string(),
                cause: neutral::excerpt(redactor, &cause, 1000),
                retried,
            };
        }
        match self {
            Attempt::Transport { message, .. } => ApiError::Transport {
                call,
                message: neutral::excerpt(redactor, &message, 1000),
                retried,
            },
            Attempt::TooLarge { limit } => ApiError::TooLarge { call, limit },
            Attempt::Status {
                status,
                body,
                retry_after,
                location,
            } => {
                let message = error_message(&body, redactor);
                match status.as_u16() {
                    300..=399 => ApiError::Redirect {
                        why: if call.method == Method::GET {
                            ""
                        } else {
                            " (a write is never redirected)"
                        },
                        call,
                        status: status.as_u16(),
                        location: location.unwrap_or_else(|| "(no Location)".to_string()),
                    },
                    400 => ApiError::BadRequest { call, message },
                    401 => ApiError::Unauthorized { call },
                    403 => ApiError::Forbidden { call, message },
                    404 => ApiError::NotFound { call, message },
                    409 => ApiError::Conflict { call, message },
                    status => ApiError::Status {
                        call,
                        status,
                        message,
                        retried,
                        retry_after,
                    },
                }
            }
        }
    }
}

/// Text from a header or a body, made safe to print on one line: control characters dropped,
/// at most `max` characters.
fn printable(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// Reads a body up to `limit` bytes: an announced or streamed larger one is refused without being
/// read further (memory stays bounded, whatever the server sends).
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Attempt> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(Attempt::TooLarge { limit });
    }
    // One allocation up front: growing by doubling would hold the old and the new buffer at once
    // (1.5 times the limit). Pages never written are not resident, so a small answer costs little.
    let capacity = response
        .content_length()
        .map_or(limit, |length| usize::try_from(length).unwrap_or(limit))
        .min(limit);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(Attempt::transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(Attempt::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `message` of an error body, else the body, as one line of at most 300 characters (`: …`, or
/// empty): redacted first, then escaped, then cut ([`neutral::excerpt`]), so a body that echoes the
/// token leaves no fragment of it.
fn error_message(body: &str, redactor: &Redactor) -> String {
    let text = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["message", "detail", "error"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().to_string());
    let text = neutral::excerpt(redactor, &text, 300);
    if text.is_empty() {
        text
    } else {
        format!(": {text}")
    }
}

/// Why rustls refused the server's certificate, when that is what failed: `UnknownIssuer`,
/// `Expired`, `NotValidForName`, … The rustls error sits somewhere in the chain, possibly inside an
/// `io::Error` (whose `source` skips what it wraps, so it is unwrapped by hand); rustls' own
/// wording is the last resort.
fn certificate_problem(error: &reqwest::Error) -> Option<String> {
    type Dyn = dyn std::error::Error + 'static;
    fn rustls_in(error: &Dyn) -> Option<&rustls::Error> {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            return rustls_in(inner);
        }
        None
    }
    let mut cause: Option<&Dyn> = Some(error);
    while let Some(current) = cause {
        match rustls_in(current) {
            Some(rustls::Error::InvalidCertificate(reason)) => return Some(format!("{reason:?}")),
            Some(rustls::Error::NoCertificatesPresented) => {
                return Some("no certificate presented".into());
            }
            _ => {}
        }
        let text = current.to_string();
        if let Some(reason) = text.strip_prefix("invalid peer certificate: ") {
            return Some(reason.to_string());
        }
        cause = current.source();
    }
    None
}

/// `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (a Unix time or seconds).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = header(RETRY_AFTER.as_str()) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(when) = httpdate::parse_http_date(value) {
            return Some(when.duration_since(SystemTime::now()).unwrap_or_default());
        }
    }
    let reset: u64 = header("x-ratelimit-reset")?.parse().ok()?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs();
    // The docs say a Unix timestamp; their own example treats it as seconds. Accept both.
    Some(Duration::from_secs(if reset > 1_000_000_000 {
        reset.saturating_sub(now)
    } else {
        reset
    }))
}

/// The wait before a retry: `Retry-After` (`asked`) is honoured, but never shortens our own
/// `backoff` ("now", 0 or a date in the past must not turn the retries into a burst). `None`
/// (give up now, and say why) when the wait would end past the deadline (`left`). Comparisons
/// only, no addition: no header value can overflow.
fn honoured_wait(asked: Option<Duration>, backoff: Duration, left: Duration) -> Option<Duration> {
    let wait = asked.map_or(backoff, |asked| asked.max(backoff));
    (wait < left).then_some(wait)
}

/// `Token <t>` for API tokens, `Bearer <t>` for a JWT (three dot-separated base64url parts).
fn authorization(token: &Secret) -> Result<HeaderValue, InputError> {
    let token = token.expose();
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    let parts: Vec<&str> = token.split('.').collect();
    let scheme = if parts.len() == 3 && parts.iter().all(|p| base64url(p)) {
        "Bearer"
    } else {
        "Token"
    };
    let mut value = HeaderValue::from_str(&format!("{scheme} {token}")).map_err(|_| {
        InputError::new(
            "api-token",
            "the token contains characters that cannot be sent in an HTTP header",
        )
        .hint("copy the token again from the Qovery console")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// An HTTP client builder with the tool's trust and proxy rules, for the API client and the health
/// check alike: ring with the embedded Mozilla roots (no system store, so the binary works in an
/// empty image) plus `extra_roots` (`SSL_CERT_FILE` / `SSL_CERT_DIR`: a private CA, a
/// TLS-intercepting proxy), `user_agent`, `connect_timeout`, and no proxy at all when
/// `loopback` (plain http goes to loopback only, and never through a proxy). The caller sets the
/// redirect policy.
pub(crate) fn client_builder(
    user_agent: &'static str,
    extra_roots: &ExtraRoots,
    connect_timeout: Duration,
    loopback: bool,
) -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| der.as_ref())
        .chain(extra_roots.certificates.iter().map(|der| der.as_ref()))
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    let builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        .tls_certs_only(roots);
    if loopback {
        builder.no_proxy()
    } else {
        builder
    }
}

/// The Qovery API, as this tool uses it.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
    /// The token, for the error texts that come back from the API.
    redactor: Redactor,
    deadline: Instant,
    backoff: ExponentialBuilder,
    /// Whether the API has answered anything yet (any status), shared by this client's copies.
    answered: Arc<AtomicBool>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// `deadline` bounds every attempt and every retry wait.
    ///
    /// The token never travels in clear text except to loopback: a plain `http` base must be
    /// loopback, and a loopback base never goes through a proxy (`HTTP_PROXY`, `ALL_PROXY` and the
    /// like apply to other hosts only). Redirects are not followed: the API does not send them, and
    /// following one would send the request (and its token) somewhere the user did not name.
    ///
    /// Errors: an `api-url` input error when the base is not such a URL or the client cannot be
    /// built.
    pub fn new(
        base_url: &str,
        token: &Secret,
        extra_roots: &ExtraRoots,
        deadline: Instant,
    ) -> Result<Client, InputError> {
        let url = reqwest::Url::parse(base_url)
            .map_err(|e| InputError::new("api-url", format!("not a URL: {e}")))?;
        let loopback = crate::inputs::is_loopback_url(&url);
        if url.scheme() != "https" && !loopback {
            return Err(InputError::new(
                "api-url",
                "plain http is allowed to loopback hosts only",
            ));
        }
        let http = client_builder(USER_AGENT, extra_roots, CONNECT_TIMEOUT, loopback)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                InputError::new("api-url", format!("cannot set up the HTTP client: {e}"))
            })?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            auth: authorization(token)?,
            redactor: Redactor::with(token.expose()),
            deadline,
            backoff: ExponentialBuilder::default()
                .with_min_delay(MIN_BACKOFF)
                .with_max_delay(Duration::from_secs(30))
                .with_factor(2.0)
                .with_jitter()
                .with_max_times(MAX_RETRIES),
            answered: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The wait before retrying after the `attempt`th failure (`error`), or `None` to give up:
    /// `Retry-After` or the backoff's wait, if it ends before the deadline; and while the API has
    /// never answered, [`FIRST_CONTACT_RETRIES`] short waits for a connection that failed.
    fn retry_wait(
        &self,
        error: &Attempt,
        attempt: usize,
        backoff: Option<Duration>,
    ) -> Option<Duration> {
        // A wait that ends past the deadline is no retry at all: give up now and say why. Compared
        // with the time left, never added to now: no header value can overflow.
        let left = self.deadline.saturating_duration_since(Instant::now());
        if error.is_unreachable() && !self.answered.load(Ordering::Relaxed) {
            let attempt = u32::try_from(attempt).unwrap_or(u32::MAX);
            let wait = (attempt as usize <= FIRST_CONTACT_RETRIES)
                .then(|| FIRST_CONTACT_WAIT.saturating_mul(attempt))?;
            return (wait < left).then_some(wait);
        }
        honoured_wait(error.retry_after(), backoff?, left)
    }

    /// The same client with another deadline (a cancel after the timeout gets a short budget of its own).
    pub fn with_deadline(&self, deadline: Instant) -> Client {
        Client {
            deadline,
            ..self.clone()
        }
    }

    /// The same client without retries (one attempt per call): for the few seconds a CI runner
    /// gives after a cancel signal, and for the polls of a wait, where the next tick is the retry.
    pub fn without_retries(&self) -> Client {
        Client {
            backoff: self.backoff.with_max_times(0),
            ..self.clone()
        }
    }

    /// The deadline every call of this client ends by.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    async fn send(
        &self,
        method: Method,
        path: String,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        idempotency: Idempotency,
    ) -> Result<Vec<u8>, ApiError> {
        let url = format!("{}{}", self.base, path);
        let call = Call {
            method: method.clone(),
            path,
        };
        let attempts = Cell::new(0usize);
        let answered = &self.answered;
        let attempt = || {
            attempts.set(attempts.get() + 1);
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            // The deadline itself cuts the call (below); this timeout only bounds an attempt that
            // has more time than it should take.
            let timeout = ATTEMPT_TIMEOUT.min(remaining.saturating_add(Duration::from_secs(1)));
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, self.auth.clone())
                .timeout(timeout);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            async move {
                let response = request.send().await.map_err(Attempt::transport)?;
                answered.store(true, Ordering::Relaxed);
                let status = response.status();
                if status.is_success() {
                    return match read_body(response, MAX_BODY_BYTES).await {
                        Ok(body) => Ok(body),
                        // A clone was accepted whatever its body: an unreadable one is no body. A
                        // deploy's answer is its only proof ([`Idempotency::UnsafeProof`]).
                        Err(_) if idempotency == Idempotency::Unsafe => Ok(Vec::new()),
                        Err(error) => Err(error),
                    };
                }
                let retry_after = retry_after(response.headers());
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .map(|value| printable(&String::from_utf8_lossy(value.as_bytes()), 200));
                let body = read_body(response, MAX_ERROR_BODY_BYTES)
                    .await
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_default();
                Err(Attempt::Status {
                    status,
                    retry_after,
                    body,
                    location,
                })
            }
        };
        let retried = attempt
            .retry(self.backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &Attempt| e.is_transient(idempotency))
            .adjust(|e: &Attempt, backoff: Option<Duration>| {
                self.retry_wait(e, attempts.get(), backoff)
            })
            .notify(|e: &Attempt, wait: Duration| {
                let what = match e {
                    Attempt::Transport {
                        cause, timed_out, ..
                    } if *timed_out => format!("{cause} (timed out)"),
                    Attempt::Transport { cause, .. } => cause.clone(),
                    Attempt::Status { status, .. } => format!("HTTP {}", status.as_u16()),
                    Attempt::TooLarge { limit } => format!("answer larger than {limit} bytes"),
                };
                let notice = format!("  retrying {call} in {:.1}s ({what})", wait.as_secs_f64());
                eprintln!("{}", neutral::log_text(&self.redactor, &notice));
            });
        match tokio::time::timeout_at(self.deadline.into(), retried).await {
            Ok(result) => {
                let first_contact =
                    (!self.answered.load(Ordering::Relaxed)).then_some(self.base.as_str());
                result.map_err(|e| {
                    e.into_error(call.clone(), attempts.get(), first_contact, &self.redactor)
                })
            }
            Err(_) => Err(ApiError::DeadlineReached { call }),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: String,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let call = Call {
            method: Method::GET,
            path: path.clone(),
        };
        let bytes = self
            .send(Method::GET, path, query, None, Idempotency::Safe)
            .await?;
        decode(call, &bytes, &self.redactor)
    }

    async fn write<B: Serialize>(
        &self,
        method: Method,
        path: String,
        query: &[(&str, &str)],
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<Vec<u8>, ApiError> {
        let body = body.map(|b| serde_json::to_vec(b).expect("request bodies always serialize"));
        self.send(method, path, query, body, idempotency).await
    }

    // --- Environment -------------------------------------------------------------------------

    // Every id that goes into a path or a query is checked first ([`ids`]), and every id an answer
    // hands back for later use is checked on arrival: an answer with a malformed one is unreadable.

    pub async fn environment(&self, environment_id: &str) -> Result<Environment, ApiError> {
        let id = path_id(
            Method::GET,
            "/environment/{id}",
            "environment id",
            environment_id,
        )?;
        self.get(format!("/environment/{id}"), &[]).await
    }

    /// The environment's services; every service id is a UUID (else the answer is unreadable).
    pub async fn services(&self, environment_id: &str) -> Result<Vec<ServiceInfo>, ApiError> {
        let template = "/environment/{id}/services";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let path = format!("/environment/{id}/services");
        let list: Results<ServiceInfo> = self.get(path.clone(), &[]).await?;
        for service in &list.results {
            ids::check("service id", Shape::Uuid, &service.id).map_err(|e| unusable(&path, e))?;
        }
        Ok(list.results)
    }

    /// The environment's status, its request and execution ids checked (else unreadable).
    pub async fn status(&self, environment_id: &str) -> Result<EnvironmentStatus, ApiError> {
        let id = path_id(
            Method::GET,
            "/environment/{id}/status",
            "environment id",
            environment_id,
        )?;
        let path = format!("/environment/{id}/status");
        let mut status: EnvironmentStatus = self.get(path.clone(), &[]).await?;
        status.check_ids().map_err(|e| unusable(&path, e))?;
        Ok(status)
    }

    /// The environment's and every service's status, all their ids checked (else unreadable).
    pub async fn statuses(&self, environment_id: &str) -> Result<EnvironmentStatuses, ApiError> {
        let template = "/environment/{id}/statuses";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let path = format!("/environment/{id}/statuses");
        let mut statuses: EnvironmentStatuses = self.get(path.clone(), &[]).await?;
        statuses.check_ids().map_err(|e| unusable(&path, e))?;
        Ok(statuses)
    }

    /// `GET /environment/deploymentStatus?deploymentRequestId=…`: the one endpoint keyed by request.
    pub async fn deployment_request_status(
        &self,
        request_id: &str,
    ) -> Result<DeploymentRequestStatus, ApiError> {
        let template = "/environment/deploymentStatus?deploymentRequestId={id}";
        let request_id = path_id(Method::GET, template, "deployment request id", request_id)?;
        self.get(
            "/environment/deploymentStatus".to_string(),
            &[("deploymentRequestId", request_id)],
        )
        .await
    }

    /// `GET /environment/{id}/deploymentQueue`: the requests still waiting, in queue order, with
    /// the services each carries. Entries whose request id is not a UUID are left out: they cannot
    /// be ours, and their id is never used.
    pub async fn deployment_queue(
        &self,
        environment_id: &str,
    ) -> Result<Vec<QueuedRequest>, ApiError> {
        let template = "/environment/{id}/deploymentQueue";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let list: Results<QueuedRequest> = self
            .get(format!("/environment/{id}/deploymentQueue"), &[])
            .await?;
        Ok(list
            .results
            .into_iter()
            .filter(|r| ids::is_uuid(&r.identifier.deployment_request_id))
            .collect())
    }

    /// The ids of the deployment requests still waiting in the environment's queue (UUIDs only,
    /// see [`Client::deployment_queue`]).
    pub async fn queued_requests(&self, environment_id: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .deployment_queue(environment_id)
            .await?
            .into_iter()
            .map(|r| r.identifier.deployment_request_id)
            .collect())
    }

    /// `GET /environment/{id}/deploymentHistoryV2?pageSize=N`: the environment's latest `page_size`
    /// executions, newest first (the spec's default is 20). Entries with an id of the wrong shape
    /// are left out ([`HistoryPage::check_ids`]); the text is escaped on arrival.
    pub async fn deployment_history(
        &self,
        environment_id: &str,
        page_size: u32,
    ) -> Result<Vec<HistoryExecution>, ApiError> {
        let template = "/environment/{id}/deploymentHistoryV2";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let page_size = page_size.to_string();
        let mut page: HistoryPage = self
            .get(
                format!("/environment/{id}/deploymentHistoryV2"),
                &[("pageSize", page_size.as_str())],
            )
            .await?;
        page.check_ids();
        Ok(page.results)
    }

    /// `GET /environment/{id}/logs?version=<execution_id>`: the last 1000 deployment log entries
    /// of one execution (the `version` parameter is undocumented; notes §6). Entries that do not
    /// read as `EnvironmentLogs` come back as [`Lenient::Unreadable`]; an answer over
    /// [`MAX_BODY_BYTES`] is refused, as any other.
    pub async fn environment_logs(
        &self,
        environment_id: &str,
        execution_id: &str,
    ) -> Result<Vec<Lenient<LogEntry>>, ApiError> {
        let template = "/environment/{id}/logs?version={execution_id}";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let execution = shaped_id(
            Method::GET,
            template,
            "execution id",
            Shape::Execution,
            execution_id,
        )?;
        self.get(format!("/environment/{id}/logs"), &[("version", execution)])
            .await
    }

    // --- Deploy --------------------------------------------------------------------------------

    /// The batched deploy. Its answer is returned as it came: the deployment exists once this
    /// succeeds, so a malformed id in it must not throw it away (see [`ids::take_malformed`]).
    pub async fn deploy_services(
        &self,
        environment_id: &str,
        request: &DeployAllRequest,
    ) -> Result<EnvironmentStatus, ApiError> {
        let template = "/environment/{id}/service/deploy";
        let id = path_id(Method::POST, template, "environment id", environment_id)?;
        let path = format!("/environment/{id}/service/deploy");
        let bytes = self
            .write(
                Method::POST,
                path.clone(),
                &[],
                Some(request),
                Idempotency::UnsafeProof,
            )
            .await?;
        decode_acceptance(Method::POST, path, &bytes, &self.redactor)
    }

    // --- Cancel --------------------------------------------------------------------------------

    /// The 202 answer is an `EnvironmentStatus`; `None` when it has no body that reads as one (any
    /// 2xx is an acceptance).
    pub async fn cancel_environment_deployment(
        &self,
        environment_id: &str,
        force: bool,
    ) -> Result<Option<EnvironmentStatus>, ApiError> {
        #[derive(Serialize)]
        struct Body {
            force_cancel: bool,
        }
        let template = "/environment/{id}/cancelDeployment";
        let id = path_id(Method::POST, template, "environment id", environment_id)?;
        let path = format!("/environment/{id}/cancelDeployment");
        let bytes = self
            .write(
                Method::POST,
                path,
                &[],
                Some(&Body {
                    force_cancel: force,
                }),
                Idempotency::Safe,
            )
            .await?;
        Ok(serde_json::from_slice(&bytes).ok())
    }

    pub async fn cancel_queued_request(&self, request_id: &str) -> Result<(), ApiError> {
        let template = "/deploymentQueue/{id}/cancelDeployment";
        let id = path_id(Method::POST, template, "deployment request id", request_id)?;
        let path = format!("/deploymentQueue/{id}/cancelDeployment");
        self.write(
            Method::POST,
            path,
            &[],
            Some(&serde_json::json!({})),
            Idempotency::Safe,
        )
        .await
        .map(drop)
    }
}

/// `POST /job/{id}/deploy` or `/redeploy`: which one, and with what.
#[derive(Debug, Clone, Copy)]
pub enum JobAction<'a> {
    /// With the `JobDeployRequest` body (one version field at most).
    Deploy(&'a JobDeploy),
    /// No body.
    Redeploy,
}

impl Client {
    // --- Jobs ------------------------------------------------------------------------------------

    /// Deploys or redeploys one job, with `?forceEvent=` when an event is given. The 202 answers the
    /// job's `Status`, carrying the new deployment request id.
    pub async fn run_job(
        &self,
        job_id: &str,
        action: JobAction<'_>,
        event: Option<JobEvent>,
    ) -> Result<ServiceStatus, ApiError> {
        let (verb, body) = match action {
            JobAction::Deploy(body) => ("deploy", Some(body)),
            JobAction::Redeploy => ("redeploy", None),
        };
        let id = path_id(
            Method::POST,
            "/job/{id}/{deploy|redeploy}",
            "job id",
            job_id,
        )?;
        let path = format!("/job/{id}/{verb}");
        let query: Vec<(&str, &str)> = event
            .map(|e| ("forceEvent", e.as_str()))
            .into_iter()
            .collect();
        let bytes = self
            .write(
                Method::POST,
                path.clone(),
                &query,
                body,
                Idempotency::UnsafeProof,
            )
            .await?;
        decode_acceptance(Method::POST, path, &bytes, &self.redactor)
    }

    // --- Deployment stages -----------------------------------------------------------------------

    /// The service's deployment stage; its id is a UUID (else the answer is unreadable), since
    /// [`Client::set_skipped`] puts it in a path.
    pub async fn service_stage(&self, service_id: &str) -> Result<DeploymentStage, ApiError> {
        let template = "/service/{id}/deploymentStage";
        let id = path_id(Method::GET, template, "service id", service_id)?;
        let path = format!("/service/{id}/deploymentStage");
        let stage: DeploymentStage = self.get(path.clone(), &[]).await?;
        ids::check("deployment stage id", Shape::Uuid, &stage.id)
            .map_err(|e| unusable(&path, e))?;
        Ok(stage)
    }

    /// Keeps the service in its stage and sets its skip flag (`AttachServiceToDeploymentStage`).
    pub async fn set_skipped(
        &self,
        stage_id: &str,
        service_id: &str,
        skipped: bool,
    ) -> Result<(), ApiError> {
        #[derive(Serialize)]
        struct Body {
            is_skipped: bool,
        }
        let template = "/deploymentStage/{id}/service/{id}";
        let stage = path_id(Method::PUT, template, "deployment stage id", stage_id)?;
        let service = path_id(Method::PUT, template, "service id", service_id)?;
        let path = format!("/deploymentStage/{stage}/service/{service}");
        self.write(
            Method::PUT,
            path,
            &[],
            Some(&Body {
                is_skipped: skipped,
            }),
            Idempotency::Safe,
        )
        .await
        .map(drop)
    }
}

impl Client {
    // --- Environments: the project's list, clone and delete (preview environments) -------------

    /// `GET /project/{projectId}/environment`: every environment of the project (`Environment`s,
    /// read leniently).
    pub async fn project_environments(
        &self,
        project_id: &str,
    ) -> Result<Vec<Environment>, ApiError> {
        let template = "/project/{id}/environment";
        let id = path_id(Method::GET, template, "project id", project_id)?;
        let list: Results<Environment> =
            self.get(format!("/project/{id}/environment"), &[]).await?;
        Ok(list.results)
    }

    /// `POST /environment/{id}/clone`: a new environment made from `blueprint_id`. The 202 answers
    /// the new `Environment`; an answer without a body reads as `Environment::default()` (no id:
    /// look it up by name). A 409 ("name already taken", or "operation in progress") is returned
    /// as is for the caller to re-read the project's list. Retried only when the request cannot
    /// have been processed (429, 503, no connection), as a deploy: a 502 may hide a clone that
    /// was made.
    pub async fn clone_environment(
        &self,
        blueprint_id: &str,
        request: &CloneEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        let template = "/environment/{id}/clone";
        let id = path_id(Method::POST, template, "environment id", blueprint_id)?;
        let path = format!("/environment/{id}/clone");
        let bytes = self
            .write(Method::POST, path, &[], Some(request), Idempotency::Unsafe)
            .await?;
        Ok(decode_accepted(&bytes))
    }

    /// `GET /environment/{id}/link`: the addresses the environment's services answer at. An
    /// entry that does not read as a `Link` is left out (forward compatibility).
    pub async fn environment_links(&self, environment_id: &str) -> Result<Vec<Link>, ApiError> {
        let template = "/environment/{id}/link";
        let id = path_id(Method::GET, template, "environment id", environment_id)?;
        let list: Results<Lenient<Link>> = self.get(format!("/environment/{id}/link"), &[]).await?;
        Ok(list.results.into_iter().filter_map(Lenient::ok).collect())
    }

    /// `DELETE /environment/{id}` (204, no body sent). Retried on transient failures: if an
    /// earlier attempt went through, the retry's 404 says the environment is gone, which the caller
    /// reads as done.
    pub async fn delete_environment(&self, environment_id: &str) -> Result<(), ApiError> {
        let id = path_id(
            Method::DELETE,
            "/environment/{id}",
            "environment id",
            environment_id,
        )?;
        let path = format!("/environment/{id}");
        self.write::<()>(Method::DELETE, path, &[], None, Idempotency::Safe)
            .await
            .map(drop)
    }
}

/// The 2xx answer to a request that starts a deployment (environment deploy, job deploy or
/// redeploy). An empty body is an acceptance without ids (`T::default()`; issue 13 row 9); any
/// other body must read as a JSON object of the documented shape, else the answer is
/// [`ApiError::Decode`]: a proxy's HTML page, `null`, `[1,2]` or `{"deployment_request_id":5}` is
/// no proof that Qovery accepted anything, and the caller treats the outcome as unknown.
fn decode_acceptance<T: DeserializeOwned + Default>(
    method: Method,
    path: String,
    bytes: &[u8],
    redactor: &Redactor,
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let call = Call { method, path };
    let object: serde_json::Map<String, serde_json::Value> = decode(call.clone(), bytes, redactor)?;
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| ApiError::Decode {
        call,
        message: format!("the answer is not of the documented shape: {e}"),
    })
}

/// A clone's answer: any 2xx is an acceptance (the spec says 202), so a body that is empty, cut or
/// not the expected JSON is no body, never an error: the caller looks the clone up by name.
fn decode_accepted<T: DeserializeOwned + Default>(bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// Characters of an unreadable body quoted in the error.
const BODY_EXCERPT_CHARS: usize = 120;

fn decode<T: DeserializeOwned>(
    call: Call,
    bytes: &[u8],
    redactor: &Redactor,
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // Redacted before it is cut: an echoed token must not leave its first characters behind.
        let head = &bytes[..bytes
            .len()
            .min(4 * (BODY_EXCERPT_CHARS + neutral::EXCERPT_LOOKAHEAD))];
        let body = neutral::excerpt(redactor, &String::from_utf8_lossy(head), BODY_EXCERPT_CHARS);
        ApiError::Decode {
            call,
            message: format!("{e} (body starts with `{body}`)"),
        }
    })
}

/// `id`, a UUID, for the path or query of a `method` request to `template`; nothing is sent
/// otherwise.
fn path_id<'a>(
    method: Method,
    template: &'static str,
    what: &'static str,
    id: &'a str,
) -> Result<&'a str, ApiError> {
    shaped_id(method, template, what, Shape::Uuid, id)
}

/// `id`, of `shape`, for the path or query of a `method` request to `template`; nothing is sent
/// otherwise.
fn shaped_id<'a>(
    method: Method,
    template: &'static str,
    what: &'static str,
    shape: Shape,
    id: &'a str,
) -> Result<&'a str, ApiError> {
    ids::check(what, shape, id).map_err(|error| ApiError::MalformedId {
        call: Call {
            method,
            path: template.to_string(),
        },
        error,
    })
}

/// An answer that carries an id of the wrong shape is unreadable: it is not used at all.
fn unusable(path: &str, error: MalformedId) -> ApiError {
    ApiError::Decode {
        call: Call {
            method: Method::GET,
            path: path.to_string(),
        },
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_is_bearer_api_token_is_token() {
        let header = |t: &str| {
            authorization(&Secret::new(t))
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(header("qov_abc.def"), "Token qov_abc.def");
        assert_eq!(header("sk-qov-01-xyz"), "Token sk-qov-01-xyz");
        assert_eq!(
            header("eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl"),
            "Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl"
        );
        assert!(authorization(&Secret::new("bad\u{7f}token")).is_err());
        assert!(authorization(&Secret::new("t")).unwrap().is_sensitive());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        let soon = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 20;
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&soon.to_string()).unwrap(),
        );
        assert!(retry_after(&h).unwrap() <= Duration::from_secs(20));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |s: u16| Attempt::Status {
            status: StatusCode::from_u16(s).unwrap(),
            retry_after: None,
            body: String::new(),
            location: None,
        };
        for s in [429, 500, 502, 503, 504] {
            assert!(status(s).is_transient(Idempotency::Safe), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!status(s).is_transient(Idempotency::Safe), "{s}");
            assert!(!status(s).is_transient(Idempotency::Unsafe), "{s}");
        }
        assert!(status(429).is_transient(Idempotency::Unsafe));
        assert!(status(503).is_transient(Idempotency::Unsafe));
        assert!(!status(502).is_transient(Idempotency::Unsafe));
        assert!(!status(502).is_transient(Idempotency::UnsafeProof));
        // An oversized answer is as large the next time: never retried (it spent 107 s of a
        // 2-minute preflight before).
        for idempotency in [
            Idempotency::Safe,
            Idempotency::Unsafe,
            Idempotency::UnsafeProof,
        ] {
            assert!(!Attempt::TooLarge { limit: 1 }.is_transient(idempotency));
        }
        let reset = Attempt::Transport {
            message: "reset".into(),
            connect: false,
            timed_out: false,
            cause: "reset".into(),
            certificate: None,
        };
        let untrusted = Attempt::Transport {
            message: "invalid peer certificate".into(),
            connect: true,
            timed_out: false,
            cause: "invalid peer certificate: UnknownIssuer".into(),
            certificate: Some("UnknownIssuer".into()),
        };
        assert!(!untrusted.is_transient(Idempotency::Safe));
        assert!(!untrusted.is_transient(Idempotency::Unsafe));
        assert!(reset.is_transient(Idempotency::Safe) && !reset.is_transient(Idempotency::Unsafe));
    }

    mod environments {
        use super::super::*;
        use wiremock::matchers::{body_json, header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        const BLUEPRINT: &str = "b1000000-0000-4000-8000-0000000000b1";
        const PROJECT: &str = "a1000000-0000-4000-8000-0000000000a1";
        const E2: &str = "e2000000-0000-4000-8000-0000000000e2";
        const GONE: &str = "90000000-0000-4000-8000-000000000404";

        fn client(server: &MockServer) -> Client {
            let deadline = Instant::now() + Duration::from_secs(20);
            Client::new(
                &server.uri(),
                &Secret::new("qov_t"),
                &ExtraRoots::default(),
                deadline,
            )
            .unwrap()
        }

        fn request(cluster: Option<&str>) -> CloneEnvironmentRequest {
            CloneEnvironmentRequest {
                name: "pr-7".into(),
                mode: EnvironmentMode::Preview,
                cluster_id: cluster.map(str::to_string),
                apply_deployment_rule: true,
            }
        }

        #[tokio::test]
        async fn clone_sends_the_request_and_reads_the_new_environment() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path(format!("/environment/{BLUEPRINT}/clone")))
                .and(header("content-type", "application/json"))
                .and(header("authorization", "Token qov_t"))
                .and(body_json(serde_json::json!({
                    "name": "pr-7", "mode": "PREVIEW", "cluster_id": "c1", "apply_deployment_rule": true
                })))
                .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({
                    "id": "e7", "name": "pr-7", "mode": "PREVIEW", "created_at": "2026-01-01T00:00:00Z",
                    "project": {"id": "p"}, "organization": {"id": "o"}, "cluster_id": "c1",
                    "cloud_provider": {}
                })))
                .expect(1)
                .mount(&server)
                .await;
            let env = client(&server)
                .clone_environment(BLUEPRINT, &request(Some("c1")))
                .await
                .unwrap();
            assert_eq!(env.id, "e7");
            assert!(env.is_preview() && env.is_named("PR-7"));
        }

        #[tokio::test]
        async fn a_clone_conflict_is_not_retried_and_an_empty_202_is_accepted() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path(format!("/environment/{BLUEPRINT}/clone")))
                .respond_with(ResponseTemplate::new(409).set_body_json(
                    serde_json::json!({"message": "Environment name within the project is already taken"}),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let error = client(&server)
                .clone_environment(BLUEPRINT, &request(None))
                .await
                .unwrap_err();
            assert!(error.is_conflict(), "{error}");
            assert!(error.to_string().contains("already taken"), "{error}");

            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(202))
                .mount(&server)
                .await;
            let env = client(&server)
                .clone_environment(BLUEPRINT, &request(None))
                .await
                .unwrap();
            assert!(env.id.is_empty());
        }

        #[tokio::test]
        async fn a_502_on_clone_is_not_retried_but_a_503_is() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(502))
                .expect(1)
                .mount(&server)
                .await;
            let error = client(&server)
                .clone_environment(BLUEPRINT, &request(None))
                .await
                .unwrap_err();
            assert_eq!(error.status(), Some(502));

            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
                .up_to_n_times(1)
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(202).set_body_json(serde_json::json!({"id": "e"})),
                )
                .mount(&server)
                .await;
            let env = client(&server)
                .clone_environment(BLUEPRINT, &request(None))
                .await
                .unwrap();
            assert_eq!(env.id, "e");
        }

        #[tokio::test]
        async fn the_project_list_and_delete() {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path(format!("/project/{PROJECT}/environment")))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "results": [
                        {"id": "e1", "name": "staging", "mode": "STAGING"},
                        {"id": "e2", "name": "pr-7", "mode": "PREVIEW", "extra": true},
                        {"id": "e3", "name": "odd", "mode": "SOMETHING_NEW"}
                    ]
                })))
                .mount(&server)
                .await;
            Mock::given(method("DELETE"))
                .and(path(format!("/environment/{E2}")))
                .respond_with(ResponseTemplate::new(204))
                .expect(1)
                .mount(&server)
                .await;
            Mock::given(method("DELETE"))
                .and(path(format!("/environment/{GONE}")))
                .respond_with(ResponseTemplate::new(404))
                .expect(1)
                .mount(&server)
                .await;
            let client = client(&server);
            let list = client.project_environments(PROJECT).await.unwrap();
            let modes: Vec<bool> = list.iter().map(Environment::is_preview).collect();
            assert_eq!(modes, [false, true, false]);
            client.delete_environment(E2).await.unwrap();
            let error = client.delete_environment(GONE).await.unwrap_err();
            assert_eq!(error.status(), Some(404));
            let sent = server.received_requests().await.unwrap();
            let delete = sent.iter().find(|r| r.method.as_str() == "DELETE").unwrap();
            assert!(delete.body.is_empty());
            assert!(delete.headers.get("content-type").is_none());
        }
    }

    fn refused() -> Attempt {
        Attempt::Transport {
            message: "error sending request: tcp connect error: Connection refused".into(),
            connect: true,
            timed_out: false,
            cause: "Connection refused (os error 111)".into(),
            certificate: None,
        }
    }

    fn client() -> Client {
        let deadline = Instant::now() + Duration::from_secs(1800);
        Client::new(
            "http://127.0.0.1:1",
            &Secret::new("t"),
            &ExtraRoots::default(),
            deadline,
        )
        .unwrap()
    }

    #[test]
    fn a_refused_connection_before_any_answer_gets_two_short_retries() {
        let client = client();
        let backoff = Some(Duration::from_secs(8));
        assert_eq!(
            client.retry_wait(&refused(), 1, backoff),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            client.retry_wait(&refused(), 2, backoff),
            Some(Duration::from_secs(1))
        );
        assert_eq!(client.retry_wait(&refused(), 3, backoff), None);
        // A connect timeout is no proof that nothing is there: the usual backoff.
        let timed_out = Attempt::Transport {
            message: "timed out".into(),
            connect: true,
            timed_out: true,
            cause: "deadline has elapsed".into(),
            certificate: None,
        };
        assert_eq!(client.retry_wait(&timed_out, 3, backoff), backoff);
        let error = refused().into_error(
            Call {
                method: Method::GET,
                path: "/environment/x".into(),
            },
            3,
            Some("http://127.0.0.1:1"),
            &Redactor::new(),
        );
        let text = error.to_string();
        assert!(
            text.starts_with("GET /environment/x: cannot connect to http://127.0.0.1:1 (Connection refused (os error 111)) (gave up after 3 attempts)"),
            "{text}"
        );
        assert!(text.contains("hint: check the `api-url` input"), "{text}");
    }

    #[test]
    fn once_the_api_has_answered_a_refused_connection_gets_the_usual_retries() {
        let client = client();
        client.answered.store(true, Ordering::Relaxed);
        let backoff = Some(Duration::from_secs(8));
        // The copies a cancel uses know it too.
        let copy = client.without_retries();
        for attempt in 1..=MAX_RETRIES {
            assert_eq!(copy.retry_wait(&refused(), attempt, backoff), backoff);
        }
        let error = refused().into_error(
            Call {
                method: Method::GET,
                path: "/x".into(),
            },
            7,
            None,
            &Redactor::new(),
        );
        assert!(matches!(error, ApiError::Transport { .. }), "{error}");
    }

    #[test]
    fn retry_waits() {
        let s = Duration::from_secs;
        assert_eq!(honoured_wait(None, s(2), s(10)), Some(s(2)));
        assert_eq!(honoured_wait(Some(s(5)), s(2), s(10)), Some(s(5)));
        assert_eq!(
            honoured_wait(Some(s(0)), s(2), s(10)),
            Some(s(2)),
            "minimum backoff"
        );
        assert_eq!(honoured_wait(Some(Duration::MAX), s(2), s(10)), None);
        assert_eq!(
            honoured_wait(Some(s(10)), s(2), s(10)),
            None,
            "ends at the deadline"
        );
    }

    proptest::proptest! {
        /// No `Retry-After` / `X-RateLimit-Reset` value panics, whatever its form: numbers of any
        /// size, HTTP dates of any year, any text the header can carry.
        #[test]
        fn no_rate_limit_header_panics(
            number in proptest::prelude::any::<u64>(),
            text in proptest::prelude::any::<String>(),
            date_secs in 0u64..253_402_300_799,
            signed in proptest::prelude::any::<i64>(),
            backoff_ms in proptest::prelude::any::<u64>(),
            left_ms in proptest::prelude::any::<u64>(),
        ) {
            let date = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(date_secs));
            let values = [number.to_string(), text, date, signed.to_string(), format!("{number}.5")];
            for value in &values {
                let Ok(value) = HeaderValue::from_str(value) else { continue };
                for name in [RETRY_AFTER.as_str(), "x-ratelimit-reset"] {
                    let mut headers = HeaderMap::new();
                    headers.insert(name, value.clone());
                    let asked = retry_after(&headers);
                    let backoff = Duration::from_millis(backoff_ms);
                    let left = Duration::from_millis(left_ms);
                    if let Some(wait) = honoured_wait(asked, backoff, left) {
                        proptest::prop_assert!(wait >= backoff && wait < left);
                    }
                }
            }
        }
    }

    #[test]
    fn error_messages_come_from_the_body() {
        let none = Redactor::new();
        assert_eq!(
            error_message(r#"{"message":"Operation is in progress"}"#, &none),
            ": Operation is in progress"
        );
        assert_eq!(error_message("plain\ntext", &none), ": plain\\ntext");
        assert_eq!(error_message("", &none), "");
    }

    #[test]
    fn error_texts_are_redacted_before_they_are_cut() {
        // A 200-character opaque token echoed at offset 250: a cut at 300 before redaction would
        // have kept its first 50 characters.
        let token: String = (0..200)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let redactor = Redactor::with(&token);
        let body = format!(
            "{}Authorization: Token {token} was refused",
            "x".repeat(229)
        );
        let message = error_message(&body, &redactor);
        assert!(message.contains("Token ***"), "{message}");
        let json = format!(r#"{{"message":"bad header Token {token}"}}"#);
        assert_eq!(error_message(&json, &redactor), ": bad header Token ***");
        let decoded: Result<EnvironmentStatus, _> = decode(
            Call {
                method: Method::GET,
                path: "/x".into(),
            },
            format!("<html>{token}</html>").as_bytes(),
            &redactor,
        );
        let text = decoded.unwrap_err().to_string();
        assert!(text.contains("<html>***</html>"), "{text}");
        for window in token.as_bytes().windows(8) {
            let fragment = std::str::from_utf8(window).unwrap();
            assert!(!message.contains(fragment) && !text.contains(fragment));
        }
    }
}
