//! The failure classes of the tool and the exit code each one maps to.
//!
//! Exit codes are part of the interface contract (README, "Exit codes"); they are decided here and
//! nowhere else.

use crate::api::ApiError;
use crate::inputs::InputError;

/// Process exit codes, as documented.
pub mod code {
    pub const SUCCESS: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const TIMEOUT: u8 = 3;
    pub const API: u8 = 4;
    pub const CANCELLED: u8 = 5;
}

/// Everything that stops a run before it reaches an outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input or configuration; nothing that changes anything was sent.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The Qovery API refused or failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The step's own files (`$GITHUB_OUTPUT`, the step summary, the dotenv report) could not be written.
    #[error("{0:#}")]
    Output(anyhow::Error),
    /// `command: cancel` was refused (409) because another operation holds the environment, and
    /// `wait` is false.
    #[error(
        "the environment is busy: Qovery refused the cancel (409) and the environment is still {state}, held by another operation\n  hint: retry when it ends, or set `wait: true` to wait for it to end"
    )]
    Busy { state: String },
    /// A signal arrived before anything was sent.
    #[error("interrupted by {0} before anything was sent to Qovery")]
    Interrupted(&'static str),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            // A call cut by the deadline is the run's timeout, in every phase (the preflight
            // included), never an API failure.
            Error::Api(ApiError::DeadlineReached { .. }) => code::TIMEOUT,
            Error::Input(_) | Error::Output(_) => code::BAD_INPUT,
            Error::Api(_) | Error::Busy { .. } => code::API,
            Error::Interrupted(_) => code::CANCELLED,
        }
    }

    /// A short title for the `::error title=…::` annotation.
    pub fn title(&self) -> &'static str {
        match self {
            Error::Api(ApiError::DeadlineReached { .. }) => "qovery-deploy: timeout",
            Error::Input(_) => "qovery-deploy: bad input",
            Error::Api(_) => "qovery-deploy: Qovery API error",
            Error::Busy { .. } => "qovery-deploy: environment busy",
            Error::Output(_) => "qovery-deploy: cannot write step outputs",
            Error::Interrupted(_) => "qovery-deploy: interrupted",
        }
    }
}
