//! The loopback HTTP server: hyper accepts, the worker answers.

use crate::authority::Authority;
use crate::worker::{Answer, EPOCH, Grants, Job, Worker};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use token_bridge::settings::Settings;

/// Requests waiting for the worker beyond this are refused at once with 503: a bridge that is
/// that far behind (Entra slow, every waiting request on the same token) should not queue more.
const QUEUE_LENGTH: usize = 256;
/// A client gets this long to send its request's headers (a slow client cannot hold a
/// connection open for ever).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than the worker's own bound on a request, so the worker answers first.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

pub struct BridgeConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The composed component.
    pub component: PathBuf,
    /// The component's environment: the bridge's settings and the credential's `AZURE_*`.
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`, granted read-only: the token file's directory.
    pub preopens: Vec<(PathBuf, String)>,
    pub authority: Authority,
    /// Write a line to stderr for each request (method, path, status, time; never a header).
    pub log: bool,
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
        Settings::from_lookup(lookup)?;
        let entra_calls = Arc::new(AtomicU64::new(0));
        let grants = Grants {
            env: config.env,
            preopens: config.preopens,
            authority: config.authority,
            entra_calls: entra_calls.clone(),
        };
        let worker = Worker::load(&config.component, grants)
            .map_err(|error| format!("loading {}: {error:?}", config.component.display()))?;
        let ticking = Arc::new(AtomicBool::new(true));
        start_epoch_ticker(worker.engine().clone(), ticking.clone());
        let (jobs, queue) = std::sync::mpsc::sync_channel(QUEUE_LENGTH);
        std::thread::Builder::new()
            .name("token-bridge-worker".into())
            .spawn(move || worker.run(queue))
            .map_err(|error| format!("starting the worker: {error}"))?;

        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|error| format!("listening on {}: {error}", config.listen))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        listener
            .set_nonblocking(true)
            .map_err(|error| error.to_string())?;
        let requests = Arc::new(AtomicU64::new(0));
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let served = Served {
            jobs,
            requests: requests.clone(),
            log: config.log,
        };
        let server = std::thread::Builder::new()
            .name("token-bridge-server".into())
            .spawn(move || serve(listener, served, stopped))
            .map_err(|error| format!("starting the server: {error}"))?;
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

    /// Stops accepting, lets the connections being served finish, and returns.
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

#[derive(Clone)]
struct Served {
    jobs: SyncSender<Job>,
    requests: Arc<AtomicU64>,
    log: bool,
}

fn serve(
    listener: std::net::TcpListener,
    served: Served,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the server");
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("a listener in non-blocking mode");
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let served = served.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let served = served.clone();
                            async move { Ok::<_, Infallible>(answer(request, &served).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        // Keep-alive connections would wait for their clients; the answers in flight are sent.
        connections.abort_all();
    });
}

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    served: &Served,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let method = request.method().clone();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let (reply, answered) = tokio::sync::oneshot::channel();
    let job = Job {
        method: method.clone(),
        path_and_query: path_and_query.clone(),
        headers: request.headers().clone(),
        reply,
    };
    let answer = match served.jobs.try_send(job) {
        Ok(()) => match tokio::time::timeout(ANSWER_TIMEOUT, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Answer::error(503, "unavailable", "the bridge's worker stopped"),
            Err(_) => Answer::error(504, "timeout", "the bridge did not answer in time"),
        },
        Err(TrySendError::Full(_)) => Answer::error(
            503,
            "busy",
            &format!("{QUEUE_LENGTH} requests are already waiting; retry shortly"),
        ),
        Err(TrySendError::Disconnected(_)) => {
            Answer::error(503, "unavailable", "the bridge's worker stopped")
        }
    };
    served.requests.fetch_add(1, Ordering::Relaxed);
    if served.log {
        // The path holds the api-version, resource and client id; the secret is in a header.
        eprintln!(
            "token-bridge: {method} {path_and_query} -> {} in {:.1} ms",
            answer.status,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let mut response = hyper::Response::new(Full::new(answer.body));
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    response
}
