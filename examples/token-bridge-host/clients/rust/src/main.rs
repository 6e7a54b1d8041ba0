//! Gets a token through azure_identity's own `ManagedIdentityCredential` and reports the outcome.
//!
//! Usage: token-bridge-rust-client SCOPE [--client-id ID]
//!
//! With IDENTITY_ENDPOINT and IDENTITY_HEADER set, the credential speaks the App Service protocol
//! by itself. Prints one JSON object on a line, never a token: `ok: true` with `token_length` and
//! `expires_on` (exit 0), or `ok: false` with `message` (exit 1).

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(scope) = args.first() else {
        return failed("usage: token-bridge-rust-client SCOPE [--client-id ID]");
    };
    let client_id = args
        .iter()
        .position(|arg| arg == "--client-id")
        .and_then(|at| args.get(at + 1))
        .cloned();
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: client_id.map(UserAssignedId::ClientId),
        // The SDK's default retries 5xx and refused connections for about 80 s; a refusal must
        // show at once.
        client_options: ClientOptions {
            retry: RetryOptions::none(),
            ..Default::default()
        },
        ..Default::default()
    };
    let credential = match ManagedIdentityCredential::new(Some(options)) {
        Ok(credential) => credential,
        Err(error) => return failed(&error.to_string()),
    };
    match credential.get_token(&[scope.as_str()], None).await {
        Ok(token) => {
            let report = serde_json::json!({
                "ok": true,
                "token_length": token.token.secret().len(),
                "expires_on": token.expires_on.unix_timestamp(),
            });
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => failed(&error.to_string()),
    }
}

fn failed(message: &str) -> ExitCode {
    println!("{}", serde_json::json!({ "ok": false, "message": message }));
    ExitCode::FAILURE
}
