//! Serves the token bridge, composed with the credential, on a loopback address in wasmtime.
//!
//! One component instance answers every request, one at a time, so that the credential's cache
//! lives as long as the bridge: any number of SDK requests for a resource cost one call to
//! Microsoft Entra ID per token lifetime, and concurrent first requests wait for that one call
//! instead of each making their own.
//!
//! The composition is carried in the binary (`guest_artifacts::TOKEN_BRIDGE_COMPOSITION_BYTES`),
//! so the command runs from any directory with nothing beside it.

// wasmtime's results carry large errors.
#![allow(clippy::result_large_err)]

pub mod client;
#[cfg(feature = "fake-authority")]
pub mod demo;
mod server;
mod worker;

pub use credential_host::Authority;
pub use server::{BridgeConfig, RunningBridge};
