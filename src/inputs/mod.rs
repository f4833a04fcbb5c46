//! The step's inputs, read from `INPUT_*` environment variables and, for local use, `--flags`.
//!
//! GitHub hands a docker action its input `api-token` as `INPUT_API-TOKEN` (hyphen kept); GitLab and
//! shells can only set `INPUT_API_TOKEN`. Both spellings are accepted, in any case, and an empty value
//! is unset (GitHub sets every declared input, empty when the workflow does not give it). Each input is
//! looked up by its exact name and parsed here, so every error names the input it is about.
//! (`envy` was the first idea; it lower-cases names, so it misses `INPUT_API-TOKEN`, and it turns `""`
//! into `Some("")` or a parse error. See README, "Dependencies".)

mod config;
mod env;
mod error;
mod flags;
mod preview;
mod table;
mod values;

use std::collections::BTreeMap;

pub use config::{Command, Config, Entry, JobEvent, Reference, Secret, TerraformAction};
pub use error::InputError;
pub use preview::{NameSource, PreviewName};
pub use table::{INPUTS, InputDef, help};
pub use values::{parse_bool, parse_duration, parse_entries};

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

    fn set(&mut self, name: &'static str, value: &str) {
        self.values.insert(name, value.to_string());
    }

    fn unset(&mut self, name: &str) {
        self.values.remove(name);
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
}
