//! SIGTERM and SIGINT. The binary is PID 1 in its container, where the kernel ignores signals that
//! have no handler, so a cancelled CI job would otherwise be killed without cancelling anything.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<&'static str>>,
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
                // The first signal is the one reported; later ones (GitHub sends SIGINT, then SIGTERM)
                // must not interrupt the cancel that is under way.
                tx.send_if_modified(|current| current.is_none() && current.replace(name).is_none());
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

    pub fn received(&self) -> Option<&'static str> {
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

    /// Resolves when a signal arrives, with its name.
    pub async fn wait(&mut self) -> &'static str {
        loop {
            if let Some(name) = *self.rx.borrow_and_update() {
                return name;
            }
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
