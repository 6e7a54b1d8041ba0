//! The loopback HTTP server: hyper accepts, the worker answers.

use crate::worker::{Answer, EPOCH, Grants, Job, Worker};
use bytes::Bytes;
use credential_host::Authority;
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
/// Longer than the worker's bound on one request; a request queued behind others may still meet
/// it, and is then answered 504 (and skipped by the worker).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections served at once; more wait in the listener's backlog.
const MAX_CONNECTIONS: usize = 1024;
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
        std::thread::Builder::new()
            .name("token-bridge-worker".into())
            .spawn(move || worker.run(queue))
            .map_err(|error| {
                ticking.store(false, Ordering::Relaxed);
                format!("starting the worker: {error}")
            })?;
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
        // Tells each connection to finish the request it is answering and close.
        let (closing, close) = tokio::sync::watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    match accepted {
                        Ok((stream, _)) => {
                            connections.spawn(connection(stream, served.clone(), close.clone()));
                        }
                        // Out of file descriptors, say: wait for some to be freed rather
                        // than spin on the error.
                        Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        // Idle keep-alive connections close at once; requests being answered get their answer.
        let _ = closing.send(true);
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            connections.abort_all();
        }
    });
}

/// Serves one connection until the client closes it or the bridge stops.
async fn connection(
    stream: tokio::net::TcpStream,
    served: Served,
    mut close: tokio::sync::watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let served = served.clone();
        async move { Ok::<_, Infallible>(answer(request, &served).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = close.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
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
    // The settings were checked at start, and a probe must not wait behind token requests.
    if request.uri().path() == token_bridge::protocol::HEALTH_PATH {
        return respond(Answer::json(200, r#"{"status":"ok"}"#.to_owned()));
    }
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
        Err(TrySendError::Full(_)) => {
            let mut busy = Answer::error(
                503,
                "busy",
                &format!("{QUEUE_LENGTH} requests are already waiting; retry shortly"),
            );
            busy.headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            busy
        }
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
    respond(answer)
}

fn respond(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(answer.body));
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    response
}
