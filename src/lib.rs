//! Microsoft Entra Workload ID as a WASI 0.2 component.
//!
//! The modules below are a plain-Rust core: settings, validation, the token request, the
//! response, the cache. They do no I/O; [`platform::Platform`] is what they ask of a host. The
//! `component` module (wasm32 only) implements it with WASI and exports `azure:identity`.
//!
//! The crate is `no_std` (with `alloc`): std on wasm32-wasip2 brings wasi-libc, which imports
//! stdio, terminals and exit that the credential never uses, and triples the component's size.
//! The code uses core and alloc only, on every target.

#![no_std]

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

pub mod authority;
pub mod cache;
pub mod claims;
pub mod credential;
pub mod error;
pub mod exchange;
pub mod form;
pub mod heap;
pub mod hints;
pub mod http_date;
pub mod json;
pub mod mem;
pub mod platform;
pub mod preopens;
pub mod request_id;
pub mod retry;
pub mod scopes;
pub mod settings;
pub mod tenant;
pub mod text;
pub mod token_file;
pub mod token_request;
pub mod token_response;

#[cfg(test)]
mod scripted_platform;

#[cfg(target_arch = "wasm32")]
mod component;
