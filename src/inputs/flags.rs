//! Reading the command-line arguments (for local use) over the inputs read from the environment.
//!
//! This is the only file that knows the flag syntax. `lexopt` splits the words (README,
//! "Dependencies"); the flags themselves are the rows of the input table ([`INPUTS`]):
//! - every input is a flag, `--name value` or `--name=value`; an empty value unsets the input;
//! - a boolean input ([`InputDef::switch`]) alone means `true`, so `--wait --poll-interval 1s` reads
//!   as it looks; it takes the next word only when that word is a boolean (`--wait false`);
//! - one positional argument is the command (`qovery-deploy cancel`); it and `--command` must agree;
//! - a flag given twice must have the same value both times;
//! - `-h`/`--help` and `help [COMMAND]` ask for the help text and `-V`/`--version` for the version;
//!   the reading stops there.
//!
//! Every error names the flag (or the argument) and says what to do: bad input, exit 2.

use std::collections::BTreeMap;

use lexopt::Arg;

use super::table::{self, INPUTS, InputDef, command_def, suggest};
use super::values::parse_bool;
use super::{InputError, RawInputs, Request};

/// Applies `args` to `raw` (flags override variables). `Ok(Some(_))` when the arguments ask for
/// help or the version instead of a run.
///
/// Errors: an unknown flag, a flag without its value, a flag given twice with different values, a
/// second positional argument, a command given both ways with different values.
pub(super) fn read(args: &[String], raw: &mut RawInputs) -> Result<Option<Request>, InputError> {
    let mut reader = Reader::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(unreadable)? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Ok(Some(reader.help())),
            Arg::Short('V') | Arg::Long("version") => return Ok(Some(Request::Version)),
            Arg::Long(name) => {
                let def = find(name)?;
                let joined = parser.optional_value();
                let mut alone = false;
                let value = match joined {
                    Some(value) => text(value)?,
                    None if def.switch => match switch_value(&mut parser)? {
                        Some(value) => value,
                        None => {
                            alone = true;
                            "true".to_string()
                        }
                    },
                    None => value(&mut parser, def)?,
                };
                reader.set(raw, def, format!("`--{}`", def.name), value)?;
                // A stray word right after `--jobs a` may be a second value of `--jobs`, and one
                // right after `--wait` a misspelt boolean (`--wait ture`).
                reader.last_flag = (!def.switch).then_some(def.name);
                reader.last_switch = alone.then_some(def.name);
            }
            Arg::Short(letter) => {
                return Err(InputError::new(format!("-{letter}"), "unknown flag").hint(
                    "the short flags are -h (help) and -V (version); inputs are long flags, such as `--jobs migrate`",
                ));
            }
            Arg::Value(word) => {
                let word = text(word)?;
                if word == "help" {
                    let topic = parser
                        .try_raw_args()
                        .and_then(|mut rest| rest.next_if(|next| !looks_like_flag(next)));
                    return match topic {
                        Some(topic) => command_help(&text(topic)?),
                        None => Ok(Some(reader.help())),
                    };
                }
                reader.positional(raw, word)?;
                reader.last_flag = None;
                reader.last_switch = None;
            }
        }
    }
    Ok(None)
}

/// How an input was given on the command line, and its value (trimmed).
#[derive(Debug)]
struct Given {
    how: String,
    value: String,
}

#[derive(Debug, Default)]
struct Reader {
    given: BTreeMap<&'static str, Given>,
    /// The positional argument (the command), once seen.
    positional: Option<String>,
    /// The value flag just read, for the hint about a stray word after it.
    last_flag: Option<&'static str>,
    /// The boolean flag just read without a value: a word after it that is no command is taken
    /// for a misspelt value of it.
    last_switch: Option<&'static str>,
}

impl Reader {
    /// Records `value` for the input `def`; an empty value unsets it.
    fn set(
        &mut self,
        raw: &mut RawInputs,
        def: &'static InputDef,
        how: String,
        value: String,
    ) -> Result<(), InputError> {
        let value = value.trim().to_string();
        if let Some(earlier) = self.given.get(def.name) {
            if !same(def, &earlier.value, &value) {
                return Err(twice(def, earlier, &how, &value));
            }
        }
        if value.is_empty() {
            raw.unset(def.name);
        } else {
            raw.set(def.name, &value);
        }
        raw.given_as.insert(def.name, how.clone());
        self.given.insert(def.name, Given { how, value });
        Ok(())
    }

    /// The positional argument: the command. A second one, or one that is no command, is an error.
    fn positional(&mut self, raw: &mut RawInputs, word: String) -> Result<(), InputError> {
        if let Some(switch) = self.last_switch {
            if command_def(&word).is_none() {
                // `--wait ture`: the same message as `--wait=ture` gives.
                parse_bool(switch, Some(&word), false)?;
            }
        }
        let joined = |flag: &str| {
            let before = self
                .given
                .get(flag)
                .map_or("…", |given| given.value.as_str());
            format!(
                "if `{word}` belongs to `--{flag}`, join the values with commas: `--{flag} {before},{word}`"
            )
        };
        if let Some(command) = &self.positional {
            let hint = match self.last_flag {
                Some(flag) => format!("one command only, and it is `{command}`; {}", joined(flag)),
                None => format!(
                    "one command only, and it is `{command}`: `qovery-deploy COMMAND --flag value …`"
                ),
            };
            return Err(
                InputError::new("command", format!("unexpected argument `{word}`")).hint(hint),
            );
        }
        if let (None, Some(flag)) = (command_def(&word), self.last_flag) {
            return Err(InputError::new(
                "command",
                format!("unexpected argument `{word}`: no command has this name"),
            )
            .hint(joined(flag)));
        }
        self.positional = Some(word.clone());
        let def = table::def("command").expect("`command` is an input");
        self.set(raw, def, "the command argument".to_string(), word)
    }

    /// Help for the command given so far, if it is one; else the general help.
    fn help(&self) -> Request {
        let command = self
            .given
            .get("command")
            .and_then(|given| command_def(&given.value));
        Request::Help(command)
    }
}

/// `help COMMAND`.
fn command_help(topic: &str) -> Result<Option<Request>, InputError> {
    match command_def(topic) {
        Some(def) => Ok(Some(Request::Help(Some(def)))),
        None => {
            let names = table::COMMANDS.iter().map(|def| def.name);
            let guess = suggest(topic, names.clone())
                .map(|name| format!("did you mean `{name}`? "))
                .unwrap_or_default();
            let names: Vec<&str> = names.collect();
            Err(
                InputError::new("command", format!("`help {topic}`: no such command"))
                    .hint(format!("{guess}commands: {}", names.join(", "))),
            )
        }
    }
}

/// Whether two values of `def` mean the same (commands in any case, booleans by meaning).
fn same(def: &InputDef, a: &str, b: &str) -> bool {
    if def.name == "command" {
        return a.eq_ignore_ascii_case(b);
    }
    if def.switch {
        if let (Ok(a), Ok(b)) = (
            parse_bool(def.name, Some(a), false),
            parse_bool(def.name, Some(b), false),
        ) {
            return a == b;
        }
    }
    a == b
}

fn twice(def: &InputDef, earlier: &Given, how: &str, value: &str) -> InputError {
    let flag = format!("--{}", def.name);
    if def.name == "command" {
        let (first, second) = (&earlier.value, value);
        return InputError::new(
            flag,
            format!(
                "the command is given twice, as `{first}` ({}) and `{second}` ({how})",
                earlier.how
            ),
        )
        .hint(format!(
            "give the command once: `qovery-deploy {second} …` or `--command {second}`"
        ));
    }
    // The token's values are masked anyway; they are still not worth repeating.
    let values = if def.name == "api-token" {
        String::new()
    } else {
        format!(", `{}` and `{value}`", earlier.value)
    };
    InputError::new(flag, format!("given twice with different values{values}"))
        .hint("give each flag once")
}

/// The input a long flag names; an unknown one suggests the closest.
fn find(name: &str) -> Result<&'static InputDef, InputError> {
    if let Some(def) = table::def(name) {
        return Ok(def);
    }
    let candidates = INPUTS.iter().map(|def| def.name).chain(["help", "version"]);
    let hint = match suggest(name, candidates) {
        Some(guess) => format!("did you mean `--{guess}`? `qovery-deploy --help` lists every flag"),
        None => "`qovery-deploy --help` lists every flag (one per input)".to_string(),
    };
    Err(InputError::new(format!("--{name}"), "unknown flag").hint(hint))
}

/// A boolean flag's value without `=VALUE`: the next word if it is a boolean, else `None` (the
/// flag alone, `true`).
fn switch_value(parser: &mut lexopt::Parser) -> Result<Option<String>, InputError> {
    let next = parser.try_raw_args().and_then(|mut rest| {
        rest.next_if(|word| {
            word.to_str()
                .is_some_and(|w| parse_bool("", Some(w), false).is_ok())
        })
    });
    next.map(text).transpose()
}

/// A flag's value without `=VALUE`: the next word, unless it is another flag.
fn value(parser: &mut lexopt::Parser, def: &InputDef) -> Result<String, InputError> {
    let next = parser
        .try_raw_args()
        .and_then(|mut rest| rest.next_if(|word| !is_flag_not_value(word)));
    match next {
        Some(value) => text(value),
        None => Err(
            InputError::new(format!("--{}", def.name), "needs a value").hint(format!(
                "write `--{0} VALUE` or `--{0}=VALUE` (`--{0}=` unsets it)",
                def.name
            )),
        ),
    }
}

/// `-x`, `--name`: not a value (no input's value starts with `-`; `--name=-x` passes one anyway).
fn looks_like_flag(word: &std::ffi::OsStr) -> bool {
    let bytes = word.as_encoded_bytes();
    bytes.len() > 1 && bytes[0] == b'-'
}

/// After a value flag: whether the next word is a flag rather than the value. `--name` and the
/// short flags `-h`/`-V` are flags; any other word that starts with `-` (`-5m`, `-x`) is the value,
/// for its input to judge.
fn is_flag_not_value(word: &std::ffi::OsStr) -> bool {
    let bytes = word.as_encoded_bytes();
    bytes.starts_with(b"--") && bytes.len() > 2 || bytes == b"-h" || bytes == b"-V"
}

fn text(value: std::ffi::OsString) -> Result<String, InputError> {
    value.into_string().map_err(|value| {
        InputError::new(
            "arguments",
            format!("{} is not valid UTF-8", value.to_string_lossy()),
        )
    })
}

/// An error of `lexopt` itself (none is expected with the reading above).
fn unreadable(error: lexopt::Error) -> InputError {
    let flag = match &error {
        lexopt::Error::MissingValue {
            option: Some(option),
        }
        | lexopt::Error::UnexpectedValue { option, .. } => option.clone(),
        lexopt::Error::UnexpectedOption(option) => option.clone(),
        _ => "arguments".to_string(),
    };
    InputError::new(flag, error.to_string()).hint("`qovery-deploy --help` shows the syntax")
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
