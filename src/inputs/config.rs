//! Validating the raw inputs into a [`Config`]: the types a run works with, the defaults and
//! fallbacks (`QOVERY_API_TOKEN`, `GITHUB_SHA`, `CI_COMMIT_SHA`), and the rules that depend on the
//! command. Every error names the input it is about.

use std::fmt;
use std::time::Duration;

use uuid::Uuid;

use super::values::{
    check_version, parse_base_url, parse_bool, parse_duration, parse_entries, parse_enum,
    parse_uuid,
};
use super::{InputError, Invocation, RawInputs};
use crate::kind::ServiceKind;

/// The API token. Never printed: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Deploy,
    DeployJob,
    RedeployJob,
    Cancel,
    Skip,
    Unskip,
}

impl Command {
    const NAMES: [(&'static str, Command); 6] = [
        ("deploy", Command::Deploy),
        ("deploy-job", Command::DeployJob),
        ("redeploy-job", Command::RedeployJob),
        ("cancel", Command::Cancel),
        ("skip", Command::Skip),
        ("unskip", Command::Unskip),
    ];

    pub fn name(self) -> &'static str {
        Command::NAMES
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(n, _)| *n)
            .unwrap_or("deploy")
    }

    fn parse(value: &str) -> Result<Command, InputError> {
        Command::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(value))
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                InputError::new("command", format!("unknown command `{value}`"))
                    .hint("use one of: deploy, deploy-job, redeploy-job, cancel, skip, unskip")
            })
    }
}

/// `PLAN`, `FORCE_UNLOCK`, `MIGRATE_STATE` (the spec's `TerraformDeployRequest.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerraformAction {
    Plan,
    ForceUnlock,
    MigrateState,
}

/// `forceEvent` of a job deploy (the spec's `JobForceEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    Start,
    Stop,
    Delete,
    Cron,
}

impl JobEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            JobEvent::Start => "START",
            JobEvent::Stop => "STOP",
            JobEvent::Delete => "DELETE",
            JobEvent::Cron => "CRON",
        }
    }
}

/// How a listed entry names its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Id(Uuid),
    Name(String),
}

/// One entry of a service list input, such as `api`, `worker=1.4.2` or a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: ServiceKind,
    /// The entry as written, for messages.
    pub raw: String,
    pub reference: Reference,
    /// `=VALUE`: the version for this service only.
    pub version: Option<String>,
}

/// The validated configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    pub command: Command,
    pub token: Secret,
    pub environment_id: Uuid,
    pub entries: Vec<Entry>,
    pub commit_sha: Option<String>,
    pub image_tag: Option<String>,
    pub chart_version: Option<String>,
    pub terraform_action: Option<TerraformAction>,
    pub job_event: Option<JobEvent>,
    pub wait: bool,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub cancel_on_timeout: bool,
    pub force_cancel: bool,
    /// Without a trailing slash.
    pub api_url: String,
    /// Without a trailing slash.
    pub console_url: String,
}

impl Config {
    /// Where the token comes from: the input, else `QOVERY_API_TOKEN`.
    pub fn token(raw: &RawInputs, invocation: &Invocation) -> Option<Secret> {
        raw.get("api-token")
            .or_else(|| invocation.var("QOVERY_API_TOKEN"))
            .map(Secret::new)
    }

    pub fn parse(raw: &RawInputs, invocation: &Invocation) -> Result<Config, InputError> {
        let command = Command::parse(raw.get("command").unwrap_or("deploy"))?;
        let token = Config::token(raw, invocation).ok_or_else(|| {
            InputError::new("api-token", "no API token given")
                .hint("set the `api-token` input (from a secret) or the QOVERY_API_TOKEN variable")
        })?;
        if token.expose().chars().any(char::is_whitespace) {
            return Err(
                InputError::new("api-token", "the token contains whitespace")
                    .hint("paste the token alone, without the `Token ` prefix or line breaks"),
            );
        }
        let environment_id = match raw.get("environment-id") {
            Some(value) => parse_uuid("environment-id", value)?,
            None => {
                return Err(InputError::new("environment-id", "not set")
                    .hint("give the environment's UUID (console: environment settings, or the id in its URL)"));
            }
        };

        let mut entries = Vec::new();
        for kind in ServiceKind::ALL {
            if let Some(value) = raw.get(kind.input()) {
                entries.extend(parse_entries(kind, value)?);
            }
        }

        let commit_sha = raw
            .get("commit-sha")
            .or_else(|| invocation.var("GITHUB_SHA"))
            .or_else(|| invocation.var("CI_COMMIT_SHA"))
            .map(str::to_string);
        let image_tag = raw
            .get("image-tag")
            .map(str::to_string)
            .or_else(|| commit_sha.clone());
        for (name, value) in [("commit-sha", &commit_sha), ("image-tag", &image_tag)] {
            if let Some(value) = value {
                check_version(name, None, value)?;
            }
        }
        let chart_version = raw.get("chart-version").map(str::to_string);
        if let Some(value) = &chart_version {
            check_version("chart-version", None, value)?;
        }

        let terraform_action = raw
            .get("terraform-action")
            .map(|v| {
                parse_enum(
                    "terraform-action",
                    v,
                    &[
                        ("PLAN", TerraformAction::Plan),
                        ("FORCE_UNLOCK", TerraformAction::ForceUnlock),
                        ("MIGRATE_STATE", TerraformAction::MigrateState),
                    ],
                )
            })
            .transpose()?;
        let job_event = raw
            .get("job-event")
            .map(|v| {
                parse_enum(
                    "job-event",
                    v,
                    &[
                        ("START", JobEvent::Start),
                        ("STOP", JobEvent::Stop),
                        ("DELETE", JobEvent::Delete),
                        ("CRON", JobEvent::Cron),
                    ],
                )
            })
            .transpose()?;

        let poll_interval =
            parse_duration("poll-interval", raw.get("poll-interval").unwrap_or("5s"))?;
        if poll_interval < Duration::from_secs(1) {
            return Err(
                InputError::new("poll-interval", "must be at least 1s").hint(
                    "the API allows about 1000 requests per hour per token; 5s is a good interval",
                ),
            );
        }
        let timeout = parse_duration("timeout", raw.get("timeout").unwrap_or("30m"))?;
        if timeout.is_zero() {
            return Err(
                InputError::new("timeout", "must be more than zero").hint("for example `30m`")
            );
        }

        let config = Config {
            command,
            token,
            environment_id,
            entries,
            commit_sha,
            image_tag,
            chart_version,
            terraform_action,
            job_event,
            wait: parse_bool("wait", raw.get("wait"), true)?,
            timeout,
            poll_interval,
            cancel_on_timeout: parse_bool("cancel-on-timeout", raw.get("cancel-on-timeout"), true)?,
            force_cancel: parse_bool("force-cancel", raw.get("force-cancel"), false)?,
            api_url: parse_base_url(
                "api-url",
                raw.get("api-url").unwrap_or("https://api.qovery.com"),
            )?,
            console_url: parse_base_url(
                "console-url",
                raw.get("console-url")
                    .unwrap_or("https://console.qovery.com"),
            )?,
        };
        config.check_command()?;
        Ok(config)
    }

    /// The rules that depend on the command: what must be listed and which inputs apply.
    fn check_command(&self) -> Result<(), InputError> {
        let lists = || {
            ServiceKind::ALL
                .iter()
                .map(|k| k.input())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.command {
            Command::Deploy | Command::Skip | Command::Unskip if self.entries.is_empty() => {
                return Err(InputError::new(
                    "applications",
                    format!("nothing to {}: no service is listed", self.command.name()),
                )
                .hint(format!("list at least one service in one of: {}", lists())));
            }
            Command::DeployJob | Command::RedeployJob => {
                if let Some(entry) = self.entries.iter().find(|e| e.kind != ServiceKind::Job) {
                    return Err(InputError::new(
                        entry.kind.input(),
                        format!("`{}` runs jobs only", self.command.name()),
                    )
                    .entry(&entry.raw)
                    .hint("list the jobs under `jobs`; use `command: deploy` for other services"));
                }
                if self.entries.is_empty() {
                    return Err(InputError::new("jobs", "no job is listed").hint(format!(
                        "`{}` needs at least one job id or name in `jobs`",
                        self.command.name()
                    )));
                }
            }
            Command::Cancel => {
                if let Some(entry) = self.entries.first() {
                    return Err(InputError::new(entry.kind.input(), "`cancel` acts on the whole environment and takes no services")
                        .entry(&entry.raw)
                        .hint("remove the service lists, or use `skip` to leave a service out of deployments"));
                }
            }
            _ => {}
        }
        let versionless = match self.command {
            Command::RedeployJob => {
                Some("use `command: deploy-job` to deploy another version, or drop the `=VERSION`")
            }
            Command::Skip | Command::Unskip => Some("list the service by id or name alone"),
            _ => None,
        };
        if let (Some(hint), Some(entry)) = (
            versionless,
            self.entries.iter().find(|e| e.version.is_some()),
        ) {
            return Err(InputError::new(
                entry.kind.input(),
                format!("`{}` takes no version", self.command.name()),
            )
            .entry(&entry.raw)
            .hint(hint));
        }
        if self.job_event.is_some()
            && !matches!(self.command, Command::DeployJob | Command::RedeployJob)
        {
            return Err(InputError::new(
                "job-event",
                format!("does not apply to `{}`", self.command.name()),
            )
            .hint("job-event is for `command: deploy-job` or `redeploy-job`"));
        }
        if self.terraform_action.is_some()
            && !self
                .entries
                .iter()
                .any(|e| e.kind == ServiceKind::Terraform)
        {
            return Err(
                InputError::new("terraform-action", "no terraform service is listed")
                    .hint("list the terraform services it applies to in `terraforms`"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::invocation;
    use super::*;

    const ENV: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";

    #[test]
    fn config_defaults_and_fallbacks() {
        let inv = invocation(
            &[
                ("QOVERY_API_TOKEN", "tok"),
                ("GITHUB_SHA", "abc123"),
                ("CI_COMMIT_SHA", "zzz"),
            ],
            &[],
        );
        let r = RawInputs::default()
            .with("environment-id", ENV)
            .with("applications", "api");
        let c = Config::parse(&r, &inv).unwrap();
        assert_eq!(c.token.expose(), "tok");
        assert_eq!(c.commit_sha.as_deref(), Some("abc123"));
        assert_eq!(c.image_tag.as_deref(), Some("abc123"));
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.api_url, "https://api.qovery.com");
        assert!(c.cancel_on_timeout && !c.force_cancel);
        let inv = invocation(
            &[("QOVERY_API_TOKEN", "tok"), ("CI_COMMIT_SHA", "zzz")],
            &[],
        );
        assert_eq!(
            Config::parse(&r, &inv).unwrap().commit_sha.as_deref(),
            Some("zzz")
        );
        assert_eq!(format!("{:?}", c.token), "Secret(***)");
    }

    #[test]
    fn config_rejects_bad_values_naming_the_input() {
        let base = RawInputs::default()
            .with("api-token", "t")
            .with("environment-id", ENV)
            .with("applications", "api");
        let cases = [
            (base.clone().with("command", "deploy-everything"), "command"),
            (
                base.clone().with("environment-id", "not-a-uuid"),
                "environment-id",
            ),
            (base.clone().with("timeout", "soon"), "timeout"),
            (base.clone().with("poll-interval", "500ms"), "poll-interval"),
            (base.clone().with("poll-interval", "0"), "poll-interval"),
            (base.clone().with("wait", "maybe"), "wait"),
            (
                base.clone().with("api-url", "http://api.example.com"),
                "api-url",
            ),
            (base.clone().with("api-url", "ftp://localhost"), "api-url"),
            (base.clone().with("job-event", "START"), "job-event"),
            (
                base.clone().with("terraform-action", "PLAN"),
                "terraform-action",
            ),
            (base.clone().with("command", "deploy-job"), "applications"),
            (base.clone().with("command", "cancel"), "applications"),
            (
                base.clone()
                    .with("command", "skip")
                    .with("applications", "api=1"),
                "applications",
            ),
            (
                base.clone()
                    .with("command", "redeploy-job")
                    .with("applications", "")
                    .with("jobs", "migrate=1"),
                "jobs",
            ),
            (
                RawInputs::default()
                    .with("api-token", "t")
                    .with("environment-id", ENV),
                "applications",
            ),
            (
                RawInputs::default()
                    .with("environment-id", ENV)
                    .with("applications", "a"),
                "api-token",
            ),
        ];
        for (raw, input) in cases {
            let err = Config::parse(&raw, &Invocation::default()).unwrap_err();
            assert_eq!(err.input, input, "{err}");
            assert!(err.hint.is_some(), "no hint for {err}");
        }
    }
}
