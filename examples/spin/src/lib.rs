//! A Spin HTTP app: `GET /secrets` lists the secrets (names and attributes, never values) of the
//! key vault named by `KEY_VAULT_NAME`, authorized with a token from the credential component,
//! which Spin plugs in as a component dependency (see spin.toml).
//!
//! Routing, the vault's URL and the answer to each credential error are plain Rust, unit-tested
//! natively; `component` is the WASI layer, built only for wasm32.

pub mod routes;

#[cfg(target_arch = "wasm32")]
mod component;
