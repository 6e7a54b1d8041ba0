//! The credential's errors and tokens, mirroring `azure:identity/types`, plus the redaction that
//! keeps secrets out of every message.

use crate::prelude::*;

use crate::text::{find, replace_all};
use core::fmt;
use redacted::{PLACEHOLDER, Redacted};

/// An access token and the times that govern its use.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token, sent as `Authorization: <token_type> <token>`.
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires_on: u64,
    /// Seconds since the Unix epoch.
    pub refresh_on: Option<u64>,
    /// The scheme to send the token with, `Bearer` unless the endpoint says otherwise.
    pub token_type: String,
}

// By hand, so that `token` can stay a plain `String`: it mirrors the WIT record's field and is
// moved into it as it is, and the cache and the tests read it directly.
impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &Redacted::new(&self.token))
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
    /// The HTTP status of the answer; `None` when none came (a transport failure).
    pub status: Option<u16>,
    /// The OAuth error code Entra sent, e.g. `invalid_client`.
    pub error: Option<String>,
    /// The AADSTS numbers Entra sent, e.g. `700016`.
    pub error_codes: Vec<u32>,
    /// Entra's correlation id, for Microsoft support.
    pub correlation_id: Option<String>,
    /// Entra's trace id, for Microsoft support.
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

impl core::error::Error for CredentialError {}

/// Replaces every occurrence of each secret in `text`, and anything shaped like a JWT, with `***`
/// ([`PLACEHOLDER`], what `Debug` shows for secrets too).
///
/// Text that reaches callers can quote what a server sent back; a misbehaving proxy or authority
/// may echo the request or a token, so anything quoted passes through here first. Service-account
/// tokens and Entra access tokens are JWTs, so the shape catches tokens this credential never saw.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut redacted = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        if find(&redacted, secret).is_some() {
            redacted = replace_all(&redacted, secret, PLACEHOLDER);
        }
    }
    redact_jwts(&redacted)
}

/// Replaces `eyJ…​.…​.…` runs (base64url of `{"`, then two dots) with `***`.
fn redact_jwts(text: &str) -> String {
    let is_base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find(rest, "eyJ") {
        let preceded_by_token_char = rest[..start].chars().next_back().is_some_and(is_base64url);
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !is_base64url(c) && c != '.')
            .unwrap_or(candidate.len());
        let run = &candidate[..end];
        out.push_str(&rest[..start]);
        if !preceded_by_token_char && run.split('.').count() >= 3 {
            out.push_str(PLACEHOLDER);
        } else {
            out.push_str(run);
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_text_starts_with_its_kind() {
        let failure = AuthenticationFailure {
            message: "Entra said no".into(),
            status: Some(400),
            ..Default::default()
        };
        for (error, text) in [
            (
                CredentialError::Unavailable("no token file".into()),
                "unavailable: no token file",
            ),
            (
                CredentialError::AuthenticationFailed(Box::new(failure)),
                "authentication failed: Entra said no",
            ),
            (
                CredentialError::InvalidArgument("no scopes".into()),
                "invalid argument: no scopes",
            ),
        ] {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn redact_replaces_every_occurrence_of_every_secret() {
        let text = "echo: assertion=eyJhbGc.abc token=tok123 again eyJhbGc.abc";
        assert_eq!(
            redact(text, &["eyJhbGc.abc", "tok123"]),
            "echo: assertion=*** token=*** again ***"
        );
    }

    #[test]
    fn jwt_shaped_runs_are_redacted_even_when_unknown() {
        let text =
            "echo access_token=eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln and eyJ0.only-one-dot";
        assert_eq!(
            redact(text, &[]),
            "echo access_token=*** and eyJ0.only-one-dot"
        );
        assert_eq!(redact("keyJunk.a.b", &[]), "keyJunk.a.b");
    }

    #[test]
    fn unknown_jwts_with_dashes_and_underscores_are_redacted_whole() {
        // base64url has `-` and `_`; a token a server echoes must not leave a tail in the text.
        let text = "echo eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhLWJfYyJ9.sig-na_ture end";
        assert_eq!(redact(text, &[]), "echo *** end");
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
