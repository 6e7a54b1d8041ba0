//! get-token around any source of tokens: serve a cached token until it is due, else ask the
//! source; keep what it gives, serve a still-valid token when a refresh fails, and answer a
//! failure of an unwell source again for a few seconds. The one copy of these rules for the
//! workload identity credential and the token bridge's variant.

use crate::prelude::*;

use crate::cache::{CacheKey, FAILURE_REMEMBERED_NANOS, Lookup, TokenCache, refresh_at};
use crate::error::{AccessToken, AuthenticationFailure, CredentialError};
use crate::flights::{Flights, Landing};
use crate::platform::Platform;
use crate::retry::{NANOS_PER_SECOND, is_retryable_status};
use crate::text::Seconds;
use core::cell::RefCell;

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

/// How many times a call waits for another call's request of its token that ends abandoned (its
/// caller cancelled it) before it asks itself: each wait ends, the count bounds the loop.
const MAX_JOINS: u32 = 4;

/// A credential's tokens: the cache, and the requests in flight. Each is borrowed only between
/// awaits, so that get-token calls running at once (WASI 0.3) share them.
#[derive(Debug, Default)]
pub struct Tokens {
    cache: RefCell<TokenCache>,
    flights: Flights,
}

impl Tokens {
    /// Forgets every cached token.
    pub fn clear(&self) {
        self.cache.borrow_mut().clear();
    }
}

/// Serves `request` from `tokens`, or asks `source` for it. A call that needs a token another
/// call is requesting waits for that request and returns its result; with a valid token in
/// hand it returns that token at once instead.
pub async fn get_token<P: Platform>(
    tokens: &Tokens,
    request: &Request<'_>,
    platform: &mut P,
    source: impl AsyncFnOnce(&mut P, &Ask<'_>) -> Result<AccessToken, CredentialError>,
) -> Result<AccessToken, CredentialError> {
    let Request {
        other_tenant,
        scopes,
        cae,
        challenged,
    } = *request;
    let mut joins = 0;
    let cached = loop {
        if challenged {
            break None;
        }
        let now = platform.now();
        let cached = match tokens
            .cache
            .borrow_mut()
            .lookup(other_tenant, scopes, cae, now, || {
                platform.monotonic_nanos()
            }) {
            Lookup::Serve(token) => return Ok(token),
            Lookup::Refresh(token) => Some(token),
            Lookup::Request => None,
            Lookup::Failed { error, ago_nanos } => {
                return Err(answered_again(error, ago_nanos));
            }
        };
        let flight = P::CALLS_OVERLAP
            .then(|| tokens.flights.find(other_tenant, scopes, cae))
            .flatten();
        let Some(flight) = flight else {
            break cached;
        };
        if let Some(token) = cached {
            return Ok(token);
        }
        if joins == MAX_JOINS {
            break None;
        }
        joins += 1;
        match flight.await {
            Landing::Answer(result) => return result,
            Landing::Abandoned => continue,
        }
    };
    let key = || CacheKey::new(other_tenant, scopes, cae);
    // A challenged request is for a token with claims, which a plain call waiting for it must not
    // get: it flies alone.
    let flight = (P::CALLS_OVERLAP && !challenged).then(|| tokens.flights.take_off(key()));
    let known_tokens: Vec<String> = tokens.cache.borrow().tokens().map(str::to_owned).collect();
    let ask = Ask {
        valid_token_in_hand: cached.is_some(),
        known_tokens: &known_tokens,
        started: platform.monotonic_nanos(),
    };
    let result = source(platform, &ask).await;
    let result = match result {
        Ok(mut token) => {
            // The caller gets the time this credential will refresh it, so that a host that
            // keeps the token follows the same rule instead of one of its own.
            token.refresh_on = Some(refresh_at(&token));
            tokens.cache.borrow_mut().insert(key(), token.clone());
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
                tokens
                    .cache
                    .borrow_mut()
                    .attempt_failed(key(), now, ended_at, &error);
            }
            match cached {
                Some(token) if now < token.expires_on => Ok(token),
                _ => Err(error),
            }
        }
    };
    if let Some(flight) = flight {
        flight.land(&result);
    }
    result
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready;
    use crate::scripted_platform::ScriptedPlatform;
    use core::cell::Cell;

    #[test]
    fn clearing_the_tokens_forgets_the_cached_ones() {
        let tokens = Tokens::default();
        let mut platform = ScriptedPlatform::new();
        let scopes = ["https://vault.azure.net/.default".to_owned()];
        let request = Request {
            other_tenant: None,
            scopes: &scopes,
            cae: false,
            challenged: false,
        };
        let asked = Cell::new(0);
        let mut get = || {
            let source = async |platform: &mut ScriptedPlatform, _: &Ask<'_>| {
                asked.set(asked.get() + 1);
                Ok(AccessToken {
                    token: format!("token-{}", asked.get()),
                    expires_on: platform.wall() + 3600,
                    refresh_on: None,
                    token_type: "Bearer".into(),
                })
            };
            ready::run(get_token(&tokens, &request, &mut platform, source)).unwrap()
        };
        assert_eq!(get().token, "token-1");
        assert_eq!(get().token, "token-1");
        tokens.clear();
        assert_eq!(get().token, "token-2");
    }
}
