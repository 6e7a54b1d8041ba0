//! The credential's errors and tokens, mirroring `azure:identity/types`, plus the redaction that
//! keeps secrets out of every message.

use std::fmt;

/// An access token and the times that govern its use.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token, sent as `Authorization: <token_type> <token>`.
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires_on: u64,
    /// Seconds since the Unix epoch.
    pub refresh_on: Option<u64>,
    pub token_type: String,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &REDACTED)
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// What Microsoft Entra ID, or the way to it, answered when authentication failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationFailure {
    /// What went wrong and what to do about it. Never contains a secret.
    pub message: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub error_codes: Vec<u32>,
    pub correlation_id: Option<String>,
    pub trace_id: Option<String>,
}

/// Why a token could not be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// Configuration, state or platform support is missing: authentication was not attempted.
    Unavailable(String),
    /// Authentication was attempted and failed. Boxed: errors are rare and the happy path should
    /// not move a large `Result`.
    AuthenticationFailed(Box<AuthenticationFailure>),
    /// get-token's arguments are invalid.
    InvalidArgument(String),
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::Unavailable(message) => write!(f, "unavailable: {message}"),
            CredentialError::AuthenticationFailed(failure) => {
                write!(f, "authentication failed: {}", failure.message)
            }
            CredentialError::InvalidArgument(message) => write!(f, "invalid argument: {message}"),
        }
    }
}

impl std::error::Error for CredentialError {}

/// What stands in for a secret in text meant for people.
pub const REDACTED: &str = "***";

/// Replaces every occurrence of each secret in `text` with `***`.
///
/// Text that reaches callers can quote what a server sent back; a misbehaving proxy or authority
/// may echo the request, so anything quoted passes through here first.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut redacted = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        if redacted.contains(secret) {
            redacted = redacted.replace(secret, REDACTED);
        }
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_every_occurrence_of_every_secret() {
        let text = "echo: assertion=eyJhbGc.abc token=tok123 again eyJhbGc.abc";
        assert_eq!(
            redact(text, &["eyJhbGc.abc", "tok123"]),
            "echo: assertion=*** token=*** again ***"
        );
    }

    #[test]
    fn redact_ignores_empty_secrets() {
        assert_eq!(redact("plain text", &["", "absent"]), "plain text");
    }

    #[test]
    fn access_token_debug_hides_the_token() {
        let token = AccessToken {
            token: "secret-access-token".into(),
            expires_on: 10,
            refresh_on: None,
            token_type: "Bearer".into(),
        };
        let debug = format!("{token:?}");
        assert!(!debug.contains("secret-access-token"), "{debug}");
        assert!(debug.contains("expires_on: 10"), "{debug}");
    }
}
