//! A bearer-token middleware component: it exports `wasi:http/outgoing-handler`, imports the
//! host's and `azure:identity/credential`, and adds `Authorization: Bearer` to the requests whose
//! host matches `AZURE_BEARER_RULES`. See README.md for what WASI 0.2 lets it do and not do.
//!
//! The rules, the per-request decision, claims challenges and the kept tokens are plain
//! Rust, unit-tested natively; `component` is the WASI layer, built only for wasm32.

// The rules and decisions use core and alloc only: the WASI 0.3 build is std-free, so that it
// imports WASI 0.3 alone (std on wasm32-wasip2 brings wasi-libc's WASI 0.2 imports).
#![no_std]

extern crate alloc;
// The WASI 0.2 component (thread-locals, the environment, the clock), the unit tests and native
// builds use std.
#[cfg(any(test, not(target_arch = "wasm32"), not(feature = "wasi-p3")))]
extern crate std;

/// What std's prelude would give every module.
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

pub mod challenge;
pub mod kept_tokens;
pub mod policy;
pub mod replay;
pub mod rules;

#[cfg(all(target_arch = "wasm32", not(feature = "wasi-p3")))]
mod component;
#[cfg(all(target_arch = "wasm32", feature = "wasi-p3"))]
mod component_p3;
