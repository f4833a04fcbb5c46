//! The step's inputs, read from `INPUT_*` environment variables and, for local use, `--flags`.
//!
//! GitHub hands a docker action its input `api-token` as `INPUT_API-TOKEN` (hyphen kept); GitLab and
//! shells can only set `INPUT_API_TOKEN`. Both spellings are accepted, in any case, and an empty value
//! is unset (GitHub sets every declared input, empty when the workflow does not give it). Each input is
//! looked up by its exact name and parsed here, so every error names the input it is about.
//! (`envy` was the first idea; it lower-cases names, so it misses `INPUT_API-TOKEN`, and it turns `""`
//! into `Some("")` or a parse error. See README, "Dependencies".)

mod commit;
mod config;
mod env;
mod error;
mod flags;
mod preview;
mod roots;
mod table;
mod values;
mod version;

use std::collections::BTreeMap;

pub use commit::DefaultCommit;
pub use config::{
    Command, Config, Connection, Entry, JobEvent, Reference, Secret, TerraformAction,
};
pub use error::InputError;
pub use preview::{NameSource, PreviewName};
pub use roots::ExtraRoots;
pub use table::{COMMANDS, CommandDef, INPUTS, InputDef, help, suggest};
pub use values::{is_loopback_url, parse_bool, parse_duration, parse_entries};
pub use version::VersionForm;

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
#[derive(Debug, Clone)]
pub enum Request {
    Run(RawInputs),
    /// The help text: general, or of one command (`help deploy-job`, `cancel --help`).
    Help(Option<&'static CommandDef>),
    Version,
}

/// Input values as given (trimmed, non-empty), keyed by canonical input name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawInputs {
    values: BTreeMap<&'static str, String>,
    /// Variables that look like inputs but are none; worth a warning (a typo silently ignored is a bug).
    pub unknown: Vec<String>,
    /// How the inputs set on the command line were given (`` `--timeout` ``, `the command
    /// argument`), so that an error about their value names what the user typed.
    given_as: BTreeMap<&'static str, String>,
}

impl RawInputs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn set(&mut self, name: &'static str, value: &str) {
        self.values.insert(name, value.to_string());
    }

    fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// `error`, saying how its input was given when a flag gave it.
    pub fn attribute(&self, mut error: InputError) -> InputError {
        if error.given_as.is_none() && !error.is_flag() {
            error.given_as = self.given_as.get(error.input.as_str()).cloned();
        }
        error
    }

    #[cfg(test)]
    pub fn with(mut self, name: &'static str, value: &str) -> Self {
        self.values.insert(name, value.to_string());
        self
    }
}

/// Every value that may hold the token, to be masked before anything is printed (even when the
/// inputs turn out to be invalid): `QOVERY_API_TOKEN`, every spelling of `INPUT_API-TOKEN`, and
/// `--api-token`'s values.
pub fn token_candidates(invocation: &Invocation) -> Vec<String> {
    let mut found: Vec<String> = invocation
        .env
        .iter()
        .filter(|(key, _)| key == &"QOVERY_API_TOKEN" || env::is_token(key))
        .map(|(_, value)| value.trim().to_string())
        .chain(flags::token_values(&invocation.args))
        .filter(|v| !v.is_empty())
        .collect();
    found.dedup();
    found
}
/// Reads inputs from `INPUT_*` variables, then lets `--name value` flags override them.
///
/// Errors: an input spelled twice with different values, or a bad flag; each names the input.
pub fn read(invocation: &Invocation) -> Result<Request, InputError> {
    let mut raw = RawInputs::default();
    env::read(&invocation.env, &mut raw)?;
    Ok(flags::read(&invocation.args, &mut raw)?.unwrap_or(Request::Run(raw)))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    pub(crate) fn invocation(vars: &[(&str, &str)], args: &[&str]) -> Invocation {
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
            ("INPUT_API-TOKEN", "qov_token_1"),
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
        assert!(matches!(
            read(&invocation(&[], &["--help"])).unwrap(),
            Request::Help(None)
        ));
        assert!(matches!(
            read(&invocation(&[], &["-V"])).unwrap(),
            Request::Version
        ));
        assert_eq!(
            read(&invocation(&[], &["--nope", "x"])).unwrap_err().input,
            "--nope"
        );
        assert_eq!(
            read(&invocation(&[], &["--timeout"])).unwrap_err().input,
            "--timeout"
        );
    }

    fn args(args: &[&str]) -> Result<RawInputs, InputError> {
        match read(&invocation(&[], args))? {
            Request::Run(raw) => Ok(raw),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn help_topic(args: &[&str]) -> Option<&'static str> {
        match read(&invocation(&[], args)).unwrap() {
            Request::Help(def) => def.map(|d| d.name),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn a_boolean_flag_alone_is_true_and_takes_only_a_boolean_word() {
        let r = args(&["--wait", "--poll-interval", "1s"]).unwrap();
        assert_eq!(
            (r.get("wait"), r.get("poll-interval")),
            (Some("true"), Some("1s"))
        );
        let r = args(&["--wait", "false", "cancel"]).unwrap();
        assert_eq!(
            (r.get("wait"), r.get("command")),
            (Some("false"), Some("cancel"))
        );
        let r = args(&["--force-cancel", "cancel", "--cancel-on-timeout=no"]).unwrap();
        assert_eq!(r.get("force-cancel"), Some("true"));
        assert_eq!(r.get("command"), Some("cancel"));
        assert_eq!(r.get("cancel-on-timeout"), Some("no"));
        // Trailing: nothing follows.
        assert_eq!(args(&["--wait"]).unwrap().get("wait"), Some("true"));
    }

    #[test]
    fn a_value_flag_never_swallows_the_next_flag() {
        let err = args(&["--jobs", "--wait"]).unwrap_err();
        assert_eq!(err.input, "--jobs");
        assert!(
            err.to_string().starts_with("flag `--jobs`: needs a value"),
            "{err}"
        );
        // `=` passes anything, and an empty value unsets.
        let r = invocation(&[("INPUT_TIMEOUT", "10m")], &["--timeout=", "--jobs=-x"]);
        let Request::Run(r) = read(&r).unwrap() else {
            panic!()
        };
        assert_eq!((r.get("timeout"), r.get("jobs")), (None, Some("-x")));
    }

    #[test]
    fn a_misspelt_boolean_after_a_flag_is_named_as_its_value() {
        for argv in [
            &["--applications", "api", "--wait", "ture"][..],
            &["cancel", "--wait", "maybe"],
            &["deploy", "--force-cancel", "nope", "--applications", "api"],
        ] {
            let err = args(argv).unwrap_err();
            let value = argv[argv
                .iter()
                .position(|a| a.starts_with("--w") || a.starts_with("--f"))
                .unwrap()
                + 1];
            assert!(
                err.input == "wait" || err.input == "force-cancel",
                "{argv:?}: {err}"
            );
            assert_eq!(
                err.problem,
                format!("`{value}` is not a boolean"),
                "{argv:?}"
            );
        }
        // A command after a boolean flag is still the command; a boolean is its value.
        assert!(args(&["--wait", "cancel"]).is_ok());
        assert!(args(&["--wait", "false", "cancel"]).is_ok());
    }

    #[test]
    fn the_command_is_given_once() {
        let err = args(&["deploy-job", "--command", "cancel"]).unwrap_err();
        assert_eq!(err.input, "--command");
        assert!(
            err.problem.contains("`deploy-job`") && err.problem.contains("`cancel`"),
            "{err}"
        );
        let err = args(&["--command", "deploy", "--command", "cancel"]).unwrap_err();
        assert_eq!(err.input, "--command");
        let err = args(&["deploy-job", "cancel"]).unwrap_err();
        assert_eq!(err.input, "command");
        assert!(
            err.problem.contains("unexpected argument `cancel`"),
            "{err}"
        );
        // The same command both ways (in any case) is fine.
        assert_eq!(
            args(&["cancel", "--command", "CANCEL"])
                .unwrap()
                .get("command"),
            Some("CANCEL")
        );
    }

    #[test]
    fn a_flag_given_twice_must_agree() {
        let err = args(&["--timeout", "5m", "--timeout=10m"]).unwrap_err();
        assert_eq!(err.input, "--timeout");
        assert!(err.problem.contains("`5m` and `10m`"), "{err}");
        assert!(args(&["--timeout", "5m", "--timeout=5m"]).is_ok());
        assert!(args(&["--wait", "--wait=yes"]).is_ok());
        let err = args(&["--api-token", "secret-a", "--api-token", "secret-b"]).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn unknown_flags_suggest_the_closest() {
        for (typo, flag) in [
            ("--aplications", "--applications"),
            ("--poll", "--poll-interval"),
            ("--api_token", "--api-token"),
            ("--hepl", "--help"),
        ] {
            let err = args(&[typo, "x"]).unwrap_err();
            assert_eq!(err.input, typo);
            assert!(
                err.to_string()
                    .starts_with(&format!("flag `{typo}`: unknown flag")),
                "{err}"
            );
            assert!(
                err.hint
                    .as_deref()
                    .unwrap()
                    .contains(&format!("did you mean `{flag}`?")),
                "{err}"
            );
        }
        let err = args(&["--frobnicate"]).unwrap_err();
        assert!(!err.hint.unwrap().contains("did you mean"));
        assert_eq!(args(&["-x"]).unwrap_err().input, "-x");
    }

    #[test]
    fn help_is_a_flag_and_a_command_with_an_optional_topic() {
        assert_eq!(help_topic(&["help"]), None);
        assert_eq!(help_topic(&["-h"]), None);
        assert_eq!(help_topic(&["help", "deploy-job"]), Some("deploy-job"));
        assert_eq!(help_topic(&["cancel", "--help"]), Some("cancel"));
        assert_eq!(help_topic(&["--command", "skip", "help"]), Some("skip"));
        // An unknown command given before --help is not an error: the general help is shown.
        assert_eq!(help_topic(&["nope", "--help"]), None);
        let err = read(&invocation(&[], &["help", "deplyo"])).unwrap_err();
        assert!(err.hint.unwrap().contains("did you mean `deploy`?"));
    }

    #[test]
    fn errors_about_a_flags_value_name_the_flag() {
        let raw = args(&["--timeout", "soon"]).unwrap();
        let err = raw.attribute(InputError::new("timeout", "`soon` is not a duration"));
        assert!(
            err.to_string()
                .starts_with("input `timeout` (given as `--timeout`): "),
            "{err}"
        );
        // A variable's value names the variable, as spelled.
        let raw = read(&invocation(&[("INPUT_TIMEOUT", "soon")], &[])).unwrap();
        let Request::Run(raw) = raw else { panic!() };
        let err = raw.attribute(InputError::new("timeout", "x"));
        assert!(
            err.to_string()
                .starts_with("input `timeout` (given as `INPUT_TIMEOUT`): x"),
            "{err}"
        );
        // A flag over a variable: the flag gave the value.
        let raw = read(&invocation(
            &[("INPUT_TIMEOUT", "soon")],
            &["--timeout", "later"],
        ))
        .unwrap();
        let Request::Run(raw) = raw else { panic!() };
        let err = raw.attribute(InputError::new("timeout", "x"));
        assert_eq!(err.given_as.as_deref(), Some("`--timeout`"));
    }

    #[test]
    fn a_value_starting_with_a_dash_is_the_value_unless_it_is_a_flag() {
        let raw = args(&["--timeout", "-5m", "--jobs", "-x", "--wait"]).unwrap();
        assert_eq!(
            (raw.get("timeout"), raw.get("jobs"), raw.get("wait")),
            (Some("-5m"), Some("-x"), Some("true"))
        );
        let raw = raw
            .with("api-token", "qov_token_1")
            .with("environment-id", ENV);
        let err = raw.attribute(Config::parse(&raw, &Invocation::default()).unwrap_err());
        assert!(
            err.to_string().starts_with(
                "input `timeout` (given as `--timeout`): `-5m` is negative; a duration cannot be"
            ),
            "{err}"
        );
        // A known flag is still never swallowed.
        assert!(
            args(&["--timeout", "--wait"])
                .unwrap_err()
                .problem
                .contains("needs a value")
        );
        assert!(args(&["--timeout", "-h"]).is_err());
    }
}
