//! The name of a preview environment: the `preview-name` input, else one derived from the pull or
//! merge request the pipeline runs for.
//!
//! - GitHub: on a `pull_request*` event (`GITHUB_EVENT_NAME`), `pr-<number>`, the number read from
//!   the event file (`GITHUB_EVENT_PATH`: `pull_request.number`, else the payload's `number`).
//! - GitLab: in a merge request pipeline, `mr-<CI_MERGE_REQUEST_IID>`.
//!
//! The event file is outside text: only a positive integer is taken from it, and it is read as a
//! stream (serde skips every other field without keeping it) from at most [`EVENT_FILE_LIMIT`]
//! bytes, so a large pull request body costs no memory.

use std::fmt;
use std::io::Read;

use serde::Deserialize;

use super::{InputError, Invocation};

/// GitHub caps webhook payloads at 25 MB; nothing beyond that is read.
pub const EVENT_FILE_LIMIT: u64 = 25 * 1024 * 1024;
/// Longest name accepted (Qovery documents no limit; this keeps names printable in one line).
pub const MAX_NAME_CHARS: usize = 255;

/// A preview environment's name and where it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewName {
    pub name: String,
    pub source: NameSource,
}

/// Where a [`PreviewName`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    /// The `preview-name` input.
    Input,
    /// The pull request number of a GitHub `pull_request*` event.
    GitHubPullRequest(u64),
    /// `CI_MERGE_REQUEST_IID` of a GitLab merge request pipeline.
    GitLabMergeRequest(u64),
}

impl fmt::Display for NameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameSource::Input => f.write_str("from `preview-name`"),
            NameSource::GitHubPullRequest(n) => write!(f, "from pull request #{n}"),
            NameSource::GitLabMergeRequest(n) => write!(f, "from merge request !{n}"),
        }
    }
}

/// The name for `preview` and `preview-delete`: the input, else the pull or merge request's.
///
/// Errors (input `preview-name`): a name that is too long or holds control characters; an event
/// file that cannot be read or holds no pull request number; a `CI_MERGE_REQUEST_IID` that is not a
/// number; no name at all outside a pull or merge request.
pub fn resolve(given: Option<&str>, invocation: &Invocation) -> Result<PreviewName, InputError> {
    if let Some(name) = given {
        return check(name).map(|name| PreviewName {
            name,
            source: NameSource::Input,
        });
    }
    if let Some(number) = github_pull_request(invocation)? {
        return Ok(PreviewName {
            name: format!("pr-{number}"),
            source: NameSource::GitHubPullRequest(number),
        });
    }
    if let Some(iid) = invocation.var("CI_MERGE_REQUEST_IID") {
        let number = positive(iid).ok_or_else(|| {
            InputError::new(
                "preview-name",
                format!(
                    "CI_MERGE_REQUEST_IID is `{}`, not a merge request number",
                    printable(iid)
                ),
            )
            .hint("set `preview-name` explicitly")
        })?;
        return Ok(PreviewName {
            name: format!("mr-{number}"),
            source: NameSource::GitLabMergeRequest(number),
        });
    }
    Err(InputError::new(
        "preview-name",
        "not set, and this is no pull or merge request pipeline to name the preview after",
    )
    .hint(
        "set `preview-name` (for example `pr-${{ github.event.number }}` or `$CI_COMMIT_REF_SLUG`); \
         the default `pr-<number>` needs a GitHub pull_request event, `mr-<iid>` a GitLab merge request pipeline",
    ))
}

/// A name as Qovery takes it: non-empty, one printable line, at most [`MAX_NAME_CHARS`].
fn check(name: &str) -> Result<String, InputError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(InputError::new(
            "preview-name",
            "contains control characters (a line break?)",
        )
        .hint("give one line of text, such as `pr-42`"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(InputError::new(
            "preview-name",
            format!("is longer than {MAX_NAME_CHARS} characters"),
        )
        .hint("use a short name, such as `pr-42`"));
    }
    if name.is_empty() {
        return Err(InputError::new("preview-name", "is empty"));
    }
    Ok(name.to_string())
}

fn positive(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| *n > 0)
}

/// Outside text, for a message: at most 40 characters, control characters replaced.
fn printable(text: &str) -> String {
    text.chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The fields of a pull request event that name its number; every other field is skipped.
#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    number: Option<serde_json::Value>,
    #[serde(default)]
    pull_request: Option<PullRequest>,
}

#[derive(Deserialize)]
struct PullRequest {
    #[serde(default)]
    number: Option<serde_json::Value>,
}

/// The pull request number of a GitHub `pull_request*` event; `None` on other events or outside
/// GitHub Actions.
fn github_pull_request(invocation: &Invocation) -> Result<Option<u64>, InputError> {
    let is_pull_request = invocation
        .var("GITHUB_EVENT_NAME")
        .is_some_and(|event| event.starts_with("pull_request"));
    if !is_pull_request {
        return Ok(None);
    }
    let event = invocation.var("GITHUB_EVENT_NAME").unwrap_or_default();
    let unreadable = |why: String| {
        InputError::new(
            "preview-name",
            format!("not set, and the `{event}` event file gives no pull request number: {why}"),
        )
        .hint("set `preview-name` explicitly, for example `pr-${{ github.event.number }}`")
    };
    let Some(path) = invocation.var("GITHUB_EVENT_PATH") else {
        return Err(unreadable("GITHUB_EVENT_PATH is not set".into()));
    };
    let file = std::fs::File::open(path)
        .map_err(|e| unreadable(format!("cannot open {}: {e}", printable(path))))?;
    let reader = std::io::BufReader::new(file.take(EVENT_FILE_LIMIT));
    let event: Event = serde_json::from_reader(reader)
        .map_err(|e| unreadable(format!("it is not a JSON event ({e})")))?;
    let number = event
        .pull_request
        .and_then(|pr| pr.number)
        .or(event.number)
        .ok_or_else(|| unreadable("it has no `pull_request.number`".into()))?;
    number
        .as_u64()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| unreadable("its pull request number is not a positive integer".into()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::invocation;
    use super::*;

    fn event_file(name: &str, body: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("qovery-deploy-preview-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn the_input_wins_and_is_checked() {
        let github = event_file("given.json", r#"{"number": 7}"#);
        let inv = invocation(
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", &github),
                ("CI_MERGE_REQUEST_IID", "3"),
            ],
            &[],
        );
        let name = resolve(Some("review-x"), &inv).unwrap();
        assert_eq!(
            (name.name.as_str(), name.source),
            ("review-x", NameSource::Input)
        );
        for bad in ["a\nb", "tab\there", &"x".repeat(MAX_NAME_CHARS + 1)] {
            let err = resolve(Some(bad), &inv).unwrap_err();
            assert_eq!(err.input, "preview-name", "{bad:?}");
            assert!(err.hint.is_some(), "{err}");
        }
        assert!(resolve(Some(&"é".repeat(MAX_NAME_CHARS)), &inv).is_ok());
    }

    #[test]
    fn github_pull_request_events_name_it_pr_number() {
        let body = serde_json::json!({
            "action": "synchronize",
            "number": 999,
            "pull_request": {"number": 42, "title": "x".repeat(100_000), "head": {"sha": "abc"}},
            "repository": {"full_name": "acme/app"}
        });
        let path = event_file("pr.json", &body.to_string());
        for event in ["pull_request", "pull_request_target", "pull_request_review"] {
            let inv = invocation(
                &[("GITHUB_EVENT_NAME", event), ("GITHUB_EVENT_PATH", &path)],
                &[],
            );
            let name = resolve(None, &inv).unwrap();
            assert_eq!(name.name, "pr-42", "{event}");
            assert_eq!(name.source, NameSource::GitHubPullRequest(42));
        }
        // Without `pull_request.number`, the payload's own `number` (pull_request events carry both).
        let path = event_file("number.json", r#"{"number": 5}"#);
        let inv = invocation(
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", &path),
            ],
            &[],
        );
        assert_eq!(resolve(None, &inv).unwrap().name, "pr-5");
    }

    #[test]
    fn a_bad_event_file_is_bad_input_naming_preview_name() {
        let cases = [
            ("missing", None),
            ("notjson", Some("<html>")),
            ("nonumber", Some(r#"{"pull_request": {"title": "x"}}"#)),
            (
                "string",
                Some(r#"{"pull_request": {"number": "42; rm -rf /"}}"#),
            ),
            ("negative", Some(r#"{"pull_request": {"number": -1}}"#)),
            ("zero", Some(r#"{"number": 0}"#)),
            ("float", Some(r#"{"number": 4.5}"#)),
        ];
        for (name, body) in cases {
            let path = match body {
                Some(body) => event_file(&format!("{name}.json"), body),
                None => "/nonexistent/qovery-deploy/event.json".to_string(),
            };
            let inv = invocation(
                &[
                    ("GITHUB_EVENT_NAME", "pull_request"),
                    ("GITHUB_EVENT_PATH", &path),
                ],
                &[],
            );
            let err = resolve(None, &inv).unwrap_err();
            assert_eq!(err.input, "preview-name", "{name}");
            assert!(err.problem.contains("pull request number"), "{name}: {err}");
            assert!(!err.to_string().contains("rm -rf"), "{err}");
        }
        let inv = invocation(&[("GITHUB_EVENT_NAME", "pull_request")], &[]);
        assert!(
            resolve(None, &inv)
                .unwrap_err()
                .problem
                .contains("GITHUB_EVENT_PATH")
        );
    }

    #[test]
    fn gitlab_merge_request_pipelines_name_it_mr_iid() {
        let inv = invocation(
            &[("GITLAB_CI", "true"), ("CI_MERGE_REQUEST_IID", "17")],
            &[],
        );
        let name = resolve(None, &inv).unwrap();
        assert_eq!(
            (name.name.as_str(), name.source),
            ("mr-17", NameSource::GitLabMergeRequest(17))
        );
        let inv = invocation(&[("CI_MERGE_REQUEST_IID", "17\n::stop")], &[]);
        let err = resolve(None, &inv).unwrap_err();
        assert_eq!(err.input, "preview-name");
        assert!(!err.to_string().contains('\n') || !err.problem.contains('\n'));
    }

    #[test]
    fn other_events_and_plain_pipelines_have_no_default() {
        let path = event_file("push.json", r#"{"number": 3}"#);
        for vars in [
            vec![
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_EVENT_PATH", path.as_str()),
            ],
            vec![("GITLAB_CI", "true"), ("CI_COMMIT_REF_SLUG", "main")],
            vec![],
        ] {
            let err = resolve(None, &invocation(&vars, &[])).unwrap_err();
            assert_eq!(err.input, "preview-name", "{vars:?}");
            assert!(err.problem.contains("not set"), "{err}");
        }
    }
}
