//! qovery-deploy: deploy services on Qovery from CI and wait for the truth.
//!
//! The binary is a thin wrapper around [`run::main`]; each module does one thing:
//! [`inputs`] reads and validates the step's inputs, [`api`] talks to Qovery, [`plan`] turns the
//! inputs into the deploy request, [`wait`] follows our deployment, [`cancel`] cancels it (and only
//! it), [`ci`] speaks to GitHub Actions and GitLab CI, and [`report`] holds what a run found out.
//! The commands live in [`commands`], one file each.

pub mod api;
pub mod cancel;
pub mod ci;
pub mod commands;
pub mod console;
pub mod error;
pub mod inputs;
pub mod kind;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod run;
pub mod signal;
pub mod wait;
