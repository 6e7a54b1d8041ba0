//! get-token around any source of tokens: serve a cached token until it is due, else ask the
//! source; keep what it gives, serve a still-valid token when a refresh fails, and answer a
//! failure of an unwell source again for a few seconds. The one copy of these rules for the
//! workload identity credential and the token bridge's variant.

use crate::prelude::*;

use crate::cache::{CacheKey, FAILURE_REMEMBERED_NANOS, Lookup, TokenCache, refresh_at};
use crate::error::{AccessToken, AuthenticationFailure, CredentialError};
use crate::platform::Platform;
use crate::retry::{NANOS_PER_SECOND, is_retryable_status};
use crate::text::Seconds;

/// What a token request is for: the cache key's parts, and whether it answers a claims
/// challenge (which bypasses the cache and replaces the cached token).
pub struct Request<'a> {
    /// `None` for the credential's own tenant.
    pub other_tenant: Option<&'a str>,
    /// As get-token received them.
    pub scopes: &'a [String],
    /// Whether the token is one with continuous access evaluation.
    pub cae: bool,
    /// Claims were passed: the cache is bypassed, the token obtained replaces the cached one.
    pub challenged: bool,
}

/// What the source is told when it is asked.
pub struct Ask<'a> {
    /// A valid token is in hand: make one short attempt, it serves the caller if that fails.
    pub valid_token_in_hand: bool,
    /// Tokens the credential holds, which error text must not repeat.
    pub known_tokens: &'a [String],
    /// Monotonic nanoseconds when the cache sent the request to the source: the 60 s bound of
    /// its attempts counts from then, so that a wait for another instance's refresh (the shared
    /// cache) is part of it.
    pub started: u64,
}

/// Serves `request` from `cache`, or asks `source` for it.
pub fn get_token<P: Platform>(
    cache: &mut TokenCache,
    request: &Request<'_>,
    platform: &mut P,
    source: impl FnOnce(&mut P, &Ask<'_>) -> Result<AccessToken, CredentialError>,
) -> Result<AccessToken, CredentialError> {
    let Request {
        other_tenant,
        scopes,
        cae,
        challenged,
    } = *request;
    let cached = if challenged {
        None
    } else {
        let now = platform.now();
        match cache.lookup(other_tenant, scopes, cae, now, || {
            platform.monotonic_nanos()
        }) {
            Lookup::Serve(token) => return Ok(token),
            Lookup::Refresh(token) => Some(token),
            Lookup::Request => None,
            Lookup::Failed { error, ago_nanos } => {
                return Err(answered_again(error, ago_nanos));
            }
        }
    };
    let known_tokens: Vec<String> = cache.tokens().map(str::to_owned).collect();
    let ask = Ask {
        valid_token_in_hand: cached.is_some(),
        known_tokens: &known_tokens,
        started: platform.monotonic_nanos(),
    };
    let result = source(platform, &ask);
    let key = || CacheKey::new(other_tenant, scopes, cae);
    match result {
        Ok(mut token) => {
            // The caller gets the time this credential will refresh it, so that a host that
            // keeps the token follows the same rule instead of one of its own.
            token.refresh_on = Some(refresh_at(&token));
            cache.insert(key(), token.clone());
            Ok(token)
        }
        Err(error) => {
            let now = platform.now();
            // With no valid token, only a source that is unwell (no answer, a stall,
            // throttling, a server fault: what costs callers waits and retries) is
            // remembered. A refusal is a quick, final answer that a fix (a federated
            // credential added) changes at once, as is a missing token file.
            let unwell =
                |failure: &AuthenticationFailure| failure.status.is_none_or(is_retryable_status);
            let remembered = cached.is_some()
                || matches!(&error, CredentialError::AuthenticationFailed(failure) if unwell(failure));
            if !challenged && remembered {
                let ended_at = platform.monotonic_nanos();
                cache.attempt_failed(key(), now, ended_at, &error);
            }
            match cached {
                Some(token) if now < token.expires_on => Ok(token),
                _ => Err(error),
            }
        }
    }
}

/// The error of a closed credential.
pub fn closed() -> CredentialError {
    CredentialError::Unavailable("the credential was closed; create a new one".into())
}

/// A remembered failure, returned again with a note that says so.
fn answered_again(error: CredentialError, ago_nanos: u64) -> CredentialError {
    match error {
        CredentialError::AuthenticationFailed(mut failure) => {
            failure.message = format!(
                "{} (not asked again: this same request failed {} s ago, and is asked again {} s \
                 after a failure)",
                failure.message,
                Seconds(ago_nanos),
                FAILURE_REMEMBERED_NANOS / NANOS_PER_SECOND
            );
            CredentialError::AuthenticationFailed(failure)
        }
        other => other,
    }
}
