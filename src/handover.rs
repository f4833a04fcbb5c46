//! A cancel that survives a killed step (issue 13, part 5): the run hands its deployment request
//! ids over to a step that runs after it, which cancels them if the run never reached its end.
//!
//! - **GitHub**: the run appends `qovery_deploy_environment`, `qovery_deploy_requests` (comma
//!   separated) and, at its end, `qovery_deploy_ended=true` to `$GITHUB_STATE`; the action's
//!   `post-entrypoint` (which GitHub runs even when the job was cancelled) starts the binary as
//!   [`CLEANUP_PROGRAM`] and finds them as `STATE_qovery_deploy_*` variables.
//! - **GitLab**: the run writes the same keys (and `job`, the `CI_JOB_ID`) to [`STATE_FILE`] in
//!   the job's directory; the job's `after_script` (GitLab 17.0 and later run it for cancelled
//!   jobs too) runs [`CLEANUP_PROGRAM`]. It runs after a failed job too: a run that crashed, or
//!   was killed on a job timeout (`CI_JOB_STATUS` `failed`), never wrote its end marker either.
//!
//! The cleanup cancels only what the run recorded as ours, with the same positive
//! identification as the run's own cancel ([`crate::cancel`]). The end marker is written once the
//! outputs are published, unless a cancel of ours could not be confirmed: then the cleanup tries
//! again. A runner that kills the job with SIGKILL *and* skips the post step / `after_script`
//! leaves nothing to run: the deployment then runs on (the log's console link shows it).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::api::Client;
use crate::cancel::{Cancelled, FOLLOW_AFTER_SIGNAL, cancel_own};
use crate::ci::Ci;
use crate::error::code;
use crate::inputs::{self, Connection, Invocation, Request};
use crate::signal::{AFTER_SIGNAL, Shutdown};
use crate::wait::Tracker;

/// The name the binary answers to in cleanup mode: the `post-entrypoint` of `action.yml` and the
/// GitLab `after_script` run it through a symbolic link of this name to the binary.
pub const CLEANUP_PROGRAM: &str = "qovery-deploy-cleanup";
/// The GitLab hand-over file, in the job's directory (next to the dotenv report).
pub const STATE_FILE: &str = "qovery-deploy.state";
/// How long the cleanup may take: a post step or `after_script` has minutes, a stuck API must
/// not hold the job for them.
pub const CLEANUP_BUDGET: Duration = Duration::from_secs(30);

const ENVIRONMENT: &str = "qovery_deploy_environment";
const REQUESTS: &str = "qovery_deploy_requests";
const ENDED: &str = "qovery_deploy_ended";
const JOB: &str = "qovery_deploy_job";

/// Where a run hands its requests over, by platform.
#[derive(Debug, Clone, Default)]
pub struct Handover {
    github_state: Option<PathBuf>,
    state_file: Option<PathBuf>,
    job: Option<String>,
}

/// A request id as it may be written: the API's text is data, and a newline in it must not write
/// another key. Ids are UUIDs; anything else is left out.
fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Handover {
    pub fn detect(invocation: &Invocation) -> Handover {
        Handover {
            github_state: invocation.var("GITHUB_STATE").map(PathBuf::from),
            state_file: invocation
                .var("GITLAB_CI")
                .map(|_| PathBuf::from(STATE_FILE)),
            job: invocation.var("CI_JOB_ID").map(str::to_string),
        }
    }

    /// Records the requests accepted so far (all of them, each call). Errors name the file; the
    /// caller warns (the run goes on: only the safety net is lost).
    pub fn accepted(&self, environment_id: &str, request_ids: &[String]) -> Vec<String> {
        let ids: Vec<&str> = request_ids
            .iter()
            .map(String::as_str)
            .filter(|id| is_id(id))
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![
            (ENVIRONMENT, environment_id.to_string()),
            (REQUESTS, ids.join(",")),
        ];
        if let Some(job) = self.job.as_deref().filter(|job| is_id(job)) {
            lines.push((JOB, job.to_string()));
        }
        self.write(&lines, false)
    }

    /// Marks the run as ended: the cleanup has nothing to do.
    pub fn ended(&self) -> Vec<String> {
        self.write(&[(ENDED, "true".to_string())], true)
    }

    fn write(&self, lines: &[(&str, String)], append_to_file: bool) -> Vec<String> {
        let text: String = lines
            .iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect();
        let mut failed = Vec::new();
        if let Some(path) = &self.github_state {
            if let Err(error) = append(path, &text) {
                failed.push(format!(
                    "cannot write $GITHUB_STATE ({}): {error}",
                    path.display()
                ));
            }
        }
        if let Some(path) = &self.state_file {
            let written = if append_to_file {
                append(path, &text)
            } else {
                std::fs::write(path, &text)
            };
            if let Err(error) = written {
                failed.push(format!("cannot write {}: {error}", path.display()));
            }
        }
        failed
    }
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// What a run recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub environment: Option<String>,
    pub requests: Vec<String>,
    pub ended: bool,
    pub job: Option<String>,
}

impl Recorded {
    /// GitHub's `STATE_qovery_deploy_*` variables, else the GitLab file; `None` when the run
    /// recorded nothing.
    pub fn read(invocation: &Invocation) -> Option<Recorded> {
        let from_state = |key: &str| invocation.var(&format!("STATE_{key}")).map(str::to_string);
        let pairs: Vec<(String, String)> = if invocation
            .env
            .keys()
            .any(|key| key.starts_with("STATE_qovery_deploy_"))
        {
            [ENVIRONMENT, REQUESTS, ENDED, JOB]
                .iter()
                .filter_map(|key| Some((key.to_string(), from_state(key)?)))
                .collect()
        } else {
            let text = std::fs::read_to_string(STATE_FILE).ok()?;
            text.lines()
                .filter_map(|line| line.split_once('='))
                .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
                .collect()
        };
        let mut recorded = Recorded::default();
        for (key, value) in pairs {
            match key.as_str() {
                ENVIRONMENT => recorded.environment = is_id(&value).then_some(value),
                REQUESTS => {
                    recorded.requests = value
                        .split(',')
                        .map(str::trim)
                        .filter(|id| is_id(id))
                        .map(str::to_string)
                        .collect();
                }
                ENDED => recorded.ended = value == "true",
                JOB => recorded.job = Some(value),
                _ => {}
            }
        }
        Some(recorded)
    }
}

/// Runs the cleanup in a current-thread runtime; returns the exit code: 0 when nothing had to be
/// done or every recorded request is cancelled or finished, 2 for bad inputs, 4 when a cancel
/// could not be confirmed.
pub fn main(invocation: Invocation) -> u8 {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(cleanup(invocation)),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            code::API
        }
    }
}

/// Cancels what a run that never reached its end recorded as ours (see the module docs).
pub async fn cleanup(invocation: Invocation) -> u8 {
    let start = Instant::now();
    let mut ci = Ci::detect(&invocation, start);
    for secret in inputs::token_candidates(&invocation) {
        ci.mask(&secret);
    }
    let say = |text: &str| ci.line(&format!("qovery-deploy cleanup: {text}"));
    // GitLab runs `after_script` after a failed, a timed-out (`failed`) or a cancelled job alike;
    // what tells whether our run ended is its own end marker, not the job's status: a run that
    // crashed or was killed on a job timeout leaves a `failed` job with a deployment running.
    let status = invocation.var("CI_JOB_STATUS");
    let Some(recorded) = Recorded::read(&invocation) else {
        say("the step recorded no deployment request: nothing to cancel");
        return code::SUCCESS;
    };
    if recorded.ended {
        say("the step reached its end: nothing to cancel");
        return code::SUCCESS;
    }
    if let (Some(job), Some(ours)) = (invocation.var("CI_JOB_ID"), recorded.job.as_deref()) {
        if job != ours {
            say(&format!(
                "{STATE_FILE} was written by job {ours}, not this one ({job}): nothing to cancel"
            ));
            return code::SUCCESS;
        }
    }
    if recorded.requests.is_empty() {
        say("the step recorded no deployment request id: nothing can be identified to cancel");
        return code::SUCCESS;
    }
    // Only what reaching the API takes: the run's other inputs may have been flags, which the
    // cleanup is not given again; the environment is the recorded one.
    let connection = match inputs::read(&invocation).and_then(|request| match request {
        Request::Run(raw) => Connection::parse(&raw, &invocation).map(|c| (c, raw)),
        _ => Err(inputs::InputError::new(
            "command",
            "the cleanup takes no --help or --version",
        )),
    }) {
        Ok((connection, raw)) => match recorded.environment.clone() {
            Some(environment) => (connection, environment),
            None => match raw
                .get("environment-id")
                .map(|id| id.trim().to_ascii_lowercase())
                .filter(|id| is_id(id))
            {
                Some(id) => (connection, id),
                None => {
                    ci.error(
                        "qovery-deploy cleanup: bad input",
                        "input environment-id: not set (or not a UUID), and the step recorded no environment",
                    );
                    return code::BAD_INPUT;
                }
            },
        },
        Err(error) => {
            ci.error("qovery-deploy cleanup: bad input", &error.to_string());
            return code::BAD_INPUT;
        }
    };
    let (config, environment) = connection;
    let client = match Client::new(
        &config.api_url,
        &config.token,
        &config.extra_roots,
        start + CLEANUP_BUDGET,
    ) {
        Ok(client) => client,
        Err(error) => {
            ci.error("qovery-deploy cleanup: bad input", &error.to_string());
            return code::BAD_INPUT;
        }
    };
    let job = status.map_or(String::new(), |status| format!(" (the job ended {status})"));
    say(&format!(
        "the step did not reach its end{job}; cancelling deployment request(s) {}",
        recorded.requests.join(", ")
    ));
    let mut shutdown = Shutdown::install().unwrap_or_else(|_| Shutdown::never());
    let cancels = async {
        let mut outcomes = Vec::new();
        for id in recorded.requests.iter().rev() {
            let tracker = Tracker::new(Some(id.clone()), None);
            outcomes.push(
                cancel_own(
                    &client,
                    &environment,
                    &tracker,
                    config.force_cancel,
                    None,
                    FOLLOW_AFTER_SIGNAL,
                )
                .await,
            );
        }
        outcomes
    };
    let outcomes = shutdown
        .within(AFTER_SIGNAL, cancels)
        .await
        .unwrap_or_else(|| {
            vec![Cancelled::Unconfirmed(
                "the cleanup was cut by a signal before Qovery confirmed the cancel".to_string(),
            )]
        });
    for outcome in &outcomes {
        match outcome {
            Cancelled::Unconfirmed(text) | Cancelled::Unidentified(text) => ci.warning(text),
            Cancelled::Confirmed(text)
            | Cancelled::Requested(text)
            | Cancelled::NothingToCancel(text)
            | Cancelled::Ended(text, _) => say(text),
        }
    }
    if outcomes.iter().any(Cancelled::may_still_run) {
        code::API
    } else {
        code::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(vars: &[(&str, &str)]) -> Invocation {
        Invocation {
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            args: Vec::new(),
        }
    }

    #[test]
    fn github_state_round_trip_keeps_only_ids() {
        let dir = std::env::temp_dir().join(format!("qd-handover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state");
        let _ = std::fs::remove_file(&state);
        let handover = Handover::detect(&invocation(&[("GITHUB_STATE", state.to_str().unwrap())]));
        let ids = [
            "11111111-1111-4111-8111-111111111111".to_string(),
            "bad\nqovery_deploy_ended=true".to_string(),
        ];
        assert!(handover.accepted("env-1", &ids).is_empty());
        let text = std::fs::read_to_string(&state).unwrap();
        assert_eq!(
            text,
            "qovery_deploy_environment=env-1\nqovery_deploy_requests=11111111-1111-4111-8111-111111111111\n"
        );
        // What GitHub hands the post step.
        let post = invocation(&[
            ("STATE_qovery_deploy_environment", "env-1"),
            (
                "STATE_qovery_deploy_requests",
                "11111111-1111-4111-8111-111111111111",
            ),
        ]);
        let recorded = Recorded::read(&post).unwrap();
        assert_eq!(recorded.requests, ["11111111-1111-4111-8111-111111111111"]);
        assert!(!recorded.ended);
        assert!(handover.ended().is_empty());
        assert!(
            std::fs::read_to_string(&state)
                .unwrap()
                .ends_with("qovery_deploy_ended=true\n")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_recorded_without_a_platform() {
        let handover = Handover::detect(&invocation(&[]));
        assert!(handover.accepted("e", &["r".to_string()]).is_empty());
        assert!(handover.ended().is_empty());
    }
}
