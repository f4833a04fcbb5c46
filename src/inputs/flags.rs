//! Reading the command-line arguments (for local use) over the inputs read from the environment.
//!
//! Every input is also a `--name value` or `--name=value` flag; one positional argument is the
//! command (`qovery-deploy cancel`); `-h`/`--help` and `-V`/`--version` stop the reading. An empty
//! value unsets the input. This is the only file that knows the flag syntax: a different flag
//! parser replaces [`read`] and [`token_values`] and nothing else.

use super::table::canonical;
use super::{InputError, RawInputs, Request};

/// Applies `args` to `raw` (flags override variables). `Ok(Some(_))` when the arguments ask for
/// help or the version instead of a run.
///
/// Errors: an unknown flag, a flag without its value, a second positional argument.
pub(super) fn read(args: &[String], raw: &mut RawInputs) -> Result<Option<Request>, InputError> {
    let mut args = args.iter();
    let mut positional_seen = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Some(Request::Help)),
            "-V" | "--version" => return Ok(Some(Request::Version)),
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
            raw.set("command", arg);
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
            raw.unset(name);
        } else {
            raw.set(name, value);
        }
    }
    Ok(None)
}

/// The values given to `--api-token` (either form), trimmed, to be masked before anything prints.
pub(super) fn token_values(args: &[String]) -> impl Iterator<Item = String> + '_ {
    args.windows(2)
        .filter(|w| w[0] == "--api-token")
        .map(|w| w[1].trim().to_string())
        .chain(
            args.iter()
                .filter_map(|a| a.strip_prefix("--api-token=").map(|v| v.trim().to_string())),
        )
}
