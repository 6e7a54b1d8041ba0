//! Runs the sample app composed with the bearer middleware and the credential (by `wac plug`, in
//! the build script) in wasmtime. Its wasi:http requests go to a fake Microsoft Entra when they
//! are for the authority host, and to a fake upstream (an Azure service) otherwise; both record
//! what they received.

// `Fetched` results carry the app's own error strings.
#![allow(clippy::result_large_err)]

use host_tests::{FakeEntra, FakeResponse, RecordedRequest, ResponseFuture};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// `wac plug sample_app.wasm --plug bearer.wasm`, made by the build script.
pub const SAMPLE_APP_COMPOSITION: &str = env!("SAMPLE_APP_COMPOSITION");
/// `wac plug bearer_middleware.wasm --plug azure_workload_identity.wasm`.
pub const BEARER_COMPOSITION: &str = env!("BEARER_COMPOSITION");
/// The host the fake Entra answers for; every other host is the fake upstream's.
pub const AUTHORITY: &str = "login.microsoftonline.com";

wasmtime::component::bindgen!({
    path: ["../../wit", "../../examples/bearer-middleware/wit"],
    world: "azure:bearer/composed-app",
    require_store_data_send: true,
});

pub use exports::azure::bearer::app::Fetched;

/// An Azure service as the middleware's requests reach it: it records each request and answers
/// 200 with a short text unless a response was scripted.
#[derive(Clone, Default)]
pub struct FakeUpstream(Arc<Mutex<UpstreamState>>);

#[derive(Default)]
struct UpstreamState {
    requests: Vec<RecordedRequest>,
    scripted: VecDeque<FakeResponse>,
}

impl FakeUpstream {
    pub fn enqueue(&self, response: FakeResponse) {
        self.0.lock().unwrap().scripted.push_back(response);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.0.lock().unwrap().requests.clone()
    }

    fn answer(&self, request: http::Request<WasiBody>) -> ResponseFuture {
        let upstream = self.clone();
        Box::new(async move {
            let request = RecordedRequest::read(request, None).await?;
            let answer = {
                let mut state = upstream.0.lock().unwrap();
                let answer = state.scripted.pop_front().unwrap_or_else(|| {
                    let mut ok = FakeResponse::json(200, &format!("hello from {}", request.url));
                    ok.content_type = "text/plain".into();
                    ok
                });
                state.requests.push(request);
                answer
            };
            Ok(answer.into_sent())
        })
    }
}

/// Sends each request to the fake Entra or the fake upstream by its host.
struct Router {
    entra: FakeEntra,
    upstream: FakeUpstream,
}

impl WasiHttpHooks for Router {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        if request.uri().host() == Some(AUTHORITY) {
            self.entra.answer(request, options)
        } else {
            self.upstream.answer(request)
        }
    }
}

struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    router: Router,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.router,
        }
    }
}

/// A compiled composition, ready to instantiate.
pub struct Composition {
    engine: Engine,
    component: Component,
    pre: ComposedAppPre<HostState>,
}

/// What one instance's host grants and where its requests go.
pub struct Pod {
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`, read-only.
    pub preopens: Vec<(PathBuf, String)>,
    pub entra: FakeEntra,
    pub upstream: FakeUpstream,
}

impl Composition {
    /// The sample app composition, compiled once per test process.
    pub fn shared() -> &'static Composition {
        static SHARED: OnceLock<Composition> = OnceLock::new();
        SHARED.get_or_init(|| {
            Composition::load(SAMPLE_APP_COMPOSITION)
                .unwrap_or_else(|error| panic!("loading {SAMPLE_APP_COMPOSITION}: {error:?}"))
        })
    }

    pub fn load(path: &str) -> Result<Composition> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
        let pre = ComposedAppPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Composition {
            engine,
            component,
            pre,
        })
    }

    /// The names of the composition's imports.
    pub fn import_names(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names of the exports of the component at `path`.
    pub fn exports_of(path: &str) -> Result<Vec<String>> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path)?;
        Ok(component
            .component_type()
            .exports(&engine)
            .map(|(name, _)| name.to_owned())
            .collect())
    }

    pub fn instantiate(&self, pod: Pod) -> Result<AppInstance> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&pod.env);
        for (host_dir, guest_path) in &pod.preopens {
            wasi.preopened_dir(host_dir, guest_path, FsPerms::ReadOnly)?;
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            router: Router {
                entra: pod.entra,
                upstream: pod.upstream,
            },
        };
        let mut store = Store::new(&self.engine, state);
        let bindings = self.pre.instantiate(&mut store)?;
        Ok(AppInstance { store, bindings })
    }
}

pub struct AppInstance {
    store: Store<HostState>,
    bindings: ComposedApp,
}

impl AppInstance {
    /// The app's `fetch`: `Err` of the outer `Result` is a trap, the inner one the app's error.
    pub fn fetch(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Result<Fetched, String>> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.bindings
            .azure_bearer_app()
            .call_fetch(&mut self.store, url, &headers, body)
    }
}
