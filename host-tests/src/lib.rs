//! A wasmtime 48 embedding of the credential component, and a fake Microsoft Entra token
//! endpoint, shared by the host tests and the `get-token` example.

// `CredentialError` is the WIT's error as bindgen generates it; it is passed on as is.
#![allow(clippy::result_large_err)]

mod canned;
pub mod demo;
mod embedding;
mod fake_entra;
mod incoming;
mod local_server;
mod test_clock;
mod token_dir;
mod tools;

pub use canned::CannedEndpoint;
pub use embedding::WorkloadIdentityOptions;
pub use embedding::types::{
    AccessToken, AuthenticationFailure, CredentialError, TokenRequestOptions,
};
pub use embedding::{
    COMPONENT_PATH, CredentialComponent, CredentialInstance, HostConfig, ResponseFuture,
    SentResponse, Transport, WasiHost, send_over_network,
};
pub use fake_entra::{FakeEntra, FakeResponse, RecordedRequest};
pub use incoming::handle_request;
pub use local_server::{LocalServer, ServerAnswer};
pub use test_clock::{TEST_CLOCK_START, TestClock};
pub use token_dir::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AKS_TOKEN_FILE_NAME, TokenDirectory, token_file_grant,
};
pub use tools::{npm_ci_unless_installed, run_to_success};
