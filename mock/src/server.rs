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
use crate::fault::{self, Fault, Slot};
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

/// A fault the server holds, with its counters (see [`MockServer::faults`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultStatus {
    /// The fault.
    pub fault: Fault,
    /// Matching calls counted so far (after its `after` endpoint was called, if it has one).
    pub counted: usize,
    /// Calls it was applied to.
    pub applied: usize,
}

/// Where a recorded request sits in the log, to add its answer later.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    generation: u64,
    index: usize,
    /// The request's 1-based number since the last reset.
    pub number: usize,
}

#[derive(Debug)]
struct Log {
    /// Bumped by each reset, so an answer never lands on a request of a later generation.
    generation: u64,
    epoch: Instant,
    requests: Vec<RecordedRequest>,
}

impl Log {
    fn new() -> Log {
        Log {
            generation: 0,
            epoch: Instant::now(),
            requests: Vec::new(),
        }
    }
}

/// State shared by the request handlers and the [`MockServer`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    config: MockConfig,
    world: Mutex<World>,
    log: Mutex<Log>,
    faults: Mutex<Vec<Slot>>,
    /// Clones of the fixture environment (see `environments.rs`).
    environments: Mutex<Environments>,
    /// Requests to the services themselves (`/_mock/app/…`), apart from the API's.
    app_log: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    fn new(config: MockConfig, faults: Vec<Fault>) -> Self {
        let world = Mutex::new(Self::fresh_world(&config));
        Shared {
            config,
            world,
            log: Mutex::new(Log::new()),
            faults: Mutex::new(faults.into_iter().map(Slot::new).collect()),
            environments: Mutex::new(Environments::default()),
            app_log: Mutex::new(Vec::new()),
        }
    }

    /// The state of a new clone: same scenario and step, a world that was never deployed.
    pub(crate) fn for_clone(&self) -> Shared {
        let clock = Clock::new(Instant::now(), SystemTime::now());
        let world = World::never_deployed(self.config.scenario, self.config.step, clock);
        Shared {
            config: self.config.clone(),
            world: Mutex::new(world),
            // A clone's requests are recorded, and faults applied, by the root's gate.
            log: Mutex::new(Log::new()),
            faults: Mutex::new(Vec::new()),
            environments: Mutex::new(Environments::default()),
            app_log: Mutex::new(Vec::new()),
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

    /// Appends to the request log, stamped with the time since the server started (or was
    /// reset).
    pub(crate) fn record(&self, mut request: RecordedRequest) -> Ticket {
        let mut log = lock(&self.log);
        request.elapsed = log.epoch.elapsed();
        log.requests.push(request);
        Ticket {
            generation: log.generation,
            index: log.requests.len() - 1,
            number: log.requests.len(),
        }
    }

    /// Notes the status a recorded request was answered with.
    pub(crate) fn answered(&self, ticket: Ticket, status: u16) {
        let mut log = lock(&self.log);
        if log.generation == ticket.generation {
            if let Some(request) = log.requests.get_mut(ticket.index) {
                request.status = Some(status);
            }
        }
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).requests.clone()
    }

    pub(crate) fn record_app(&self, mut request: RecordedRequest) {
        request.elapsed = lock(&self.log).epoch.elapsed();
        lock(&self.app_log).push(request);
    }

    pub(crate) fn app_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.app_log).clone()
    }

    /// The fault to apply to this request, if any; counts it against every fault.
    pub(crate) fn select_fault(&self, method: &str, path: &str) -> Option<Fault> {
        fault::select(&mut lock(&self.faults), method, path)
    }

    pub(crate) fn add_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).extend(faults.into_iter().map(Slot::new));
    }

    pub(crate) fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    pub(crate) fn faults(&self) -> Vec<FaultStatus> {
        lock(&self.faults)
            .iter()
            .map(|slot| FaultStatus {
                fault: slot.fault.clone(),
                counted: slot.counted,
                applied: slot.applied,
            })
            .collect()
    }

    /// Back to the initial state, with an empty request log and the faults' counters at zero;
    /// time starts again from now.
    pub(crate) fn reset(&self) {
        *lock(&self.world) = Self::fresh_world(&self.config);
        {
            let mut log = lock(&self.log);
            log.generation += 1;
            log.epoch = Instant::now();
            log.requests.clear();
        }
        lock(&self.faults).iter_mut().for_each(Slot::restart);
        *lock(&self.environments) = Environments::default();
        lock(&self.app_log).clear();
    }
}

/// Builds a [`MockServer`]: the scenario, the step, faults, the address.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// use qovery_mock::{Endpoint, Fault, MockServer, Scenario};
///
/// let server = MockServer::builder()
///     .scenario(Scenario::Stuck)
///     .step(Duration::from_millis(200))
///     // After the deploy, every status poll answers 429 with `Retry-After: 120`.
///     .fault(Fault::on(Endpoint::statuses()).after(Endpoint::deploys()).status(429).retry_after(120))
///     .spawn()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MockBuilder {
    config: MockConfig,
    faults: Vec<Fault>,
    addr: SocketAddr,
}

impl MockBuilder {
    /// The whole configuration at once.
    pub fn config(mut self, config: MockConfig) -> Self {
        self.config = config;
        self
    }

    /// The scenario to play (default `happy`).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.config.scenario = scenario;
        self
    }

    /// The state machine's step (default 1.5 s).
    pub fn step(mut self, step: Duration) -> Self {
        self.config.step = step;
        self
    }

    /// Adds a fault. Faults are tried in the order added; the first whose window covers a
    /// request applies.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Adds several faults (e.g. a preset's: `Preset::find("rate-limited")`).
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.faults.extend(faults);
        self
    }

    /// Listens on `addr` instead of a free port of 127.0.0.1.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Starts the server.
    ///
    /// # Errors
    /// When the address cannot be bound or the server thread cannot be started.
    pub async fn spawn(self) -> io::Result<MockServer> {
        MockServer::start(self.addr, self.config, self.faults)
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
    /// A builder, for a server with faults (or any other setting).
    pub fn builder() -> MockBuilder {
        MockBuilder {
            config: MockConfig::default(),
            faults: Vec::new(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }

    /// Starts a server on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    /// When the socket cannot be bound or the server thread cannot be started.
    pub async fn spawn(config: MockConfig) -> io::Result<MockServer> {
        Self::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            config,
            Vec::new(),
        )
    }

    /// Starts a server on `addr` (port 0 picks a free one).
    ///
    /// # Errors
    /// When `addr` cannot be bound (e.g. the port is in use) or the server thread cannot be
    /// started.
    pub async fn spawn_on(addr: SocketAddr, config: MockConfig) -> io::Result<MockServer> {
        Self::start(addr, config, Vec::new())
    }

    fn start(addr: SocketAddr, config: MockConfig, faults: Vec<Fault>) -> io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, faults));
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

    /// Every request the services themselves received (`GET <link>…`, e.g. a health check), in
    /// order. Kept apart from [`MockServer::requests`].
    pub fn app_requests(&self) -> Vec<RecordedRequest> {
        self.shared.app_requests()
    }

    /// Restores the initial state, clears the request log and restarts the faults' counters
    /// (same as `POST /_mock/reset`). The faults stay.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Adds a fault while the server runs (after the ones it has).
    pub fn inject(&self, fault: Fault) {
        self.shared.add_faults([fault]);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// The faults, in order, with how many calls each counted and was applied to.
    pub fn faults(&self) -> Vec<FaultStatus> {
        self.shared.faults()
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
