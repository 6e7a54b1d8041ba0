//! Failure messages quote hosts' logs and apps' answers; none may carry a token or an assertion.

use redacted::PLACEHOLDER;

/// `text` with every one of `secrets` replaced by the placeholder (`***`).
pub fn redacted(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), PLACEHOLDER)
        })
}
