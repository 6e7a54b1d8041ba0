//! A minimal proxy-wasm host on wasmtime: just enough of what Envoy does for an HTTP filter to
//! run the real `proxy_wasm_filter.wasm`: VMs (one per "worker", as Envoy has one per worker
//! thread) sharing one shared-data store, root and HTTP contexts, request headers, local
//! responses, HTTP callouts (answered by the test, with Envoy's own answers for a refused
//! connection, a closed one and a timeout: [`Upstream`]), the log, ticks and a clock the test
//! sets.
//!
//! It is not Envoy: no filter chain, no clusters beyond names, no body or trailers, header values
//! are text only, local responses and resumes take effect at once (Envoy applies them after the
//! VM call returns), and every host call the filter does not make traps (so a filter that starts
//! making one fails the tests instead of passing on a stub).

mod abi;
mod calls;
mod upstream;

pub use upstream::{HttpAnswer, Upstream};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::{Engine, Instance, Linker, Module, Result, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p1::WasiP1Ctx;

/// The filter as built for Envoy (wasm32-wasip1) by guest-artifacts.
pub const FILTER: &str = guest_artifacts::ENVOY_FILTER;

/// The root context of every worker's plugin.
const ROOT_CONTEXT: u32 = 1;

/// A shared-data entry: its value and its compare-and-swap version.
type Entry = (Vec<u8>, u32);
/// Header names and values, in order.
pub type Headers = Vec<(String, String)>;

/// Envoy's shared data: process-wide, each entry with a compare-and-swap version.
#[derive(Clone, Default)]
pub struct SharedData(Arc<Mutex<HashMap<String, Entry>>>);

impl SharedData {
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .unwrap()
            .get(key)
            .map(|(value, _)| value.clone())
    }
}

/// The proxy: the compiled filter, the shared data, the clusters and the clock of all workers.
pub struct Envoy {
    engine: Engine,
    module: Module,
    linker: Linker<VmState>,
    shared: SharedData,
    clock_nanos: Arc<AtomicU64>,
    clusters: Vec<String>,
}

/// An HTTP callout the filter made, waiting for the test to answer it.
#[derive(Clone, Debug)]
pub struct Callout {
    pub token: u32,
    /// The context whose callback made it (Envoy owns it by the root context all the same).
    pub asked_by: u32,
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub timeout_ms: u32,
}

impl Callout {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Where a request stands after the filter saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Paused by the filter.
    Paused,
    /// Sent on upstream, with these headers.
    Continued,
    /// Answered by the filter itself.
    Answered { status: u32, body: String },
}

#[derive(Debug)]
pub struct Stream {
    pub headers: Vec<(String, String)>,
    pub progress: Progress,
}

impl Stream {
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

/// proxy-wasm's log levels, as `proxy_log` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    fn from_abi(level: u32) -> Option<LogLevel> {
        [
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
            LogLevel::Critical,
        ]
        .get(level as usize)
        .copied()
    }
}

/// One VM's host state.
pub(crate) struct VmState {
    wasi: WasiP1Ctx,
    shared: SharedData,
    clock_nanos: Arc<AtomicU64>,
    clusters: Vec<String>,
    plugin_configuration: Vec<u8>,
    effective_context: u32,
    streams: HashMap<u32, Stream>,
    callouts: Vec<Callout>,
    next_token: u32,
    /// The answer being delivered by `proxy_on_http_call_response`: headers and body.
    call_response: Option<(Headers, Vec<u8>)>,
    tick_period_ms: u32,
    logs: Vec<(LogLevel, String)>,
}

impl Envoy {
    /// Compiles the filter; its callouts may name `clusters`.
    pub fn load(path: &str, clusters: &[&str]) -> Result<Envoy> {
        let engine = Engine::default();
        let module = Module::from_file(&engine, path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut VmState| &mut state.wasi)?;
        calls::add_to_linker(&mut linker)?;
        linker.define_unknown_imports_as_traps(&module)?;
        Ok(Envoy {
            engine,
            module,
            linker,
            shared: SharedData::default(),
            clock_nanos: Arc::new(AtomicU64::new(1_800_000_000 * 1_000_000_000)),
            clusters: clusters.iter().map(|name| name.to_string()).collect(),
        })
    }

    pub fn shared_data(&self) -> &SharedData {
        &self.shared
    }

    /// The proxy's wall clock, in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.clock_nanos.load(Ordering::Relaxed) / 1_000_000_000
    }

    pub fn set_now(&self, seconds: u64) {
        self.clock_nanos
            .store(seconds * 1_000_000_000, Ordering::Relaxed);
    }

    pub fn advance(&self, by: Duration) {
        self.clock_nanos
            .fetch_add(by.as_nanos() as u64, Ordering::Relaxed);
    }

    /// A worker's VM with the plugin configured: `Err` holds what the filter logged when it
    /// refused the configuration.
    pub fn worker(&self, plugin_configuration: &str) -> Result<Worker> {
        let state = VmState {
            wasi: WasiCtx::builder().build_p1(),
            shared: self.shared.clone(),
            clock_nanos: self.clock_nanos.clone(),
            clusters: self.clusters.clone(),
            plugin_configuration: plugin_configuration.as_bytes().to_vec(),
            effective_context: ROOT_CONTEXT,
            streams: HashMap::new(),
            callouts: Vec::new(),
            next_token: 0,
            call_response: None,
            tick_period_ms: 0,
            logs: Vec::new(),
        };
        let mut store = Store::new(&self.engine, state);
        let instance = self.linker.instantiate(&mut store, &self.module)?;
        let mut worker = Worker {
            store,
            instance,
            next_context: ROOT_CONTEXT + 1,
        };
        worker.call::<(), ()>("_initialize", ())?;
        worker.call::<(u32, u32), ()>("proxy_on_context_create", (ROOT_CONTEXT, 0))?;
        let started = worker.call::<(u32, u32), u32>("proxy_on_vm_start", (ROOT_CONTEXT, 0))?;
        let size = plugin_configuration.len() as u32;
        let configured =
            worker.call::<(u32, u32), u32>("proxy_on_configure", (ROOT_CONTEXT, size))?;
        if started == 0 || configured == 0 {
            let logged: Vec<String> = worker.logs().into_iter().map(|(_, line)| line).collect();
            return Err(wasmtime::format_err!(
                "the filter refused its configuration: {}",
                logged.join("; ")
            ));
        }
        Ok(worker)
    }
}

/// One worker's VM.
pub struct Worker {
    store: Store<VmState>,
    instance: Instance,
    next_context: u32,
}

impl Worker {
    fn call<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<R> {
        let function = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        function.call(&mut self.store, params)
    }

    fn on_context(&mut self, context: u32) {
        self.store.data_mut().effective_context = context;
    }

    /// A request with these headers reaches the filter; returns its context id.
    pub fn request(&mut self, headers: &[(&str, &str)]) -> Result<u32> {
        let context = self.next_context;
        self.next_context += 1;
        self.store.data_mut().streams.insert(
            context,
            Stream {
                headers: headers
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
                progress: Progress::Paused,
            },
        );
        self.on_context(ROOT_CONTEXT);
        self.call::<(u32, u32), ()>("proxy_on_context_create", (context, ROOT_CONTEXT))?;
        self.on_context(context);
        let action = self.call::<(u32, u32, u32), u32>(
            "proxy_on_request_headers",
            (context, headers.len() as u32, 1),
        )?;
        let stream = self.store.data_mut().streams.get_mut(&context).unwrap();
        // Continue (0) sends it on, unless the filter answered it itself.
        if action == 0 && stream.progress == Progress::Paused {
            stream.progress = Progress::Continued;
        }
        Ok(context)
    }

    pub fn stream(&self, context: u32) -> &Stream {
        &self.store.data().streams[&context]
    }

    /// The request ends (answered, or its client went away): done, log, delete.
    pub fn end(&mut self, context: u32) -> Result<()> {
        self.on_context(context);
        self.call::<(u32,), u32>("proxy_on_done", (context,))?;
        self.call::<(u32,), ()>("proxy_on_log", (context,))?;
        self.call::<(u32,), ()>("proxy_on_delete", (context,))?;
        self.store.data_mut().streams.remove(&context);
        Ok(())
    }

    /// The callouts made since the last call.
    pub fn take_callouts(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.store.data_mut().callouts)
    }

    /// Delivers what became of `callout` at its cluster, to the plugin's root context, as Envoy
    /// does: an answer with its headers, Envoy's own answer for a refused or closed connection
    /// and a timeout, or (a reset mid-answer) no headers, and no header map to read.
    pub fn answer(&mut self, callout: &Callout, upstream: &Upstream) -> Result<()> {
        let (header_count, body_size) = match upstream.delivered() {
            Some((headers, body)) => {
                let counts = (headers.len() as u32, body.len() as u32);
                self.store.data_mut().call_response = Some((headers, body));
                counts
            }
            None => (0, 0),
        };
        self.on_context(ROOT_CONTEXT);
        let delivered = self.call::<(u32, u32, u32, u32, u32), ()>(
            "proxy_on_http_call_response",
            (ROOT_CONTEXT, callout.token, header_count, body_size, 0),
        );
        self.store.data_mut().call_response = None;
        delivered
    }

    pub fn tick(&mut self) -> Result<()> {
        self.on_context(ROOT_CONTEXT);
        self.call::<(u32,), ()>("proxy_on_tick", (ROOT_CONTEXT,))
    }

    pub fn tick_period(&self) -> Duration {
        Duration::from_millis(self.store.data().tick_period_ms.into())
    }

    /// What the filter logged, in order.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.store.data().logs.clone()
    }
}
