//! Validating the raw inputs into a [`Config`]: the types a run works with, the defaults and
//! fallbacks (`QOVERY_API_TOKEN`, the commit of [`super::commit`]), and the rules that depend on
//! the command. Every error names the input it is about.

use std::fmt;
use std::time::Duration;

use uuid::Uuid;

use super::commit::default_commit;
use super::preview::{self, PreviewName};
use super::table::{self, INPUTS};
use super::values::{
    check_form, no_path, parse_base_url, parse_bool, parse_count, parse_duration, parse_entries,
    parse_enum, parse_url_path, parse_uuid,
};
use super::{ExtraRoots, InputError, Invocation, RawInputs, VersionForm};
use crate::kind::ServiceKind;
use crate::neutral::{REDACT_MIN_CHARS, char_kind};

/// The longest `timeout` accepted, 7 days: longer than a CI job runs (GitHub stops hosted jobs at
/// 6 h and self-hosted ones at 5 days; issue 13 sets the line at 7 days). Past it the value is a
/// mistake, not a budget, and it would overflow a deadline.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The largest `log-lines`: the API returns the last 1000 log entries of an execution.
pub const MAX_LOG_LINES: usize = 1000;

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
    /// Make sure the preview environment of a pull/merge request exists, and deploy to it.
    Preview,
    /// Delete the preview environment of a pull/merge request.
    PreviewDelete,
}

impl Command {
    /// Every command and its name (the `command` input, or the first argument).
    pub const NAMES: [(&'static str, Command); 8] = [
        ("deploy", Command::Deploy),
        ("deploy-job", Command::DeployJob),
        ("redeploy-job", Command::RedeployJob),
        ("cancel", Command::Cancel),
        ("skip", Command::Skip),
        ("unskip", Command::Unskip),
        ("preview", Command::Preview),
        ("preview-delete", Command::PreviewDelete),
    ];

    pub fn name(self) -> &'static str {
        Command::NAMES
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(n, _)| *n)
            .unwrap_or("deploy")
    }

    /// Its row in the table of commands: what it reads, what `help` says of it.
    pub fn def(self) -> &'static table::CommandDef {
        table::command_def(self.name())
            .expect("every command has a row (a test keeps them in step)")
    }

    fn parse(value: &str) -> Result<Command, InputError> {
        Command::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(value))
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                let names = Command::NAMES.map(|(name, _)| name);
                let guess = super::table::suggest(value, names)
                    .map(|name| format!("did you mean `{name}`? "))
                    .unwrap_or_default();
                InputError::new("command", format!("unknown command `{value}`"))
                    .hint(format!("{guess}use one of: {}", names.join(", ")))
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
    /// Where `commit_sha` came from, for the log: the input, or the CI variable or event field
    /// (`inputs/commit.rs`).
    pub commit_why: Option<String>,
    /// A better source of the commit could not be read (see `inputs/commit.rs`).
    pub commit_warning: Option<String>,
    pub image_tag: Option<String>,
    pub chart_version: Option<String>,
    pub terraform_action: Option<TerraformAction>,
    pub job_event: Option<JobEvent>,
    /// `preview`, `preview-delete`: the preview environment's name (the input, else the pull or
    /// merge request's); `None` for the other commands.
    pub preview: Option<PreviewName>,
    /// `preview`: the cluster a new preview environment runs on (unset: the blueprint's).
    pub cluster_id: Option<Uuid>,
    /// `preview`: `apply_deployment_rule` of the clone request.
    pub apply_deployment_rule: bool,
    pub wait: bool,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub cancel_on_timeout: bool,
    pub force_cancel: bool,
    /// On failure, how many log lines before each failing service's first error are shown (0: no
    /// log is read at all). At most 1000 (`MAX_LOG_LINES`).
    pub log_lines: usize,
    /// After `DEPLOYED`, `GET url + path` until a 2xx (`deploy` only); `None` turns it off.
    /// Starts with `/`.
    pub health_check_path: Option<String>,
    /// Without a trailing slash.
    pub api_url: String,
    /// Without a trailing slash.
    pub console_url: String,
    /// CA certificates from `SSL_CERT_FILE` / `SSL_CERT_DIR`, trusted besides the embedded roots.
    pub extra_roots: ExtraRoots,
}

/// A token is visible ASCII (an HTTP header carries nothing else) and at least
/// [`REDACT_MIN_CHARS`] characters long.
///
/// Too short is refused rather than sent: Qovery API tokens and JWTs are long random strings, so a
/// short value is a placeholder or a truncated paste, and a secret that short cannot be redacted
/// from the tool's messages without garbling them (`x` is in every word), nor masked by GitLab
/// (masked variables need 8 characters or more). An invisible character (a zero-width space from a
/// web page or a chat) is named by kind and position, never by showing the token.
///
/// Errors: the `api-token` input error, before anything is sent.
fn check_token(token: &str) -> Result<(), InputError> {
    let odd = token
        .chars()
        .enumerate()
        .find_map(|(i, c)| char_kind(c).map(|kind| (i + 1, kind)));
    if let Some((position, kind)) = odd {
        let prefixed = ["Token ", "Bearer "].iter().any(|p| {
            token
                .get(..p.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(p))
        });
        let hint = if prefixed {
            "paste the token alone, without the `Token ` or `Bearer ` prefix"
        } else {
            "copy the token again from the Qovery console (Organization settings → API tokens), as plain text: copies from web pages and chats can carry invisible characters"
        };
        return Err(InputError::new(
            "api-token",
            format!("the token contains {kind} at character {position}"),
        )
        .hint(hint));
    }
    if token.starts_with('$') || token.starts_with("%") && token.ends_with('%') {
        // `$QOVERY_API_TOKEN`, `${QOVERY_API_TOKEN}`, `%TOKEN%`: a reference nobody expanded (the
        // GitLab component's default is `$QOVERY_API_TOKEN`). It names a variable, not a secret.
        return Err(InputError::new(
            "api-token",
            "the token is a variable reference that was not expanded (it starts with `$`)",
        )
        .hint("define the variable it names in the CI/CD settings (masked), or pass the token itself; a variable that is not defined is left as written"));
    }
    let length = token.chars().count();
    if length < REDACT_MIN_CHARS {
        return Err(InputError::new(
            "api-token",
            format!("the token is only {length} character(s) long: not a Qovery API token"),
        )
        .hint(format!(
            "Qovery API tokens are long random strings; pass the whole token (with the bundled mock, any value of {REDACT_MIN_CHARS} or more characters works)"
        )));
    }
    Ok(())
}

/// What talking to the API takes, and nothing else: the token, `api-url`, the extra TLS roots and
/// `force-cancel`. The cleanup ([`crate::handover`]) reads only this, so a run whose other inputs
/// were given as flags (which an `after_script` or a post step does not repeat) is still cleaned up.
#[derive(Debug, Clone)]
pub struct Connection {
    pub token: Secret,
    /// `api-url` without a trailing slash (default `https://api.qovery.com`).
    pub api_url: String,
    pub extra_roots: ExtraRoots,
    pub force_cancel: bool,
}

impl Connection {
    /// Errors: the input error of the first bad one of `api-token` (or `QOVERY_API_TOKEN`),
    /// `api-url`, `force-cancel`, `SSL_CERT_FILE`/`SSL_CERT_DIR`.
    pub fn parse(raw: &RawInputs, invocation: &Invocation) -> Result<Connection, InputError> {
        let token = Config::token(raw, invocation).ok_or_else(|| {
            InputError::new("api-token", "no API token given")
                .hint("set the `api-token` input (from a secret) or the QOVERY_API_TOKEN variable")
        })?;
        check_token(token.expose())?;
        Ok(Connection {
            token,
            api_url: no_path(
                "api-url",
                parse_base_url(
                    "api-url",
                    raw.get("api-url").unwrap_or("https://api.qovery.com"),
                )?,
            )?,
            extra_roots: ExtraRoots::read(invocation)?,
            force_cancel: parse_bool("force-cancel", raw.get("force-cancel"), false)?,
        })
    }
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
        check_applies(command, raw)?;
        let reads = |name: &str| command.def().reads(name);
        let Connection {
            token,
            api_url,
            extra_roots,
            force_cancel,
        } = Connection::parse(raw, invocation)?;
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

        let (commit_sha, commit_why, commit_warning) = match raw.get("commit-sha") {
            Some(sha) => (
                Some(sha.to_string()),
                Some("the `commit-sha` input".to_string()),
                None,
            ),
            // The CI's commit is a default: read (and checked) only by the commands that use it,
            // so a strange `GITHUB_SHA` never fails a `skip` or a `cancel`.
            None if !reads("commit-sha") => (None, None, None),
            None => match default_commit(invocation) {
                Some(chosen) => {
                    // A CI variable is outside text too: the same rule, naming the variable.
                    check_form("commit-sha", VersionForm::Commit, &chosen.sha).map_err(|e| {
                        InputError {
                            given_as: Some(chosen.source.clone()),
                            hint: Some(format!(
                                "{} is not a commit; set `commit-sha` to the commit that was built",
                                chosen.source
                            )),
                            ..e
                        }
                    })?;
                    (Some(chosen.sha), Some(chosen.why), chosen.warning)
                }
                None => (None, None, None),
            },
        };
        let image_tag = raw
            .get("image-tag")
            .map(str::to_string)
            .or_else(|| commit_sha.clone().filter(|_| reads("image-tag")));
        for (name, value, form) in [
            ("commit-sha", &commit_sha, VersionForm::Commit),
            ("image-tag", &image_tag, VersionForm::ImageTag),
        ] {
            if let Some(value) = value {
                check_form(name, form, value)?;
            }
        }
        let chart_version = raw.get("chart-version").map(str::to_string);
        if let Some(value) = &chart_version {
            check_form("chart-version", VersionForm::ChartVersion, value)?;
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
        if timeout > MAX_TIMEOUT {
            return Err(InputError::new(
                "timeout",
                format!(
                    "{}s is longer than any CI job may run (at most {}, 7 days)",
                    timeout.as_secs(),
                    MAX_TIMEOUT.as_secs()
                ),
            )
            .hint("give the step's own budget, e.g. `30m` or `2h`"));
        }

        let is_preview = matches!(command, Command::Preview | Command::PreviewDelete);
        let preview = if is_preview {
            Some(preview::resolve(raw.get("preview-name"), invocation)?)
        } else {
            None
        };
        let cluster_id = raw
            .get("cluster-id")
            .map(|value| parse_uuid("cluster-id", value))
            .transpose()?;

        let config = Config {
            command,
            token,
            environment_id,
            entries,
            commit_sha,
            commit_why,
            commit_warning,
            image_tag,
            chart_version,
            terraform_action,
            job_event,
            preview,
            cluster_id,
            apply_deployment_rule: parse_bool(
                "apply-deployment-rule",
                raw.get("apply-deployment-rule"),
                false,
            )?,
            wait: parse_bool("wait", raw.get("wait"), true)?,
            timeout,
            poll_interval,
            cancel_on_timeout: parse_bool("cancel-on-timeout", raw.get("cancel-on-timeout"), true)?,
            force_cancel,
            log_lines: parse_count("log-lines", raw.get("log-lines").unwrap_or("30"), MAX_LOG_LINES)
                .map_err(|e| e.hint("the number of log lines to show before each failing service's error; 0 turns the logs off, 30 is the default"))?,
            health_check_path: raw
                .get("health-check-path")
                .map(|v| parse_url_path("health-check-path", v))
                .transpose()?,
            api_url,
            console_url: parse_base_url(
                "console-url",
                raw.get("console-url")
                    .unwrap_or("https://console.qovery.com"),
            )?,
            extra_roots,
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
            Command::Deploy | Command::Skip | Command::Unskip | Command::Preview
                if self.entries.is_empty() =>
            {
                return Err(InputError::new(
                    "applications",
                    format!("nothing to {}: no service is listed", self.command.name()),
                )
                .hint(format!("list at least one service in one of: {}", lists())));
            }
            // Other services under a job command are refused by `check_applies`.
            Command::DeployJob | Command::RedeployJob if self.entries.is_empty() => {
                return Err(InputError::new("jobs", "no job is listed").hint(format!(
                    "`{}` needs at least one job id or name in `jobs`",
                    self.command.name()
                )));
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
        if self.health_check_path.is_some() && !self.wait {
            return Err(InputError::new(
                "health-check-path",
                "needs `wait: true`: the service is checked once it is DEPLOYED",
            )
            .hint("set `wait: true`, or remove health-check-path"));
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

/// One rule for inputs a command does not read ([`table::CommandDef::reads`]): given a value other
/// than its default, such an input is bad input naming it and the command, checked before any value
/// is validated (so `cancel --commit-sha zzz` says `cancel` does not read it, not that `zzz` is no
/// commit). A value equal to the input's default is how `action.yml` and the GitLab components
/// fill every input, so it passes; CI variables (`GITHUB_SHA`, …) are defaults, not inputs, and are
/// only read by the commands that use them.
fn check_applies(command: Command, raw: &RawInputs) -> Result<(), InputError> {
    let def = command.def();
    for input in INPUTS.iter().filter(|input| !def.reads(input.name)) {
        let Some(value) = raw.get(input.name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let is_default = input.default.is_some_and(|default| {
            if input.switch {
                parse_bool(input.name, Some(value), true).ok()
                    == parse_bool(input.name, Some(default), true).ok()
            } else {
                value.eq_ignore_ascii_case(default)
            }
        });
        if is_default {
            continue;
        }
        return Err(not_read(command, input.name, value));
    }
    Ok(())
}

/// The error for an input `command` does not read, in the words that help most for that input.
fn not_read(command: Command, input: &str, value: &str) -> InputError {
    let name = command.name();
    let first_entry = || {
        value
            .split([',', '\n'])
            .map(str::trim)
            .find(|e| !e.is_empty())
            .unwrap_or(value)
            .to_string()
    };
    let is_list = ServiceKind::ALL.iter().any(|k| k.input() == input);
    let (problem, hint) = match (command, input) {
        (Command::Cancel, _) if is_list => (
            "`cancel` acts on the whole environment and takes no services".to_string(),
            "remove the service lists, or use `skip` to leave a service out of deployments"
                .to_string(),
        ),
        (Command::PreviewDelete, _) if is_list => (
            "`preview-delete` deletes the whole preview environment and takes no services"
                .to_string(),
            "remove the service lists from the step that deletes the preview".to_string(),
        ),
        (Command::DeployJob | Command::RedeployJob, _) if is_list => (
            format!("`{name}` runs jobs only"),
            "list the jobs under `jobs`; use `command: deploy` for other services".to_string(),
        ),
        (_, "job-event") => (
            format!("does not apply to `{name}`"),
            "job-event is for `command: deploy-job` or `redeploy-job`".to_string(),
        ),
        (_, "preview-name") => (
            format!("does not apply to `{name}`"),
            "preview-name is for `command: preview` or `preview-delete`; remove it from this step"
                .to_string(),
        ),
        (_, "cluster-id" | "apply-deployment-rule") => (
            format!("does not apply to `{name}`"),
            format!(
                "{input} is for `command: preview` (it shapes a new preview environment); remove it from this step"
            ),
        ),
        (_, "health-check-path") => (
            format!("does not apply to `{name}`"),
            "the health check follows `command: deploy` or `preview`, on the services' public link"
                .to_string(),
        ),
        _ => (
            format!("does not apply to `{name}`, which does not read it"),
            format!(
                "remove it from this step; `qovery-deploy help {name}` lists the inputs `{name}` reads"
            ),
        ),
    };
    let error = InputError::new(input, problem).hint(hint);
    if is_list {
        error.entry(first_entry())
    } else {
        error
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
                ("QOVERY_API_TOKEN", "qov_token_1"),
                ("GITHUB_SHA", "abc1234"),
                ("CI_COMMIT_SHA", "fff0000"),
            ],
            &[],
        );
        let r = RawInputs::default()
            .with("environment-id", ENV)
            .with("applications", "api");
        let c = Config::parse(&r, &inv).unwrap();
        assert_eq!(c.token.expose(), "qov_token_1");
        assert_eq!(c.commit_sha.as_deref(), Some("abc1234"));
        assert_eq!(c.image_tag.as_deref(), Some("abc1234"));
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.api_url, "https://api.qovery.com");
        assert!(c.cancel_on_timeout && !c.force_cancel);
        let inv = invocation(
            &[
                ("QOVERY_API_TOKEN", "qov_token_1"),
                ("CI_COMMIT_SHA", "fff0000"),
            ],
            &[],
        );
        assert_eq!(
            Config::parse(&r, &inv).unwrap().commit_sha.as_deref(),
            Some("fff0000")
        );
        assert_eq!(format!("{:?}", c.token), "Secret(***)");
    }

    #[test]
    fn a_commit_from_a_ci_variable_has_the_form_of_a_commit_and_a_bad_one_names_the_variable() {
        let r = RawInputs::default()
            .with("api-token", "qov_token_1")
            .with("environment-id", ENV)
            .with("applications", "api");
        for (vars, source) in [
            (
                vec![("GITHUB_SHA", "main\n::set-output name=result::success")],
                "`GITHUB_SHA`",
            ),
            (
                vec![
                    ("CI_COMMIT_SHA", "fff0000"),
                    ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "../../x"),
                ],
                "`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`",
            ),
            (vec![("CI_COMMIT_SHA", "=x")], "`CI_COMMIT_SHA`"),
        ] {
            let err = Config::parse(&r, &invocation(&vars, &[])).unwrap_err();
            assert_eq!(err.input, "commit-sha");
            assert_eq!(err.given_as.as_deref(), Some(source));
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("input `commit-sha` (given as {source}): ")),
                "{shown}"
            );
            assert!(
                shown.contains("is not a commit SHA") || shown.contains("contains whitespace"),
                "{shown}"
            );
            // The value is escaped: the message is its own line and its hint's.
            assert_eq!(shown.lines().count(), 2, "{shown}");
            assert!(shown.contains("set `commit-sha`"), "{shown}");
        }
        // The input wins over a variable of any form.
        let inv = invocation(&[("GITHUB_SHA", "not a sha")], &[]);
        let c = Config::parse(&r.clone().with("commit-sha", "abc1234"), &inv).unwrap();
        assert_eq!(c.commit_sha.as_deref(), Some("abc1234"));
    }

    proptest::proptest! {
        /// No number given as `timeout` or `poll-interval` panics, in any unit; an accepted
        /// timeout is at most 7 days, a refused one names its input.
        #[test]
        fn numeric_inputs_never_panic(
            number in proptest::prelude::any::<u64>(),
            other in proptest::prelude::any::<u64>(),
            unit in proptest::sample::select(vec!["", "s", "m", "h", "h30m", "m1s", "ms", "d"]),
            text in proptest::prelude::any::<String>(),
        ) {
            let inv = invocation(&[], &[]);
            let base = RawInputs::default()
                .with("api-token", "qov_token_1")
                .with("environment-id", ENV)
                .with("applications", "api");
            let values = [format!("{number}{unit}"), format!("{number}h{other}m"), text, format!("{number}{other}")];
            for value in &values {
                for input in ["timeout", "poll-interval"] {
                    match Config::parse(&base.clone().with(input, value), &inv) {
                        Ok(config) => proptest::prop_assert!(config.timeout <= MAX_TIMEOUT),
                        Err(error) => proptest::prop_assert_eq!(error.input, input),
                    }
                }
            }
        }
    }

    #[test]
    fn preview_inputs_apply_to_the_preview_commands_only() {
        let base = RawInputs::default()
            .with("api-token", "qov_token_1")
            .with("environment-id", ENV);
        let preview = base.clone().with("command", "preview");
        let gitlab = invocation(&[("CI_MERGE_REQUEST_IID", "12")], &[]);
        let c = Config::parse(&preview.clone().with("applications", "api"), &gitlab).unwrap();
        assert_eq!(c.preview.as_ref().map(|p| p.name.as_str()), Some("mr-12"));
        assert_eq!((c.cluster_id, c.apply_deployment_rule), (None, false));
        let c = Config::parse(
            &preview
                .clone()
                .with("applications", "api")
                .with("preview-name", "Review-7")
                .with("cluster-id", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
                .with("apply-deployment-rule", "true"),
            &gitlab,
        )
        .unwrap();
        assert_eq!(c.preview.unwrap().name, "Review-7");
        assert!(c.cluster_id.is_some() && c.apply_deployment_rule);
        let delete = base.clone().with("command", "preview-delete");
        assert!(Config::parse(&delete, &gitlab).is_ok());
        // GitHub sets every declared input to its default: `false` is fine anywhere.
        let deploy = base.clone().with("applications", "api");
        assert!(
            Config::parse(
                &deploy.clone().with("apply-deployment-rule", "false"),
                &gitlab
            )
            .is_ok()
        );
        // Not for deploy, and the other way round; each error names its input.
        let cases = [
            (deploy.clone().with("preview-name", "pr-1"), "preview-name"),
            (
                deploy
                    .clone()
                    .with("cluster-id", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"),
                "cluster-id",
            ),
            (
                deploy.clone().with("apply-deployment-rule", "true"),
                "apply-deployment-rule",
            ),
            (
                delete
                    .clone()
                    .with("cluster-id", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"),
                "cluster-id",
            ),
            (delete.clone().with("applications", "api"), "applications"),
            (preview.clone(), "applications"),
            (
                preview
                    .clone()
                    .with("applications", "api")
                    .with("cluster-id", "eu-west"),
                "cluster-id",
            ),
            (
                preview
                    .clone()
                    .with("applications", "api")
                    .with("apply-deployment-rule", "yes please"),
                "apply-deployment-rule",
            ),
        ];
        for (raw, input) in cases {
            let err = Config::parse(&raw, &gitlab).unwrap_err();
            assert_eq!(err.input, input, "{err}");
        }
        // No pull or merge request and no name: bad input naming `preview-name`.
        let err = Config::parse(&delete, &Invocation::default()).unwrap_err();
        assert_eq!(err.input, "preview-name");
        assert!(err.hint.is_some());
    }

    #[test]
    fn an_unexpanded_variable_is_not_taken_for_a_token() {
        for token in [
            "$QOVERY_API_TOKEN",
            "${QOVERY_API_TOKEN}",
            "%QOVERY_API_TOKEN%",
        ] {
            let raw = RawInputs::default()
                .with("environment-id", ENV)
                .with("applications", "api")
                .with("api-token", token);
            let err = Config::parse(&raw, &Invocation::default()).unwrap_err();
            assert_eq!(err.input, "api-token", "{token}: {err}");
            assert!(err.problem.contains("not expanded"), "{token}: {err}");
        }
        // A `%` inside a token is not a reference.
        let raw = RawInputs::default()
            .with("environment-id", ENV)
            .with("applications", "api")
            .with("api-token", "%qov_abcdefgh");
        assert!(Config::parse(&raw, &Invocation::default()).is_ok());
    }

    #[test]
    fn tokens_with_invisible_characters_are_named_by_kind_and_position_never_shown() {
        let base = RawInputs::default()
            .with("environment-id", ENV)
            .with("applications", "api");
        for (token, problem) in [
            (
                "qov_abc\u{200B}defghij",
                "the token contains a zero-width space (U+200B) at character 8",
            ),
            (
                "qov_abcdefgh\u{7}",
                "the token contains a control character (U+0007) at character 13",
            ),
            (
                "\u{FEFF}qov_abcdefgh",
                "the token contains a zero-width no-break space (byte order mark) (U+FEFF) at character 1",
            ),
            (
                "qov_abc\u{202E}defgh",
                "the token contains a bidirectional control character (U+202E) at character 8",
            ),
            (
                "qov_abcdéfgh",
                "the token contains a non-ASCII character (U+00E9) at character 9",
            ),
            (
                "Token qov_abcdefgh",
                "the token contains a space at character 6",
            ),
        ] {
            let err = Config::parse(
                &base.clone().with("api-token", token),
                &Invocation::default(),
            )
            .unwrap_err();
            assert_eq!(err.input, "api-token");
            assert_eq!(err.problem, problem);
            let visible: String = token.chars().filter(char::is_ascii_graphic).collect();
            let shown = err.to_string();
            assert!(!shown.contains(&visible[visible.len() - 5..]), "{shown}");
        }
        let err = Config::parse(
            &base.clone().with("api-token", "Token qov_abcdefgh"),
            &Invocation::default(),
        )
        .unwrap_err();
        assert!(err.hint.unwrap().contains("without the `Token `"));
    }

    #[test]
    fn a_token_too_short_to_be_real_is_bad_input() {
        let base = RawInputs::default()
            .with("environment-id", ENV)
            .with("applications", "api");
        for short in ["x", "1234567"] {
            let err = Config::parse(
                &base.clone().with("api-token", short),
                &Invocation::default(),
            )
            .unwrap_err();
            assert_eq!(err.input, "api-token");
            assert!(err.problem.contains("character(s) long"), "{err}");
        }
        assert!(Config::parse(&base.with("api-token", "12345678"), &Invocation::default()).is_ok());
    }

    #[test]
    fn config_rejects_bad_values_naming_the_input() {
        let base = RawInputs::default()
            .with("api-token", "qov_token_1")
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
                    .with("applications", "api=3f8a1c2"),
                "applications",
            ),
            (
                base.clone()
                    .with("command", "redeploy-job")
                    .with("applications", "")
                    .with("jobs", "migrate=1.0.0"),
                "jobs",
            ),
            (
                RawInputs::default()
                    .with("api-token", "qov_token_1")
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

    #[test]
    fn an_input_the_command_does_not_read_is_refused_naming_both() {
        let base = || {
            RawInputs::default()
                .with("api-token", "qov_token_1")
                .with("environment-id", ENV)
        };
        let cases = [
            (
                base().with("command", "cancel").with("commit-sha", "zzz"),
                "commit-sha",
                "cancel",
            ),
            (
                base()
                    .with("command", "skip")
                    .with("applications", "api")
                    .with("commit-sha", "abc1234"),
                "commit-sha",
                "skip",
            ),
            (
                base()
                    .with("command", "skip")
                    .with("applications", "api")
                    .with("job-event", "boom"),
                "job-event",
                "skip",
            ),
            (
                base().with("command", "cancel").with("applications", "api"),
                "applications",
                "cancel",
            ),
            (
                base()
                    .with("command", "skip")
                    .with("applications", "api")
                    .with("wait", "false"),
                "wait",
                "skip",
            ),
            (
                base()
                    .with("command", "redeploy-job")
                    .with("jobs", "migrate")
                    .with("image-tag", "v1"),
                "image-tag",
                "redeploy-job",
            ),
            (
                base()
                    .with("command", "deploy")
                    .with("applications", "api")
                    .with("preview-name", "pr-1"),
                "preview-name",
                "deploy",
            ),
            (
                base().with("command", "cancel").with("log-lines", "5"),
                "log-lines",
                "cancel",
            ),
        ];
        for (raw, input, command) in cases {
            let err = Config::parse(&raw, &Invocation::default()).unwrap_err();
            assert_eq!(err.input, input, "{err}");
            let text = err.to_string();
            assert!(text.contains(&format!("`{command}`")), "{text}");
            assert!(err.hint.is_some(), "{text}");
        }
    }

    #[test]
    fn defaults_never_fail_a_command_that_ignores_them() {
        // How action.yml fills every input, plus CI variables the command does not read.
        let mut raw = RawInputs::default()
            .with("api-token", "qov_token_1")
            .with("environment-id", ENV)
            .with("command", "skip")
            .with("applications", "api");
        for def in INPUTS.iter().filter(|d| !d.name.contains("command")) {
            if let (Some(default), None) = (def.default, raw.get(def.name)) {
                raw = raw.with(def.name, default);
            }
        }
        let raw = raw.with("wait", "TRUE").with("force-cancel", "False");
        let inv = invocation(
            &[("GITHUB_SHA", "not a commit!"), ("CI_COMMIT_SHA", "zzz")],
            &[],
        );
        let config = Config::parse(&raw, &inv).unwrap();
        assert_eq!(config.commit_sha, None, "skip does not read the commit");
        assert_eq!(config.image_tag, None);
        let cancel = raw
            .clone()
            .with("command", "cancel")
            .with("applications", "");
        assert!(Config::parse(&cancel, &inv).is_ok());
        // A command that reads the commit still checks the CI's.
        let deploy = raw.with("command", "deploy");
        assert_eq!(
            Config::parse(&deploy, &inv).unwrap_err().input,
            "commit-sha"
        );
    }
}
