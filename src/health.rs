//! The optional health check (`health-check-path`): once the deployment is `DEPLOYED`,
//! `GET <url output> + <path>` until it answers 2xx, within what is left of the run's budget.
//!
//! - Attempts: at most [`MAX_ATTEMPTS`], each with a timeout of at most [`ATTEMPT_TIMEOUT`] (and
//!   never past the deadline), spaced by jittered exponential backoff from 1 s to 10 s; a pause that
//!   would leave less than [`MIN_ATTEMPT_WINDOW`] before the deadline is not taken.
//! - Not healthy in time is a failure (exit 1) that says "deployed but not answering" with the last
//!   status seen. A signal during the check ends the run as cancelled (exit 5).
//! - The requests go out on an HTTP client of their own, which has never seen the Qovery token:
//!   the service's URL comes from the API, and nothing of ours may leak to it. Redirects are
//!   followed (at most 5); the body is not read. It trusts what the API client trusts (the
//!   embedded roots and `SSL_CERT_FILE` / `SSL_CERT_DIR`), and reaches a loopback service directly,
//!   never through a proxy.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::ci::Ci;
use crate::inputs::{ExtraRoots, is_loopback_url};
use crate::links::Links;
use crate::neutral::{self, Redactor};
use crate::report::{Report, RunResult};
use crate::signal::Shutdown;

/// The most a single health request may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most health requests one run sends.
pub const MAX_ATTEMPTS: usize = 30;
/// An attempt after a pause is sent only when at least this much of the run's budget is left
/// for it.
pub const MIN_ATTEMPT_WINDOW: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!(
    "qovery-deploy/",
    env!("CARGO_PKG_VERSION"),
    " (health check)"
);

/// How a health check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// A 2xx answer.
    Healthy { status: u16, attempts: usize },
    /// No 2xx before the deadline or the last attempt; `last` is the last status seen.
    NotAnswering { last: String, attempts: usize },
    /// A signal arrived.
    Interrupted(&'static str),
}

/// `url` + `path`, without a doubled `/`.
pub fn target(url: &str, path: &str) -> String {
    format!("{}{path}", url.trim_end_matches('/'))
}

/// The health client for `url`: no default header at all (no `Authorization`), the embedded roots
/// and `extra_roots`, no proxy for a loopback `url`.
fn http_client(url: &str, extra_roots: &ExtraRoots) -> Result<reqwest::Client, String> {
    let loopback = reqwest::Url::parse(url).is_ok_and(|u| is_loopback_url(&u));
    crate::api::client_builder(USER_AGENT, extra_roots, CONNECT_TIMEOUT, loopback)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// What a failed attempt saw, in a few words: redacted, then cut, then escaped
/// ([`neutral::excerpt`]).
fn describe(error: &reqwest::Error, redactor: &Redactor) -> String {
    if error.is_timeout() {
        return "no answer in time".to_string();
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    neutral::excerpt(redactor, &message, 300)
}

/// Sends `GET url` until a 2xx, the deadline, [`MAX_ATTEMPTS`] or a signal. Prints a line when
/// what it sees changes.
pub async fn check(
    url: &str,
    extra_roots: &ExtraRoots,
    deadline: Instant,
    shutdown: &mut Shutdown,
    ci: &Ci,
) -> Health {
    let client = match http_client(url, extra_roots) {
        Ok(client) => client,
        Err(why) => {
            return Health::NotAnswering {
                last: why,
                attempts: 0,
            };
        }
    };
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(10))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(MAX_ATTEMPTS - 1)
        .build();
    let mut last = "no time was left in the timeout for a request".to_string();
    let mut attempts = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        attempts += 1;
        let request = client.get(url).timeout(ATTEMPT_TIMEOUT.min(left)).send();
        let seen = match shutdown.race(request).await {
            Err(signal) => return Health::Interrupted(signal),
            Ok(Ok(response)) if response.status().is_success() => {
                return Health::Healthy {
                    status: response.status().as_u16(),
                    attempts,
                };
            }
            Ok(Ok(response)) => format!("HTTP {}", response.status().as_u16()),
            Ok(Err(error)) => describe(&error, ci.redactor()),
        };
        if seen != last {
            ci.progress(&format!("health: {url} answered {seen}"));
        }
        last = seen;
        let Some(delay) = delays.next() else { break };
        // No pause that would leave the next attempt a sliver of time: it would only see its own
        // timeout, and hide the status seen before.
        if Instant::now() + delay + MIN_ATTEMPT_WINDOW >= deadline {
            break;
        }
        if let Err(signal) = shutdown.race(tokio::time::sleep(delay)).await {
            return Health::Interrupted(signal);
        }
    }
    Health::NotAnswering { last, attempts }
}

/// Runs the health check of a successful deploy and records its verdict in `report`. `links` is
/// `None` when they could not be read (a warning already said so; the check is then skipped and
/// the result stays the deployment's).
pub async fn gate(
    path: &str,
    links: Option<&Links>,
    extra_roots: &ExtraRoots,
    deadline: Instant,
    shutdown: &mut Shutdown,
    ci: &Ci,
    report: &mut Report,
) {
    let Some(links) = links else {
        ci.warning("health check not run: the services' links could not be read");
        return;
    };
    let Some(url) = &links.url else {
        report.result = RunResult::Failure;
        report.reason = Some(format!(
            "deployed, but the health check of {path} cannot run: none of the listed services has a public link\n  hint: list a service that has a public port (its link is the url output), or remove health-check-path"
        ));
        return;
    };
    let url = target(url, path);
    let started = Instant::now();
    ci.progress(&format!("health: checking {url}"));
    let verdict = check(&url, extra_roots, deadline, shutdown, ci).await;
    let seconds = started.elapsed().as_secs();
    match verdict {
        Health::Healthy { status, attempts } => ci.progress(&format!(
            "health: {url} answered HTTP {status} (attempt {attempts}, {seconds}s)"
        )),
        Health::NotAnswering { last, attempts } => {
            report.result = RunResult::Failure;
            report.reason = Some(format!(
                "deployed but not answering: GET {url} never answered 2xx; last seen: {last} ({attempts} attempts in {seconds}s)"
            ));
        }
        Health::Interrupted(signal) => {
            report.result = RunResult::Cancelled;
            report.interrupted_by = Some(signal);
            report.reason = Some(format!(
                "the CI job was cancelled ({signal}) during the health check; the deployment itself ended DEPLOYED"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_appended_once() {
        assert_eq!(
            target("https://a.example/", "/healthz"),
            "https://a.example/healthz"
        );
        assert_eq!(
            target("https://a.example", "/h?x=1"),
            "https://a.example/h?x=1"
        );
        assert_eq!(
            target("https://a.example/app", "/h"),
            "https://a.example/app/h"
        );
    }
}
