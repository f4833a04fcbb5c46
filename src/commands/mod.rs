//! The commands, one file each, each a short script over the mechanisms (`api`, `plan`, `wait`,
//! `cancel`, `ci`, `report`).
//!
//! - [`deploy`]: `command: deploy`, the batched deploy of the listed services.
//! - [`job`]: `command: deploy-job` and `redeploy-job`.
//! - [`cancel`]: `command: cancel`, whatever runs in the environment.
//! - [`stage`]: `command: skip` and `unskip`.

pub mod cancel;
pub mod deploy;
pub mod job;
pub mod stage;
