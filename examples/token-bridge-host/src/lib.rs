//! Serves the token bridge, composed with the credential, on a loopback address in wasmtime.
//!
//! One component instance answers every token request, one at a time, so that the credential's
//! cache lives as long as the bridge: any number of SDK requests for a resource cost one call to
//! Microsoft Entra ID per token lifetime, and concurrent first requests wait for that one call
//! instead of each making their own. The host answers the rest itself (refusals, probes), with
//! the bridge's own protocol code, within [`Limits`] on what a local caller may take.
//!
//! The composition is carried in the binary (`guest_artifacts::TOKEN_BRIDGE_COMPOSITION_BYTES`),
//! so the command runs from any directory with nothing beside it.

// wasmtime's results carry large errors.
#![allow(clippy::result_large_err)]

pub mod client;
mod connections;
#[cfg(feature = "fake-authority")]
pub mod demo;
// The attacks of the tests and of `attack-bridge`, beside the fake authority they run against.
#[cfg(feature = "fake-authority")]
pub mod floods;
mod limits;
mod request;
mod server;
mod watchdog;
mod worker;

pub use credential_host::Authority;
pub use limits::Limits;
pub use server::{BridgeConfig, RunningBridge};
