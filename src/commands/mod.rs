//! The commands, one file each, each a short script over the mechanisms (`api`, `plan`, `wait`,
//! `cancel`, `ci`, `report`).
//!
//! - [`deploy`]: `command: deploy`, the batched deploy of the listed services.
//! - [`job`]: `command: deploy-job` and `redeploy-job`.
//! - [`cancel`]: `command: cancel`, whatever runs in the environment.
//! - [`stage`]: `command: skip` and `unskip`.
//! - [`preview`]: `command: preview` and `preview-delete`, a preview environment per pull or merge
//!   request.

pub mod cancel;
pub mod deploy;
pub mod job;
pub mod preview;
pub mod stage;

use std::time::Instant;

use crate::api::Client;
use crate::ci::Ci;
use crate::error::Error;
use crate::inputs::{Command, Config};
use crate::report::Report;
use crate::signal::Shutdown;

/// What every command is handed: the validated inputs and the run's shared means. Built once per
/// run by [`crate::run`], after the inputs were read and the output files checked.
pub struct Session<'a> {
    pub config: &'a Config,
    /// The one HTTP client, already bound to `deadline`.
    pub client: &'a Client,
    /// Log lines, sections, warnings and the step's outputs.
    pub ci: &'a mut Ci,
    /// SIGINT/SIGTERM: no await may outlive it.
    pub shutdown: &'a mut Shutdown,
    /// The end of the run's budget (`timeout`, counted from the process start).
    pub deadline: Instant,
}

/// Runs the command `session.config` names. What the run found out goes into `report`, also on
/// error (the caller publishes it).
///
/// Errors: the run's [`Error`], which maps to its exit code.
pub async fn run(session: Session<'_>, report: &mut Report) -> Result<(), Error> {
    match session.config.command {
        Command::Deploy => deploy::run(session, report).await,
        Command::DeployJob | Command::RedeployJob => job::run(session, report).await,
        Command::Cancel => cancel::run(session, report).await,
        Command::Skip | Command::Unskip => stage::run(session, report).await,
        Command::Preview | Command::PreviewDelete => preview::run(session, report).await,
    }
}
