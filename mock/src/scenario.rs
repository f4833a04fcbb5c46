//! The behaviours the mock can be started in.

use std::fmt;
use std::str::FromStr;

/// How the mock behaves. Selected once per server (`--scenario NAME` on the command line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Deployments are picked up one step after being queued and succeed.
    #[default]
    Happy,
    /// Like `happy`, but pickup takes three steps: the previous deployment's `DEPLOYED`
    /// keeps being reported for longer (the stale-status trap).
    Stale,
    /// The first service of every deployment fails; the environment ends in `DEPLOYMENT_ERROR`.
    Fail,
    /// Like `fail`, but the failing service's state says `DEPLOYED` while its
    /// `status_details.status` says `ERROR` (the environment ends `DEPLOYMENT_ERROR`).
    DeployedError,
    /// Like `happy`, but the environment's status names the newest queued request as soon as it is
    /// queued, while its state and execution are still the previous deployment's.
    EarlyId,
    /// Deployments reach `DEPLOYING` (jobs: `EXECUTING`) and stay there until cancelled.
    Stuck,
    /// Someone else's deployment is already running; ours waits in the queue behind it.
    Queued,
    /// Like `queued`, but the other deployment never finishes.
    QueuedStuck,
    /// Every 3rd request answers 503 and the 5th answers 429 (`Retry-After: 1`).
    Flaky,
    /// Every deploy call answers 409 "Operation is in progress".
    Busy,
    /// Every request answers 401.
    Unauthorized,
    /// The first clone of each environment name answers 409 although it created the
    /// environment, as when a concurrent run's clone of the same name got there first.
    CloneRace,
    /// Deployments succeed, but the services' links answer 503 (a health check never passes).
    Unhealthy,
    /// Someone else's deployment runs, and a request by the same user as ours (the API token's)
    /// waits in the queue; ours is merged into that one and never holds the environment.
    Merged,
    /// Another deployment starts the instant ours ends: ours never shows its final state.
    MovedOn,
    /// The history shows that the first service of each deployment got another version.
    VersionMismatch,
    /// A job deploy starts at once: the answer has no deployment request id, only an execution id.
    JobImmediate,
    /// Deployments hang like `stuck`; a cancel stays `CANCELING` for 4 steps.
    CancelSlow,
    /// Someone else's deployment runs; the deploy answer names its request instead of ours.
    ForeignId,
}

impl Scenario {
    /// Every scenario, in documentation order.
    pub const ALL: [Scenario; 19] = [
        Scenario::Happy,
        Scenario::Stale,
        Scenario::EarlyId,
        Scenario::Fail,
        Scenario::DeployedError,
        Scenario::Stuck,
        Scenario::Queued,
        Scenario::QueuedStuck,
        Scenario::Flaky,
        Scenario::Busy,
        Scenario::Unauthorized,
        Scenario::CloneRace,
        Scenario::Unhealthy,
        Scenario::Merged,
        Scenario::MovedOn,
        Scenario::VersionMismatch,
        Scenario::JobImmediate,
        Scenario::CancelSlow,
        Scenario::ForeignId,
    ];

    /// The kebab-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Happy => "happy",
            Scenario::Stale => "stale",
            Scenario::EarlyId => "early-id",
            Scenario::Fail => "fail",
            Scenario::DeployedError => "deployed-error",
            Scenario::Stuck => "stuck",
            Scenario::Queued => "queued",
            Scenario::QueuedStuck => "queued-stuck",
            Scenario::Flaky => "flaky",
            Scenario::Busy => "busy",
            Scenario::Unauthorized => "unauthorized",
            Scenario::CloneRace => "clone-race",
            Scenario::Unhealthy => "unhealthy",
            Scenario::Merged => "merged",
            Scenario::MovedOn => "moved-on",
            Scenario::VersionMismatch => "version-mismatch",
            Scenario::JobImmediate => "job-immediate",
            Scenario::CancelSlow => "cancel-slow",
            Scenario::ForeignId => "foreign-id",
        }
    }

    /// One line describing the scenario (used by `--help`).
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::Happy => "deployments are picked up after one step and succeed",
            Scenario::Stale => "pickup takes 3 steps; the previous DEPLOYED is reported meanwhile",
            Scenario::EarlyId => {
                "the environment names a queued request at once, with the previous state"
            }
            Scenario::Fail => "the first service of each deployment fails",
            Scenario::DeployedError => {
                "the first service ends DEPLOYED with status ERROR; the environment DEPLOYMENT_ERROR"
            }
            Scenario::Stuck => "deployments stay DEPLOYING (jobs EXECUTING) until cancelled",
            Scenario::Queued => "another deployment runs for 4 steps; ours waits in the queue",
            Scenario::QueuedStuck => "another deployment never finishes; ours stays queued",
            Scenario::Flaky => "every 3rd request answers 503, the 5th answers 429",
            Scenario::Busy => "deploy calls answer 409 Operation is in progress",
            Scenario::Unauthorized => "every request answers 401",
            Scenario::CloneRace => {
                "the first clone of a name answers 409 (a concurrent run made it)"
            }
            Scenario::Unhealthy => "deployments succeed; the services' links answer 503",
            Scenario::Merged => "ours is merged into a queued request of the same user",
            Scenario::MovedOn => "another deployment starts the instant ours ends",
            Scenario::VersionMismatch => "the history shows another version for the first service",
            Scenario::JobImmediate => "job deploys start at once, answered without a request id",
            Scenario::CancelSlow => "like stuck; a cancel stays CANCELING for 4 steps",
            Scenario::ForeignId => "the deploy answer names the running request, not ours",
        }
    }

    /// The comma-separated list of valid names.
    pub fn valid_names() -> String {
        Scenario::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Returned by [`Scenario::from_str`] for an unknown name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseScenarioError {
    /// The name that was given.
    pub given: String,
}

impl fmt::Display for ParseScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown scenario `{}` (valid: {})",
            self.given,
            Scenario::valid_names()
        )
    }
}

impl std::error::Error for ParseScenarioError {}

impl FromStr for Scenario {
    type Err = ParseScenarioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == s)
            .ok_or_else(|| ParseScenarioError {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.to_string().parse::<Scenario>(), Ok(scenario));
        }
        assert_eq!("queued-stuck".parse(), Ok(Scenario::QueuedStuck));
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let err = "sad".parse::<Scenario>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`sad`"), "{message}");
        assert!(
            message.contains("happy, stale, early-id, fail, deployed-error"),
            "{message}"
        );
    }
}
