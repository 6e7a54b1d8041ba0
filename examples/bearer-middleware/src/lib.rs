//! A bearer-token middleware component: it exports `wasi:http/outgoing-handler`, imports the
//! host's and `azure:identity/credential`, and adds `Authorization: Bearer` to the requests whose
//! host matches `AZURE_BEARER_RULES`. See README.md for what WASI 0.2 lets it do and not do.
//!
//! The rules, the per-request decision, claims challenges and the kept tokens are plain
//! Rust, unit-tested natively; `component` is the WASI layer, built only for wasm32.

pub mod challenge;
pub mod kept_tokens;
pub mod policy;
pub mod rules;

#[cfg(target_arch = "wasm32")]
mod component;
