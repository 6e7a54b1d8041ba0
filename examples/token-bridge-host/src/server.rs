//! The loopback HTTP server: hyper accepts, within the limits; the host answers what needs no
//! token; the worker answers the rest.

use crate::connections::{Admitted, Connections};
use crate::limits::{Limits, MAX_HEADERS, MAX_REQUEST_HEAD_BYTES, QUEUE_LENGTH};
use crate::request::{Served, answer};
use crate::watchdog::{WorkerStatus, watch};
use crate::worker::{EPOCH, Grants, Worker};
use credential_host::Authority;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use token_bridge::settings::Settings;

/// After a failed accept (e.g. no file descriptor left), before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// On stop, how long requests being answered get to finish (Kubernetes waits 30 s by default
/// between SIGTERM and SIGKILL).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct BridgeConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The composed bridge to serve; `None`: the one this binary carries.
    pub component: Option<PathBuf>,
    /// The component's environment: the bridge's settings and the credential's `AZURE_*`.
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`, granted read-only: the token's projected volume.
    pub preopens: Vec<(PathBuf, String)>,
    pub authority: Authority,
    /// Write a line to stderr for each request (method, path, status, time; never a header).
    pub log: bool,
    /// What callers may take (connections, time, memory), and how long the worker may spend on
    /// one request before it is reported stuck.
    pub limits: Limits,
}

/// A bridge serving on its own threads until [`stop`](Self::stop) or drop.
pub struct RunningBridge {
    address: SocketAddr,
    requests: Arc<AtomicU64>,
    entra_calls: Arc<AtomicU64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    ticking: Arc<AtomicBool>,
}

impl RunningBridge {
    /// Checks the settings, compiles the component and starts serving. `Err` says what to fix.
    pub fn start(config: BridgeConfig) -> Result<RunningBridge, String> {
        let lookup = |name: &str| {
            config
                .env
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let settings = Arc::new(Settings::from_lookup(lookup)?);
        // Bound first: a port in use is the likeliest failure, and nothing is started yet.
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|error| format!("listening on {}: {error}", config.listen))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        listener
            .set_nonblocking(true)
            .map_err(|error| error.to_string())?;
        let entra_calls = Arc::new(AtomicU64::new(0));
        let grants = Grants {
            env: config.env,
            preopens: config.preopens,
            authority: config.authority,
            entra_calls: entra_calls.clone(),
        };
        let worker = Worker::load(config.component.as_deref(), grants).map_err(|error| {
            let component = config.component.as_ref().map_or_else(
                || "the built-in composition".to_owned(),
                |path| path.display().to_string(),
            );
            format!("loading {component}: {error:?}")
        })?;
        let ticking = Arc::new(AtomicBool::new(true));
        start_epoch_ticker(worker.engine().clone(), ticking.clone());
        let (jobs, queue) = std::sync::mpsc::sync_channel(QUEUE_LENGTH);
        let status = Arc::new(WorkerStatus::new());
        let worker_status = status.clone();
        std::thread::Builder::new()
            .name("token-bridge-worker".into())
            .spawn(move || worker.run(queue, worker_status))
            .map_err(|error| {
                ticking.store(false, Ordering::Relaxed);
                format!("starting the worker: {error}")
            })?;
        let requests = Arc::new(AtomicU64::new(0));
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let (report, stuck) = tokio::sync::watch::channel(false);
        let limits = config.limits;
        let served = Served {
            settings,
            jobs,
            worker: status.clone(),
            stuck,
            stuck_after: limits.stuck_after,
            requests: requests.clone(),
            log: config.log,
        };
        let server = std::thread::Builder::new()
            .name("token-bridge-server".into())
            .spawn(move || {
                let watchdog = watch(status, limits.stuck_after, report);
                serve(listener, served, &limits, watchdog, stopped)
            })
            .map_err(|error| {
                ticking.store(false, Ordering::Relaxed);
                format!("starting the server: {error}")
            })?;
        Ok(RunningBridge {
            address,
            requests,
            entra_calls,
            shutdown: Some(shutdown),
            server: Some(server),
            ticking,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The `IDENTITY_ENDPOINT` an app sets to reach this bridge.
    pub fn identity_endpoint(&self) -> String {
        format!(
            "http://{}{}",
            self.address,
            token_bridge::protocol::TOKEN_PATH
        )
    }

    /// Requests answered so far, whatever the answer.
    pub fn requests_served(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Token requests the credential sent to Microsoft Entra ID so far.
    pub fn entra_calls(&self) -> u64 {
        self.entra_calls.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes idle connections, gives requests being answered up to 10 s to
    /// get their answer, and returns.
    pub fn stop(mut self) {
        self.stop_serving();
    }

    fn stop_serving(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        self.ticking.store(false, Ordering::Relaxed);
    }
}

impl Drop for RunningBridge {
    fn drop(&mut self) {
        self.stop_serving();
    }
}

/// Advances the engine's epoch, so that a request's deadline passes in real time.
fn start_epoch_ticker(engine: wasmtime::Engine, ticking: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while ticking.load(Ordering::Relaxed) {
            std::thread::sleep(EPOCH);
            engine.increment_epoch();
        }
    });
}

fn serve(
    listener: std::net::TcpListener,
    served: Served,
    limits: &Limits,
    watchdog: impl Future<Output = ()> + Send + 'static,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the server");
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("a listener in non-blocking mode");
        // Ends with the runtime.
        tokio::spawn(watchdog);
        // Tells each connection to finish the request it is answering and close.
        let (closing, close) = tokio::sync::watch::channel(false);
        let mut open = Connections::new(limits.max_connections);
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    match accepted {
                        Ok((stream, _)) => match open.admit() {
                            Some(admitted) => {
                                let number = admitted.number;
                                let served = served.clone();
                                let (timeout, close) = (limits.header_read_timeout, close.clone());
                                tasks.spawn(async move {
                                    connection(stream, served, timeout, admitted, close).await;
                                    number
                                });
                                // Lets the new connection read its request, and show the secret
                                // if it has it, before more are accepted that could otherwise
                                // close it to make room.
                                tokio::task::yield_now().await;
                            }
                            // Every connection is waiting for a token: this one is closed at
                            // once, and its client may retry.
                            None => drop(stream),
                        },
                        // Out of file descriptors, say: wait for some to be freed rather
                        // than spin on the error.
                        Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                    }
                }
                Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(number) = ended {
                        open.ended(number);
                    }
                }
            }
        }
        // Idle keep-alive connections close at once; requests being answered get their answer.
        let _ = closing.send(true);
        let drained = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            tasks.abort_all();
        }
    });
}

/// Serves one connection until the client closes it, it is closed to make room for another, or
/// the bridge stops.
async fn connection(
    stream: tokio::net::TcpStream,
    served: Served,
    header_read_timeout: Duration,
    admitted: Admitted,
    mut close: tokio::sync::watch::Receiver<bool>,
) {
    let Admitted {
        state,
        closed: mut make_room,
        ..
    } = admitted;
    let service = service_fn(move |request| {
        let served = served.clone();
        let state = state.clone();
        async move { Ok::<_, Infallible>(answer(request, &served, &state).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        // Chosen to make room: dropping the connection closes it.
        _ = &mut make_room => {}
        _ = close.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
