//! The commit deployed when `commit-sha` is not given, and why that one.
//!
//! The CI platforms' own commit variable is not always the commit that was built:
//! - GitHub, `pull_request`, `pull_request_target`, `pull_request_review` and
//!   `pull_request_review_comment`: `GITHUB_SHA` is the merge commit of the pull request's merge
//!   ref (or, for `pull_request_target`, the base branch's tip). The pull request's head commit is
//!   `pull_request.head.sha` in the event payload (`$GITHUB_EVENT_PATH`).
//! - GitHub, `workflow_run`: `GITHUB_SHA` is the default branch's latest commit, not the commit the
//!   triggering run built; that is `workflow_run.head_sha` in the payload.
//! - GitLab merged-results pipelines: `CI_COMMIT_SHA` is the merged result; the merge request's
//!   source branch head is `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA` (empty in other pipelines).
//!
//! Otherwise `GITHUB_SHA`, else `CI_COMMIT_SHA`. The `commit-sha` input always wins.
//! (GitHub: "Events that trigger workflows", the `GITHUB_SHA` column; GitLab: "Predefined CI/CD
//! variables".)
//!
//! A commit from the payload or a CI variable is outside text like any input: it goes into the
//! request's `git_commit_id` only with the form of a commit ([`super::version`]). The payload's
//! field must be a full commit id, else the run falls back to `GITHUB_SHA` with a warning (which
//! never quotes the field); a CI variable's value is checked with the `commit-sha` input's rule by
//! `Config::parse`, which names the variable ([`DefaultCommit::source`]) when it breaks it. The
//! explanations quote another variable's value only when it has the form of a commit.

use std::io::Read;

use super::Invocation;
use super::version::VersionForm;

/// A payload larger than this is not read (GitHub's are at most a few hundred KB).
const MAX_EVENT_BYTES: u64 = 16 * 1024 * 1024;

/// GitHub events whose `GITHUB_SHA` is not the pull request's head commit.
const PULL_REQUEST_EVENTS: [&str; 4] = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
];

/// The commit a run deploys by default, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultCommit {
    pub sha: String,
    /// Where `sha` was read, for a message about its form: `` `GITHUB_SHA` ``, or the payload's
    /// field.
    pub source: String,
    /// Why this commit, for the log: `the pull request's head commit (…)`.
    pub why: String,
    /// Something the user should know: the better source could not be read.
    pub warning: Option<String>,
}

/// Whether a value is a full commit id (40 hex digits, or 64 for SHA-256 repositories): a commit
/// ([`VersionForm::Commit`]) that is not abbreviated, as GitHub always writes them in payloads.
fn is_full_sha(value: &str) -> bool {
    matches!(value.len(), 40 | 64) && VersionForm::Commit.fits(value)
}

/// `value` of the CI variable `name`, quoted in an explanation only when it is a commit.
fn quoted(name: &str, value: &str) -> String {
    if VersionForm::Commit.fits(value) {
        format!("{name} {value}")
    } else {
        name.to_string()
    }
}

/// Reads the event payload and returns the string at `path` (`["pull_request", "head", "sha"]`).
fn event_field(file: &str, path: &[&str]) -> Result<String, String> {
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_EVENT_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read $GITHUB_EVENT_PATH ({file}): {e}"))?;
    if text.len() as u64 > MAX_EVENT_BYTES {
        return Err(format!("$GITHUB_EVENT_PATH ({file}) is larger than 16 MiB"));
    }
    let event: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("$GITHUB_EVENT_PATH ({file}) is not JSON: {e}"))?;
    let value = path
        .iter()
        .try_fold(&event, |v, key| v.get(key))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("the event payload has no `{}`", path.join(".")))?;
    if !is_full_sha(value) {
        return Err(format!(
            "`{}` in the event payload is not a commit id",
            path.join(".")
        ));
    }
    Ok(value.to_ascii_lowercase())
}

/// The commit to deploy when `commit-sha` is not given; `None` outside CI (the input is then
/// required for git-sourced services).
pub fn default_commit(invocation: &Invocation) -> Option<DefaultCommit> {
    let github_sha = invocation.var("GITHUB_SHA");
    if let Some(event) = invocation.var("GITHUB_EVENT_NAME") {
        let field: Option<(&[&str], &str)> = if PULL_REQUEST_EVENTS.contains(&event) {
            Some((
                &["pull_request", "head", "sha"],
                "the pull request's head commit",
            ))
        } else if event == "workflow_run" {
            Some((
                &["workflow_run", "head_sha"],
                "the commit the triggering workflow run built",
            ))
        } else {
            None
        };
        if let Some((path, what)) = field {
            let read = invocation
                .var("GITHUB_EVENT_PATH")
                .ok_or_else(|| "$GITHUB_EVENT_PATH is not set".to_string())
                .and_then(|file| event_field(file, path));
            let not_it = github_sha
                .map(|sha| {
                    format!(
                        "; {} is not the commit that was built",
                        quoted("GITHUB_SHA", sha)
                    )
                })
                .unwrap_or_default();
            match read {
                Ok(sha) => {
                    return Some(DefaultCommit {
                        sha,
                        source: format!("`{}` of the event payload", path.join(".")),
                        why: format!("{what}: `{}` of the {event} event{not_it}", path.join(".")),
                        warning: None,
                    });
                }
                Err(problem) => {
                    let sha = github_sha?;
                    return Some(DefaultCommit {
                        sha: sha.to_string(),
                        source: "`GITHUB_SHA`".to_string(),
                        why: format!("GITHUB_SHA ({event} event)"),
                        warning: Some(format!(
                            "on a {event} event {} is not {what}, and {problem}; deploying GITHUB_SHA. Set `commit-sha` to choose the commit",
                            quoted("GITHUB_SHA", sha)
                        )),
                    });
                }
            }
        }
    }
    if let Some(sha) = github_sha {
        return Some(DefaultCommit {
            sha: sha.to_string(),
            source: "`GITHUB_SHA`".to_string(),
            why: "GITHUB_SHA".to_string(),
            warning: None,
        });
    }
    if let Some(sha) = invocation.var("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") {
        let not_it = invocation
            .var("CI_COMMIT_SHA")
            .map(|c| format!("; {} is the merged result", quoted("CI_COMMIT_SHA", c)))
            .unwrap_or_default();
        return Some(DefaultCommit {
            sha: sha.to_string(),
            source: "`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`".to_string(),
            why: format!(
                "the merge request's source branch head: CI_MERGE_REQUEST_SOURCE_BRANCH_SHA{not_it}"
            ),
            warning: None,
        });
    }
    invocation.var("CI_COMMIT_SHA").map(|sha| DefaultCommit {
        sha: sha.to_string(),
        source: "`CI_COMMIT_SHA`".to_string(),
        why: "CI_COMMIT_SHA".to_string(),
        warning: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::invocation;
    use super::*;

    const HEAD: &str = "3f8a1c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a";
    const MERGE: &str = "aaaabbbbccccddddeeeeffff0000111122223333";

    fn event_file(name: &str, body: &str) -> String {
        let dir = std::env::temp_dir().join(format!("qovery-deploy-commit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn pull_request_events_deploy_the_head_commit() {
        let file = event_file(
            "pr.json",
            &format!(
                r#"{{"pull_request": {{"head": {{"sha": "{}"}}}}}}"#,
                HEAD.to_uppercase()
            ),
        );
        for event in PULL_REQUEST_EVENTS {
            let inv = invocation(
                &[
                    ("GITHUB_SHA", MERGE),
                    ("GITHUB_EVENT_NAME", event),
                    ("GITHUB_EVENT_PATH", &file),
                ],
                &[],
            );
            let chosen = default_commit(&inv).unwrap();
            assert_eq!(chosen.sha, HEAD, "{event}");
            assert!(
                chosen.why.contains("pull_request.head.sha"),
                "{}",
                chosen.why
            );
            assert!(chosen.why.contains(MERGE), "{}", chosen.why);
            assert_eq!(chosen.warning, None);
        }
        let file = event_file(
            "run.json",
            &format!(r#"{{"workflow_run": {{"head_sha": "{HEAD}"}}}}"#),
        );
        let inv = invocation(
            &[
                ("GITHUB_SHA", MERGE),
                ("GITHUB_EVENT_NAME", "workflow_run"),
                ("GITHUB_EVENT_PATH", &file),
            ],
            &[],
        );
        assert_eq!(default_commit(&inv).unwrap().sha, HEAD);
    }

    #[test]
    fn an_unreadable_payload_falls_back_to_github_sha_with_a_warning() {
        let bad = event_file("bad.json", r#"{"pull_request": {"head": {"sha": "main"}}}"#);
        for path in [bad.as_str(), "/nonexistent/event.json"] {
            let inv = invocation(
                &[
                    ("GITHUB_SHA", MERGE),
                    ("GITHUB_EVENT_NAME", "pull_request"),
                    ("GITHUB_EVENT_PATH", path),
                ],
                &[],
            );
            let chosen = default_commit(&inv).unwrap();
            assert_eq!(chosen.sha, MERGE);
            let warning = chosen.warning.unwrap();
            assert!(warning.contains("commit-sha"), "{warning}");
        }
    }

    #[test]
    fn explanations_quote_another_variable_only_when_it_is_a_commit() {
        let file = event_file(
            "pr-hostile.json",
            &format!(r#"{{"pull_request": {{"head": {{"sha": "{HEAD}"}}}}}}"#),
        );
        let hostile = "x\n::set-output name=result::success";
        let inv = invocation(
            &[
                ("GITHUB_SHA", hostile),
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", &file),
            ],
            &[],
        );
        let chosen = default_commit(&inv).unwrap();
        assert_eq!(chosen.sha, HEAD);
        assert!(
            chosen
                .why
                .ends_with("; GITHUB_SHA is not the commit that was built"),
            "{}",
            chosen.why
        );
        let inv = invocation(
            &[
                ("CI_COMMIT_SHA", hostile),
                ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD),
            ],
            &[],
        );
        let chosen = default_commit(&inv).unwrap();
        assert!(!chosen.why.contains("::"), "{}", chosen.why);
        assert_eq!(chosen.source, "`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`");
        // A payload field that is not a full commit is never quoted in the warning.
        let bad = event_file(
            "pr-bad.json",
            r#"{"pull_request": {"head": {"sha": "::stop-commands::qd"}}}"#,
        );
        let inv = invocation(
            &[
                ("GITHUB_SHA", MERGE),
                ("GITHUB_EVENT_NAME", "pull_request_target"),
                ("GITHUB_EVENT_PATH", &bad),
            ],
            &[],
        );
        let chosen = default_commit(&inv).unwrap();
        assert_eq!(
            (chosen.sha.as_str(), chosen.source.as_str()),
            (MERGE, "`GITHUB_SHA`")
        );
        let warning = chosen.warning.unwrap();
        assert!(!warning.contains("stop-commands"), "{warning}");
        assert!(
            warning.contains("`pull_request.head.sha` in the event payload is not a commit id"),
            "{warning}"
        );
    }

    #[test]
    fn other_events_and_platforms() {
        let inv = invocation(&[("GITHUB_SHA", MERGE), ("GITHUB_EVENT_NAME", "push")], &[]);
        assert_eq!(
            default_commit(&inv),
            Some(DefaultCommit {
                sha: MERGE.into(),
                source: "`GITHUB_SHA`".into(),
                why: "GITHUB_SHA".into(),
                warning: None
            })
        );
        let inv = invocation(
            &[
                ("CI_COMMIT_SHA", MERGE),
                ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD),
            ],
            &[],
        );
        let chosen = default_commit(&inv).unwrap();
        assert_eq!(chosen.sha, HEAD);
        assert!(chosen.why.contains("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"));
        // Empty in merge-request pipelines that are not merged results: CI_COMMIT_SHA.
        let inv = invocation(
            &[
                ("CI_COMMIT_SHA", MERGE),
                ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", ""),
            ],
            &[],
        );
        assert_eq!(default_commit(&inv).unwrap().why, "CI_COMMIT_SHA");
        assert_eq!(default_commit(&invocation(&[], &[])), None);
    }
}
