//! The table of inputs: one row per input, the source of truth for the names, the defaults, the
//! `--help` text and (through the contract test) the README table and `action.yml`.

/// One input of the step, as declared in `action.yml` and documented in the README table.
#[derive(Debug, Clone, Copy)]
pub struct InputDef {
    pub name: &'static str,
    /// The literal default, when there is one (fallbacks to other variables are described instead).
    pub default: Option<&'static str>,
    pub help: &'static str,
    /// A boolean: as a flag, `--name` alone means `true` (`--name=false` or `--name false` to
    /// turn it off); any other flag needs a value.
    pub switch: bool,
}

const fn input(name: &'static str, default: Option<&'static str>, help: &'static str) -> InputDef {
    InputDef {
        name,
        default,
        help,
        switch: false,
    }
}

/// A boolean input (see [`InputDef::switch`]).
const fn switch(name: &'static str, default: &'static str, help: &'static str) -> InputDef {
    InputDef {
        name,
        default: Some(default),
        help,
        switch: true,
    }
}

/// Every input, in the order of the README table and `action.yml`. A test keeps the three in step.
pub const INPUTS: &[InputDef] = &[
    input(
        "command",
        Some("deploy"),
        "deploy, deploy-job, redeploy-job, cancel, skip, unskip, preview or preview-delete",
    ),
    input(
        "api-token",
        None,
        "Qovery API token (default: $QOVERY_API_TOKEN)",
    ),
    input(
        "environment-id",
        None,
        "environment UUID (required; the blueprint for preview and preview-delete)",
    ),
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
        "git commit for git-sourced services (default: the commit that was built: a pull request's head, \
         else $GITHUB_SHA; on GitLab $CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, else $CI_COMMIT_SHA)",
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
    input(
        "preview-name",
        None,
        "preview environment name (default: pr-<number> on a GitHub pull request, mr-<iid> on a GitLab merge request)",
    ),
    input(
        "cluster-id",
        None,
        "cluster UUID for a new preview environment (default: the blueprint's)",
    ),
    switch(
        "apply-deployment-rule",
        "false",
        "apply the project's deployment rules to a new preview environment",
    ),
    switch("wait", "true", "wait for the deployment to finish"),
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
    switch(
        "cancel-on-timeout",
        "true",
        "cancel our deployment when the timeout passes",
    ),
    switch("force-cancel", "false", "force_cancel when cancelling"),
    input(
        "log-lines",
        Some("30"),
        "on failure, log lines shown per failing service before its error (0: none, at most 1000)",
    ),
    input(
        "health-check-path",
        None,
        "after DEPLOYED, GET the url output + this path (e.g. /healthz) until it answers 2xx",
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

/// `API-TOKEN`, `api_token` and `Api-Token` are all the input `api-token`.
pub(super) fn canonical(name: &str) -> Option<&'static str> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    INPUTS.iter().map(|def| def.name).find(|n| *n == wanted)
}

/// The row of `name` in [`INPUTS`], if it is an input's exact (canonical) name.
pub(super) fn def(name: &str) -> Option<&'static InputDef> {
    INPUTS.iter().find(|def| def.name == name)
}

/// One command: its name (the `command` input, or the first argument) and what `help` says of it.
#[derive(Debug, Clone, Copy)]
pub struct CommandDef {
    pub name: &'static str,
    pub summary: &'static str,
    /// The inputs it reads besides `command` and `COMMON_INPUTS` (below): what `help COMMAND` lists,
    /// and (through [`CommandDef::reads`]) the inputs it accepts: any other input given a value
    /// other than its default is bad input ([`crate::inputs::Config::parse`]).
    pub inputs: &'static [&'static str],
}

impl CommandDef {
    /// Whether this command reads the input `name` (canonical name).
    pub fn reads(&self, name: &str) -> bool {
        name == "command" || COMMON_INPUTS.contains(&name) || self.inputs.contains(&name)
    }
}

/// The inputs every command reads.
pub const COMMON_INPUTS: &[&str] = &[
    "api-token",
    "environment-id",
    "timeout",
    "api-url",
    "console-url",
];

const LISTS: &[&str] = &[
    "applications",
    "containers",
    "jobs",
    "helms",
    "databases",
    "terraforms",
];

/// Every command, in the order of the README's table. A test keeps it in step with
/// [`crate::inputs::Command`].
pub const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "deploy",
        summary: "deploy the listed services in one batched request and wait for the result",
        inputs: &[
            "applications",
            "containers",
            "jobs",
            "helms",
            "databases",
            "terraforms",
            "commit-sha",
            "image-tag",
            "chart-version",
            "terraform-action",
            "wait",
            "poll-interval",
            "cancel-on-timeout",
            "force-cancel",
            "log-lines",
            "health-check-path",
        ],
    },
    CommandDef {
        name: "deploy-job",
        summary: "deploy each listed job at a new version (and event), and wait for its run",
        inputs: &[
            "jobs",
            "commit-sha",
            "image-tag",
            "job-event",
            "wait",
            "poll-interval",
            "cancel-on-timeout",
            "force-cancel",
            "log-lines",
        ],
    },
    CommandDef {
        name: "redeploy-job",
        summary: "run each listed job again at its current version (and event), and wait for its run",
        inputs: &[
            "jobs",
            "job-event",
            "wait",
            "poll-interval",
            "cancel-on-timeout",
            "force-cancel",
            "log-lines",
        ],
    },
    CommandDef {
        name: "cancel",
        summary: "cancel the deployment running in the environment, whoever started it",
        inputs: &["wait", "poll-interval", "force-cancel"],
    },
    CommandDef {
        name: "skip",
        summary: "make environment-level deployments skip the listed services",
        inputs: LISTS,
    },
    CommandDef {
        name: "unskip",
        summary: "take the listed services back into environment-level deployments",
        inputs: LISTS,
    },
    CommandDef {
        name: "preview",
        summary: "deploy to the pull/merge request's preview environment, cloned from environment-id if new",
        inputs: &[
            "applications",
            "containers",
            "jobs",
            "helms",
            "databases",
            "terraforms",
            "commit-sha",
            "image-tag",
            "chart-version",
            "terraform-action",
            "preview-name",
            "cluster-id",
            "apply-deployment-rule",
            "wait",
            "poll-interval",
            "cancel-on-timeout",
            "force-cancel",
            "log-lines",
            "health-check-path",
        ],
    },
    CommandDef {
        name: "preview-delete",
        summary: "delete the pull/merge request's preview environment",
        inputs: &["preview-name", "wait", "poll-interval"],
    },
];

/// The command named `name` (any case).
pub fn command_def(name: &str) -> Option<&'static CommandDef> {
    COMMANDS
        .iter()
        .find(|def| def.name.eq_ignore_ascii_case(name))
}

/// The candidate closest to `word`, when it is close enough to be what was meant: Jaro-Winkler
/// similarity of at least 0.8 (clap's threshold), compared in lower case with `_` read as `-`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase().replace('_', "-");
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(&word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The `--help` text (`help COMMAND`: the inputs that command reads), from [`INPUTS`] and
/// [`COMMANDS`].
pub fn help(command: Option<&CommandDef>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut text = match command {
        None => {
            let mut text = format!(
                "qovery-deploy {version}\nDeploy Qovery services from CI and wait for the result.\n\n\
                 Usage: qovery-deploy [COMMAND] [--INPUT VALUE]...\n       \
                 qovery-deploy help [COMMAND]\n\n\
                 The command is the first argument, or the `command` input (default: deploy):\n"
            );
            for def in COMMANDS {
                row(&mut text, def.name, COMMAND_COLUMN, def.summary);
            }
            text
        }
        Some(def) => format!(
            "qovery-deploy {version}\nqovery-deploy {}: {}.\n\nUsage: qovery-deploy {} [--INPUT VALUE]...\n",
            def.name, def.summary, def.name
        ),
    };
    let switches: Vec<String> = INPUTS
        .iter()
        .filter(|def| def.switch)
        .map(|def| format!("--{}", def.name))
        .collect();
    text.push_str(&format!(
        "\nInputs come from INPUT_<NAME> variables (INPUT_API-TOKEN or INPUT_API_TOKEN) or from --<name>\n\
         flags, which win. `--name value` and `--name=value` both work, an empty value unsets the input,\n\
         and the booleans alone mean true ({}):\n\n",
        switches.join(", ")
    ));
    let shown: Vec<&InputDef> = INPUTS
        .iter()
        // `help COMMAND` is about that command: no `--command` row.
        .filter(|def| command.is_none_or(|c| def.name != "command" && c.reads(def.name)))
        .collect();
    // The widest flag sets the column, so `--apply-deployment-rule` lines up with the rest.
    let width = shown
        .iter()
        .map(|def| def.name.len() + 2)
        .max()
        .unwrap_or(0);
    for def in shown {
        let default = def
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        let help = command
            .and_then(|c| help_for(c.name, def.name))
            .unwrap_or(def.help);
        row(
            &mut text,
            &format!("--{}", def.name),
            width,
            &format!("{help}{default}"),
        );
    }
    text.push_str(
        "\nOutputs ($GITHUB_OUTPUT; QOVERY_* in qovery-deploy.env on GitLab), every one for every command:\n\
         result (success, failure, timeout, cancelled, queued), state (one upper-case word for the run,\n\
         e.g. DEPLOYED, or UNKNOWN; several jobs: their common state, else the first failing job's),\n\
         services (JSON, each service's own state), deployment-request-id, execution-id, console-url,\n\
         duration-seconds, url, urls, environment-id, environment-name, created.\n",
    );
    text.push_str(
        "\nExit codes: 0 success, 1 deployment failed, 2 bad input, 3 timeout, 4 API error, 5 cancelled.\n\
         Docs: README.md (https://github.com/qovery-deploy/qovery-deploy)\n",
    );
    text
}

/// The width of the command column in the general help.
const COMMAND_COLUMN: usize = 14;

/// One help row: two spaces, `label` padded to `width`, a space, `description`.
fn row(text: &mut String, label: &str, width: usize, description: &str) {
    text.push_str(&format!("  {label:<width$} {description}\n"));
}

/// What an input does for one command, where the table's general wording would mislead in
/// `help COMMAND`.
fn help_for(command: &str, input: &str) -> Option<&'static str> {
    Some(match (command, input) {
        ("preview" | "preview-delete", "environment-id") => {
            "UUID of the blueprint environment the preview is cloned from (required)"
        }
        (_, "environment-id") => "environment UUID (required)",
        ("redeploy-job", "jobs") => {
            "jobs to run again at their current version: ids or names, comma/newline separated"
        }
        ("deploy-job", "jobs") => {
            "jobs to deploy: ids or names, comma/newline separated, `name=VERSION` overrides"
        }
        ("deploy-job", "commit-sha") => {
            "git commit for git-sourced jobs (default: the commit that was built, as for deploy)"
        }
        ("deploy-job", "image-tag") => "image tag for image-sourced jobs (default: the commit SHA)",
        ("skip", "applications") => {
            "applications to skip: ids or names, comma/newline separated (no version)"
        }
        ("unskip", "applications") => {
            "applications to take back: ids or names, comma/newline separated (no version)"
        }
        ("skip" | "unskip", "databases") => "databases, same syntax",
        ("preview-delete", "wait") => "wait until the environment is deleted",
        ("cancel", "wait") => "wait until the cancelled deployment has ended",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_input_and_command() {
        let help = help(None);
        for def in INPUTS {
            assert!(help.contains(&format!("--{}", def.name)));
        }
        for def in COMMANDS {
            assert!(help.contains(&format!(
                "\n  {:<COMMAND_COLUMN$} {}",
                def.name, def.summary
            )));
        }
        assert!(help.contains("The command is the first argument"), "{help}");
        assert!(
            help.contains("state (one upper-case word for the run"),
            "{help}"
        );
        for name in crate::report::OUTPUTS {
            assert!(help.contains(name), "output {name} in help");
        }
    }

    #[test]
    fn command_help_lists_what_the_command_reads() {
        let help = help(command_def("cancel"));
        assert!(
            help.contains("qovery-deploy cancel: cancel the deployment"),
            "{help}"
        );
        for name in ["api-token", "environment-id", "force-cancel", "wait"] {
            assert!(help.contains(&format!("--{name} ")), "{name}: {help}");
        }
        for name in ["applications", "commit-sha", "job-event"] {
            assert!(!help.contains(&format!("--{name} ")), "{name}: {help}");
        }
    }

    #[test]
    fn command_help_words_each_input_for_that_command_and_keeps_one_column() {
        let line = |command: &str, flag: &str| {
            let help = help(command_def(command));
            help.lines()
                .find(|l| l.starts_with(&format!("  --{flag} ")))
                .unwrap_or_else(|| panic!("{flag}: {help}"))
                .to_string()
        };
        assert!(line("deploy", "environment-id").ends_with("environment UUID (required)"));
        assert!(line("preview", "environment-id").contains("blueprint"));
        let jobs = line("redeploy-job", "jobs");
        assert!(
            jobs.contains("at their current version") && !jobs.contains("VERSION"),
            "{jobs}"
        );
        assert!(
            line("preview-delete", "wait")
                .ends_with("wait until the environment is deleted [default: true]")
        );
        // Every description starts in the same column, `--apply-deployment-rule` included.
        for text in [help(None), help(command_def("preview"))] {
            let starts: std::collections::BTreeSet<usize> = text
                .lines()
                .filter(|l| l.starts_with("  --"))
                .map(|l| {
                    let after = 2 + l[2..].find(' ').unwrap();
                    after + l[after..].find(|c: char| c != ' ').unwrap()
                })
                .collect();
            assert_eq!(starts.len(), 1, "{text}");
        }
    }

    #[test]
    fn command_help_lists_exactly_the_inputs_the_command_reads() {
        for command in COMMANDS {
            let text = help(Some(command));
            for def in INPUTS.iter().filter(|d| d.name != "command") {
                let listed = text.contains(&format!("\n  --{} ", def.name));
                assert_eq!(
                    listed,
                    command.reads(def.name),
                    "{} {}",
                    command.name,
                    def.name
                );
            }
        }
        // What each row says is true for that command: skip takes no version, deploy-job deploys.
        let skip = help(command_def("skip"));
        let row = skip
            .lines()
            .find(|l| l.starts_with("  --applications "))
            .unwrap();
        assert!(row.contains("to skip") && !row.contains("VERSION"), "{row}");
        let job = help(command_def("deploy-job"));
        let row = job.lines().find(|l| l.starts_with("  --jobs ")).unwrap();
        assert!(
            row.contains("jobs to deploy") && !row.contains("same syntax"),
            "{row}"
        );
        assert!(help(command_def("deploy")).contains("\n  --health-check-path "));
        assert!(!help(command_def("skip")).contains("\n  --wait "));
    }

    #[test]
    fn commands_name_inputs_and_match_the_command_type() {
        let names: Vec<&str> = COMMANDS.iter().map(|def| def.name).collect();
        let parsed: Vec<&str> = crate::inputs::Command::NAMES
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(names, parsed, "COMMANDS vs Command::NAMES");
        for def in COMMANDS {
            for input in def.inputs.iter().chain(COMMON_INPUTS) {
                assert!(self::def(input).is_some(), "{}: {input}", def.name);
            }
        }
    }

    #[test]
    fn suggestions_catch_typos_and_nothing_else() {
        let inputs = || INPUTS.iter().map(|def| def.name);
        assert_eq!(suggest("aplications", inputs()), Some("applications"));
        assert_eq!(suggest("poll", inputs()), Some("poll-interval"));
        assert_eq!(suggest("api_token", inputs()), Some("api-token"));
        assert_eq!(suggest("environment", inputs()), Some("environment-id"));
        assert_eq!(suggest("verbose", inputs()), None);
        assert_eq!(suggest("xyz", inputs()), None);
    }
}
