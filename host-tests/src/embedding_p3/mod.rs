//! Loads a WASI 0.3 (p3) build of the credential, world `azure:identity@0.2.0/workload-identity`
//! (wit-p3/), into wasmtime with p3's wasi:cli, wasi:clocks, wasi:filesystem, wasi:random and
//! wasi:http, and calls its exports, the `async` get-tokens several at a time on one instance.
//!
//! The calls take and return the WASI 0.2 world's types (`AccessToken`, `CredentialError`,
//! `TokenRequestOptions`): the 0.3 world restates them unchanged. Only the resource's options,
//! [`WorkloadIdentityOptions`], are the 0.3 world's own.
//!
//! Instances take the same [`HostConfig`] as the WASI 0.2 harness: the same environment,
//! read-only preopens, test clocks and transports (p3's wasi:http hands its requests to the same
//! `WasiHttpHooks::send_request`), so the same fakes answer both editions. As in p2, the test
//! clock answers `now` (system-clock and monotonic-clock) but not the waits: p3's
//! `wait-for` sleeps its duration on tokio's timer, and `wait-until` sleeps from the test
//! clock's `now` to the mark on that timer, so moving the test clock does not end a wait.

mod bindings;
mod calls;

pub use bindings::WorkloadIdentityOptions;
pub use calls::{P3CredentialInstance, TokenCall};

use crate::host_config::{HostConfig, HostState};
use bindings::WorkloadIdentityPre;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Result, Store};

/// A compiled p3 component, linked and ready to instantiate any number of times.
pub struct P3CredentialComponent {
    engine: Engine,
    pre: WorkloadIdentityPre<HostState>,
}

impl P3CredentialComponent {
    /// Compiles the component at `path` and links it against WASI 0.3 alone: a component that
    /// imports any WASI 0.2 interface fails here, naming it.
    pub fn load(path: &str) -> Result<P3CredentialComponent> {
        let mut config = Config::new();
        // On by default with the crate feature; said here because the component needs it.
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, path)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        let pre = WorkloadIdentityPre::new(linker.instantiate_pre(&component)?)?;
        Ok(P3CredentialComponent { engine, pre })
    }

    /// The component at `path`, compiled once per process and path (Cranelift takes about a
    /// second in a debug build).
    pub fn shared(path: &str) -> &'static P3CredentialComponent {
        static SHARED: OnceLock<Mutex<HashMap<String, &'static P3CredentialComponent>>> =
            OnceLock::new();
        let mut loaded = SHARED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded.entry(path.to_owned()).or_insert_with(|| {
            let component = P3CredentialComponent::load(path)
                .unwrap_or_else(|error| panic!("loading {path}: {error:?}"));
            Box::leak(Box::new(component))
        })
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

    /// A fresh instance with its own environment, directories, clocks and transport.
    pub fn instantiate(&self, config: HostConfig) -> Result<P3CredentialInstance> {
        let (state, output) = config.into_state()?;
        let mut store = Store::new(&self.engine, state);
        HostState::watch_memory(&mut store);
        let bindings = wasmtime_wasi::runtime::in_tokio(self.pre.instantiate_async(&mut store))?;
        Ok(P3CredentialInstance::new(store, bindings, output))
    }
}
