//! Loads the component into wasmtime with wasi:cli, wasi:filesystem and wasi:http, and calls its
//! `azure:identity/credential` exports.

use crate::canned::CannedEndpoint;
use crate::shared_keyvalue::{self, KeyValueDraft, KeyValueView, SharedKeyValue};
use crate::test_clock::TestClock;
use credential_host::fake_authority::FakeEntra;
use credential_host::{
    AccessToken, CredentialError, ResponseFuture, TokenRequestOptions, WasiHost, WorkloadIdentity,
    WorkloadIdentityOptions, WorkloadIdentityPre, grant_read_only, send_over_network,
    wasi_http_linker,
};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, ResourceAny};
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// The release build of the component, made by the guest-artifacts crate.
pub const COMPONENT_PATH: &str = guest_artifacts::CREDENTIAL;

/// The variant sharing its cache through wasi:keyvalue 0.2.0-draft2 (Spin's).
pub const KEYVALUE_DRAFT2_PATH: &str = guest_artifacts::CREDENTIAL_KEYVALUE_DRAFT2;

/// The variant sharing its cache through wasi:keyvalue 0.2.0-draft (wasmCloud's).
pub const KEYVALUE_DRAFT_PATH: &str = guest_artifacts::CREDENTIAL_KEYVALUE_DRAFT;

/// Where the component's wasi:http requests go.
#[derive(Clone)]
pub enum Transport {
    /// Answered in-process by a fake token endpoint, whatever the URL.
    Fake(FakeEntra),
    /// Sent over the network by wasmtime-wasi-http's default client.
    Network,
    /// Sent by that same client, as plain HTTP, to this address on the machine (a test server):
    /// only the scheme and authority of the URL change.
    Local(std::net::SocketAddr),
    /// Answered in-process with one fixed token response (the benchmark's endpoint).
    Canned(CannedEndpoint),
}

/// What one instance's host grants: environment, preopened directories (read-only) and HTTP.
#[derive(Clone)]
pub struct HostConfig {
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`.
    pub preopens: Vec<(PathBuf, String)>,
    pub transport: Transport,
    /// The host's clocks when set, else the real ones.
    pub clock: Option<TestClock>,
    /// The wasi:keyvalue store a variant opens, shared with other instances; none: `open` fails
    /// with `no-such-store`.
    pub keyvalue: Option<SharedKeyValue>,
    /// WASI's blocking calls (the file reads) run on the calling thread rather than a pool's, as
    /// the wasmtime CLI (`run`, `serve`) configures them.
    pub block_on_thread: bool,
}

impl HostConfig {
    pub fn new(transport: Transport) -> HostConfig {
        HostConfig {
            env: Vec::new(),
            preopens: Vec::new(),
            transport,
            clock: None,
            keyvalue: None,
            block_on_thread: false,
        }
    }

    /// Runs WASI's blocking calls on the calling thread, as the wasmtime CLI does.
    pub fn block_on_thread(mut self) -> HostConfig {
        self.block_on_thread = true;
        self
    }

    /// Grants a variant the shared store `keyvalue` (as "default").
    pub fn shared_store(mut self, keyvalue: &SharedKeyValue) -> HostConfig {
        self.keyvalue = Some(keyvalue.clone());
        self
    }

    pub fn clock(mut self, clock: &TestClock) -> HostConfig {
        self.clock = Some(clock.clone());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> HostConfig {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Grants the component `host_dir` at `guest_path`, read-only (the component needs no more).
    pub fn preopen(mut self, host_dir: impl Into<PathBuf>, guest_path: &str) -> HostConfig {
        self.preopens.push((host_dir.into(), guest_path.to_owned()));
        self
    }
}

type HostState = WasiHost<TransportHooks>;

struct TransportHooks {
    transport: Transport,
    keyvalue: Option<SharedKeyValue>,
}

impl WasiHttpHooks for TransportHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        match &self.transport {
            Transport::Fake(fake) => fake.answer(request, options),
            Transport::Network => send_over_network(request, options),
            Transport::Canned(endpoint) => endpoint.answer(request),
            Transport::Local(address) => {
                let mut request = request;
                let path = request
                    .uri()
                    .path_and_query()
                    .map_or("/".to_owned(), ToString::to_string);
                *request.uri_mut() = format!("http://{address}{path}")
                    .parse()
                    .expect("a local URL is valid");
                send_over_network(request, options)
            }
        }
    }
}

/// The compiled component, ready to instantiate any number of times.
pub struct CredentialComponent {
    engine: Engine,
    pre: WorkloadIdentityPre<HostState>,
    compile_time: Duration,
}

impl CredentialComponent {
    /// Compiles the component at `path` and links it against wasi:cli, wasi:filesystem, wasi:http.
    pub fn load(path: &str) -> Result<CredentialComponent> {
        CredentialComponent::load_with(path, &Config::default())
    }

    /// [`load`](Self::load) with an engine configured by `config` (e.g. a pooling allocator).
    pub fn load_with(path: &str, config: &Config) -> Result<CredentialComponent> {
        CredentialComponent::load_linked(path, config, None)
    }

    /// A wasi:keyvalue variant of the credential at `path`, linked with `draft`'s store, which
    /// each instance finds in its [`HostConfig::shared_store`].
    pub fn load_variant(
        path: &str,
        draft: KeyValueDraft,
        config: &Config,
    ) -> Result<CredentialComponent> {
        CredentialComponent::load_linked(path, config, Some(draft))
    }

    fn load_linked(
        path: &str,
        config: &Config,
        keyvalue: Option<KeyValueDraft>,
    ) -> Result<CredentialComponent> {
        let engine = Engine::new(config)?;
        let started = Instant::now();
        let component = Component::from_file(&engine, path)?;
        let compile_time = started.elapsed();
        let mut linker = wasi_http_linker(&engine)?;
        if let Some(draft) = keyvalue {
            shared_keyvalue::add_to_linker(&mut linker, draft, |state: &mut HostState| {
                let (table, hooks) = state.table_and_hooks();
                KeyValueView {
                    table,
                    store: hooks.keyvalue.as_ref(),
                }
            })?;
        }
        let pre = WorkloadIdentityPre::new(linker.instantiate_pre(&component)?)?;
        Ok(CredentialComponent {
            engine,
            pre,
            compile_time,
        })
    }

    /// How long Cranelift took to compile the component.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The component at [`COMPONENT_PATH`], compiled once per process (Cranelift takes about a
    /// second in a debug build).
    pub fn shared() -> &'static CredentialComponent {
        static SHARED: OnceLock<CredentialComponent> = OnceLock::new();
        SHARED.get_or_init(|| {
            CredentialComponent::load(COMPONENT_PATH)
                .unwrap_or_else(|error| panic!("loading {COMPONENT_PATH}: {error:?}"))
        })
    }

    /// The names of the component's imports and exports, e.g. `wasi:http/outgoing-handler@0.2.12`.
    pub fn interface_names(&self) -> (Vec<String>, Vec<String>) {
        let component_type = self.pre.instance_pre().component().component_type();
        let names = |items: &mut dyn Iterator<Item = &str>| items.map(str::to_owned).collect();
        (
            names(&mut component_type.imports(&self.engine).map(|(name, _)| name)),
            names(&mut component_type.exports(&self.engine).map(|(name, _)| name)),
        )
    }

    /// A fresh instance with its own environment, directories and transport.
    pub fn instantiate(&self, config: HostConfig) -> Result<CredentialInstance> {
        self.instantiate_timed(config).map(|(instance, _)| instance)
    }

    /// [`instantiate`](Self::instantiate), also returning how long the instantiation itself
    /// took: the store and `InstancePre::instantiate`, not the host's WASI context built before.
    pub fn instantiate_timed(&self, config: HostConfig) -> Result<(CredentialInstance, Duration)> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&config.env);
        wasi.allow_blocking_current_thread(config.block_on_thread);
        grant_read_only(&mut wasi, &config.preopens)?;
        if let Some(clock) = &config.clock {
            wasi.wall_clock(clock.wall())
                .monotonic_clock(clock.monotonic());
        }
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        wasi.stdout(output.clone()).stderr(output.clone());
        let hooks = TransportHooks {
            transport: config.transport,
            keyvalue: config.keyvalue,
        };
        let state = HostState::new(wasi.build(), hooks);
        let started = Instant::now();
        let mut store = Store::new(&self.engine, state);
        HostState::watch_memory(&mut store);
        let bindings = self.pre.instantiate(&mut store)?;
        let instantiation = started.elapsed();
        let instance = CredentialInstance {
            store,
            bindings,
            output,
            errors: Vec::new(),
        };
        Ok((instance, instantiation))
    }
}

/// One component instance. `Err` of the outer `Result` is a trap; the inner one is the
/// component's `credential-error`.
pub struct CredentialInstance {
    store: Store<HostState>,
    bindings: WorkloadIdentity,
    /// What the component wrote to stdout and stderr.
    output: MemoryOutputPipe,
    /// Every error the component returned, as Debug text.
    errors: Vec<String>,
}

/// Enough for any diagnostics; the component is expected to write nothing.
const OUTPUT_CAPACITY: usize = 1024 * 1024;

impl CredentialInstance {
    /// `workload-identity-credential.create`.
    pub fn create(
        &mut self,
        options: &WorkloadIdentityOptions,
    ) -> Result<Result<ResourceAny, CredentialError>> {
        self.bindings
            .azure_identity_credential()
            .workload_identity_credential()
            .call_create(&mut self.store, options)
            .map(|result| self.record(result))
    }

    /// `workload-identity-credential.get-token`.
    pub fn get_token(
        &mut self,
        credential: ResourceAny,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.get_token_owned(credential, &scopes, options)
    }

    /// [`get_token`](Self::get_token) for scopes the caller already holds as `String`s, as the
    /// WIT bindings take them: no copy on the host's side (the benchmark's loop).
    pub fn get_token_owned(
        &mut self,
        credential: ResourceAny,
        scopes: &[String],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        self.bindings
            .azure_identity_credential()
            .workload_identity_credential()
            .call_get_token(&mut self.store, credential, scopes, options)
            .map(|result| self.record(result))
    }

    /// `workload-identity-credential.close`.
    pub fn close(&mut self, credential: ResourceAny) -> Result<()> {
        self.bindings
            .azure_identity_credential()
            .workload_identity_credential()
            .call_close(&mut self.store, credential)
    }

    /// Drops the resource, as a host does when it is done with a credential.
    pub fn drop_credential(&mut self, credential: ResourceAny) -> Result<()> {
        credential.resource_drop(&mut self.store)
    }

    /// The free `get-token`, configured from the environment.
    pub fn get_token_from_environment(
        &mut self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.bindings
            .azure_identity_credential()
            .call_get_token(&mut self.store, &scopes, options)
            .map(|result| self.record(result))
    }

    /// Every error this instance returned so far, as Debug text (which includes the message).
    pub fn errors_seen(&self) -> &[String] {
        &self.errors
    }

    /// The size of the component's linear memory, in bytes (the largest it ever grew to).
    pub fn linear_memory_bytes(&self) -> usize {
        self.store.data().largest_memory_bytes()
    }

    /// Everything the component wrote to stdout and stderr.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.contents()).into_owned()
    }

    fn record<T>(&mut self, result: Result<T, CredentialError>) -> Result<T, CredentialError> {
        if let Err(error) = &result {
            self.errors.push(format!("{error:?}"));
        }
        result
    }
}
