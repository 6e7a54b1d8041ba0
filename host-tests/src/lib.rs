//! A wasmtime 48 embedding of the credential component, and a fake Microsoft Entra token
//! endpoint, shared by the host tests and the `get-token` example.

mod embedding;
mod fake_entra;
mod token_dir;

pub use embedding::WorkloadIdentityOptions;
pub use embedding::types::{
    AccessToken, AuthenticationFailure, CredentialError, TokenRequestOptions,
};
pub use embedding::{
    COMPONENT_PATH, CredentialComponent, CredentialInstance, HostConfig, Transport,
};
pub use fake_entra::{FakeEntra, FakeResponse, RecordedRequest};
pub use token_dir::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, AKS_TOKEN_FILE_NAME, TokenDirectory};
