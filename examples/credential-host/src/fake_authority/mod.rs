//! A fake Microsoft Entra ID and a demo workload identity, for the commands that run without
//! Azure (`get-token`, `token-bridge --fake-authority`) and for the tests.

mod access_token;
mod demo;
mod fake_entra;
mod token_dir;

pub use access_token::{BACKDATED_SECONDS, TokenClaims, audience};
pub use demo::{DEMO_ASSERTION, DEMO_CLIENT, DEMO_TENANT};
pub use fake_entra::{FAKE_EXPIRES_IN, FakeEntra, FakeResponse, RecordedRequest};
pub use token_dir::TokenDirectory;
