//! Loads the component into wasmtime with wasi:cli, wasi:filesystem and wasi:http, and calls its
//! `azure:identity/credential` exports.

use crate::host_config::{HostConfig, HostState};
use crate::shared_keyvalue::{self, KeyValueDraft, KeyValueView};
use credential_host::{
    AccessToken, CredentialError, TokenRequestOptions, WorkloadIdentity, WorkloadIdentityOptions,
    WorkloadIdentityPre, wasi_http_linker,
};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, ResourceAny};
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// The release build of the component, made by the guest-artifacts crate.
pub const COMPONENT_PATH: &str = guest_artifacts::CREDENTIAL;

/// The variant sharing its cache through wasi:keyvalue 0.2.0-draft2 (Spin's).
pub const KEYVALUE_DRAFT2_PATH: &str = guest_artifacts::CREDENTIAL_KEYVALUE_DRAFT2;

/// The variant sharing its cache through wasi:keyvalue 0.2.0-draft (wasmCloud's).
pub const KEYVALUE_DRAFT_PATH: &str = guest_artifacts::CREDENTIAL_KEYVALUE_DRAFT;

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
        let (state, output) = config.into_state()?;
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
