//! The error every input check returns: it names the input (and the entry) it is about, or the
//! flag, for a command line that cannot be read.

use std::fmt;

use crate::neutral::inline;

/// A bad input: which input, which entry, what was wrong and what to do.
///
/// `input` is an input's name (`timeout`), or a flag as typed (`--tmeout`, `-x`) for an error in
/// the command line itself; `Display` then says `flag` instead of `input`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub input: String,
    pub entry: Option<String>,
    pub problem: String,
    pub hint: Option<String>,
    /// How the bad value was given when a flag gave it (`--timeout`, `the first argument`), so the
    /// message names what the user typed.
    pub given_as: Option<String>,
}

impl InputError {
    pub fn new(input: impl Into<String>, problem: impl Into<String>) -> Self {
        InputError {
            input: input.into(),
            entry: None,
            problem: problem.into(),
            hint: None,
            given_as: None,
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

    /// Whether this is about the command line's syntax (an unknown flag, a missing value, …)
    /// rather than an input's value.
    pub fn is_flag(&self) -> bool {
        self.input.starts_with('-')
    }
}

/// `input `NAME`, entry `ENTRY`: PROBLEM` and, on its own line, `  hint: HINT`. Each part may
/// quote what the user or the API wrote, so each is [`inline`]-escaped: only the line
/// break before the hint is the message's own.
impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.is_flag() { "flag" } else { "input" };
        write!(f, "{what} `{}`", inline(&self.input))?;
        if let Some(given_as) = &self.given_as {
            write!(f, " (given as {})", inline(given_as))?;
        }
        if let Some(entry) = &self.entry {
            write!(f, ", entry `{}`", inline(entry))?;
        }
        write!(f, ": {}", inline(&self.problem))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", inline(hint))?;
        }
        Ok(())
    }
}
