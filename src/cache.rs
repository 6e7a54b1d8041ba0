//! The credential's token cache: one token per tenant, set of scopes and CAE choice, and the
//! rules for when a cached token is served, refreshed, or no longer usable.

use crate::prelude::*;

use crate::error::{AccessToken, CredentialError};

/// A token is refreshed when this many seconds or fewer are left, so a caller never gets a
/// token that dies in flight.
pub const EXPIRY_MARGIN_SECONDS: u64 = 5 * 60;

/// After a failed refresh attempt, the cached token is served without another attempt for this
/// long (monotonic nanoseconds), counted from the attempt's end: a failing authority is not asked
/// again on every call, and callers that waited behind a slow attempt are served at once.
pub const REFRESH_RETRY_AFTER_NANOS: u64 = 30 * 1_000_000_000;

/// With no usable token, a failed request is answered again, without asking, for this long after
/// it ended (monotonic nanoseconds): callers that queued behind an attempt that took the whole
/// 60 s bound each get its answer at once instead of waiting another 60 s, and a failing
/// authority is not asked once per caller. Short, so that a fixed configuration is seen soon.
pub const FAILURE_REMEMBERED_NANOS: u64 = 5 * 1_000_000_000;

/// Most tokens kept: a credential is asked for a handful of scope sets; a caller making up new
/// ones on every call must not grow the instance without bound.
pub const MAX_ENTRIES: usize = 64;

/// When `token` stops being served as it is and is refreshed, in seconds since the Unix epoch:
/// Entra's advice (`refresh_on`, from `refresh_in` or half of a long lifetime) or
/// [`EXPIRY_MARGIN_SECONDS`] before expiry, whichever comes first. This is the one refresh rule:
/// the credential returns it as the token's `refresh-on`, so a host that keeps tokens (the bearer
/// middleware, the token bridge's callers) keeps each exactly until then.
pub fn refresh_at(token: &AccessToken) -> u64 {
    token
        .expires_on
        .saturating_sub(EXPIRY_MARGIN_SECONDS)
        .min(token.refresh_on.unwrap_or(u64::MAX))
}

/// What a cached token was requested for: tenant, scopes and CAE choice.
#[derive(Clone, Debug)]
pub struct CacheKey {
    /// `None` for the credential's own tenant; another is compared ignoring case.
    tenant_id: Option<String>,
    /// As first requested; [`is_for`](Self::is_for) compares them as a set, so the same scopes
    /// in another order, or repeated, find the same token.
    scopes: Vec<String>,
    cae: bool,
}

impl CacheKey {
    /// The key of a request from `tenant_id` (`None` for the credential's own) for `scopes`,
    /// with CAE on or off.
    pub fn new(tenant_id: Option<&str>, scopes: &[String], cae: bool) -> CacheKey {
        CacheKey {
            tenant_id: tenant_id.map(str::to_owned),
            scopes: scopes.to_vec(),
            cae,
        }
    }

    /// Whether this is the key of a request for these scopes (in any order, repeats allowed)
    /// from this tenant (any case) with this CAE choice. Allocates nothing: it runs on every
    /// cache hit, where it usually compares one scope and no tenant name.
    pub fn is_for(&self, tenant_id: Option<&str>, scopes: &[String], cae: bool) -> bool {
        let same_tenant = match (&self.tenant_id, tenant_id) {
            (None, None) => true,
            (Some(own), Some(other)) => own.eq_ignore_ascii_case(other),
            _ => false,
        };
        let same_scopes = match (&self.scopes[..], scopes) {
            ([own], [other]) => own == other,
            (own, others) => {
                others.iter().all(|scope| own.contains(scope))
                    && own.iter().all(|scope| others.contains(scope))
            }
        };
        self.cae == cae && same_tenant && same_scopes
    }
}

/// What to do for one get-token call.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Serve the cached token.
    Serve(AccessToken),
    /// Ask for a new token; if that fails, serve this one (still valid now).
    Refresh(AccessToken),
    /// No usable token: ask, and fail if asking fails.
    Request,
    /// No usable token, and asking failed `ago_nanos` ago (less than
    /// [`FAILURE_REMEMBERED_NANOS`]): answer with that failure again.
    Failed {
        /// The failure, as it was returned then.
        error: CredentialError,
        /// Monotonic nanoseconds since that attempt ended.
        ago_nanos: u64,
    },
}

#[derive(Debug)]
struct Entry {
    key: CacheKey,
    token: AccessToken,
    /// Monotonic nanoseconds when the last failed refresh attempt ended, if any since the token
    /// was stored.
    last_failure: Option<u64>,
}

/// A request that failed with no usable token in hand.
#[derive(Debug)]
struct Failure {
    key: CacheKey,
    /// Monotonic nanoseconds when the attempt ended.
    ended_at: u64,
    error: CredentialError,
}

/// A few entries, searched in order: faster than hashing or ordering keys at this size.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Vec<Entry>,
    /// The last failure with no valid token in hand. One is enough: the callers queued behind a
    /// failed attempt ask for what it asked for, and one slot costs the component less code than
    /// a list.
    failure: Option<Failure>,
}

impl TokenCache {
    /// Decides for a request (see [`CacheKey::is_for`]) at wall-clock `now` (seconds).
    /// `monotonic` (nanoseconds) is read only when no token is served as it is.
    pub fn lookup(
        &mut self,
        tenant_id: Option<&str>,
        scopes: &[String],
        cae: bool,
        now: u64,
        monotonic: impl FnOnce() -> u64,
    ) -> Lookup {
        let valid = self
            .entries
            .iter()
            .find(|entry| entry.key.is_for(tenant_id, scopes, cae))
            .filter(|entry| now < entry.token.expires_on);
        let Some(entry) = valid else {
            return self.remembered_failure(tenant_id, scopes, cae, monotonic());
        };
        if now < refresh_at(&entry.token) {
            return Lookup::Serve(entry.token.clone());
        }
        let failed_recently = entry
            .last_failure
            .is_some_and(|ended| monotonic().saturating_sub(ended) < REFRESH_RETRY_AFTER_NANOS);
        if failed_recently {
            Lookup::Serve(entry.token.clone())
        } else {
            Lookup::Refresh(entry.token.clone())
        }
    }

    fn remembered_failure(
        &self,
        tenant_id: Option<&str>,
        scopes: &[String],
        cae: bool,
        monotonic: u64,
    ) -> Lookup {
        let failure = self
            .failure
            .as_ref()
            .filter(|failure| failure.key.is_for(tenant_id, scopes, cae));
        match failure {
            Some(failure)
                if monotonic.saturating_sub(failure.ended_at) < FAILURE_REMEMBERED_NANOS =>
            {
                Lookup::Failed {
                    error: failure.error.clone(),
                    ago_nanos: monotonic.saturating_sub(failure.ended_at),
                }
            }
            _ => Lookup::Request,
        }
    }

    /// Records that asking for `key`'s token failed with `error`, the attempt ending at
    /// monotonic `ended_at`: a valid cached token is then served without asking for 30 s, and
    /// with none, the failure is answered again for 5 s.
    pub fn attempt_failed(
        &mut self,
        key: CacheKey,
        now: u64,
        ended_at: u64,
        error: &CredentialError,
    ) {
        let CacheKey {
            tenant_id,
            scopes,
            cae,
        } = &key;
        let valid = self
            .entries
            .iter_mut()
            .find(|entry| entry.key.is_for(tenant_id.as_deref(), scopes, *cae))
            .filter(|entry| now < entry.token.expires_on);
        if let Some(entry) = valid {
            entry.last_failure = Some(ended_at);
            return;
        }
        self.failure = Some(Failure {
            key,
            ended_at,
            error: error.clone(),
        });
    }

    /// Stores `token` for `key`, replacing the key's token. When the cache is full, the token
    /// that expires first makes room.
    pub fn insert(&mut self, key: CacheKey, token: AccessToken) {
        let entry = Entry {
            key,
            token,
            last_failure: None,
        };
        let CacheKey {
            tenant_id,
            scopes,
            cae,
        } = &entry.key;
        let failed_before = self.failure.as_ref();
        if failed_before
            .is_some_and(|failure| failure.key.is_for(tenant_id.as_deref(), scopes, *cae))
        {
            self.failure = None;
        }
        if let Some(slot) = self
            .entries
            .iter_mut()
            .find(|e| e.key.is_for(tenant_id.as_deref(), scopes, *cae))
        {
            *slot = entry;
            return;
        }
        if self.entries.len() >= MAX_ENTRIES
            && let Some(first_to_expire) =
                (0..self.entries.len()).min_by_key(|&index| self.entries[index].token.expires_on)
        {
            self.entries.swap_remove(first_to_expire);
        }
        self.entries.push(entry);
    }

    /// Forgets every token and failure.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.failure = None;
    }

    /// Every cached access token: secrets that error text must not repeat.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| entry.token.token.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    impl TokenCache {
        /// `lookup` for the request `key` was made from.
        fn lookup_key(&mut self, key: &CacheKey, now: u64, monotonic: u64) -> Lookup {
            let tenant_id = key.tenant_id.as_deref();
            self.lookup(tenant_id, &key.scopes, key.cae, now, || monotonic)
        }
    }

    fn token(expires_on: u64, refresh_on: Option<u64>) -> AccessToken {
        AccessToken {
            token: "t".into(),
            expires_on,
            refresh_on,
            token_type: "Bearer".into(),
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn cache_with(token: AccessToken) -> (TokenCache, CacheKey) {
        let key = CacheKey::new(Some("t"), &scopes(&["s"]), false);
        let mut cache = TokenCache::default();
        cache.insert(key.clone(), token);
        (cache, key)
    }

    #[test]
    fn nothing_cached_means_request() {
        let key = CacheKey::new(Some("t"), &scopes(&["s"]), false);
        assert_eq!(
            TokenCache::default().lookup_key(&key, 0, 0),
            Lookup::Request
        );
    }

    #[test]
    fn token_is_served_until_five_minutes_before_expiry_then_refreshed() {
        let (mut cache, key) = cache_with(token(10_000, None));
        assert_eq!(
            cache.lookup_key(&key, 9_699, 0),
            Lookup::Serve(token(10_000, None))
        );
        assert_eq!(
            cache.lookup_key(&key, 9_700, 0),
            Lookup::Refresh(token(10_000, None))
        );
    }

    #[test]
    fn refresh_on_comes_first_when_earlier() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        assert!(matches!(cache.lookup_key(&key, 4_999, 0), Lookup::Serve(_)));
        assert!(matches!(
            cache.lookup_key(&key, 5_000, 0),
            Lookup::Refresh(_)
        ));
    }

    fn failed() -> CredentialError {
        CredentialError::Unavailable("down".into())
    }

    #[test]
    fn after_a_failed_refresh_the_token_is_served_for_30_seconds_from_its_end() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        assert!(matches!(
            cache.lookup_key(&key, 5_000, 100 * SECOND),
            Lookup::Refresh(_)
        ));
        // Asking is no attempt: until one fails, the next call asks too.
        assert!(matches!(
            cache.lookup_key(&key, 5_000, 101 * SECOND),
            Lookup::Refresh(_)
        ));
        // The attempt took 5 s; the 30 s count from its end.
        cache.attempt_failed(key.clone(), 5_005, 105 * SECOND, &failed());
        assert!(matches!(
            cache.lookup_key(&key, 5_034, 134 * SECOND),
            Lookup::Serve(_)
        ));
        assert!(matches!(
            cache.lookup_key(&key, 5_035, 135 * SECOND),
            Lookup::Refresh(_)
        ));
    }

    #[test]
    fn an_expired_token_is_never_served() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        cache.attempt_failed(key.clone(), 9_990, 0, &failed());
        assert!(matches!(cache.lookup_key(&key, 9_999, 0), Lookup::Serve(_)));
        assert_eq!(cache.lookup_key(&key, 10_000, SECOND), Lookup::Request);
    }

    #[test]
    fn with_no_valid_token_a_failure_is_answered_again_for_5_seconds() {
        let key = CacheKey::new(Some("t"), &scopes(&["s"]), false);
        let mut cache = TokenCache::default();
        cache.attempt_failed(key.clone(), 0, 100 * SECOND, &failed());
        assert_eq!(
            cache.lookup_key(&key, 3, 104 * SECOND),
            Lookup::Failed {
                error: failed(),
                ago_nanos: 4 * SECOND
            }
        );
        assert_eq!(cache.lookup_key(&key, 5, 105 * SECOND), Lookup::Request);
        let other = CacheKey::new(Some("t"), &scopes(&["other"]), false);
        assert_eq!(cache.lookup_key(&other, 3, 101 * SECOND), Lookup::Request);
        // An expired token remembers its failure the same way.
        let (mut cache, key) = cache_with(token(10_000, None));
        cache.attempt_failed(key.clone(), 10_000, 0, &failed());
        assert!(matches!(
            cache.lookup_key(&key, 10_001, SECOND),
            Lookup::Failed { .. }
        ));
    }

    #[test]
    fn a_stored_token_forgets_the_failures_before_it() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        cache.attempt_failed(key.clone(), 5_000, 0, &failed());
        cache.insert(key.clone(), token(20_000, Some(15_000)));
        assert!(matches!(
            cache.lookup_key(&key, 15_000, SECOND),
            Lookup::Refresh(_)
        ));
        let mut cache = TokenCache::default();
        cache.attempt_failed(key.clone(), 0, 0, &failed());
        cache.insert(key.clone(), token(20_000, None));
        cache.clear();
        assert_eq!(cache.lookup_key(&key, 0, SECOND), Lookup::Request);
    }

    #[test]
    fn only_the_last_failure_is_remembered() {
        let mut cache = TokenCache::default();
        let key = |n: usize| CacheKey::new(Some("t"), &scopes(&[&format!("scope-{n}")]), false);
        cache.attempt_failed(key(1), 0, 0, &failed());
        cache.attempt_failed(key(2), 0, 0, &failed());
        assert_eq!(cache.lookup_key(&key(1), 0, 1), Lookup::Request);
        assert!(matches!(
            cache.lookup_key(&key(2), 0, 1),
            Lookup::Failed { .. }
        ));
        // A token for another key keeps it.
        cache.insert(key(3), token(10_000, None));
        assert!(matches!(
            cache.lookup_key(&key(2), 0, 1),
            Lookup::Failed { .. }
        ));
    }

    #[test]
    fn a_key_made_again_in_another_case_or_order_replaces_the_token() {
        let mut cache = TokenCache::default();
        cache.insert(
            CacheKey::new(Some("Tenant"), &scopes(&["a", "b"]), false),
            token(10_000, None),
        );
        cache.insert(
            CacheKey::new(Some("tenant"), &scopes(&["b", "a", "a"]), false),
            token(20_000, None),
        );
        assert_eq!(cache.entries.len(), 1);
        let found = cache.lookup(Some("TENANT"), &scopes(&["a", "b"]), false, 0, || 0);
        assert_eq!(found, Lookup::Serve(token(20_000, None)));
    }

    #[test]
    fn a_request_finds_its_key_whatever_the_scope_order_repeats_or_tenant_case() {
        let key = CacheKey::new(Some("Tenant"), &scopes(&["a", "b"]), false);
        assert!(key.is_for(Some("TENANT"), &scopes(&["b", "a", "b"]), false));
        assert!(!key.is_for(Some("tenant"), &scopes(&["a"]), false));
        assert!(!key.is_for(Some("tenant"), &scopes(&["a", "b", "c"]), false));
        assert!(!key.is_for(Some("tenant"), &scopes(&["a", "b"]), true));
        assert!(!key.is_for(Some("other"), &scopes(&["a", "b"]), false));
        assert!(!key.is_for(Some("tenant"), &[], false));
        assert!(!key.is_for(None, &scopes(&["a", "b"]), false));
        let own = CacheKey::new(None, &scopes(&["a"]), false);
        assert!(own.is_for(None, &scopes(&["a", "a"]), false));
        assert!(!own.is_for(Some("tenant"), &scopes(&["a"]), false));
        assert!(!own.is_for(None, &scopes(&["b"]), false));
    }

    #[test]
    fn a_plain_hit_does_not_read_the_monotonic_clock() {
        let (mut cache, key) = cache_with(token(10_000, None));
        let lookup = cache.lookup(Some("t"), &key.scopes, false, 0, || {
            panic!("monotonic clock read on a hit")
        });
        assert!(matches!(lookup, Lookup::Serve(_)));
    }

    #[test]
    fn a_full_cache_makes_room_by_dropping_the_first_token_to_expire() {
        let mut cache = TokenCache::default();
        let key = |n: usize| CacheKey::new(Some("t"), &scopes(&[&format!("scope-{n}")]), false);
        for n in 0..MAX_ENTRIES {
            cache.insert(key(n), token(10_000 + n as u64, None));
        }
        cache.insert(key(0), token(50_000, None));
        assert_eq!(
            cache.entries.len(),
            MAX_ENTRIES,
            "a replaced key takes no room"
        );
        cache.insert(key(MAX_ENTRIES), token(60_000, None));
        assert_eq!(cache.entries.len(), MAX_ENTRIES);
        assert_eq!(cache.lookup_key(&key(1), 0, 0), Lookup::Request);
        for kept in [0, 2, MAX_ENTRIES - 1, MAX_ENTRIES] {
            assert!(matches!(
                cache.lookup_key(&key(kept), 0, 0),
                Lookup::Serve(_)
            ));
        }
    }

    #[test]
    fn clear_forgets_every_token() {
        let (mut cache, key) = cache_with(token(10_000, None));
        cache.clear();
        assert_eq!(cache.lookup_key(&key, 0, 0), Lookup::Request);
    }
}
