//! What a wasmtime 48 host of the credential needs, in one place: the credential's bindings, a
//! store type with WASI and wasi:http, the linker, the real network send (with the AKS token
//! proxy's TLS settings), the read-only grant of the token directory, and calling a guest's
//! `wasi:http/incoming-handler`. The token bridge's server, the embedding example, the demo and
//! the test harness all use it.
//!
//! With the `fake-authority` feature it also has a fake Microsoft Entra ID answering in-process,
//! a demo identity and a kubelet-shaped token directory, for demos and tests.

// `CredentialError` is the WIT's error as bindgen generates it; it is passed on as is.
#![allow(clippy::result_large_err)]

mod authority;
mod bindings;
mod grant;
mod incoming;
mod linker;
mod network;
mod state;
mod token_proxy;

#[cfg(feature = "fake-authority")]
pub mod fake_authority;

pub use authority::Authority;
pub use bindings::types::{
    AccessToken, AuthenticationFailure, CredentialError, TokenRequestOptions,
};
pub use bindings::{WorkloadIdentity, WorkloadIdentityOptions, WorkloadIdentityPre};
pub use grant::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AKS_TOKEN_FILE_NAME, AKS_WEBHOOK_1_6_TOKEN_FILE,
    AKS_WEBHOOK_1_6_TOKEN_PATH, AKS_WEBHOOK_1_6_VOLUME, grant_read_only, token_file_grant,
};
pub use incoming::handle_request;
pub use linker::wasi_http_linker;
pub use network::{ResponseFuture, SentResponse, send_over_network};
pub use state::WasiHost;
pub use token_proxy::TokenProxyTls;
