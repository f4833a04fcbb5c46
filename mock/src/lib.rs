//! `qovery-mock`: a stateful local mock of the Qovery REST API.
//!
//! It serves one fixture environment (see [`ids`]) and simulates deployments with a
//! deterministic, time-driven state machine: a deployment request is queued, picked up one
//! step later, builds for one step, deploys for one step and ends `DEPLOYED` (or fails, hangs,
//! waits behind another deployment... depending on the [`Scenario`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use qovery_mock::{MockConfig, MockServer, Scenario};
//!
//! let server = MockServer::spawn(MockConfig {
//!     scenario: Scenario::Stale,
//!     step: std::time::Duration::from_millis(100),
//! })
//! .await?;
//! let api_url = server.url(); // http://127.0.0.1:PORT
//! // ... run the client against `api_url` ...
//! for request in server.requests() {
//!     println!("{} {}", request.method, request.path);
//! }
//! # Ok(()) }
//! ```

mod api;
mod clock;
mod environments;
mod error;
mod fault;
mod fixtures;
mod inject;
mod links;
mod logs;
mod record;
mod routes;
mod scenario;
mod server;
mod stages;
mod state;
mod validate;

pub use environments::MockEnvironment;
pub use fault::{
    Endpoint, Fault, FaultBody, HOSTILE_TEXT, HOSTILE_URL_TEXT, HeaderTemplate, PRESETS,
    ParseFaultError, Preset,
};
pub use fixtures::{DEMO_TOKEN, ids};
pub use record::RecordedRequest;
pub use scenario::{ParseScenarioError, Scenario};
pub use server::{FaultStatus, MockBuilder, MockConfig, MockServer};

/// The faults a `--fault` argument names: a [preset](PRESETS)'s, or the one fault it spells.
///
/// # Errors
/// When it is neither a preset name nor a valid fault spec.
pub fn parse_faults(text: &str) -> Result<Vec<Fault>, ParseFaultError> {
    match Preset::find(text.trim()) {
        Some(preset) => Ok(preset.faults()),
        None if !text.contains(':') => Err(ParseFaultError {
            spec: text.to_owned(),
            reason: format!(
                "neither a preset ({}) nor ENDPOINT:ITEM[,ITEM...]",
                PRESETS
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
        None => text.parse().map(|fault| vec![fault]),
    }
}

/// Fixture service names with their ids and types, for printing (`name`, `TYPE`, `id`).
pub fn fixture_services() -> Vec<(&'static str, &'static str, &'static str)> {
    fixtures::SERVICES
        .iter()
        .map(|service| (service.name, service.service_type.as_str(), service.id))
        .collect()
}
