//! Serves the token bridge, composed with the credential, on a loopback address in wasmtime.
//!
//! One component instance answers every request, one at a time, so that the credential's cache
//! lives as long as the bridge: any number of SDK requests for a resource cost one call to
//! Microsoft Entra ID per token lifetime, and concurrent first requests wait for that one call
//! instead of each making their own.

// `CredentialError`-free, but wasmtime's results carry large errors.
#![allow(clippy::result_large_err)]

mod authority;
pub mod client;
pub mod demo;
mod server;
mod worker;

pub use authority::Authority;
pub use server::{BridgeConfig, RunningBridge};

/// `wac plug token_bridge.wasm --plug azure_workload_identity.wasm`, made by the build script.
pub const COMPOSITION: &str = env!("TOKEN_BRIDGE_COMPOSITION");
