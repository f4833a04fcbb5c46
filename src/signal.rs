//! SIGTERM and SIGINT. The binary is PID 1 in its container, where the kernel ignores signals that
//! have no handler, so a cancelled CI job would otherwise be killed without cancelling anything.
//!
//! The budget after a signal: GitHub sends SIGINT, then SIGTERM 7.5 s later, and kills 2.5 s after
//! that (docs: "workflow cancellation reference"); GitLab's grace before SIGKILL can be as short.
//! Everything a run does after the first signal (the answer of a deploy already sent, the cancel of
//! our request, the outputs) must end within [`EXIT_BUDGET`] of it, in every phase.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;

/// The process exits within this long after the first signal (issue 13: "within 8 s of the
/// signal, always"); the work after a signal is given [`AFTER_SIGNAL`] of it, the rest is margin
/// for writing the outputs and the exit.
pub const EXIT_BUDGET: Duration = Duration::from_secs(8);
/// How long the work started after a signal (a cancel) may run, counted from the signal.
pub const AFTER_SIGNAL: Duration = Duration::from_secs(6);

/// The first signal received: its name and when it arrived (Tokio's clock, which tests can
/// pause; `at.into_std()` for a deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub name: &'static str,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<Received>>,
}

impl Shutdown {
    /// Installs the handlers; must run inside the runtime.
    pub fn install() -> std::io::Result<Shutdown> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                let received = Received {
                    name,
                    at: Instant::now(),
                };
                // The first signal is the one reported and the one the budget counts from; later
                // ones (GitHub sends SIGINT, then SIGTERM) must not restart or cut the cancel.
                tx.send_if_modified(|current| {
                    current.is_none() && current.replace(received).is_none()
                });
            }
        });
        Ok(Shutdown { rx })
    }

    /// For tests and for runs that never wait.
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        std::mem::forget(tx);
        Shutdown { rx }
    }

    /// A handle whose signal is sent by the returned function (tests).
    pub fn manual() -> (Shutdown, impl Fn(&'static str)) {
        let (tx, rx) = watch::channel(None);
        let send = move |name| {
            tx.send_if_modified(|current| {
                current.is_none()
                    && current
                        .replace(Received {
                            name,
                            at: Instant::now(),
                        })
                        .is_none()
            });
        };
        (Shutdown { rx }, send)
    }

    /// The name of the first signal received, if any.
    pub fn received(&self) -> Option<&'static str> {
        self.rx.borrow().map(|r| r.name)
    }

    /// The first signal received, with its arrival time.
    pub fn received_at(&self) -> Option<Received> {
        *self.rx.borrow()
    }

    /// Runs `work` unless a signal arrives first: `Err(signal name)` then. Biased towards the
    /// signal, so once one has arrived, `work` is not even started (no request goes out).
    pub async fn race<T>(&mut self, work: impl Future<Output = T>) -> Result<T, &'static str> {
        tokio::select! {
            biased;
            signal = self.wait() => Err(signal),
            done = work => Ok(done),
        }
    }

    /// Runs `work` to its end, unless a signal arrives: then `work` goes on for at most `grace`
    /// counted from the signal (immediately if one had already arrived), and is abandoned after
    /// that (`None`). For work that must not be cut at once (the answer of a deploy already sent
    /// tells which request to cancel; a cancel under way should reach Qovery) but must never
    /// outlive the signal's budget.
    pub async fn within<T>(&mut self, grace: Duration, work: impl Future<Output = T>) -> Option<T> {
        let mut work = std::pin::pin!(work);
        tokio::select! {
            biased;
            done = &mut work => return Some(done),
            _ = self.wait() => {}
        }
        let at = self.received_at().map_or_else(Instant::now, |r| r.at);
        let until = at.checked_add(grace).unwrap_or(at);
        tokio::time::timeout_at(until, work).await.ok()
    }

    /// Resolves when a signal arrives, with its name.
    pub async fn wait(&mut self) -> &'static str {
        loop {
            if let Some(received) = *self.rx.borrow_and_update() {
                return received.name;
            }
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn within_gives_work_its_grace_after_the_signal_and_no_more() {
        let (mut shutdown, send) = Shutdown::manual();
        // No signal: the work runs to its end, however long.
        let done = shutdown
            .within(Duration::from_secs(1), async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                7
            })
            .await;
        assert_eq!(done, Some(7));
        // A signal during the work: it gets `grace` more, then is abandoned.
        let start = tokio::time::Instant::now();
        let signal_later = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            send("SIGTERM");
            std::future::pending::<()>().await;
        };
        let work = shutdown.within(Duration::from_secs(3), async {
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let abandoned = tokio::select! {
            _ = signal_later => unreachable!(),
            out = work => out,
        };
        assert_eq!(abandoned, None);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(shutdown.received(), Some("SIGTERM"));
        // Past the grace, later work is not even started.
        let after = shutdown.within(Duration::from_secs(3), async { 1 }).await;
        assert_eq!(after, Some(1), "work that is ready at once still completes");
        let start = tokio::time::Instant::now();
        let late = shutdown
            .within(Duration::from_secs(3), std::future::pending::<()>())
            .await;
        assert_eq!((late, start.elapsed()), (None, Duration::ZERO));

        // A signal already received: the grace counts from it, not from now.
        let (mut shutdown, send) = Shutdown::manual();
        send("SIGINT");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start = tokio::time::Instant::now();
        let late = shutdown
            .within(Duration::from_secs(3), std::future::pending::<()>())
            .await;
        assert_eq!((late, start.elapsed()), (None, Duration::from_secs(2)));
    }
}
