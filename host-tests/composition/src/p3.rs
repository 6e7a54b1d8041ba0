//! The WASI 0.3 compositions in a wasmtime 48 p3 embedding: a component exporting
//! `wasi:http/handler@0.3.0` (the sample proxy, alone or with the 0.3 bearer middleware and
//! credential plugged in front of its `wasi:http/client`), linked against WASI 0.3 alone, served
//! requests from the host, several at once on one instance. Its outgoing requests go through the
//! same [`Router`](crate::router::Router) as the WASI 0.2 compositions'.

use crate::{HostState, MAX_SERVED_BODY, Pod, Served};
use bytes::Bytes;
use futures::future::join_all;
use guest_artifacts::{SAMPLE_PROXY, SAMPLE_PROXY_COMPOSITION};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::{Accessor, Component, Linker};
use wasmtime::{Config, Engine, Result, Store, format_err};
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi_http::p3::Request;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::bindings::{Service, ServicePre};
use wasmtime_wasi_http::{Error, WasiHttpView};

/// A batch of requests served at once ends within this, answers and bodies included: the
/// middleware's own waits (a token, at most 60 s; the rest of a body to send again, 10 s) fit
/// in it, with room for a debug build serving a hundred requests.
const SERVE_BOUND: Duration = Duration::from_secs(120);

/// A compiled WASI 0.3 http component, linked and ready to instantiate.
pub struct P3Composition {
    engine: Engine,
    pre: ServicePre<HostState>,
}

impl P3Composition {
    /// The sample proxy with the WASI 0.3 bearer middleware and credential, compiled once per
    /// test process.
    pub fn shared() -> &'static P3Composition {
        static SHARED: OnceLock<P3Composition> = OnceLock::new();
        SHARED.get_or_init(|| {
            P3Composition::load(SAMPLE_PROXY_COMPOSITION)
                .unwrap_or_else(|error| panic!("loading {SAMPLE_PROXY_COMPOSITION}: {error:?}"))
        })
    }

    /// The sample proxy alone, its requests straight to the host: the benchmark's floor.
    pub fn proxy_alone() -> Result<P3Composition> {
        P3Composition::load(SAMPLE_PROXY)
    }

    /// Compiles the component at `path` and links it against WASI 0.3 alone: a component that
    /// imports any WASI 0.2 interface fails here, naming it.
    pub fn load(path: &str) -> Result<P3Composition> {
        let mut config = Config::new();
        // On by default with the crate feature; said here because the component needs it.
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        let pre = ServicePre::new(linker.instantiate_pre(&component)?)?;
        Ok(P3Composition { engine, pre })
    }

    /// The names of the component's imports and exports, e.g. `wasi:http/client@0.3.0`.
    pub fn interface_names(&self) -> (Vec<String>, Vec<String>) {
        let component_type = self.pre.instance_pre().component().component_type();
        let names = |items: &mut dyn Iterator<Item = &str>| items.map(str::to_owned).collect();
        (
            names(&mut component_type.imports(&self.engine).map(|(name, _)| name)),
            names(&mut component_type.exports(&self.engine).map(|(name, _)| name)),
        )
    }

    /// A fresh instance with the pod's environment and grants, its requests to the pod's fakes.
    pub fn instantiate(&self, pod: Pod) -> Result<P3Instance> {
        let mut store = Store::new(&self.engine, pod.into_host_state(None)?);
        let service = in_tokio(self.pre.instantiate_async(&mut store))?;
        Ok(P3Instance { store, service })
    }
}

/// A request as the host hands it to the component's `handle`.
#[derive(Clone, Debug)]
pub struct P3Request {
    pub method: http::Method,
    /// Path and query, e.g. `/secrets/db?api-version=7.5`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Sent after the body.
    pub trailers: Vec<(String, String)>,
    /// The body ends with an error after its bytes: a client whose upload broke off.
    pub body_fails: bool,
}

impl P3Request {
    pub fn get(path: &str) -> P3Request {
        P3Request {
            method: http::Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            trailers: Vec::new(),
            body_fails: false,
        }
    }

    /// A PUT of `body`, with its `content-length`, as a client sends it.
    pub fn put(path: &str, body: impl Into<Bytes>) -> P3Request {
        let body = body.into();
        P3Request {
            method: http::Method::PUT,
            headers: vec![("content-length".into(), body.len().to_string())],
            body,
            ..P3Request::get(path)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> P3Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Without its `content-length`, as a client streaming a body sends it.
    pub fn without_length(mut self) -> P3Request {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
        self
    }

    pub fn trailer(mut self, name: &str, value: &str) -> P3Request {
        self.trailers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// With a body that breaks off with an error after its bytes.
    pub fn failing_after_body(mut self) -> P3Request {
        self.body_fails = true;
        self
    }

    fn into_http(self) -> Result<http::Request<UnsyncBoxBody<Bytes, Error>>> {
        let mut request = http::Request::builder()
            .method(self.method)
            .uri(format!("http://localhost:8080{}", self.path));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let body = if self.body_fails || !self.trailers.is_empty() {
            let end = if self.body_fails {
                Err(Error::InternalError(Some("the client went away".into())))
            } else {
                let mut trailers = http::HeaderMap::new();
                for (name, value) in &self.trailers {
                    trailers.append(
                        http::HeaderName::try_from(name.as_str())?,
                        http::HeaderValue::try_from(value.as_str())?,
                    );
                }
                Ok(Frame::trailers(trailers))
            };
            let frames = [Ok(Frame::data(self.body)), end];
            StreamBody::new(futures::stream::iter(frames)).boxed_unsync()
        } else {
            Full::new(self.body)
                .map_err(|never| match never {})
                .boxed_unsync()
        };
        Ok(request.body(body)?)
    }
}

/// One instance. `Err` of the outer `Result` is a trap or a host failure; the inner one is the
/// `error-code` the component's `handle` returned.
pub struct P3Instance {
    store: Store<HostState>,
    service: Service,
}

impl P3Instance {
    pub fn serve(&mut self, request: P3Request) -> Result<Result<Served, ErrorCode>> {
        let mut answers = self.serve_at_once(vec![request])?;
        Ok(answers.remove(0))
    }

    /// The `requests`, all at once on this one instance: each `handle` call is started before
    /// any is awaited, inside one `run_concurrent`, and each response's body is read to its end
    /// there (the guest writes it as the host reads). The answers come in the order of
    /// `requests`.
    pub fn serve_at_once(
        &mut self,
        requests: Vec<P3Request>,
    ) -> Result<Vec<Result<Served, ErrorCode>>> {
        let service = &self.service;
        let store = &mut self.store;
        in_tokio(async move {
            let served = store.run_concurrent(async |accessor| {
                let calls = requests
                    .into_iter()
                    .map(|request| serve_one(accessor, service, request));
                join_all(calls)
                    .await
                    .into_iter()
                    .collect::<Result<Vec<_>>>()
            });
            tokio::time::timeout(SERVE_BOUND, served)
                .await
                .map_err(|_| format_err!("no answers within {SERVE_BOUND:?}"))?
        })?
    }
}

async fn serve_one(
    accessor: &Accessor<HostState>,
    service: &Service,
    request: P3Request,
) -> Result<Result<Served, ErrorCode>> {
    let request = request.into_http()?;
    let request = accessor.with(|mut store| {
        // The second half reports what the guest says of the request's body; the sample proxy
        // reports success once the response came, which tells the tests nothing.
        let (request, _body_result) = Request::from_http(store.data_mut().http().hooks, request);
        request
    });
    let response = match service.handle(accessor, request).await? {
        Ok(response) => response,
        Err(error) => return Ok(Err(error)),
    };
    let response = accessor.with(|store| response.into_http(store, async { Ok(()) }))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_SERVED_BODY)
        .collect()
        .await
        .map_err(|error| format_err!("reading the component's response body: {error}"))?
        .to_bytes();
    Ok(Ok(Served::of(parts, &body)))
}
