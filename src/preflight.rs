//! The preflight every command shares: read what the run needs before writing anything.
//!
//! Only `GET`s happen here, each raced against the signals: a signal during the preflight stops
//! the run with nothing sent (exit 5). An API error here is the run's error (a refused token, an
//! unknown environment), found before any deployment of ours exists.

use crate::api::types::{Environment, EnvironmentStatuses, ServiceInfo};
use crate::api::{ApiError, Client};
use crate::error::Error;
use crate::signal::Shutdown;

/// Runs read-only `work` unless a signal arrives first.
///
/// Errors: [`Error::Interrupted`] on a signal, [`Error::Api`] when `work` fails.
pub async fn read<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Error> {
    Ok(shutdown.race(work).await.map_err(Error::Interrupted)??)
}

/// The preflight of the deploy commands: the environment (for links), its services (to resolve
/// names) and their statuses (the baseline the wait compares with). One after the other: a refused
/// token stops at the first request instead of three.
pub async fn environment(
    client: &Client,
    shutdown: &mut Shutdown,
    id: &str,
) -> Result<(Environment, Vec<ServiceInfo>, EnvironmentStatuses), Error> {
    read(shutdown, async {
        Ok((
            client.environment(id).await?,
            client.services(id).await?,
            client.statuses(id).await?,
        ))
    })
    .await
}
