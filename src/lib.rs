//! qovery-deploy: deploy services on Qovery from CI and wait for the truth.
//!
//! The binary is a thin wrapper around [`run::main`]; each module does one thing:
//! [`inputs`] reads and validates the step's inputs, [`api`] talks to Qovery, [`plan`] turns the
//! inputs into the deploy request, [`wait`] follows our deployment, [`cancel`] cancels it (and only
//! it), [`ci`] speaks to GitHub Actions and GitLab CI, and [`report`] holds what a run found out.
//! The commands: [`deploy`] (batched), [`jobs`] (`deploy-job`, `redeploy-job`), [`cancel_command`]
//! (`cancel`) and [`stages`] (`skip`, `unskip`).

pub mod api;
pub mod cancel;
pub mod cancel_command;
pub mod ci;
pub mod deploy;
pub mod error;
pub mod inputs;
pub mod jobs;
pub mod kind;
pub mod plan;
pub mod report;
pub mod run;
pub mod signal;
pub mod stages;
pub mod wait;
