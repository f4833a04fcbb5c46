//! qovery-deploy: deploy services on Qovery from CI and wait for the truth.
//!
//! `main.rs` only turns [`run::main`]'s outcome into the exit code; [`run`] reads the inputs, masks
//! the token, builds a [`commands::Session`], dispatches, publishes the report and maps errors to
//! exit codes, in one place.
//!
//! The commands, one file each in [`commands`], read like short scripts over the mechanisms:
//! [`commands::deploy`] (batched `deploy`), [`commands::job`] (`deploy-job`, `redeploy-job`),
//! [`commands::cancel`] (`cancel`: whatever runs in the environment) and [`commands::stage`]
//! (`skip`, `unskip`).
//!
//! The mechanisms, each named after what it does:
//! - [`inputs`]: reading `INPUT_*` variables and flags, validating them into a `Config`, and the
//!   table of inputs the `--help` text and the contract test come from;
//! - [`api`]: the one HTTP client and the API's types; [`kind`]: the kinds of service;
//! - [`preflight`]: the read-only GETs every command starts with; [`console`]: console links;
//! - [`plan`]: the listed entries turned into the deploy request;
//! - [`wait`]: following our deployment request until it ends; [`cadence`]: which read each poll
//!   tick makes; [`history`]: our execution's
//!   record in the deployment history, and the proof of what it deployed; [`locate`]: our request
//!   when the environment does not show it (queued, merged, gone);
//! - [`cancel`]: cancelling **our** request (and nothing else) after a timeout or a signal;
//! - [`extra`]: the reads after the end, on a short budget: [`logs`] (why a service failed, from
//!   its deployment log) and [`links`] (where the services answer: `url`, `urls`); [`health`]:
//!   the optional health check of the `url` once deployed;
//! - [`ci`]: GitHub Actions and GitLab CI output; [`report`]: what a run found out;
//!   [`durations`]: how long each service took, for the summary;
//! - [`neutral`]: outside text made harmless for each sink (log, workflow command, summary, outputs,
//!   dotenv), and the token redactor; every sink goes through it;
//! - [`error`]: the error classes and their exit codes; [`signal`]: SIGINT/SIGTERM;
//! - [`handover`]: our request ids handed to the step that runs after a killed one, and the
//!   cleanup that cancels them (`qovery-deploy-cleanup`).

pub mod api;
pub mod cadence;
pub mod cancel;
pub mod ci;
pub mod commands;
pub mod console;
pub mod durations;
pub mod error;
pub mod extra;
pub mod handover;
pub mod health;
pub mod history;
pub mod inputs;
pub mod kind;
pub mod links;
pub mod locate;
pub mod logs;
pub mod neutral;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod run;
pub mod signal;
pub mod wait;
