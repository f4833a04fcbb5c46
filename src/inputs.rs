//! The step's inputs, read from `INPUT_*` environment variables and, for local use, `--flags`.
//!
//! GitHub hands a docker action its input `api-token` as `INPUT_API-TOKEN` (hyphen kept); GitLab and
//! shells can only set `INPUT_API_TOKEN`. Both spellings are accepted, in any case, and an empty value
//! is unset (GitHub sets every declared input, empty when the workflow does not give it). Each input is
//! looked up by its exact name and parsed here, so every error names the input it is about.
//! (`envy` was the first idea; it lower-cases names, so it misses `INPUT_API-TOKEN`, and it turns `""`
//! into `Some("")` or a parse error. See README, "Dependencies".)

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use uuid::Uuid;

use crate::kind::ServiceKind;

/// One input of the step, as declared in `action.yml` and documented in the README table.
#[derive(Debug, Clone, Copy)]
pub struct InputDef {
    pub name: &'static str,
    /// The literal default, when there is one (fallbacks to other variables are described instead).
    pub default: Option<&'static str>,
    pub help: &'static str,
}

const fn input(name: &'static str, default: Option<&'static str>, help: &'static str) -> InputDef {
    InputDef {
        name,
        default,
        help,
    }
}

/// Every input, in the order of the README table and `action.yml`. A test keeps the three in step.
pub const INPUTS: &[InputDef] = &[
    input(
        "command",
        Some("deploy"),
        "deploy, deploy-job, redeploy-job, cancel, skip or unskip",
    ),
    input(
        "api-token",
        None,
        "Qovery API token (default: $QOVERY_API_TOKEN)",
    ),
    input("environment-id", None, "environment UUID (required)"),
    input(
        "applications",
        None,
        "applications to deploy: ids or names, comma/newline separated, `name=VERSION` overrides",
    ),
    input("containers", None, "containers, same syntax"),
    input("jobs", None, "jobs, same syntax"),
    input("helms", None, "helm charts, same syntax"),
    input("databases", None, "databases, same syntax (no version)"),
    input("terraforms", None, "terraform services, same syntax"),
    input(
        "commit-sha",
        None,
        "git commit for git-sourced services (default: $GITHUB_SHA, then $CI_COMMIT_SHA)",
    ),
    input(
        "image-tag",
        None,
        "image tag for containers and image jobs (default: the commit SHA)",
    ),
    input(
        "chart-version",
        None,
        "chart version for helms from a Helm repository",
    ),
    input(
        "terraform-action",
        None,
        "PLAN, FORCE_UNLOCK or MIGRATE_STATE for the listed terraforms",
    ),
    input(
        "job-event",
        None,
        "forceEvent for deploy-job/redeploy-job: START, STOP, DELETE or CRON",
    ),
    input("wait", Some("true"), "wait for the deployment to finish"),
    input(
        "timeout",
        Some("30m"),
        "overall budget, counted from start: 90, 90s, 15m, 1h30m",
    ),
    input(
        "poll-interval",
        Some("5s"),
        "time between status polls (at least 1s)",
    ),
    input(
        "cancel-on-timeout",
        Some("true"),
        "cancel our deployment when the timeout passes",
    ),
    input(
        "force-cancel",
        Some("false"),
        "force_cancel when cancelling",
    ),
    input(
        "api-url",
        Some("https://api.qovery.com"),
        "Qovery API base URL",
    ),
    input(
        "console-url",
        Some("https://console.qovery.com"),
        "Qovery console base URL, for links",
    ),
];

/// A bad input: which input, which entry, what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub input: String,
    pub entry: Option<String>,
    pub problem: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(input: impl Into<String>, problem: impl Into<String>) -> Self {
        InputError {
            input: input.into(),
            entry: None,
            problem: problem.into(),
            hint: None,
        }
    }

    pub fn entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input `{}`", self.input)?;
        if let Some(entry) = &self.entry {
            write!(f, ", entry `{entry}`")?;
        }
        write!(f, ": {}", self.problem)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// What the process was started with: its environment and its arguments. Kept as plain data so that
/// everything downstream is testable without touching the real process environment.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub env: BTreeMap<String, String>,
    pub args: Vec<String>,
}

impl Invocation {
    pub fn from_process() -> Self {
        Invocation {
            // Variables that are not valid UTF-8 cannot be inputs; skip them rather than panic.
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            args: std::env::args().skip(1).collect(),
        }
    }

    /// A non-empty environment variable (an empty one counts as unset).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// What the arguments asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Run(RawInputs),
    Help,
    Version,
}

/// Input values as given (trimmed, non-empty), keyed by canonical input name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawInputs {
    values: BTreeMap<&'static str, String>,
    /// Variables that look like inputs but are none; worth a warning (a typo silently ignored is a bug).
    pub unknown: Vec<String>,
}

impl RawInputs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    #[cfg(test)]
    pub fn with(mut self, name: &'static str, value: &str) -> Self {
        self.values.insert(name, value.to_string());
        self
    }
}

/// `API-TOKEN`, `api_token` and `Api-Token` are all the input `api-token`.
fn canonical(name: &str) -> Option<&'static str> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    INPUTS.iter().map(|def| def.name).find(|n| *n == wanted)
}

/// Every value that may hold the token, to be masked before anything is printed (even when the
/// inputs turn out to be invalid).
pub fn token_candidates(invocation: &Invocation) -> Vec<String> {
    let mut found: Vec<String> = invocation
        .env
        .iter()
        .filter(|(key, _)| {
            key == &"QOVERY_API_TOKEN"
                || key
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case("INPUT_"))
                    && canonical(&key[6..]) == Some("api-token")
        })
        .map(|(_, value)| value.trim().to_string())
        .chain(
            invocation
                .args
                .windows(2)
                .filter(|w| w[0] == "--api-token")
                .map(|w| w[1].trim().to_string()),
        )
        .chain(
            invocation
                .args
                .iter()
                .filter_map(|a| a.strip_prefix("--api-token=").map(|v| v.trim().to_string())),
        )
        .filter(|v| !v.is_empty())
        .collect();
    found.dedup();
    found
}

/// Reads inputs from `INPUT_*` variables, then lets `--name value` flags override them.
pub fn read(invocation: &Invocation) -> Result<Request, InputError> {
    let mut raw = RawInputs::default();
    let mut sources: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    for (key, value) in &invocation.env {
        let Some(rest) = key
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("INPUT_"))
            .map(|_| &key[6..])
        else {
            continue;
        };
        let Some(name) = canonical(rest) else {
            raw.unknown.push(key.clone());
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if let Some((other_key, other_value)) = sources.get(name) {
            if other_value != value {
                return Err(InputError::new(
                    name,
                    format!("set twice with different values, by {other_key} and {key}"),
                )
                .hint("set only one spelling of the variable"));
            }
        }
        sources.insert(name, (key.clone(), value.to_string()));
        raw.values.insert(name, value.to_string());
    }

    let mut args = invocation.args.iter();
    let mut positional_seen = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Request::Help),
            "-V" | "--version" => return Ok(Request::Version),
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            // One positional argument: the command, as in `qovery-deploy cancel`.
            if positional_seen {
                return Err(
                    InputError::new("command", format!("unexpected argument `{arg}`")).hint(
                        "give one command, as `qovery-deploy COMMAND` or `--command COMMAND`",
                    ),
                );
            }
            positional_seen = true;
            raw.values.insert("command", arg.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (flag, None),
        };
        let Some(name) = canonical(name).filter(|_| !name.contains('_')) else {
            return Err(InputError::new(format!("--{name}"), "unknown flag").hint(
                "run `qovery-deploy --help` for the list of inputs; every input is also a `--flag`",
            ));
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .cloned()
                .ok_or_else(|| InputError::new(name, format!("`--{name}` needs a value")))?,
        };
        let value = value.trim();
        if value.is_empty() {
            raw.values.remove(name);
        } else {
            raw.values.insert(name, value.to_string());
        }
    }
    Ok(Request::Run(raw))
}

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

fn parse_uuid(input: &str, value: &str) -> Result<Uuid, InputError> {
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

/// A version (commit, tag, chart version) is one token: no spaces, not empty.
fn check_version(input: &str, entry: Option<&str>, value: &str) -> Result<(), InputError> {
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

fn parse_enum<T: Copy>(input: &str, value: &str, choices: &[(&str, T)]) -> Result<T, InputError> {
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

/// `90` (seconds), `90s`, `15m`, `1h`, `1h30m`, `2m30s`.
pub fn parse_duration(input: &str, value: &str) -> Result<Duration, InputError> {
    let bad = || {
        InputError::new(input, format!("`{value}` is not a duration"))
            .hint("write it like 90, 90s, 15m, 1h or 1h30m")
    };
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
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

/// A base URL without a trailing slash. Plain `http://` only for loopback hosts: the token must not
/// cross a network in clear text.
fn parse_base_url(input: &str, value: &str) -> Result<String, InputError> {
    let trimmed = value.trim_end_matches('/');
    let bad = |problem: &str| {
        InputError::new(input, format!("`{value}` {problem}")).hint(
            "use an https:// URL such as https://api.qovery.com (plain http:// only for localhost)",
        )
    };
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| bad("is not a URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() =>
        {
            host
        }
        _ => authority,
    };
    if host.is_empty() || authority.contains('@') {
        return Err(bad("has no host (or carries credentials)"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(trimmed.to_string()),
        "http" if is_loopback(host) => Ok(trimmed.to_string()),
        "http" => Err(bad("uses plain http to a non-loopback host")),
        _ => Err(bad("is not an http(s) URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `--help` text.
pub fn help() -> String {
    let mut text = format!(
        "qovery-deploy {}\nDeploy Qovery services from CI and wait for the result.\n\n\
         Inputs come from INPUT_<NAME> variables (INPUT_API-TOKEN or INPUT_API_TOKEN) or --<name> flags:\n\n",
        env!("CARGO_PKG_VERSION")
    );
    for def in INPUTS {
        let default = def
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        text.push_str(&format!("  --{:<18} {}{}\n", def.name, def.help, default));
    }
    text.push_str(
        "\nExit codes: 0 success, 1 deployment failed, 2 bad input, 3 timeout, 4 API error, 5 cancelled.\n\
         Docs: README.md (https://github.com/qovery-deploy/qovery-deploy)\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(vars: &[(&str, &str)], args: &[&str]) -> Invocation {
        Invocation {
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn raw(vars: &[(&str, &str)]) -> RawInputs {
        match read(&invocation(vars, &[])).unwrap() {
            Request::Run(raw) => raw,
            other => panic!("{other:?}"),
        }
    }

    const ENV: &str = "b6a6a1c4-2f0e-4a44-9f4b-6f3e9d2c7a10";

    #[test]
    fn both_spellings_and_any_case_are_read() {
        assert_eq!(
            raw(&[("INPUT_API-TOKEN", "t1")]).get("api-token"),
            Some("t1")
        );
        assert_eq!(
            raw(&[("INPUT_API_TOKEN", "t2")]).get("api-token"),
            Some("t2")
        );
        assert_eq!(
            raw(&[("input_api_token", "t3")]).get("api-token"),
            Some("t3")
        );
        assert_eq!(
            raw(&[("INPUT_POLL-INTERVAL", "7s")]).get("poll-interval"),
            Some("7s")
        );
    }

    #[test]
    fn empty_and_blank_values_are_unset() {
        let r = raw(&[
            ("INPUT_TIMEOUT", ""),
            ("INPUT_WAIT", "  "),
            ("INPUT_API-TOKEN", "t"),
        ]);
        assert_eq!(r.get("timeout"), None);
        assert_eq!(r.get("wait"), None);
        let config = Config::parse(
            &r.clone()
                .with("environment-id", ENV)
                .with("applications", "api"),
            &Invocation::default(),
        )
        .unwrap();
        assert_eq!(config.timeout, Duration::from_secs(1800));
        assert!(config.wait);
    }

    #[test]
    fn conflicting_spellings_are_an_error() {
        let err = read(&invocation(
            &[("INPUT_API-TOKEN", "a"), ("INPUT_API_TOKEN", "b")],
            &[],
        ))
        .unwrap_err();
        assert_eq!(err.input, "api-token");
        // The same value twice is fine.
        assert!(
            read(&invocation(
                &[("INPUT_API-TOKEN", "a"), ("INPUT_API_TOKEN", "a")],
                &[]
            ))
            .is_ok()
        );
    }

    #[test]
    fn unknown_input_variables_are_reported() {
        assert_eq!(
            raw(&[("INPUT_APPLICATION", "api")]).unknown,
            vec!["INPUT_APPLICATION".to_string()]
        );
    }

    #[test]
    fn flags_override_variables() {
        let inv = invocation(
            &[("INPUT_TIMEOUT", "10m")],
            &["--timeout", "5m", "--wait=false", "cancel"],
        );
        let Request::Run(r) = read(&inv).unwrap() else {
            panic!()
        };
        assert_eq!(r.get("timeout"), Some("5m"));
        assert_eq!(r.get("wait"), Some("false"));
        assert_eq!(r.get("command"), Some("cancel"));
        assert_eq!(read(&invocation(&[], &["--help"])).unwrap(), Request::Help);
        assert_eq!(read(&invocation(&[], &["-V"])).unwrap(), Request::Version);
        assert_eq!(
            read(&invocation(&[], &["--nope", "x"])).unwrap_err().input,
            "--nope"
        );
        assert_eq!(
            read(&invocation(&[], &["--timeout"])).unwrap_err().input,
            "timeout"
        );
    }

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
        assert!(parse_base_url("api-url", "http://10.0.0.1").is_err());
        assert!(parse_base_url("api-url", "https://user:pw@api.qovery.com").is_err());
    }

    #[test]
    fn help_lists_every_input() {
        let help = help();
        for def in INPUTS {
            assert!(help.contains(&format!("--{}", def.name)));
        }
    }
}
