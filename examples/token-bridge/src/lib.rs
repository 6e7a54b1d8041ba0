//! The token bridge: a wasi:http incoming handler that answers the App Service managed-identity
//! protocol on loopback with tokens from the workload identity credential, so that Azure SDKs'
//! `ManagedIdentityCredential` and Envoy filters (which cannot call a WIT interface) get them.
//!
//! Everything it decides is plain Rust, unit-tested natively: `settings` (what the host passes in
//! the environment), `query` (percent-decoding), `protocol` (each request's answer), `answer` (the
//! JSON bodies) and `secret` (the header check). `component` is the WASI layer, built for wasm32.

pub mod answer;
pub mod protocol;
pub mod query;
pub mod secret;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod component;
