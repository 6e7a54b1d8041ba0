//! The `Authorization` value for each scope, kept exactly until the token's `refresh-on`: the
//! time the credential itself would refresh it (it always names one), so the middleware follows
//! the credential's one refresh rule instead of a rule of its own. As the Azure SDKs' bearer
//! policies keep theirs:
//! - a request then costs no call into the credential, a cross-component call that is a large
//!   part of what authorizing a request costs;
//! - a token obtained by answering a claims challenge is kept the same way, replacing the one the
//!   resource rejected; the credential never caches a token asked for with claims.
//!
//! Once a token is due, the credential is asked again, and it decides whether to refresh.

use crate::prelude::*;

/// Only for a credential plugged in that names no refresh time (this repository's always does):
/// refresh this long before expiry, the Azure SDKs' margin.
const REFRESH_MARGIN_SECS: u64 = 300;

#[derive(Default)]
pub struct KeptTokens {
    /// `(scope, authorization header value, use until, in seconds since the Unix epoch)`.
    tokens: Vec<(String, String, u64)>,
}

impl KeptTokens {
    /// None kept (for a `static`).
    pub const fn new() -> KeptTokens {
        KeptTokens { tokens: Vec::new() }
    }

    pub fn keep(
        &mut self,
        scope: &str,
        authorization: String,
        expires_on: u64,
        refresh_on: Option<u64>,
    ) {
        let use_until = refresh_on.unwrap_or(expires_on.saturating_sub(REFRESH_MARGIN_SECS));
        self.tokens.retain(|(s, _, _)| s != scope);
        self.tokens
            .push((scope.to_owned(), authorization, use_until));
    }

    /// The kept header for `scope`, dropping every token once due.
    pub fn get(&mut self, scope: &str, now: u64) -> Option<&str> {
        self.tokens.retain(|(_, _, use_until)| now < *use_until);
        self.tokens
            .iter()
            .find(|(s, _, _)| s == scope)
            .map(|(_, authorization, _)| authorization.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_token_serves_its_scope_until_its_refresh_time() {
        let mut kept = KeptTokens::default();
        kept.keep("s", "Bearer a".into(), 10_000, Some(5_000));
        assert_eq!(kept.get("s", 4_999), Some("Bearer a"));
        assert_eq!(kept.get("other", 4_999), None);
        assert_eq!(kept.get("s", 5_000), None);
        assert_eq!(kept.get("s", 1), None, "gone once due");
    }

    #[test]
    fn without_a_refresh_time_it_serves_until_five_minutes_before_expiry() {
        let mut kept = KeptTokens::default();
        kept.keep("s", "Bearer a".into(), 10_000, None);
        assert_eq!(kept.get("s", 9_699), Some("Bearer a"));
        assert_eq!(kept.get("s", 9_700), None);
    }

    #[test]
    fn a_new_challenge_replaces_the_scope_s_token() {
        let mut kept = KeptTokens::default();
        kept.keep("s", "Bearer a".into(), 10_000, None);
        kept.keep("s", "Bearer b".into(), 10_000, None);
        assert_eq!(kept.get("s", 0), Some("Bearer b"));
        assert_eq!(kept.tokens.len(), 1);
    }
}
