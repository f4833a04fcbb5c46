//! Parsers of single input values: UUIDs, service lists, versions, enums, booleans, durations and
//! base URLs. Each takes the input's name, so its error says which input was wrong.

use std::time::Duration;

use uuid::Uuid;

use super::InputError;
use super::config::{Entry, Reference};
use super::version::{self, VersionForm};
use crate::kind::ServiceKind;

pub(super) fn parse_uuid(input: &str, value: &str) -> Result<Uuid, InputError> {
    // Only the hyphenated form: `Uuid::parse_str` also takes braces, URNs and 32 bare hex digits,
    // none of which is what the console shows.
    if value.len() == 36 {
        if let Ok(id) = Uuid::try_parse(value) {
            return Ok(id);
        }
    }
    Err(InputError::new(input, format!("`{value}` is not a UUID"))
        .hint("expected the form 8-4-4-4-12 hex digits, e.g. 3d5b5d1c-5a45-4b8e-9f0e-2f4f8c1a0b01"))
}

fn looks_like_uuid(value: &str) -> bool {
    value.len() == 36 && value.chars().filter(|c| *c == '-').count() == 4
}

/// Splits a list on commas and newlines; `name=VALUE` overrides the version of that entry.
pub fn parse_entries(kind: ServiceKind, value: &str) -> Result<Vec<Entry>, InputError> {
    let input = kind.input();
    let mut entries = Vec::new();
    for raw in value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (target, version) = match raw.split_once('=') {
            Some((target, version)) => (target.trim(), Some(version.trim())),
            None => (raw, None),
        };
        if target.is_empty() {
            return Err(
                InputError::new(input, "the entry has no service before `=`")
                    .entry(raw)
                    .hint("write `NAME=VERSION` or `ID=VERSION`"),
            );
        }
        if let Some(version) = version {
            if kind == ServiceKind::Database {
                return Err(InputError::new(input, "databases take no version")
                    .entry(raw)
                    .hint("list the database by id or name alone"));
            }
            check_version(input, Some(raw), version)?;
            if let Err(rules) = version::check(VersionForm::for_kind(kind), version) {
                return Err(InputError::new(
                    input,
                    format!("the version `{version}` is not {rules}"),
                )
                .entry(raw)
                .hint(format!(
                    "write one `=` then the version, e.g. `{}`",
                    example(kind)
                )));
            }
        }
        let reference = if looks_like_uuid(target) {
            Reference::Id(parse_uuid(input, target).map_err(|e| e.entry(raw))?)
        } else {
            Reference::Name(target.to_string())
        };
        entries.push(Entry {
            kind,
            raw: raw.to_string(),
            reference,
            version: version.map(str::to_string),
        });
    }
    Ok(entries)
}

/// An entry with a version, for hints.
fn example(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Container => "worker=1.4.2",
        ServiceKind::Job => "migrate=1.4.2 (an image tag) or report=3f8a1c2e9b7d (a commit)",
        ServiceKind::Helm => "ingress=4.11.2 (a chart version) or charts=3f8a1c2e9b7d (a commit)",
        _ => "api=3f8a1c2e9b7d (a commit SHA, 7 to 40 hex digits)",
    }
}

/// `value` of the input `input` in `form` (`commit-sha`, `image-tag`, `chart-version`).
///
/// Errors: the input, the value and the rule it breaks.
pub(super) fn check_form(input: &str, form: VersionForm, value: &str) -> Result<(), InputError> {
    check_version(input, None, value)?;
    if form.fits(value) {
        return Ok(());
    }
    Err(
        InputError::new(input, format!("`{value}` is not {}", form.rule()))
            .hint(match form {
                VersionForm::Commit => "give the full commit SHA (GITHUB_SHA and CI_COMMIT_SHA are used when it is not set)",
                VersionForm::ImageTag => "give the image's tag alone, without the image name or `:`",
                VersionForm::ChartVersion => "give the chart's version as in its Chart.yaml, e.g. 4.11.2",
            }),
    )
}

/// A version (commit, tag, chart version) is one token: no spaces, not empty.
pub(super) fn check_version(
    input: &str,
    entry: Option<&str>,
    value: &str,
) -> Result<(), InputError> {
    let problem = if value.is_empty() {
        "the version after `=` is empty"
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "the version contains whitespace"
    } else {
        return Ok(());
    };
    let error = InputError::new(input, problem)
        .hint("a commit SHA, image tag or chart version, e.g. `api=3f8a1c2`");
    Err(match entry {
        Some(entry) => error.entry(entry),
        None => error,
    })
}

pub(super) fn parse_enum<T: Copy>(
    input: &str,
    value: &str,
    choices: &[(&str, T)],
) -> Result<T, InputError> {
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<_> = choices.iter().map(|(n, _)| *n).collect();
            InputError::new(input, format!("unknown value `{value}`"))
                .hint(format!("use one of: {}", names.join(", ")))
        })
}

pub fn parse_bool(input: &str, value: Option<&str>, default: bool) -> Result<bool, InputError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(
            InputError::new(input, format!("`{value}` is not a boolean"))
                .hint("use `true` or `false`"),
        ),
    }
}

/// A whole number from 0 to `max`.
pub(super) fn parse_count(input: &str, value: &str, max: usize) -> Result<usize, InputError> {
    match value.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(InputError::new(
            input,
            format!("`{value}` is more than the maximum, {max}"),
        )),
        Err(_) => Err(InputError::new(
            input,
            format!("`{value}` is not a whole number from 0 to {max}"),
        )),
    }
}

/// A path to append to a service's URL: starts with `/`, at most 1024 characters, no whitespace,
/// control character or `#` (a query string is allowed).
pub(super) fn parse_url_path(input: &str, value: &str) -> Result<String, InputError> {
    let problem = if !value.starts_with('/') {
        "must start with `/`"
    } else if value.len() > 1024 {
        "is longer than 1024 characters"
    } else if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        "contains whitespace, a control character or `#`"
    } else {
        return Ok(value.to_string());
    };
    Err(InputError::new(input, format!("`{value}` {problem}"))
        .hint("a path such as /healthz or /api/health?ready=1"))
}

/// `90` (seconds), `90s`, `15m`, `1h`, `1h30m`, `2m30s`.
pub fn parse_duration(input: &str, value: &str) -> Result<Duration, InputError> {
    let bad = || {
        InputError::new(input, format!("`{value}` is not a duration"))
            .hint("write it like 90, 90s, 15m, 1h or 1h30m")
    };
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if value
        .strip_prefix('-')
        .is_some_and(|rest| parse_duration(input, rest).is_ok())
    {
        return Err(InputError::new(
            input,
            format!("`{value}` is negative; a duration cannot be"),
        )
        .hint(format!("write it without the `-`, e.g. `{}`", &value[1..])));
    }
    if value.strip_suffix("ms").is_some_and(digits) {
        let hint = if input == "poll-interval" {
            "the minimum is 1s: write `1s`".to_string()
        } else {
            "write whole seconds, e.g. `1s` or `90s`".to_string()
        };
        return Err(InputError::new(
            input,
            format!("`{value}` is in milliseconds, which are not supported"),
        )
        .hint(hint));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_unit = u64::MAX;
    for c in value.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        // Units must be given at most once each, largest first: `1h30m`, not `30m1h` or `1m1m`.
        if number.is_empty() || unit >= last_unit {
            return Err(bad());
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
        last_unit = unit;
    }
    if !number.is_empty() || last_unit == u64::MAX {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A base URL (`api-url`, `console-url`), normalised by the WHATWG URL parser and without a
/// trailing slash. Refused: anything but `http`/`https`; credentials (`user:pw@`); a query (`?…`)
/// or a fragment (`#…`), which every API path would end up inside; whitespace or control
/// characters (which the URL parser would silently drop); plain `http://` to a host that is not
/// loopback (the token must not cross a network in clear text).
pub(super) fn parse_base_url(input: &str, value: &str) -> Result<String, InputError> {
    let shown = hide_userinfo(value);
    let bad = |problem: &str| {
        InputError::new(input, format!("`{shown}` {problem}")).hint(
            "use an https:// URL such as https://api.qovery.com (plain http:// only for loopback hosts)",
        )
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or control characters"));
    }
    let url = reqwest::Url::parse(value).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(bad("is not an http(s) URL")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("carries credentials"));
    }
    if url.query().is_some() {
        return Err(bad(
            "has a query (`?…`): every API path would end up inside it",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad(
            "has a fragment (`#…`): every API path would end up inside it",
        ));
    }
    if url.host().is_none() {
        return Err(bad("has no host"));
    }
    if !secure && !is_loopback_url(&url) {
        return Err(bad("uses plain http to a host that is not loopback"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `value` with the credentials of its authority (`user:password@`) replaced by `***@`, for
/// messages: a URL refused for carrying a password must not print it. Works on the text, so a
/// value the URL parser refuses is hidden too.
fn hide_userinfo(value: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.into();
    };
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]).into(),
        None => value.into(),
    }
}

/// `url` (from [`parse_base_url`]) when it has no path: the API's paths (`/environment/…`,
/// `/organization/…`) start at its root, so a path such as `/api` only turns every call into a
/// 404 that looks like a wrong id.
pub(super) fn no_path(input: &str, url: String) -> Result<String, InputError> {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    match rest.split_once('/') {
        Some((authority, path)) => {
            let scheme = &url[..url.len() - rest.len()];
            Err(
                InputError::new(input, format!("`{url}` has a path (`/{path}`)")).hint(format!(
                    "give the API's root, without a path: `{scheme}{authority}` (the default is https://api.qovery.com)"
                )),
            )
        }
        None => Ok(url),
    }
}

/// Whether `url`'s host is loopback: `localhost`, `127.0.0.0/8` or `::1`. Loopback is the only
/// place plain `http` may go, and it never goes through a proxy.
pub fn is_loopback_url(url: &reqwest::Url) -> bool {
    // The URL parser has normalised the host: IPv4 in dotted decimal, IPv6 in brackets.
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_refused_for_its_credentials_never_shows_them() {
        for (value, shown) in [
            (
                "https://u:UserInfoPassw0rd@api.qovery.com",
                "https://***@api.qovery.com",
            ),
            (
                "https://UserInfoPassw0rd@api.qovery.com/x",
                "https://***@api.qovery.com/x",
            ),
            ("https://a@b:Passw0rd@h", "https://***@h"),
            ("http://u:Passw0rd@[::1]:80?x", "http://***@[::1]:80?x"),
        ] {
            let err = super::parse_base_url("api-url", value)
                .unwrap_err()
                .to_string();
            assert!(!err.contains("Passw0rd"), "{err}");
            assert!(err.contains(shown), "{err}");
        }
        // Unparseable too.
        let err = super::parse_base_url("api-url", "https://u:Passw0rd@:x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("Passw0rd"), "{err}");
    }

    use super::*;

    #[test]
    fn durations() {
        let d = |v| parse_duration("timeout", v).map(|d| d.as_secs());
        assert_eq!(d("90"), Ok(90));
        assert_eq!(d("90s"), Ok(90));
        assert_eq!(d("15m"), Ok(900));
        assert_eq!(d("1h"), Ok(3600));
        assert_eq!(d("1h30m"), Ok(5400));
        assert_eq!(d("2m30s"), Ok(150));
        for bad in [
            "",
            "m",
            "1x",
            "30m1h",
            "1m1m",
            "1.5h",
            "-1",
            "1h 30m",
            "99999999999999999999h",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_api_url_with_a_path_is_refused_naming_the_root() {
        let err = no_path(
            "api-url",
            parse_base_url("api-url", "http://localhost:8788/api/").unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `api-url`: `http://localhost:8788/api` has a path (`/api`)\n  hint: give the API's root, without a path: `http://localhost:8788` (the default is https://api.qovery.com)"
        );
        assert_eq!(
            no_path("api-url", "https://api.qovery.com".into()).as_deref(),
            Ok("https://api.qovery.com")
        );
    }

    #[test]
    fn negative_and_millisecond_durations_say_what_is_wrong() {
        let err = parse_duration("poll-interval", "500ms").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `poll-interval`: `500ms` is in milliseconds, which are not supported\n  hint: the minimum is 1s: write `1s`"
        );
        let err = parse_duration("timeout", "-5m").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `timeout`: `-5m` is negative; a duration cannot be\n  hint: write it without the `-`, e.g. `5m`"
        );
        assert!(
            parse_duration("timeout", "-x")
                .unwrap_err()
                .problem
                .contains("is not a duration")
        );
    }

    #[test]
    fn entries_split_on_commas_and_newlines_with_overrides() {
        let entries = parse_entries(
            ServiceKind::Container,
            "worker=1.4.2,\n c1000000-0000-4000-8000-000000000001 , ,api",
        )
        .unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].reference, Reference::Name("worker".into()));
        assert_eq!(entries[0].version.as_deref(), Some("1.4.2"));
        assert!(matches!(entries[1].reference, Reference::Id(_)));
        assert_eq!(entries[2].version, None);
    }

    #[test]
    fn bad_entries_name_input_and_entry() {
        let err = parse_entries(
            ServiceKind::Application,
            "a1000000-0000-4000-8000-00000000000z",
        )
        .unwrap_err();
        assert_eq!(
            (err.input.as_str(), err.entry.as_deref()),
            ("applications", Some("a1000000-0000-4000-8000-00000000000z"))
        );
        let err = parse_entries(ServiceKind::Application, "api=").unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("api="));
        assert!(parse_entries(ServiceKind::Database, "pg=1").is_err());
        assert!(parse_entries(ServiceKind::Job, "=1").is_err());
    }

    #[test]
    fn counts_and_paths() {
        assert_eq!(parse_count("log-lines", "0", 1000), Ok(0));
        assert_eq!(parse_count("log-lines", "1000", 1000), Ok(1000));
        for bad in ["1001", "-1", "3.5", "many", ""] {
            let err = parse_count("log-lines", bad, 1000).unwrap_err();
            assert_eq!(err.input, "log-lines", "{bad}");
        }
        assert_eq!(
            parse_url_path("p", "/healthz?ready=1").as_deref(),
            Ok("/healthz?ready=1")
        );
        for bad in ["healthz", "/a b", "/a#b", "/a\nb", "/\u{7f}"] {
            assert!(parse_url_path("p", bad).is_err(), "{bad:?}");
        }
        assert!(parse_url_path("p", &format!("/{}", "a".repeat(1024))).is_err());
    }

    #[test]
    fn loopback_http_is_allowed() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:1/",
            "http://[::1]:9",
            "https://api.qovery.com/",
        ] {
            assert!(parse_base_url("api-url", url).is_ok(), "{url}");
        }
        assert_eq!(
            parse_base_url("api-url", "http://localhost:1/").unwrap(),
            "http://localhost:1"
        );
        assert_eq!(
            parse_base_url("api-url", "HTTPS://API.Qovery.com/v1/").unwrap(),
            "https://api.qovery.com/v1"
        );
        for (url, problem) in [
            ("http://10.0.0.1", "not loopback"),
            ("http://localhost.evil.example", "not loopback"),
            ("https://user:pw@api.qovery.com", "credentials"),
            ("https://api.qovery.com?x", "query"),
            ("https://api.qovery.com/?", "query"),
            ("https://api.qovery.com#x", "fragment"),
            ("https://api.qovery.com/#", "fragment"),
            ("https://api.qo\tvery.com", "whitespace"),
            ("ftp://localhost", "http(s)"),
            ("api.qovery.com", "not a URL"),
        ] {
            let err = parse_base_url("api-url", url).unwrap_err();
            assert!(err.problem.contains(problem), "{url}: {err}");
        }
    }
}
