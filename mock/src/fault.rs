//! Fault injection: per endpoint, answers a misbehaving API (or the network in front of it)
//! gives. A [`Fault`] says *where* (an [`Endpoint`]: method and path pattern), *when* (from the
//! Kth matching call, N times or always, optionally only once another endpoint was called) and
//! *what*: a delay, a hang, a status code, a broken body ([`FaultBody`]), extra headers
//! (`Retry-After`, `X-RateLimit-Reset`, as literal text or as dates relative to the answer), a
//! redirect.
//!
//! Faults are built in Rust ([`Fault::on`] and its builder methods) or parsed from the command
//! line syntax ([`Fault::from_str`], `--fault SPEC`), and named sets of them are the rehearsal
//! [presets](PRESETS). [`Fault`]'s `Display` writes the same syntax back, so a fault survives the
//! round trip through `GET /_mock/faults`.
//!
//! ```text
//! SPEC      = ENDPOINT ":" ITEM ("," ITEM)*
//! ENDPOINT  = alias (statuses, deploy, ...) | METHOD " " PATTERN      e.g. "GET /environment/*/statuses"
//! ITEM      = 200..599 | hang | delay=DURATION | body=BODY | retry-after=VALUE
//!           | x-ratelimit-reset=VALUE | header=NAME:VALUE | location=URL
//!           | processed | unprocessed | from=K | times=N | always | after=ENDPOINT
//! BODY      = empty | html | truncated | dropped | endless | oversized:SIZE   (SIZE: 123, 64KiB, 16MiB)
//!           | hostile
//! VALUE     = date+SECONDS | date-SECONDS (an HTTP date) | unix+SECONDS | unix-SECONDS (a Unix time)
//!           | any other text, sent as is (`%2C` for a comma, `%25` for a percent sign)
//! DURATION  = 250ms | 2s | 1m | 1h
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The routes the mock serves, `(alias, method, template)`. Templates use `{name}` for an id
/// segment; the alias names the endpoint in fault specs.
pub(crate) const ROUTES: &[(&str, &str, &str)] = &[
    ("environment", "GET", "/environment/{id}"),
    ("delete-environment", "DELETE", "/environment/{id}"),
    ("clone", "POST", "/environment/{id}/clone"),
    ("environments", "GET", "/project/{id}/environment"),
    ("links", "GET", "/environment/{id}/link"),
    ("services", "GET", "/environment/{id}/services"),
    ("status", "GET", "/environment/{id}/status"),
    ("statuses", "GET", "/environment/{id}/statuses"),
    ("deploy", "POST", "/environment/{id}/service/deploy"),
    ("queue", "GET", "/environment/{id}/deploymentQueue"),
    ("deployment-status", "GET", "/environment/deploymentStatus"),
    ("cancel", "POST", "/environment/{id}/cancelDeployment"),
    (
        "cancel-queued",
        "POST",
        "/deploymentQueue/{id}/cancelDeployment",
    ),
    ("stages", "GET", "/environment/{id}/deploymentStage"),
    ("service-stage", "GET", "/service/{id}/deploymentStage"),
    (
        "set-stage",
        "PUT",
        "/deploymentStage/{stage}/service/{service}",
    ),
    ("job-deploy", "POST", "/job/{id}/deploy"),
    ("job-redeploy", "POST", "/job/{id}/redeploy"),
    ("job-status", "GET", "/job/{id}/status"),
    ("application-status", "GET", "/application/{id}/status"),
    ("container-status", "GET", "/container/{id}/status"),
    ("helm-status", "GET", "/helm/{id}/status"),
    ("database-status", "GET", "/database/{id}/status"),
];

/// `(method, pattern)` pairs.
type Patterns = &'static [(&'static str, &'static str)];

/// Aliases for several routes at once, `(alias, [(method, pattern)], meaning)`.
const GROUPS: &[(&str, Patterns, &str)] = &[
    (
        "deploys",
        &[
            ("POST", "/environment/{id}/service/deploy"),
            ("POST", "/job/{id}/deploy"),
            ("POST", "/job/{id}/redeploy"),
        ],
        "every call that creates a deployment request",
    ),
    (
        "cancels",
        &[("POST", "/**/cancelDeployment")],
        "both cancel endpoints",
    ),
    ("reads", &[("GET", "/**")], "every GET"),
    (
        "writes",
        &[
            ("POST", "/**"),
            ("PUT", "/**"),
            ("PATCH", "/**"),
            ("DELETE", "/**"),
        ],
        "every POST, PUT, PATCH and DELETE",
    ),
    ("any", &[("*", "/**")], "every API request"),
];

/// One method and path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Route {
    /// Upper case, or `*` for any method.
    method: String,
    pattern: String,
}

/// Where a fault applies: one or more (method, path pattern) pairs.
///
/// Patterns are matched segment by segment: `*` or `{name}` matches one id segment (never a fixed
/// word of another route: `/environment/*` does not match `/environment/deploymentStatus`), `**`
/// matches any number of segments, anything else matches itself. The query string is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The alias it was made from, for display.
    alias: Option<&'static str>,
    routes: Vec<Route>,
}

impl Endpoint {
    /// `METHOD pattern`, e.g. `Endpoint::route("GET", "/environment/{id}/statuses")`; method `*`
    /// matches any method.
    pub fn route(method: &str, pattern: &str) -> Endpoint {
        Endpoint {
            alias: None,
            routes: vec![Route {
                method: method.to_ascii_uppercase(),
                pattern: pattern.to_owned(),
            }],
        }
    }

    /// The endpoint named `alias` (see [`Endpoint::aliases`]); `None` if unknown.
    pub fn alias(alias: &str) -> Option<Endpoint> {
        if let Some(&(name, method, template)) = ROUTES.iter().find(|(name, ..)| *name == alias) {
            return Some(Endpoint {
                alias: Some(name),
                ..Endpoint::route(method, template)
            });
        }
        let &(name, routes, _) = GROUPS.iter().find(|(name, ..)| *name == alias)?;
        Some(Endpoint {
            alias: Some(name),
            routes: routes
                .iter()
                .map(|&(method, pattern)| Route {
                    method: method.to_owned(),
                    pattern: pattern.to_owned(),
                })
                .collect(),
        })
    }

    /// Every alias with what it matches, for help texts.
    pub fn aliases() -> Vec<(&'static str, String)> {
        ROUTES
            .iter()
            .map(|(name, method, template)| (*name, format!("{method} {template}")))
            .chain(
                GROUPS
                    .iter()
                    .map(|(name, _, meaning)| (*name, (*meaning).to_owned())),
            )
            .collect()
    }

    /// `GET /environment/{id}/statuses`: the poll of a wait.
    pub fn statuses() -> Endpoint {
        Self::known("statuses")
    }

    /// `GET /environment/{id}/status`.
    pub fn status() -> Endpoint {
        Self::known("status")
    }

    /// `GET /environment/deploymentStatus?deploymentRequestId=…`.
    pub fn deployment_status() -> Endpoint {
        Self::known("deployment-status")
    }

    /// `GET /environment/{id}/deploymentQueue`.
    pub fn queue() -> Endpoint {
        Self::known("queue")
    }

    /// `POST /environment/{id}/service/deploy`.
    pub fn deploy() -> Endpoint {
        Self::known("deploy")
    }

    /// Every call that creates a deployment request (batched deploy, job deploy and redeploy).
    pub fn deploys() -> Endpoint {
        Self::known("deploys")
    }

    /// `POST /environment/{id}/cancelDeployment`.
    pub fn cancel() -> Endpoint {
        Self::known("cancel")
    }

    /// `POST /deploymentQueue/{id}/cancelDeployment`.
    pub fn cancel_queued() -> Endpoint {
        Self::known("cancel-queued")
    }

    /// Both cancel endpoints.
    pub fn cancels() -> Endpoint {
        Self::known("cancels")
    }

    /// Every `GET`.
    pub fn reads() -> Endpoint {
        Self::known("reads")
    }

    /// Every API request.
    pub fn any() -> Endpoint {
        Self::known("any")
    }

    fn known(alias: &str) -> Endpoint {
        Self::alias(alias).unwrap_or_else(|| unreachable!("built-in alias {alias}"))
    }

    /// Whether a request with this method and path (no query) is one of ours.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let segments = split(path);
        let template = route_template(&segments);
        self.routes.iter().any(|route| {
            (route.method == "*" || route.method.eq_ignore_ascii_case(method))
                && matches_pattern(&split(&route.pattern), &segments, template.as_deref())
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(alias) = self.alias {
            return f.write_str(alias);
        }
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|route| format!("{} {}", route.method, route.pattern))
            .collect();
        f.write_str(&routes.join(" | "))
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(endpoint) = Endpoint::alias(text) {
            return Ok(endpoint);
        }
        let Some((method, pattern)) = text.split_once(' ') else {
            let names: Vec<&str> = Endpoint::aliases().into_iter().map(|(n, _)| n).collect();
            return Err(format!(
                "unknown endpoint `{text}`: give an alias ({}) or `METHOD /path/pattern`",
                names.join(", ")
            ));
        };
        let (method, pattern) = (method.trim(), pattern.trim());
        if method != "*" && !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("`{method}` is not an HTTP method (or `*`)"));
        }
        if !pattern.starts_with('/') || pattern.contains([' ', ',', ':', '?']) {
            return Err(format!(
                "`{pattern}` is not a path pattern: it starts with `/` and has no spaces, commas, colons or query"
            ));
        }
        Ok(Endpoint::route(method, pattern))
    }
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_wildcard(segment: &str) -> bool {
    segment == "*" || (segment.starts_with('{') && segment.ends_with('}'))
}

/// The template of the mock route a concrete path belongs to: literal segments win over id
/// segments (`/environment/deploymentStatus` is not `/environment/{id}`).
fn route_template(segments: &[&str]) -> Option<Vec<&'static str>> {
    ROUTES
        .iter()
        .map(|(_, _, template)| split(template))
        .filter(|parts| {
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(segments)
                    .all(|(part, segment)| is_wildcard(part) || part == segment)
        })
        .max_by_key(|parts| parts.iter().filter(|part| !is_wildcard(part)).count())
}

fn matches_pattern(pattern: &[&str], path: &[&str], template: Option<&[&str]>) -> bool {
    fn go(pattern: &[&str], path: &[&str], template: Option<&[&str]>, at: usize) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((&"**", rest)) => {
                (0..=path.len()).any(|skip| go(rest, &path[skip..], template, at + skip))
            }
            Some((part, rest)) => {
                let Some((segment, tail)) = path.split_first() else {
                    return false;
                };
                let fits = if is_wildcard(part) {
                    // An id segment: not a fixed word of the route the path belongs to.
                    template
                        .and_then(|t| t.get(at))
                        .is_none_or(|fixed| is_wildcard(fixed))
                } else {
                    part == segment
                };
                fits && go(rest, tail, template, at + 1)
            }
        }
    }
    go(pattern, path, template, 0)
}

/// What is sent instead of (or made of) the normal body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultBody {
    /// The normal body (or, when the request is not processed, a JSON `{"message": …}` for an
    /// error status and nothing otherwise).
    #[default]
    Keep,
    /// No body at all (`Content-Length: 0`, no `Content-Type`).
    Empty,
    /// A proxy's HTML error page, `Content-Type: text/html`.
    Html,
    /// The first half of the normal body, as a complete answer: JSON that does not parse.
    Truncated,
    /// The first half of the normal body, then the connection is cut, although
    /// `Content-Length` announced the whole body.
    Dropped,
    /// The normal JSON object padded with a `"padding"` string to this many bytes (valid JSON,
    /// streamed, `Content-Length` announced).
    Oversized(u64),
    /// The normal JSON object's start, then a `"padding"` string that never ends (chunked,
    /// streamed as fast as the client reads, no memory held by the mock).
    Endless,
    /// The normal JSON with [`HOSTILE_TEXT`] appended to every `name` and `message` string, and to
    /// the texts of the deployment log (`safe_message`, `user_log_message`, `hint_message`):
    /// workflow commands, a line of dotenv, Markdown, HTML, variable references and terminal
    /// escapes, as an API (or a user who names a service) could send them; every `url` and
    /// `link` gets [`HOSTILE_URL_TEXT`], which keeps it a URL. Ids and states are left alone, so
    /// the run still works; services are then found by id, not by name.
    Hostile,
}

/// What [`FaultBody::Hostile`] appends to URLs (a service's link, a log entry's documentation
/// link): a URL still, with no whitespace, quote or bracket, but a workflow command, a dotenv line
/// and variable references in its path, query and fragment.
pub const HOSTILE_URL_TEXT: &str = "/::set-output%20name=result::success%0AQOVERY_RESULT=success?x=$CI_JOB_TOKEN&y=%CI_JOB_TOKEN%#**Result:**";

/// What [`FaultBody::Hostile`] appends to names and messages: everything a CI runner, a Markdown
/// renderer, GitLab or a terminal would act on (issue 8).
pub const HOSTILE_TEXT: &str = " ::stop-commands::qd\n::set-output name=result::success\n::error::forged by the API\nQOVERY_RESULT=success\nno equals sign ##[set-output name=result;]success **Result:** success [link](https://evil.example) <img src=x onerror=alert(1)> | `x` $CI_JOB_TOKEN %CI_JOB_TOKEN% \u{1b}[31mred\u{1b}]8;;https://evil.example\u{7}link\u{202e}";

impl fmt::Display for FaultBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultBody::Keep => f.write_str("keep"),
            FaultBody::Empty => f.write_str("empty"),
            FaultBody::Html => f.write_str("html"),
            FaultBody::Truncated => f.write_str("truncated"),
            FaultBody::Dropped => f.write_str("dropped"),
            FaultBody::Oversized(bytes) => write!(f, "oversized:{}", format_size(*bytes)),
            FaultBody::Endless => f.write_str("endless"),
            FaultBody::Hostile => f.write_str("hostile"),
        }
    }
}

impl FromStr for FaultBody {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "keep" => FaultBody::Keep,
            "empty" => FaultBody::Empty,
            "html" => FaultBody::Html,
            "truncated" => FaultBody::Truncated,
            "dropped" => FaultBody::Dropped,
            "endless" => FaultBody::Endless,
            "hostile" => FaultBody::Hostile,
            _ => match text.strip_prefix("oversized:") {
                Some(size) => FaultBody::Oversized(parse_size(size)?),
                None => {
                    return Err(format!(
                        "unknown body `{text}` (valid: empty, html, truncated, dropped, endless, oversized:SIZE, hostile)"
                    ));
                }
            },
        })
    }
}

/// A header value, rendered when the answer is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderTemplate {
    /// Sent as is (need not be valid for the header: `Retry-After: soon` is a fault too).
    Text(String),
    /// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) this many seconds from the answer;
    /// negative is in the past.
    HttpDate(i64),
    /// A Unix time in seconds, this many seconds from the answer; negative is in the past.
    UnixTime(i64),
}

impl HeaderTemplate {
    /// The value to send now.
    pub fn render(&self, now: SystemTime) -> String {
        match self {
            HeaderTemplate::Text(text) => text.clone(),
            HeaderTemplate::HttpDate(offset) => http_date(shift(now, *offset)),
            HeaderTemplate::UnixTime(offset) => shift(now, *offset)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                .to_string(),
        }
    }
}

impl From<&str> for HeaderTemplate {
    fn from(text: &str) -> Self {
        HeaderTemplate::Text(text.to_owned())
    }
}

impl From<String> for HeaderTemplate {
    fn from(text: String) -> Self {
        HeaderTemplate::Text(text)
    }
}

impl From<u64> for HeaderTemplate {
    fn from(seconds: u64) -> Self {
        HeaderTemplate::Text(seconds.to_string())
    }
}

impl fmt::Display for HeaderTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderTemplate::Text(text) => f.write_str(&escape(text)),
            HeaderTemplate::HttpDate(offset) => write!(f, "date{offset:+}"),
            HeaderTemplate::UnixTime(offset) => write!(f, "unix{offset:+}"),
        }
    }
}

impl FromStr for HeaderTemplate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let relative = |rest: &str| -> Option<i64> {
            let digits = rest.strip_prefix(['+', '-'])?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Saturates: `date-99999999999999999999` is simply the distant past.
            let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
            Some(if rest.starts_with('-') {
                -magnitude
            } else {
                magnitude
            })
        };
        if let Some(offset) = text.strip_prefix("date").and_then(relative) {
            return Ok(HeaderTemplate::HttpDate(offset));
        }
        if let Some(offset) = text.strip_prefix("unix").and_then(relative) {
            return Ok(HeaderTemplate::UnixTime(offset));
        }
        Ok(HeaderTemplate::Text(unescape(text)?))
    }
}

fn shift(now: SystemTime, offset: i64) -> SystemTime {
    let by = Duration::from_secs(offset.unsigned_abs());
    if offset >= 0 {
        now.checked_add(by).unwrap_or(now)
    } else {
        now.checked_sub(by).unwrap_or(UNIX_EPOCH)
    }
}

/// IMF-fixdate, the preferred HTTP date format (RFC 9110 §5.6.7).
pub(crate) fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let days = secs / 86_400;
    let (year, month, day) = crate::clock::civil_from_days(days);
    let second_of_day = secs % 86_400;
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Commas separate items and `%` escapes: both are percent-encoded in values.
fn escape(text: &str) -> String {
    text.replace('%', "%25").replace(',', "%2C")
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3);
        let byte = code
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii)
            .ok_or_else(|| format!("bad escape in `{text}`: use %2C for a comma, %25 for %"))?;
        out.push(char::from(byte));
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (e.g. 250ms, 2s, 1m, 1h)");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let millis = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    Ok(Duration::from_millis(number.saturating_mul(millis)))
}

fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 == 0 {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size (e.g. 4096, 64KiB, 16MiB, 1GiB)");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    Ok(number.saturating_mul(factor))
}

fn format_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}KiB", b >> 10),
        b => b.to_string(),
    }
}

/// One injected fault. Built with [`Fault::on`] and the builder methods, or parsed from a spec
/// (module docs).
///
/// Applied to a matching request, in this order: wait `delay`; if the request is `processed`,
/// the mock handles it normally (state changes happen: a deploy is queued); if `hang`, never
/// answer (the connection stays open until the client gives up or the mock stops); else answer
/// with `status` (or the normal one), the `body` fault, the extra `headers` and `Location`.
///
/// By default a request is processed unless the fault replaces the status, redirects or hangs:
/// `deploy:body=empty` queues a deployment and answers 202 without a body, `deploy:502` queues
/// nothing. [`Fault::processed`] overrides it (`deploy:502,processed`: a deployment was created
/// behind a gateway error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    endpoint: Endpoint,
    after: Option<Endpoint>,
    from: usize,
    times: Option<usize>,
    delay: Duration,
    hang: bool,
    processed: Option<bool>,
    status: Option<u16>,
    body: FaultBody,
    headers: Vec<(String, HeaderTemplate)>,
    location: Option<String>,
}

impl Fault {
    /// A fault on `endpoint`, on every matching call, doing nothing yet: add what it does.
    pub fn on(endpoint: Endpoint) -> Fault {
        Fault {
            endpoint,
            after: None,
            from: 1,
            times: None,
            delay: Duration::ZERO,
            hang: false,
            processed: None,
            status: None,
            body: FaultBody::Keep,
            headers: Vec::new(),
            location: None,
        }
    }

    /// Answers with this status code (200..=599) instead of the normal one.
    pub fn status(mut self, code: u16) -> Fault {
        self.status = Some(code);
        self
    }

    /// Waits this long before handling the request.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Never answers.
    pub fn hang(mut self) -> Fault {
        self.hang = true;
        self
    }

    /// Sends this body instead of the normal one.
    pub fn body(mut self, body: FaultBody) -> Fault {
        self.body = body;
        self
    }

    /// Adds a response header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: impl Into<HeaderTemplate>) -> Fault {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// `Retry-After: value`.
    pub fn retry_after(self, value: impl Into<HeaderTemplate>) -> Fault {
        self.header("retry-after", value)
    }

    /// `X-RateLimit-Reset: value`.
    pub fn rate_limit_reset(self, value: impl Into<HeaderTemplate>) -> Fault {
        self.header("x-ratelimit-reset", value)
    }

    /// A redirect: `status` (a 3xx) with `Location: location`; the request is not processed.
    pub fn redirect(mut self, status: u16, location: &str) -> Fault {
        self.status = Some(status);
        self.location = Some(location.to_owned());
        self
    }

    /// Whether the mock handles the request (state changes happen) before the fault shapes the
    /// answer. See the type's docs for the default.
    pub fn processed(mut self, processed: bool) -> Fault {
        self.processed = Some(processed);
        self
    }

    /// Applies from the `k`th matching call on (1-based; 0 is read as 1).
    pub fn from(mut self, k: usize) -> Fault {
        self.from = k.max(1);
        self
    }

    /// Applies to `n` matching calls, then no more.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// Applies to every matching call from the first one counted (the default).
    pub fn always(mut self) -> Fault {
        self.times = None;
        self
    }

    /// Counts (and applies to) only the calls received after a call to `endpoint`: e.g.
    /// `after(Endpoint::deploys())` leaves the reads before the deploy alone, however many a
    /// client makes.
    pub fn after(mut self, endpoint: Endpoint) -> Fault {
        self.after = Some(endpoint);
        self
    }

    /// Where the fault applies.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether the request is handled normally before the fault shapes the answer.
    pub fn is_processed(&self) -> bool {
        self.processed
            .unwrap_or(self.status.is_none() && !self.hang && self.location.is_none())
    }

    pub(crate) fn delay_time(&self) -> Duration {
        self.delay
    }

    pub(crate) fn hangs(&self) -> bool {
        self.hang
    }

    pub(crate) fn status_code(&self) -> Option<u16> {
        self.status.or_else(|| self.location.as_ref().map(|_| 302))
    }

    pub(crate) fn body_fault(&self) -> FaultBody {
        self.body
    }

    pub(crate) fn extra_headers(&self) -> &[(String, HeaderTemplate)] {
        &self.headers
    }

    pub(crate) fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// Whether the `n`th counted call (1-based) is in the fault's window.
    fn covers(&self, n: usize) -> bool {
        n >= self.from && self.times.is_none_or(|times| n - self.from < times)
    }

    fn check(&self) -> Result<(), String> {
        if let Some(code) = self.status {
            if !(200..=599).contains(&code) {
                return Err(format!(
                    "status {code} is not a final HTTP status (200..=599)"
                ));
            }
        }
        if self.location.is_some() && !self.status_code().is_some_and(|c| (300..400).contains(&c)) {
            return Err("a `location` needs a 3xx status".to_owned());
        }
        let does_something = self.status.is_some()
            || self.hang
            || !self.delay.is_zero()
            || self.body != FaultBody::Keep
            || !self.headers.is_empty()
            || self.location.is_some();
        if !does_something {
            return Err(format!(
                "the fault on `{}` does nothing: give a status, hang, delay, body, header or location",
                self.endpoint
            ));
        }
        if self.times == Some(0) {
            return Err("times=0 never applies".to_owned());
        }
        Ok(())
    }

    fn parse_item(mut self, item: &str) -> Result<Fault, String> {
        let (key, value) = match item.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (item.trim(), None),
        };
        let need = || value.ok_or_else(|| format!("`{key}` needs a value: `{key}=…`"));
        match (key, value) {
            (code, None) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
                self.status = Some(code.parse().map_err(|_| format!("bad status `{code}`"))?);
            }
            ("hang", None) => self.hang = true,
            ("processed", None) => self.processed = Some(true),
            ("unprocessed", None) => self.processed = Some(false),
            ("always", None) => self.times = None,
            ("delay", _) => self.delay = parse_duration(need()?)?,
            ("body", _) => self.body = need()?.parse()?,
            ("retry-after" | "x-ratelimit-reset", _) => {
                self.headers.push((key.to_owned(), need()?.parse()?));
            }
            ("header", _) => {
                let (name, value) = need()?
                    .split_once(':')
                    .ok_or_else(|| "`header=` needs `header=NAME:VALUE`".to_owned())?;
                let name = name.trim().to_ascii_lowercase();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(format!("`{name}` is not a header name"));
                }
                self.headers.push((name, value.trim().parse()?));
            }
            ("location", _) => self.location = Some(unescape(need()?)?),
            ("from", _) => {
                let value = need()?;
                let k: usize = value
                    .parse()
                    .map_err(|_| format!("`from={value}`: expected a call number, 1 or more"))?;
                self.from = k.max(1);
            }
            ("times", _) => {
                let value = need()?;
                self.times = Some(
                    value
                        .parse()
                        .map_err(|_| format!("`times={value}`: expected a count"))?,
                );
            }
            ("after", _) => self.after = Some(need()?.parse()?),
            _ => {
                return Err(format!(
                    "unknown item `{item}` (valid: a status like 503, hang, delay=, body=, retry-after=, x-ratelimit-reset=, header=, location=, processed, unprocessed, from=, times=, always, after=)"
                ));
            }
        }
        Ok(self)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> = Vec::new();
        if let Some(code) = self.status {
            items.push(code.to_string());
        }
        if !self.delay.is_zero() {
            items.push(format!("delay={}", format_duration(self.delay)));
        }
        if self.hang {
            items.push("hang".to_owned());
        }
        if self.body != FaultBody::Keep {
            items.push(format!("body={}", self.body));
        }
        for (name, value) in &self.headers {
            items.push(match name.as_str() {
                "retry-after" | "x-ratelimit-reset" => format!("{name}={value}"),
                _ => format!("header={name}:{value}"),
            });
        }
        if let Some(location) = &self.location {
            items.push(format!("location={}", escape(location)));
        }
        match self.processed {
            Some(true) => items.push("processed".to_owned()),
            Some(false) => items.push("unprocessed".to_owned()),
            None => {}
        }
        if let Some(after) = &self.after {
            items.push(format!("after={after}"));
        }
        if self.from > 1 {
            items.push(format!("from={}", self.from));
        }
        if let Some(times) = self.times {
            items.push(format!("times={times}"));
        }
        write!(f, "{}:{}", self.endpoint, items.join(","))
    }
}

/// Returned by [`Fault::from_str`]: what is wrong with the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError {
    /// The spec that was given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad fault `{}`: {}", self.spec, self.reason)
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for Fault {
    type Err = ParseFaultError;

    /// `ENDPOINT:ITEM,ITEM,...` (module docs).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| ParseFaultError {
            spec: spec.to_owned(),
            reason,
        };
        let (endpoint, items) = spec.split_once(':').ok_or_else(|| {
            error("expected ENDPOINT:ITEM[,ITEM...], e.g. `statuses:503,times=2`".to_owned())
        })?;
        let mut fault = Fault::on(endpoint.parse().map_err(error)?);
        for item in items.split(',').filter(|item| !item.trim().is_empty()) {
            fault = fault.parse_item(item).map_err(error)?;
        }
        fault.check().map_err(error)?;
        Ok(fault)
    }
}

/// A named set of faults, to rehearse one misbehaviour of the API (`--fault NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The name given to `--fault`.
    pub name: &'static str,
    /// One line saying what it plays.
    pub summary: &'static str,
    /// The faults, in the spec syntax.
    pub specs: &'static [&'static str],
}

impl Preset {
    /// The preset's faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.specs
            .iter()
            .map(|spec| {
                spec.parse()
                    .unwrap_or_else(|error| unreachable!("preset {}: {error}", self.name))
            })
            .collect()
    }

    /// The preset named `name`.
    pub fn find(name: &str) -> Option<&'static Preset> {
        PRESETS.iter().find(|preset| preset.name == name)
    }
}

/// The rehearsal presets: one per way an API was seen to misbehave (issue 13's table).
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "rate-limited",
        summary: "after the deploy, every read answers 429 with Retry-After: 120",
        specs: &["reads:429,retry-after=120,after=deploys"],
    },
    Preset {
        name: "blank-status",
        summary: "the first status poll after the deploy answers 200 with an empty body",
        specs: &["statuses:body=empty,after=deploys,times=1"],
    },
    Preset {
        name: "html-status",
        summary: "the first status poll after the deploy answers 200 with an HTML page",
        specs: &["statuses:body=html,after=deploys,times=1"],
    },
    Preset {
        name: "truncated-status",
        summary: "the first status poll after the deploy answers half a JSON document",
        specs: &["statuses:body=truncated,after=deploys,times=1"],
    },
    Preset {
        name: "dropped-status",
        summary: "the first status poll after the deploy loses its connection mid-body",
        specs: &["statuses:body=dropped,after=deploys,times=1"],
    },
    Preset {
        name: "hanging-status",
        summary: "after the deploy, status polls never answer",
        specs: &["statuses:hang,after=deploys"],
    },
    Preset {
        name: "request-status-404",
        summary: "the deployment request's own status answers 404",
        specs: &["deployment-status:404"],
    },
    Preset {
        name: "server-errors",
        summary: "after the deploy, every read answers 500",
        specs: &["reads:500,after=deploys"],
    },
    Preset {
        name: "gateway-errors",
        summary: "after the deploy, every read answers 502 with a proxy's HTML page",
        specs: &["reads:502,body=html,after=deploys"],
    },
    Preset {
        name: "slow-deploy",
        summary: "the deploy call is handled and answered after 30 s",
        specs: &["deploys:delay=30s"],
    },
    Preset {
        name: "lost-deploy",
        summary: "the deploy call is handled but never answered",
        specs: &["deploys:hang,processed"],
    },
    Preset {
        name: "hostile-text",
        summary: "every name and error message carries workflow commands, dotenv lines, Markdown and escapes (list services by id)",
        specs: &["any:body=hostile"],
    },
    Preset {
        name: "slow-cancel",
        summary: "both cancel endpoints answer after 30 s",
        specs: &["cancels:delay=30s"],
    },
    Preset {
        name: "anonymous-deploy",
        summary: "the deploy is queued but its 202 has an empty body (no request id)",
        specs: &["deploys:body=empty"],
    },
    Preset {
        name: "endless-status",
        summary: "after the deploy, status polls answer a body that never ends",
        specs: &["statuses:body=endless,after=deploys"],
    },
    Preset {
        name: "oversized-status",
        summary: "the first status poll after the deploy answers 64 MiB of valid JSON",
        specs: &["statuses:body=oversized:64MiB,after=deploys,times=1"],
    },
    Preset {
        name: "huge-retry-after",
        summary: "429 with Retry-After and X-RateLimit-Reset of 2^64-1, on the deploy and the next poll",
        specs: &[
            "deploys:429,retry-after=18446744073709551615,x-ratelimit-reset=18446744073709551615,times=1",
            "statuses:429,retry-after=18446744073709551615,x-ratelimit-reset=18446744073709551615,after=deploys,times=1",
        ],
    },
    Preset {
        name: "past-retry-after",
        summary: "every call answers 429 with Retry-After a date an hour in the past",
        specs: &["any:429,retry-after=date-3600,x-ratelimit-reset=unix-3600"],
    },
    Preset {
        name: "redirect-deploy",
        summary: "the deploy call answers 302 to the environment's status",
        specs: &["deploys:302,location=/environment/b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10/status"],
    },
    Preset {
        name: "redirect-status",
        summary: "after the deploy, status polls answer 307 to another host",
        specs: &["statuses:307,location=http://127.0.0.1:9/elsewhere,after=deploys"],
    },
];

/// A fault with its counters, as the server keeps it.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub fault: Fault,
    /// Whether its `after` endpoint was called (always true without one).
    armed: bool,
    /// Matching calls counted so far.
    pub counted: usize,
    /// Calls it was applied to.
    pub applied: usize,
}

impl Slot {
    pub(crate) fn new(fault: Fault) -> Slot {
        Slot {
            armed: fault.after.is_none(),
            fault,
            counted: 0,
            applied: 0,
        }
    }

    pub(crate) fn restart(&mut self) {
        *self = Slot::new(self.fault.clone());
    }
}

/// Counts a request against every fault and returns the first one (in the order given) whose
/// window covers it. A request that arms a fault (`after=`) is not counted by it.
pub(crate) fn select(slots: &mut [Slot], method: &str, path: &str) -> Option<Fault> {
    let mut chosen = None;
    for slot in slots.iter_mut() {
        if slot.armed && slot.fault.endpoint.matches(method, path) {
            slot.counted += 1;
            if chosen.is_none() && slot.fault.covers(slot.counted) {
                slot.applied += 1;
                chosen = Some(slot.fault.clone());
            }
        }
        if !slot.armed
            && slot
                .fault
                .after
                .as_ref()
                .is_some_and(|after| after.matches(method, path))
        {
            slot.armed = true;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "/environment/b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";

    #[test]
    fn aliases_match_their_routes_only() {
        let statuses = Endpoint::statuses();
        assert!(statuses.matches("GET", &format!("{ENV}/statuses")));
        assert!(!statuses.matches("POST", &format!("{ENV}/statuses")));
        assert!(!statuses.matches("GET", &format!("{ENV}/status")));
        let environment = Endpoint::alias("environment").unwrap();
        assert!(environment.matches("GET", ENV));
        assert!(
            !environment.matches("GET", "/environment/deploymentStatus"),
            "a fixed word is not an id"
        );
        assert!(Endpoint::deployment_status().matches("GET", "/environment/deploymentStatus"));
        let cancels = Endpoint::cancels();
        assert!(cancels.matches("POST", &format!("{ENV}/cancelDeployment")));
        assert!(cancels.matches("POST", "/deploymentQueue/x/cancelDeployment"));
        assert!(!cancels.matches("POST", &format!("{ENV}/service/deploy")));
        let deploys = Endpoint::deploys();
        assert!(deploys.matches("POST", &format!("{ENV}/service/deploy")));
        assert!(deploys.matches("POST", "/job/j/redeploy"));
        assert!(!deploys.matches("GET", "/job/j/status"));
        assert!(Endpoint::reads().matches("GET", "/environment/deploymentStatus"));
        assert!(Endpoint::any().matches("DELETE", "/"));
        assert!(Endpoint::alias("writes").unwrap().matches("PUT", "/a/b"));
        assert!(Endpoint::alias("nope").is_none());
    }

    #[test]
    fn patterns_match_segment_by_segment() {
        let custom: Endpoint = "get /environment/{id}/statuses".parse().unwrap();
        assert!(custom.matches("GET", &format!("{ENV}/statuses")));
        assert!(custom.matches("GET", &format!("{ENV}/statuses/")));
        assert!(!custom.matches("GET", "/environment/statuses"));
        let any_method: Endpoint = "* /job/*/status".parse().unwrap();
        assert!(any_method.matches("GET", "/job/x/status"));
        assert!(!any_method.matches("GET", "/job/x/y/status"));
        let tail: Endpoint = "GET /environment/**".parse().unwrap();
        assert!(tail.matches("GET", "/environment"));
        assert!(tail.matches("GET", &format!("{ENV}/statuses")));
        // Unknown routes: a wildcard matches anything.
        let unknown: Endpoint = "GET /nowhere/*".parse().unwrap();
        assert!(unknown.matches("GET", "/nowhere/known"));
        for bad in ["nope", "GET environment", "G3T /x", "GET /a,b", "GET /a:b"] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_parse_and_round_trip() {
        let fault: Fault = "statuses:429,retry-after=120,x-ratelimit-reset=unix+60,from=2,times=3"
            .parse()
            .unwrap();
        assert_eq!(
            fault,
            Fault::on(Endpoint::statuses())
                .status(429)
                .retry_after("120")
                .rate_limit_reset(HeaderTemplate::UnixTime(60))
                .from(2)
                .times(3)
        );
        let built = [
            Fault::on(Endpoint::deploy()).delay(Duration::from_millis(1500)),
            Fault::on(Endpoint::deploys()).hang().processed(true),
            Fault::on(Endpoint::route("GET", "/environment/{id}/statuses"))
                .body(FaultBody::Oversized(3 << 20))
                .after(Endpoint::deploys()),
            Fault::on(Endpoint::any())
                .status(429)
                .retry_after(HeaderTemplate::HttpDate(-3600)),
            Fault::on(Endpoint::deploy()).redirect(302, "http://x/a,b%c"),
            Fault::on(Endpoint::statuses())
                .header("X-Thing", "Wed, 21 Oct 2015 07:28:00 GMT")
                .processed(false),
            Fault::on(Endpoint::status())
                .body(FaultBody::Endless)
                .times(1),
        ];
        for fault in built {
            let spec = fault.to_string();
            assert_eq!(spec.parse::<Fault>(), Ok(fault), "{spec}");
        }
        for preset in PRESETS {
            for spec in preset.specs {
                let fault: Fault = spec.parse().unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault), "{spec}");
            }
        }
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let error = |spec: &str| spec.parse::<Fault>().unwrap_err().to_string();
        assert!(error("statuses").contains("ENDPOINT:ITEM"));
        assert!(error("statusez:500").contains("unknown endpoint `statusez`"));
        assert!(error("statuses:").contains("does nothing"));
        assert!(error("statuses:times=2").contains("does nothing"));
        assert!(error("statuses:600").contains("200..=599"));
        assert!(error("statuses:100").contains("200..=599"));
        assert!(error("statuses:delay=5").contains("not a duration"));
        assert!(error("statuses:body=huge").contains("unknown body"));
        assert!(error("statuses:body=oversized:lots").contains("not a size"));
        assert!(error("statuses:500,times=0").contains("never applies"));
        assert!(error("statuses:500,from=x").contains("call number"));
        assert!(error("statuses:location=/x,200").contains("3xx"));
        assert!(error("statuses:header=nocolon").contains("NAME:VALUE"));
        assert!(error("statuses:retry-after=%zz").contains("bad escape"));
        assert!(error("statuses:frobnicate").contains("unknown item"));
        assert!(error("statuses:delay").contains("needs"));
    }

    #[test]
    fn processed_defaults() {
        let processed = |spec: &str| spec.parse::<Fault>().unwrap().is_processed();
        assert!(processed("deploy:body=empty"));
        assert!(processed("deploy:delay=1s"));
        assert!(processed("deploy:retry-after=5"));
        assert!(!processed("deploy:502"));
        assert!(!processed("deploy:hang"));
        assert!(!processed("deploy:location=/x"));
        assert!(processed("deploy:502,processed"));
        assert!(!processed("deploy:body=html,unprocessed"));
        assert_eq!(
            "deploy:location=/x".parse::<Fault>().unwrap().status_code(),
            Some(302)
        );
    }

    #[test]
    fn header_values_render_at_answer_time() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            HeaderTemplate::HttpDate(0).render(now),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            HeaderTemplate::HttpDate(-86_400).render(now),
            "Sat, 05 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            HeaderTemplate::HttpDate(i64::MIN).render(now),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(HeaderTemplate::UnixTime(-77).render(now), "784111700");
        assert_eq!(
            HeaderTemplate::from(u64::MAX).render(now),
            "18446744073709551615"
        );
        assert_eq!(
            "date-99999999999999999999999".parse::<HeaderTemplate>(),
            Ok(HeaderTemplate::HttpDate(-i64::MAX))
        );
        assert_eq!(
            "datelike".parse::<HeaderTemplate>(),
            Ok(HeaderTemplate::Text("datelike".into()))
        );
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("99999999999G"), Ok(u64::MAX));
        assert_eq!(format_size(3 << 20), "3MiB");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(format_duration(Duration::from_millis(2500)), "2500ms");
    }

    #[test]
    fn windows_count_matching_calls_only() {
        let deploy = format!("{ENV}/service/deploy");
        let statuses = format!("{ENV}/statuses");
        let mut slots = vec![
            Slot::new("statuses:500,from=2,times=2".parse().unwrap()),
            Slot::new("statuses:503".parse().unwrap()),
            Slot::new("reads:429,after=deploys,times=1".parse().unwrap()),
        ];
        let codes: Vec<Option<u16>> = [
            ("GET", statuses.as_str()),
            ("GET", "/environment/deploymentStatus"),
            ("GET", statuses.as_str()),
            ("POST", deploy.as_str()),
            ("GET", statuses.as_str()),
            ("GET", statuses.as_str()),
            ("GET", "/environment/deploymentStatus"),
        ]
        .iter()
        .map(|(method, path)| select(&mut slots, method, path).and_then(|f| f.status))
        .collect();
        assert_eq!(
            codes,
            [
                Some(503), // 1st statuses: before the window of the first fault
                None,      // not a statuses call; the third fault is not armed yet
                Some(500), // 2nd statuses
                None,      // the deploy arms the third fault, not counted by it
                Some(500), // 3rd statuses: still in the first fault's window (2 calls)
                Some(503), // 4th: past it; the third fault counted it but the second came first
                None,      // the third fault's one call was the 5th statuses
            ]
        );
        assert_eq!(
            (slots[0].counted, slots[0].applied, slots[2].applied),
            (4, 2, 0)
        );
        slots[0].restart();
        assert_eq!(slots[0].counted, 0);
    }
}
