//! Runs the sample app composed with the bearer middleware and the credential (by `wac plug`, in
//! guest-artifacts' build script) in wasmtime. Its wasi:http requests go to a fake Microsoft Entra when they
//! are for the authority host, and to a fake upstream (an Azure service) otherwise; both record
//! what they received.

// `Fetched` results carry the app's own error strings.
#![allow(clippy::result_large_err)]

mod p3;
mod router;

use bytes::Bytes;
use credential_host::{TokenProxyTls, grant_read_only, wasi_http_linker};
use host_tests::{FakeEntra, WasiHost, handle_request};
use http_body_util::{BodyExt, Empty};
use router::Router;
use std::path::PathBuf;
use std::sync::OnceLock;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::sync::ProxyPre;

pub use p3::{P3Composition, P3Instance, P3Request};
pub use router::{Challenged, FakeUpstream};

pub use guest_artifacts::{
    BEARER_COMPOSITION, SAMPLE_APP, SAMPLE_APP_COMPOSITION, SPIN_APP_COMPOSITION,
};
/// The host the fake Entra answers for; every other host is the fake upstream's.
pub const AUTHORITY: &str = "login.microsoftonline.com";

wasmtime::component::bindgen!({
    path: ["../../wit", "../../examples/bearer-middleware/wit"],
    world: "azure:bearer/composed-app",
    require_store_data_send: true,
});

pub use exports::azure::bearer::app::Fetched;

type HostState = WasiHost<Router>;

/// Fails when `text` (an error, a header the middleware set) holds the client assertion or any
/// token `entra` issued: the middleware and the credential keep both out of what they report.
pub fn assert_no_secret(text: &str, assertion: &str, entra: &FakeEntra) {
    let secrets = [vec![assertion.to_owned()], entra.issued_tokens()].concat();
    let leaked: Vec<usize> = (secrets.iter().enumerate())
        .filter(|(_, secret)| text.contains(secret.as_str()))
        .map(|(n, _)| n)
        .collect();
    // The failure shows the text with the secrets masked, as a log would have to.
    let masked = (secrets.iter()).fold(text.to_owned(), |text, secret| text.replace(secret, "***"));
    assert!(
        leaked.is_empty(),
        "secrets {leaked:?} (0: the assertion, n: the nth token issued) in: {masked}"
    );
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

/// The component at `path`, compiled, and a linker with WASI 0.2 and wasi:http.
fn compile_and_link(path: &str) -> Result<(Engine, Component, Linker<HostState>)> {
    let engine = Engine::default();
    let component = Component::from_file(&engine, path)?;
    let linker = wasi_http_linker(&engine)?;
    Ok((engine, component, linker))
}

impl Pod {
    fn into_host_state(self, service: Option<TokenProxyTls>) -> Result<HostState> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.env);
        grant_read_only(&mut wasi, &self.preopens)?;
        let router = Router {
            entra: self.entra,
            upstream: self.upstream,
            service,
        };
        Ok(WasiHost::new(wasi.build(), router))
    }
}

/// A composition that is a wasi:http proxy (exports `wasi:http/incoming-handler`), served one
/// request per instance, as Spin and `wasmtime serve` do.
pub struct ProxyComposition {
    engine: Engine,
    pre: ProxyPre<HostState>,
}

/// The Spin app's answers are a page of a key vault's list at most.
const MAX_SERVED_BODY: usize = 4 * 1024 * 1024;

/// What the proxy answered.
#[derive(Debug)]
pub struct Served {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: http::HeaderMap,
    /// The body as text (lossy).
    pub body: String,
}

impl Served {
    fn of(parts: http::response::Parts, body: &[u8]) -> Served {
        Served {
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get("content-type")
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
            headers: parts.headers,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The header `name`'s first value, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        (self.headers.get(name)).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    }
}

impl ProxyComposition {
    /// The Spin example composed with the credential, compiled once per test process.
    pub fn spin_app() -> &'static ProxyComposition {
        static SHARED: OnceLock<ProxyComposition> = OnceLock::new();
        SHARED.get_or_init(|| {
            ProxyComposition::load(SPIN_APP_COMPOSITION)
                .unwrap_or_else(|error| panic!("loading {SPIN_APP_COMPOSITION}: {error:?}"))
        })
    }

    pub fn load(path: &str) -> Result<ProxyComposition> {
        let (engine, component, linker) = compile_and_link(path)?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        Ok(ProxyComposition { engine, pre })
    }

    /// Serves one bodiless request in a fresh instance.
    pub fn serve(&self, pod: Pod, method: &str, path: &str) -> Result<Served> {
        let mut store = Store::new(&self.engine, pod.into_host_state(None)?);
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://localhost:3000{path}"))
            .body(
                Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed(),
            )?;
        let proxy = self.pre.instantiate(&mut store)?;
        let (parts, body) = handle_request(&mut store, &proxy, request, MAX_SERVED_BODY)?;
        Ok(Served::of(parts, &body))
    }
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
        Composition::load_with(path, |_| Ok(()))
    }

    /// The sample app without the middleware: its requests go straight to the host, and the host
    /// answers its `azure:bearer/bearer` calls with "no header, no challenge answered". The
    /// benchmark's baseline.
    pub fn app_alone() -> Result<Composition> {
        Composition::load_with(SAMPLE_APP, |linker| {
            let mut bearer = linker.instance("azure:bearer/bearer@0.1.0")?;
            bearer.func_wrap("authorization-for", |_, (_,): (String,)| {
                Ok((Ok::<Option<String>, String>(None),))
            })?;
            bearer.func_wrap("answer-challenge", |_, (_, _): (String, String)| {
                Ok((Ok::<bool, String>(false),))
            })?;
            Ok(())
        })
    }

    fn load_with(
        path: &str,
        link_more: impl FnOnce(&mut Linker<HostState>) -> Result<()>,
    ) -> Result<Composition> {
        let (engine, component, mut linker) = compile_and_link(path)?;
        link_more(&mut linker)?;
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
        self.instantiate_with(pod, None)
    }

    /// [`instantiate`](Self::instantiate), with the requests `service` serves (its origin) sent
    /// over the network to it, trusting only its CA: a real Azure service's emulator.
    pub fn instantiate_reaching(&self, pod: Pod, service: TokenProxyTls) -> Result<AppInstance> {
        self.instantiate_with(pod, Some(service))
    }

    fn instantiate_with(&self, pod: Pod, service: Option<TokenProxyTls>) -> Result<AppInstance> {
        let mut store = Store::new(&self.engine, pod.into_host_state(service)?);
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
