//! The thread that owns the component instance and serves requests one at a time.

use crate::watchdog::WorkerStatus;
use bytes::Bytes;
use credential_host::{
    Authority, ResponseFuture, WasiHost, grant_read_only, handle_request, wasi_http_linker,
};
use http_body_util::{BodyExt, Empty};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use token_bridge::protocol::{Reply, reply_headers};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::bindings::sync::{Proxy, ProxyPre};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

type State = WasiHost<CountingHooks>;
type RequestBody = http_body_util::combinators::BoxBody<Bytes, ErrorCode>;

/// How often the engine's epoch advances; a request's deadline is counted in these.
pub(crate) const EPOCH: Duration = Duration::from_millis(100);
/// A request may run 90 s of wasm: the credential bounds each get-token at 60 s, so only a
/// component gone wrong meets this, and it is then replaced.
const REQUEST_EPOCHS: u64 = 900;
/// The bridge's answers are a few hundred bytes; more is a component gone wrong.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// One request, as the worker needs it.
pub(crate) struct Job {
    pub method: http::Method,
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub reply: tokio::sync::oneshot::Sender<Answer>,
}

pub(crate) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// An answer of the host's own, in the JSON shape of the bridge's.
    pub fn error(status: u16, error: &str, description: &str) -> Answer {
        Answer::json(
            status,
            token_bridge::answer::error_body(status, error, description),
        )
    }

    /// The bridge's own answer (`token_bridge::protocol::decide`'s), with the component's headers.
    pub fn reply(reply: Reply) -> Answer {
        Answer::json(reply.status, reply.body)
    }

    pub fn json(status: u16, body: String) -> Answer {
        let headers = reply_headers(status)
            .iter()
            .map(|&(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                )
            })
            .collect();
        Answer {
            status,
            headers,
            body: body.into(),
        }
    }
}

/// What each instance is granted.
#[derive(Clone)]
pub(crate) struct Grants {
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`, read-only.
    pub preopens: Vec<(PathBuf, String)>,
    pub authority: Authority,
    pub entra_calls: Arc<AtomicU64>,
}

pub(crate) struct Worker {
    engine: Engine,
    pre: ProxyPre<State>,
    grants: Grants,
    current: Option<(Store<State>, Proxy)>,
}

impl Worker {
    /// Compiles the composition at `component_path`, or the one this binary carries.
    pub fn load(component_path: Option<&Path>, grants: Grants) -> Result<Worker> {
        let mut config = Config::default();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = match component_path {
            Some(path) => Component::from_file(&engine, path)?,
            None => Component::new(&engine, guest_artifacts::TOKEN_BRIDGE_COMPOSITION_BYTES)?,
        };
        let linker = wasi_http_linker(&engine)?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Worker {
            engine,
            pre,
            grants,
            current: None,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves jobs until every sender is gone, telling `status` when each starts and ends.
    pub fn run(mut self, jobs: std::sync::mpsc::Receiver<Job>, status: Arc<WorkerStatus>) {
        // Also when a panic unwinds the thread: health must not say "ok" for a worker gone.
        struct Stopped(Arc<WorkerStatus>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.stopped();
            }
        }
        let status = Stopped(status);
        for job in jobs {
            // Its client gave up waiting (or went away): answering would be work, maybe an
            // Entra call, for no one.
            if job.reply.is_closed() {
                continue;
            }
            status.0.started_request();
            let answer = self.serve(job.method, &job.path_and_query, job.headers);
            status.0.finished_request();
            // The client may have gone; its answer is then of no use to anyone.
            let _ = job.reply.send(answer);
        }
    }

    fn serve(&mut self, method: http::Method, path: &str, headers: http::HeaderMap) -> Answer {
        // A request target that is no path (`OPTIONS *`, an absolute URI) is the client's
        // mistake, and must not cost the instance and its cache.
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1{path}"))
            .body(
                Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed(),
            );
        let mut request = match request {
            Ok(request) if path.starts_with('/') => request,
            _ => {
                return Answer::error(
                    400,
                    "invalid_request",
                    "the request target must be a path, e.g. /msi/token?…",
                );
            }
        };
        *request.headers_mut() = headers;
        match self.try_serve(request) {
            Ok(answer) => answer,
            Err(error) => {
                // A trap leaves the instance unusable: the next request gets a fresh one (and
                // the credential's cache starts over).
                self.current = None;
                Answer::error(
                    500,
                    "bridge_failed",
                    &format!("the bridge's component failed and was restarted: {error}"),
                )
            }
        }
    }

    fn try_serve(&mut self, request: http::Request<RequestBody>) -> Result<Answer> {
        if self.current.is_none() {
            self.current = Some(self.instantiate()?);
        }
        let (store, proxy) = self.current.as_mut().expect("instantiated above");
        store.set_epoch_deadline(REQUEST_EPOCHS);
        let (parts, body) = handle_request(store, proxy, request, MAX_ANSWER_BYTES)?;
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    fn instantiate(&self) -> Result<(Store<State>, Proxy)> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.grants.env);
        grant_read_only(&mut wasi, &self.grants.preopens)?;
        let hooks = CountingHooks {
            authority: self.grants.authority.clone(),
            calls: self.grants.entra_calls.clone(),
        };
        let mut store = Store::new(&self.engine, WasiHost::new(wasi.build(), hooks));
        store.set_epoch_deadline(REQUEST_EPOCHS);
        let proxy = self.pre.instantiate(&mut store)?;
        Ok((store, proxy))
    }
}

/// The credential's token requests, counted: every outgoing request of the composition is the
/// credential's, since the bridge itself calls nothing.
pub(crate) struct CountingHooks {
    pub authority: Authority,
    pub calls: Arc<AtomicU64>,
}

impl WasiHttpHooks for CountingHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.authority.send(request, options)
    }
}
