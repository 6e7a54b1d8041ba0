//! The credential's token cache: one token per tenant, set of scopes and CAE choice, and the
//! rules for when a cached token is served, refreshed, or no longer usable.

use crate::prelude::*;

use crate::error::AccessToken;

/// A token is refreshed when this many seconds or fewer are left, so a caller never gets a
/// token that dies in flight.
pub const EXPIRY_MARGIN_SECONDS: u64 = 5 * 60;

/// After a refresh attempt, the cached token is served without another attempt for this long
/// (monotonic nanoseconds): a failing authority is not asked again on every call.
pub const REFRESH_RETRY_AFTER_NANOS: u64 = 30 * 1_000_000_000;

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
}

#[derive(Debug)]
struct Entry {
    key: CacheKey,
    token: AccessToken,
    /// Monotonic nanoseconds of the last refresh attempt, if any since the token was stored.
    last_attempt: Option<u64>,
}

/// A few entries, searched in order: faster than hashing or ordering keys at this size.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Vec<Entry>,
}

impl TokenCache {
    /// Decides for a request (see [`CacheKey::is_for`]) at wall-clock `now` (seconds).
    /// `monotonic` (nanoseconds) is read only when a refresh is due. A `Refresh` answer counts
    /// as an attempt: calls in the next 30 s are served the cached token.
    pub fn lookup(
        &mut self,
        tenant_id: Option<&str>,
        scopes: &[String],
        cae: bool,
        now: u64,
        monotonic: impl FnOnce() -> u64,
    ) -> Lookup {
        let Some(entry) = self
            .entries
            .iter_mut()
            .find(|entry| entry.key.is_for(tenant_id, scopes, cae))
        else {
            return Lookup::Request;
        };
        if now >= entry.token.expires_on {
            return Lookup::Request;
        }
        if now < refresh_at(&entry.token) {
            return Lookup::Serve(entry.token.clone());
        }
        let monotonic = monotonic();
        let attempted_recently = entry
            .last_attempt
            .is_some_and(|at| monotonic.saturating_sub(at) < REFRESH_RETRY_AFTER_NANOS);
        if attempted_recently {
            return Lookup::Serve(entry.token.clone());
        }
        entry.last_attempt = Some(monotonic);
        Lookup::Refresh(entry.token.clone())
    }

    /// Stores `token` for `key`, replacing the key's token. When the cache is full, the token
    /// that expires first makes room.
    pub fn insert(&mut self, key: CacheKey, token: AccessToken) {
        let entry = Entry {
            key,
            token,
            last_attempt: None,
        };
        let CacheKey {
            tenant_id,
            scopes,
            cae,
        } = &entry.key;
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

    /// Forgets every token.
    pub fn clear(&mut self) {
        self.entries.clear();
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

    #[test]
    fn after_a_refresh_attempt_the_token_is_served_for_30_seconds() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        assert!(matches!(
            cache.lookup_key(&key, 5_000, 100 * SECOND),
            Lookup::Refresh(_)
        ));
        assert!(matches!(
            cache.lookup_key(&key, 5_001, 129 * SECOND),
            Lookup::Serve(_)
        ));
        assert!(matches!(
            cache.lookup_key(&key, 5_030, 130 * SECOND),
            Lookup::Refresh(_)
        ));
    }

    #[test]
    fn an_expired_token_is_never_served() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        assert!(matches!(
            cache.lookup_key(&key, 9_990, 0),
            Lookup::Refresh(_)
        ));
        assert_eq!(cache.lookup_key(&key, 10_000, SECOND), Lookup::Request);
    }

    #[test]
    fn a_stored_token_resets_the_attempt_clock() {
        let (mut cache, key) = cache_with(token(10_000, Some(5_000)));
        assert!(matches!(
            cache.lookup_key(&key, 5_000, 0),
            Lookup::Refresh(_)
        ));
        cache.insert(key.clone(), token(20_000, Some(15_000)));
        assert!(matches!(
            cache.lookup_key(&key, 15_000, SECOND),
            Lookup::Refresh(_)
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
