//! What a run found out, in one place: the step outputs, the summary table and the final log lines
//! are all derived from a `Report`.

use std::time::Duration;

use serde::Serialize;

use crate::error::code;
use crate::inputs::Command;
use crate::plan::Target;

/// The `result` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    Success,
    Failure,
    Timeout,
    Cancelled,
    Queued,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::Failure => "failure",
            RunResult::Timeout => "timeout",
            RunResult::Cancelled => "cancelled",
            RunResult::Queued => "queued",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            RunResult::Success | RunResult::Queued => code::SUCCESS,
            RunResult::Failure => code::FAILED,
            RunResult::Timeout => code::TIMEOUT,
            RunResult::Cancelled => code::CANCELLED,
        }
    }
}

/// One service in the `services` output and the summary table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceReport {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_request_id: Option<String>,
    /// `skip`/`unskip`: the deployment stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<bool>,
    #[serde(skip)]
    pub duration_seconds: Option<u64>,
}

impl ServiceReport {
    /// A listed service before anything happened to it: id, name, `type` and the version sent.
    pub fn new(target: &Target) -> ServiceReport {
        ServiceReport {
            id: target.id.clone(),
            name: target.name.clone(),
            kind: target.kind.api_type().to_string(),
            version: target.version.clone(),
            ..Default::default()
        }
    }
}

/// What `preview` and `preview-delete` found out about the preview environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewReport {
    /// Its id, once found or made.
    pub environment_id: Option<String>,
    /// Its name (the input or the pull/merge request's).
    pub environment_name: String,
    /// `preview`: whether this run cloned it (`false`: it existed, or a concurrent run made it).
    pub created: Option<bool>,
}

/// Every output name, in the order of the README table and `action.yml` (a test keeps the three
/// in step). Every command writes every one of them, empty when it does not apply (the preview
/// environment's outside `preview` and `preview-delete`), so GitHub's outputs and GitLab's dotenv
/// report always hold the same names.
pub const OUTPUTS: [&str; 12] = [
    "deployment-request-id",
    "execution-id",
    "state",
    "result",
    "duration-seconds",
    "console-url",
    "services",
    "url",
    "urls",
    "environment-id",
    "environment-name",
    "created",
];

/// The `state` output's form of a Qovery state: the state itself when it is an upper-case enum
/// word (`[A-Z0-9_]+`, as every state of the spec's `StateEnum` is), `UNKNOWN` for anything else
/// the API sent (the log and the summary keep the original, escaped), empty when there is none.
/// So `state` can be compared (`== 'DEPLOYED'`) and printed or put in a Markdown code span as is.
pub fn safe_state(state: &str) -> String {
    if state
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        state.to_string()
    } else {
        "UNKNOWN".to_string()
    }
}

/// Why one listed service failed, as its deployment log tells it: what the `::error` annotation
/// titled `<service> failed` and the summary say. Every sink neutralises every field for itself
/// ([`crate::neutral`]); the texts from the log are also redacted and cut when they are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFailure {
    /// Its name, as the API wrote it (escaped on arrival, [`crate::api::types::ServiceInfo`]).
    pub service: String,
    /// `failed`, or `did not finish` after a timeout: the annotation's title is
    /// `<service> <verdict>`.
    pub verdict: &'static str,
    /// Its final state (`BUILD_ERROR`, …), or where it stood when the run stopped.
    pub state: Option<String>,
    /// The first error's `user_log_message`: a [`crate::neutral::log_excerpt`] (redacted, cut at
    /// [`crate::logs::MESSAGE_CHARS`] saying how much, on one line).
    pub message: Option<String>,
    /// The first error's `hint_message`, likewise.
    pub hint: Option<String>,
    /// The first error's documentation `link`, when it is a plain http(s) URL
    /// ([`crate::links::valid_url`]); the summary links to it only under Qovery's documentation.
    pub docs: Option<String>,
    /// The console page of this service's deployment logs for our execution, built from ids
    /// whose shape [`crate::api::ids`] checked.
    pub logs_url: Option<String>,
}

/// Everything the outputs and the summary say.
#[derive(Debug, Clone)]
pub struct Report {
    pub command: Command,
    pub result: RunResult,
    /// The final Qovery state.
    pub state: Option<String>,
    pub deployment_request_ids: Vec<String>,
    pub execution_ids: Vec<String>,
    pub console_url: Option<String>,
    pub duration: Duration,
    pub services: Vec<ServiceReport>,
    /// Why it did not succeed, in one sentence; also the `::error` annotation.
    pub reason: Option<String>,
    /// What happened to our deployment on timeout or signal.
    pub cancel_note: Option<String>,
    /// A cancel of ours was tried but not confirmed: the deployment may still be running, and
    /// the step that runs after this one tries again ([`crate::handover`]).
    pub cancel_pending: bool,
    /// The deploy request was sent but its outcome is unknown (the answer was lost or unreadable,
    /// [`crate::commands::deploy::outcome_unknown`]): a deployment may exist, so the run does not
    /// mark its end for the step that runs after this one.
    pub outcome_unknown: bool,
    /// The signal (SIGTERM, SIGINT) that stopped the run while it waited, if one did.
    pub interrupted_by: Option<&'static str>,
    /// `preview`, `preview-delete`: the preview environment.
    pub preview: Option<PreviewReport>,
    /// The `url` output: the public link of the first listed service that has one
    /// ([`crate::links`]), once deployed.
    pub url: Option<String>,
    /// The `urls` output: `(service name, public link)`, the listed services first
    /// ([`crate::links`]).
    pub urls: Vec<(String, String)>,
    /// Why the failing services failed, from the deployment log (empty when it was not read).
    pub failures: Vec<ServiceFailure>,
}

impl Report {
    pub fn new(command: Command) -> Report {
        Report {
            command,
            result: RunResult::Failure,
            state: None,
            deployment_request_ids: Vec::new(),
            execution_ids: Vec::new(),
            console_url: None,
            duration: Duration::ZERO,
            services: Vec::new(),
            reason: None,
            cancel_note: None,
            cancel_pending: false,
            outcome_unknown: false,
            interrupted_by: None,
            preview: None,
            url: None,
            urls: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// The process exit code. `result: cancelled` is what `command: cancel` is for, so there it
    /// exits 0, unless a signal stopped the run.
    pub fn exit_code(&self) -> u8 {
        match (self.command, self.result, self.interrupted_by) {
            (Command::Cancel, RunResult::Cancelled, None) => code::SUCCESS,
            (_, result, _) => result.exit_code(),
        }
    }

    /// The step outputs, names as in the contract ([`OUTPUTS`]), in that order, every one of them
    /// for every command (empty when it does not apply). Their safe forms, which workflows may rely
    /// on when they print or render them:
    /// - `state`: [`safe_state`] (an upper-case enum word, or `UNKNOWN`, or empty);
    /// - `result`: one of [`RunResult::as_str`]; `duration-seconds`: digits;
    /// - `deployment-request-id`, `execution-id`: ids whose shape [`crate::api::ids`] checked,
    ///   comma-separated;
    /// - `url`, `urls`' values: plain http(s) URLs ([`crate::links::valid_url`]: ASCII, no
    ///   whitespace, quotes, brackets, braces, backticks, `|` or backslash, no credentials);
    /// - `environment-id`: a UUID; `environment-name`: the `preview-name` input or `pr-<n>` /
    ///   `mr-<iid>`; `created`: `true`, `false` or empty;
    /// - `services` and `urls`' keys hold service names as the API wrote them: data to be guarded
    ///   by whoever prints them (README, "Outputs").
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let preview = self.preview.clone().unwrap_or_default();
        let created = preview.created.map(|c| c.to_string()).unwrap_or_default();
        vec![
            (
                "deployment-request-id",
                self.deployment_request_ids.join(","),
            ),
            ("execution-id", self.execution_ids.join(",")),
            (
                "state",
                safe_state(self.state.as_deref().unwrap_or_default()),
            ),
            ("result", self.result.as_str().to_string()),
            ("duration-seconds", self.duration.as_secs().to_string()),
            ("console-url", self.console_url.clone().unwrap_or_default()),
            (
                "services",
                serde_json::to_string(&self.services).expect("service reports always serialize"),
            ),
            ("url", self.url.clone().unwrap_or_default()),
            ("urls", self.urls_json()),
            ("environment-id", preview.environment_id.unwrap_or_default()),
            ("environment-name", preview.environment_name),
            ("created", created),
        ]
    }

    /// The `urls` output: a JSON object, service name to URL, in [`Report::urls`] order (a name
    /// seen twice keeps its first URL); empty when there is none. Written by hand to keep the
    /// order (serde_json's map sorts its keys).
    pub fn urls_json(&self) -> String {
        if self.urls.is_empty() {
            return String::new();
        }
        let mut seen = std::collections::HashSet::new();
        let fields: Vec<String> = self
            .urls
            .iter()
            .filter(|(name, _)| seen.insert(name.as_str()))
            .map(|(name, url)| {
                let json = |text: &str| serde_json::to_string(text).expect("strings serialize");
                format!("{}:{}", json(name), json(url))
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_follow_the_contract_order() {
        let names = |command| -> Vec<&str> {
            Report::new(command)
                .outputs()
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(names(Command::Preview), OUTPUTS);
        assert_eq!(names(Command::PreviewDelete), OUTPUTS);
        for command in [
            Command::Deploy,
            Command::DeployJob,
            Command::RedeployJob,
            Command::Cancel,
            Command::Skip,
            Command::Unskip,
        ] {
            assert_eq!(names(command), OUTPUTS, "{command:?}");
        }
        let mut report = Report::new(Command::Preview);
        report.preview = Some(PreviewReport {
            environment_id: Some("e1".into()),
            environment_name: "pr-7".into(),
            created: Some(true),
        });
        report.url = Some("https://web.example".into());
        report.urls = vec![
            ("web".into(), "https://web.example".into()),
            ("api".into(), "https://api.example".into()),
            ("web".into(), "https://other.example".into()),
        ];
        let outputs: std::collections::BTreeMap<_, _> = report.outputs().into_iter().collect();
        assert_eq!(outputs["environment-id"], "e1");
        assert_eq!(outputs["environment-name"], "pr-7");
        assert_eq!(outputs["created"], "true");
        assert_eq!(outputs["url"], "https://web.example");
        assert_eq!(
            outputs["urls"],
            r#"{"web":"https://web.example","api":"https://api.example"}"#
        );
        let empty: std::collections::BTreeMap<_, _> = Report::new(Command::Preview)
            .outputs()
            .into_iter()
            .collect();
        assert_eq!(
            (
                empty["url"].as_str(),
                empty["urls"].as_str(),
                empty["created"].as_str()
            ),
            ("", "", "")
        );
    }

    #[test]
    fn the_state_output_is_an_enum_word_or_unknown() {
        assert_eq!(safe_state("DEPLOYED"), "DEPLOYED");
        assert_eq!(safe_state("BUILD_ERROR"), "BUILD_ERROR");
        assert_eq!(safe_state(""), "");
        for odd in ["deployed", "DEPLOYED`", "A,B", "X Y", "::error::x", "ÉTAT"] {
            assert_eq!(safe_state(odd), "UNKNOWN", "{odd}");
        }
        let mut report = Report::new(Command::Deploy);
        report.state = Some("DEPLOYED` [x](https://evil)".into());
        let outputs: std::collections::BTreeMap<_, _> = report.outputs().into_iter().collect();
        assert_eq!(outputs["state"], "UNKNOWN");
    }

    #[test]
    fn a_cancelled_cancel_succeeds_unless_a_signal_stopped_it() {
        let mut report = Report::new(Command::Cancel);
        report.result = RunResult::Cancelled;
        assert_eq!(report.exit_code(), code::SUCCESS);
        report.interrupted_by = Some("SIGTERM");
        assert_eq!(report.exit_code(), code::CANCELLED);
        let mut report = Report::new(Command::Deploy);
        report.result = RunResult::Cancelled;
        assert_eq!(report.exit_code(), code::CANCELLED);
    }
}
