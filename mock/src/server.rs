//! The server handle: binds, runs on its own thread and runtime, stops when dropped.

use std::future::IntoFuture;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::environments::{Environments, MockEnvironment};
use crate::record::RecordedRequest;
use crate::routes;
use crate::scenario::Scenario;
use crate::state::World;

/// How a [`MockServer`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockConfig {
    /// The scenario to play.
    pub scenario: Scenario,
    /// The time unit of the state machine: a deployment is picked up one step after it is
    /// queued, then builds for one step and deploys for one step.
    pub step: Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            scenario: Scenario::Happy,
            step: Duration::from_millis(1500),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// State shared by the request handlers and the [`MockServer`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    config: MockConfig,
    world: Mutex<World>,
    log: Mutex<Vec<RecordedRequest>>,
    /// Clones of the fixture environment (see `environments.rs`).
    environments: Mutex<Environments>,
}

impl Shared {
    fn new(config: MockConfig) -> Self {
        let world = Mutex::new(Self::fresh_world(&config));
        Shared {
            config,
            world,
            log: Mutex::new(Vec::new()),
            environments: Mutex::new(Environments::default()),
        }
    }

    /// The state of a new clone: same scenario and step, a world that was never deployed.
    pub(crate) fn for_clone(&self) -> Shared {
        let clock = Clock::new(Instant::now(), SystemTime::now());
        let world = World::never_deployed(self.config.scenario, self.config.step, clock);
        Shared {
            config: self.config.clone(),
            world: Mutex::new(world),
            log: Mutex::new(Vec::new()),
            environments: Mutex::new(Environments::default()),
        }
    }

    /// Runs `f` on the clones.
    pub(crate) fn with_environments<R>(&self, f: impl FnOnce(&mut Environments) -> R) -> R {
        f(&mut lock(&self.environments))
    }

    fn fresh_world(config: &MockConfig) -> World {
        let clock = Clock::new(Instant::now(), SystemTime::now());
        World::new(config.scenario, config.step, clock)
    }

    pub(crate) fn scenario(&self) -> Scenario {
        self.config.scenario
    }

    /// Runs `f` on the world advanced to now.
    pub(crate) fn with_world<R>(&self, f: impl FnOnce(&mut World, Instant) -> R) -> R {
        let now = Instant::now();
        let mut world = lock(&self.world);
        world.advance(now);
        f(&mut world, now)
    }

    /// Appends to the request log; returns the request's 1-based number.
    pub(crate) fn record(&self, request: RecordedRequest) -> usize {
        let mut log = lock(&self.log);
        log.push(request);
        log.len()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Back to the initial state, with an empty request log; time starts again from now.
    pub(crate) fn reset(&self) {
        *lock(&self.world) = Self::fresh_world(&self.config);
        lock(&self.log).clear();
        *lock(&self.environments) = Environments::default();
    }
}

/// A running mock. The server runs on a dedicated thread with its own Tokio runtime, so a
/// caller that blocks (e.g. waiting for a child process) does not starve it. Dropping the
/// handle stops the server.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    /// When the socket cannot be bound or the server thread cannot be started.
    pub async fn spawn(config: MockConfig) -> io::Result<MockServer> {
        Self::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
    }

    /// Starts a server on `addr` (port 0 picks a free one).
    ///
    /// # Errors
    /// When `addr` cannot be bound (e.g. the port is in use) or the server thread cannot be
    /// started.
    pub async fn spawn_on(addr: SocketAddr, config: MockConfig) -> io::Result<MockServer> {
        Self::start(addr, config)
    }

    fn start(addr: SocketAddr, config: MockConfig) -> io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = routes::router(Arc::clone(&shared));

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("qovery-mock {addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        result = axum::serve(listener, app).into_future() => {
                            if let Err(error) = result {
                                eprintln!("qovery-mock: server error: {error}");
                            }
                        }
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here aborts the open connections.
            })?;

        Ok(MockServer {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash), to use as the API base URL.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The scenario being played.
    pub fn scenario(&self) -> Scenario {
        self.shared.scenario()
    }

    /// Every API request received so far, in order (test hooks under `/_mock/` excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Every environment of the fixture project: the fixture environment, then its clones in
    /// creation order (deleted ones until they are gone).
    pub fn environments(&self) -> Vec<MockEnvironment> {
        self.shared
            .with_environments(|environments| environments.describe())
    }

    /// Restores the initial state and clears the request log (same as `POST /_mock/reset`).
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
