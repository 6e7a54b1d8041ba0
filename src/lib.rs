//! Microsoft Entra Workload ID as a WASI 0.2 component.
//!
//! The modules below are a plain-Rust core: settings, validation, the token request, the
//! response, the cache. They do no I/O; the `Platform` trait is what they ask of a host. The
//! `component` module (wasm32 only) implements it with WASI and exports `azure:identity`.
//!
//! Hosts use the component through those exports; as a Rust library this crate gives them only
//! the names of the environment variables the component reads ([`AZURE_TENANT_ID`] and the
//! others). The fuzz targets reach the core's parsers through the `fuzzing` module (the
//! `fuzzing` feature, off by default).
//!
//! The crate is `no_std` (with `alloc`): std on wasm32-wasip2 brings wasi-libc, which imports
//! stdio, terminals and exit that the credential never uses, and triples the component's size.
//! The code uses core and alloc only, on every target.

#![no_std]
// Unsafe code is allowed only where it cannot be avoided, each place saying why: the allocator
// (`heap`), `memcmp` (`mem`), and the component's runtime and generated bindings (`component`).
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Natively the hosts use only the variable names, and the core is compiled for the unit tests
// and the fuzz targets; what is dead code is judged on wasm32, where the component uses the core.
// The token bridge's variant (feature `via-bridge`) leaves the workload identity credential's
// code (settings, token file, exchange) unused: it is compiled, never linked into the component.
#![cfg_attr(
    any(not(target_arch = "wasm32"), feature = "via-bridge"),
    allow(dead_code)
)]

extern crate alloc;
// Native builds (unit tests, the hosts' rlib, fuzzing, the cdylib cargo also makes) link std for
// its allocator and panic handler; the component has its own (`heap`, `component::runtime`).
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

/// What std's prelude would give every module; `use crate::prelude::*` brings it in.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

mod attempts;
mod authority;
mod cache;
mod cached;
mod claims;
mod credential;
mod error;
mod exchange;
mod flights;
mod form;
// The allocator manages raw memory, so it cannot be written without unsafe code. Natively it is
// compiled for its unit tests only; the component installs it (`component::runtime`).
#[allow(unsafe_code)]
mod heap;
mod hints;
mod http_date;
mod json;
mod mem;
mod platform;
mod preopens;
// The WASI 0.3 build awaits its platform's futures; the others run them here.
#[cfg_attr(feature = "wasi-p3", allow(dead_code))]
mod ready;
mod request_id;
mod retry;
mod scopes;
mod settings;
// The base component has no store: there the shared cache is compiled, never reached.
#[cfg_attr(
    not(any(feature = "keyvalue-draft2", feature = "keyvalue-draft")),
    allow(dead_code)
)]
mod shared_cache;
mod tenant;
mod text;
mod token_file;
mod token_request;
mod token_response;
// The token bridge's variant: natively for its unit tests, on wasm32 only in that variant.
#[cfg(any(not(target_arch = "wasm32"), feature = "via-bridge"))]
mod via_bridge;

// What hosts use: the names of the environment variables the component reads its settings from
// (the component is used through its WIT exports, not as a Rust library).
pub use settings::{
    AZURE_ADDITIONALLY_ALLOWED_TENANTS, AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID,
    AZURE_FEDERATED_TOKEN_FILE, AZURE_IDENTITY_DISABLE_MULTITENANTAUTH, AZURE_KUBERNETES_CA_DATA,
    AZURE_KUBERNETES_CA_FILE, AZURE_KUBERNETES_SNI_NAME, AZURE_KUBERNETES_TOKEN_PROXY,
    AZURE_TENANT_ID,
};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

#[cfg(test)]
mod scripted_platform;

#[cfg(target_arch = "wasm32")]
mod component;
