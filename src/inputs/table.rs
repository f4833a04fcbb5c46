//! The table of inputs: one row per input, the source of truth for the names, the defaults, the
//! `--help` text and (through the contract test) the README table and `action.yml`.

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
    input(
        "apply-deployment-rule",
        Some("false"),
        "apply the project's deployment rules to a new preview environment",
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

/// `API-TOKEN`, `api_token` and `Api-Token` are all the input `api-token`.
pub(super) fn canonical(name: &str) -> Option<&'static str> {
    let wanted = name.to_ascii_lowercase().replace('_', "-");
    INPUTS.iter().map(|def| def.name).find(|n| *n == wanted)
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

    #[test]
    fn help_lists_every_input() {
        let help = help();
        for def in INPUTS {
            assert!(help.contains(&format!("--{}", def.name)));
        }
    }
}
