//! The thread that owns the component instance and serves requests one at a time.

use crate::authority::{Authority, CountingHooks};
use bytes::Bytes;
use host_tests::{WasiHost, handle_request};
use http_body_util::{BodyExt, Empty};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::{FsPerms, WasiCtx};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::bindings::sync::{Proxy, ProxyPre};

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

    pub fn json(status: u16, body: String) -> Answer {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
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
    pub fn load(component_path: &std::path::Path, grants: Grants) -> Result<Worker> {
        let mut config = Config::default();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, component_path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
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

    /// Serves jobs until every sender is gone.
    pub fn run(mut self, jobs: std::sync::mpsc::Receiver<Job>) {
        for job in jobs {
            // Its client gave up waiting (or went away): answering would be work, maybe an
            // Entra call, for no one.
            if job.reply.is_closed() {
                continue;
            }
            let answer = self.serve(job.method, &job.path_and_query, job.headers);
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
        for (host_dir, guest_path) in &self.grants.preopens {
            wasi.preopened_dir(host_dir, guest_path, FsPerms::ReadOnly)?;
        }
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
