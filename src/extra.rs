//! The API reads after our deployment ended: the deployment log that explains a failure
//! ([`crate::logs`]) and the links that say where a success answers ([`crate::links`]).
//!
//! They are extras: each one runs on a client with a short budget of its own, capped by what is
//! left of the run's, raced against SIGINT/SIGTERM, and its failure is one line in the log, never a
//! different exit code.

use std::time::{Duration, Instant};

use crate::api::{ApiError, Client};
use crate::signal::Shutdown;
use crate::wait::Stop;

/// The most an extra read may take after a terminal state, within the run's deadline.
pub const EXTRA_BUDGET: Duration = Duration::from_secs(10);
/// After a timeout the run's budget is spent; the log that says why still gets this long (the
/// cancel before it has a budget of its own too, [`crate::cancel::CANCEL_BUDGET_AFTER_TIMEOUT`]).
pub const EXTRA_BUDGET_AFTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Less than this left of the run's budget is no budget for an extra read.
const MIN_BUDGET: Duration = Duration::from_millis(500);

/// Why an extra read gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum Skipped {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("the CI job was cancelled ({0})")]
    Interrupted(&'static str),
    #[error("no time is left in the timeout")]
    NoTime,
}

/// The client for the extras, or why there is none: after a signal nothing more is read (the
/// runner kills the job seconds later); after a timeout a short grace; otherwise what is left of
/// the run's budget, at most [`EXTRA_BUDGET`]. One retry at most: an extra is not worth a long
/// wait.
pub fn client(client: &Client, deadline: Instant, stop: Option<Stop>) -> Result<Client, Skipped> {
    let now = Instant::now();
    let until = match stop {
        Some(Stop::Interrupted(signal)) => return Err(Skipped::Interrupted(signal)),
        Some(Stop::TimedOut) => now + EXTRA_BUDGET_AFTER_TIMEOUT,
        None => {
            let left = deadline.saturating_duration_since(now);
            if left < MIN_BUDGET {
                return Err(Skipped::NoTime);
            }
            now + left.min(EXTRA_BUDGET)
        }
    };
    Ok(client.with_deadline(until).without_retries())
}

/// Runs one extra read unless a signal arrives first.
pub async fn read<T>(
    shutdown: &mut Shutdown,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Skipped> {
    Ok(shutdown.race(work).await.map_err(Skipped::Interrupted)??)
}
