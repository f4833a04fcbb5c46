//! Where the deployed services answer: one `GET /environment/{id}/link`, turned into the `url` and
//! `urls` outputs (and GitLab's `QOVERY_URL`), for every command that deploys services (`deploy`,
//! and `preview` on its preview environment).
//!
//! - `urls`: every service of the environment that has a link, name → one URL, the listed services
//!   first in their order, then the others in the environment's order (a service the service list
//!   does not name goes last, by its id).
//! - `url`: the URL of the first *listed* service that has one.
//!
//! A service with several links gets the one on the root of its domain (`is_default`), the user's
//! own domain before Qovery's (`is_qovery_domain: false` first: it is the address the user gave
//! out), then the API's order. A link that is not a plain http(s) URL ([`Link::web_url`]: no
//! whitespace, quotes, brackets, backticks or `|`, at most 2048 bytes), has no host or carries
//! credentials is outside text gone wrong: it is left out and named in a warning.
//!
//! Service names stay as the API wrote them in `urls` (step outputs are data; the JSON encoding
//! keeps them on one line), and every sink neutralises them ([`crate::neutral`]): the log lines
//! here escape them with [`neutral::inline`] before composing.

use reqwest::Url;

use crate::api::Client;
use crate::api::types::{Link, ServiceInfo, plain_web_url};
use crate::ci::Ci;
use crate::extra::{self, Skipped};
use crate::neutral;
use crate::plan::Target;
use crate::report::Report;
use crate::signal::Shutdown;

/// What the links say, ready for the outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The `url` output.
    pub url: Option<String>,
    /// The `urls` output: `(service name, URL)`, in the order described in the module docs.
    pub urls: Vec<(String, String)>,
    /// Links left out: the service's name (as the API wrote it) and why.
    pub rejected: Vec<(String, &'static str)>,
}

/// `raw` (trimmed) when it is a plain http(s) URL with a host and no credentials: fit to print,
/// to follow and to put in an output.
pub fn valid_url(raw: &str) -> Result<&str, &'static str> {
    let url = plain_web_url(raw)
        .ok_or("not a plain http(s) URL (another scheme, whitespace, quotes or brackets)")?;
    let parsed = Url::parse(url).map_err(|_| "not a URL")?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("carries credentials");
    }
    Ok(url)
}

/// Picks the outputs from the API's `links` (see the module docs). `services` names the ids and
/// gives the environment's order; `targets` are the listed services, in order.
pub fn pick(links: &[Link], services: &[ServiceInfo], targets: &[Target]) -> Links {
    let name_of = |id: &str| {
        services
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string())
    };
    let mut chosen: Vec<(String, &Link, &str)> = Vec::new();
    let mut rejected = Vec::new();
    for link in links {
        let (Some(id), Some(raw)) = (link.service_id.as_deref(), link.url.as_deref()) else {
            continue;
        };
        let url = match valid_url(raw) {
            Ok(url) => url,
            Err(why) => {
                rejected.push((name_of(id), why));
                continue;
            }
        };
        match chosen
            .iter_mut()
            .find(|(s, _, _)| s.eq_ignore_ascii_case(id))
        {
            Some(best) if rank(link) < rank(best.1) => *best = (id.to_string(), link, url),
            Some(_) => {}
            None => chosen.push((id.to_string(), link, url)),
        }
    }
    let url_of = |id: &str| {
        chosen
            .iter()
            .find(|(s, _, _)| s.eq_ignore_ascii_case(id))
            .map(|(_, _, url)| url.to_string())
    };
    // Listed first, then the environment's other services, then ids no service list names.
    let position = |id: &str| {
        targets
            .iter()
            .position(|t| t.id.eq_ignore_ascii_case(id))
            .map(|i| (0, i))
            .or_else(|| {
                services
                    .iter()
                    .position(|s| s.id.eq_ignore_ascii_case(id))
                    .map(|i| (1, i))
            })
            .unwrap_or((2, 0))
    };
    let mut ordered: Vec<&(String, &Link, &str)> = chosen.iter().collect();
    ordered.sort_by_key(|(id, _, _)| position(id));
    Links {
        url: targets.iter().find_map(|t| url_of(&t.id)),
        urls: ordered
            .into_iter()
            .map(|(id, _, url)| (name_of(id), url.to_string()))
            .collect(),
        rejected,
    }
}

/// Lower is better: default links first, the user's own domain before Qovery's.
fn rank(link: &Link) -> (bool, bool) {
    (
        link.is_default != Some(true),
        link.is_qovery_domain != Some(false),
    )
}

/// Reads the links (one request, on the extras' budget) and puts them in the report.
///
/// Errors: none; a link read that fails is one warning, and the outputs stay empty.
pub async fn publish(
    client: Result<Client, Skipped>,
    shutdown: &mut Shutdown,
    ci: &Ci,
    environment_id: &str,
    services: &[ServiceInfo],
    targets: &[Target],
    report: &mut Report,
) -> Option<Links> {
    let read = match client {
        Ok(client) => extra::read(shutdown, client.environment_links(environment_id)).await,
        Err(skipped) => Err(skipped),
    };
    let links: Vec<Link> = match read {
        Ok(links) => links,
        Err(why) => {
            ci.warning(&format!(
                "could not read the services' links, so the url and urls outputs are empty: {why}"
            ));
            return None;
        }
    };
    let links = pick(&links, services, targets);
    for (name, why) in &links.rejected {
        // Redacted, then cut, then escaped: a name is no reason for a long warning.
        let name = neutral::excerpt(ci.redactor(), name, 64);
        ci.warning(&format!("ignoring the link of service {name}: {why}"));
    }
    report.url.clone_from(&links.url);
    report.urls.clone_from(&links.urls);
    if let Some(url) = &links.url {
        ci.line(&format!("url: {}", neutral::inline(url)));
    }
    if links.urls.len() > 1 {
        let all: Vec<String> = links
            .urls
            .iter()
            .map(|(name, url)| format!("{} {}", neutral::inline(name), neutral::inline(url)))
            .collect();
        ci.line(&format!("links: {}", all.join(", ")));
    }
    Some(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::ServiceKind;
    use crate::plan::VersionField;

    fn link(id: &str, url: &str, default: bool, qovery: bool) -> Link {
        Link {
            service_id: Some(id.into()),
            service_type: Some("APPLICATION".into()),
            url: Some(url.into()),
            is_default: Some(default),
            is_qovery_domain: Some(qovery),
        }
    }

    fn service(id: &str, name: &str) -> ServiceInfo {
        serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
    }

    fn target(id: &str) -> Target {
        Target {
            id: id.into(),
            name: id.into(),
            kind: ServiceKind::Application,
            field: VersionField::GitCommit,
            version: None,
        }
    }

    #[test]
    fn url_is_the_first_listed_service_with_a_link_and_its_best_link() {
        let links = [
            link("A", "https://p8080-za.qovery.io", false, true),
            link("b", "https://zb.qovery.io", true, true),
            link("a", "https://za.qovery.io", true, true),
            link("a", "https://api.acme.com", true, false),
            link("c", "https://zc.qovery.io", true, true),
        ];
        let services = [service("a", "api"), service("b", "web")];
        let picked = pick(&links, &services, &[target("x"), target("b"), target("a")]);
        assert_eq!(picked.url.as_deref(), Some("https://zb.qovery.io"));
        // Listed first (web, then api), then the others in the environment's order, then an id
        // the service list does not name.
        let services = [
            service("a", "api"),
            service("b", "web"),
            service("c", "cron"),
        ];
        let links = [
            link("z", "https://zz.qovery.io", true, true),
            links[0].clone(),
            links[1].clone(),
            links[2].clone(),
            links[3].clone(),
            links[4].clone(),
        ];
        let picked = pick(&links, &services, &[target("x"), target("b"), target("a")]);
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            picked.urls,
            pairs(&[
                ("web", "https://zb.qovery.io"),
                ("api", "https://api.acme.com"),
                ("cron", "https://zc.qovery.io"),
                ("z", "https://zz.qovery.io"),
            ])
        );
        let none = pick(&links, &services, &[target("x")]);
        assert_eq!(none.url, None);
        assert_eq!(none.urls.len(), 4);
    }

    #[test]
    fn links_that_are_no_http_url_are_left_out_and_named() {
        let links = [
            link("a", "javascript:alert(1)", true, true),
            link("a", "https://ok.example/x", false, true),
            link("b", "https://x.example/\n::add-mask::x", true, true),
            link("c", "ftp://files.example", true, true),
            link("d", "https://user:pw@d.example", true, true),
            link("e", "/relative", true, true),
            link("f", "https://f.example/x##[add-mask]y", true, true),
        ];
        let picked = pick(&links, &[], &[target("a")]);
        assert_eq!(picked.url.as_deref(), Some("https://ok.example/x"));
        assert_eq!(picked.urls.len(), 1);
        assert_eq!(picked.rejected.len(), 6, "{:?}", picked.rejected);
        assert_eq!(picked.rejected[0].0, "a");
        assert!(picked.rejected[0].1.starts_with("not a plain http(s) URL"));
        assert!(
            picked
                .rejected
                .iter()
                .any(|r| *r == ("d".to_string(), "carries credentials"))
        );
        assert!(valid_url(&format!("https://x.example/{}", "a".repeat(2100))).is_err());
    }
}
