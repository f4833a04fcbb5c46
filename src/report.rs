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
    /// The signal (SIGTERM, SIGINT) that stopped the run while it waited, if one did.
    pub interrupted_by: Option<&'static str>,
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
            interrupted_by: None,
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

    /// The step outputs, names as in the contract, in a fixed order.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "deployment-request-id",
                self.deployment_request_ids.join(","),
            ),
            ("execution-id", self.execution_ids.join(",")),
            ("state", self.state.clone().unwrap_or_default()),
            ("result", self.result.as_str().to_string()),
            ("duration-seconds", self.duration.as_secs().to_string()),
            ("console-url", self.console_url.clone().unwrap_or_default()),
            (
                "services",
                serde_json::to_string(&self.services).expect("service reports always serialize"),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
