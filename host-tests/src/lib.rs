//! The test harness: the credential component in wasmtime with a test transport and test
//! clocks (`CredentialComponent`), misbehaving local servers, an AKS token proxy over TLS, the
//! benchmark's endpoint, and the tools the tests run. The host pieces themselves (bindings,
//! store, linker, fake authority) are `credential-host`'s, re-exported here for the tests.

// `CredentialError` is the WIT's error as bindgen generates it; it is passed on as is.
#![allow(clippy::result_large_err)]

mod acceptor;
mod canned;
mod edition;
mod embedding;
mod embedding_p3;
mod fake_server;
mod fake_service;
mod host_config;
mod local_server;
mod shared_keyvalue;
mod silent_listener;
mod test_clock;
mod tls_proxy;

pub use canned::CannedEndpoint;
pub use credential_host::fake_authority::{
    FakeEntra, FakeResponse, RecordedRequest, TokenDirectory,
};
pub use credential_host::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AKS_TOKEN_FILE_NAME, AccessToken, AuthenticationFailure,
    CredentialError, ResponseFuture, TokenRequestOptions, WasiHost, WorkloadIdentityOptions,
    handle_request, token_file_grant,
};
pub use edition::{Edition, EditionInstance};
pub use embedding::{
    COMPONENT_PATH, CredentialComponent, CredentialInstance, KEYVALUE_DRAFT_PATH,
    KEYVALUE_DRAFT2_PATH,
};
/// The WASI 0.3 world's `workload-identity-options` (its other types are the 0.2 world's).
pub use embedding_p3::WorkloadIdentityOptions as P3WorkloadIdentityOptions;
pub use embedding_p3::{P3CredentialComponent, P3CredentialInstance, TokenCall};
pub use fake_server::FakeServer;
pub use fake_service::{Answering, FakeService, UPSTREAM_BODY};
pub use host_config::{HostConfig, Transport};
pub use local_server::{LocalServer, ServerAnswer};
pub use shared_keyvalue::{KeyValueDraft, STORE_IDENTIFIER, SharedKeyValue};
pub use silent_listener::SilentListener;
pub use test_clock::{TEST_CLOCK_START, TestClock};
pub use test_tools::{micros, npm_ci_unless_installed, percentile, python_venv, run_to_success};
pub use tls_proxy::{PROXY_ACCESS_TOKEN_PREFIX, ProxyConnection, ThrowAwayCa, TlsProxy};
