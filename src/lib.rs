//! Microsoft Entra Workload ID as a WASI 0.2 component.
//!
//! The modules below are a plain-Rust core: settings, validation, the token request, the
//! response, the cache. They do no I/O; [`platform::Platform`] is what they ask of a host. The
//! `component` module (wasm32 only) implements it with WASI and exports `azure:identity`.

pub mod authority;
pub mod cache;
pub mod claims;
pub mod credential;
pub mod error;
pub mod exchange;
pub mod form;
pub mod hints;
pub mod http_date;
pub mod platform;
pub mod request_id;
pub mod retry;
pub mod scopes;
pub mod settings;
pub mod tenant;
pub mod token_file;
pub mod token_request;
pub mod token_response;

#[cfg(test)]
mod scripted_platform;

#[cfg(target_arch = "wasm32")]
mod component;
