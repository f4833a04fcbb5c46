//! The error every input check returns: it names the input (and the entry) it is about.

use std::fmt;

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
