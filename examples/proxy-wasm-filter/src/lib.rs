//! An Envoy HTTP filter (proxy-wasm) that adds `Authorization: Bearer …` with a workload identity
//! token from the token bridge beside it in the pod.
//!
//! Envoy's Wasm filters are core modules with the proxy-wasm ABI: no component model, no files,
//! only HTTP callouts to a named cluster. So the filter asks the bridge (the App Service
//! managed-identity protocol on loopback) and shares the token between Envoy's worker threads
//! through the VM's shared data.
//!
//! What it decides is plain Rust, unit-tested natively: `config` (the plugin configuration),
//! `hosts` (the upstream hosts that may get the token), `callout` (whose answer came back: the
//! bridge's, or Envoy's own when it could not reach the bridge), `token` (the bridge's token and
//! the shared-data record), `lease` (one fetch in flight for all workers) and `worker` (each
//! request, tick and callout answer, against a [`worker::Host`]). `filter` binds that to the
//! proxy-wasm SDK, built for wasm32 only.

pub mod callout;
pub mod config;
pub mod hosts;
pub mod lease;
pub mod token;
pub mod worker;

#[cfg(target_arch = "wasm32")]
mod filter;
