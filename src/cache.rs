//! The credential's token cache: one token per tenant, set of scopes and CAE choice.

use crate::error::AccessToken;
use std::collections::HashMap;

/// A cached token is used until this many seconds before it expires, so a caller never gets a
/// token that dies in flight.
pub const EXPIRY_MARGIN_SECONDS: u64 = 5 * 60;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    tenant_id: String,
    /// Sorted and deduplicated: the same scopes in another order are the same token.
    scopes: Vec<String>,
    cae: bool,
}

impl CacheKey {
    pub fn new(tenant_id: &str, scopes: &[String], cae: bool) -> CacheKey {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        CacheKey {
            tenant_id: tenant_id.to_ascii_lowercase(),
            scopes,
            cae,
        }
    }
}

#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: HashMap<CacheKey, AccessToken>,
}

impl TokenCache {
    /// The cached token for `key` if it is good for more than the expiry margin at `now`.
    pub fn get(&self, key: &CacheKey, now: u64) -> Option<&AccessToken> {
        self.tokens
            .get(key)
            .filter(|token| now.saturating_add(EXPIRY_MARGIN_SECONDS) < token.expires_on)
    }

    pub fn insert(&mut self, key: CacheKey, token: AccessToken) {
        self.tokens.insert(key, token);
    }

    pub fn clear(&mut self) {
        self.tokens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_on: u64) -> AccessToken {
        AccessToken {
            token: "t".into(),
            expires_on,
            refresh_on: None,
            token_type: "Bearer".into(),
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn token_is_served_until_five_minutes_before_expiry() {
        let key = CacheKey::new("t", &scopes(&["s"]), false);
        let mut cache = TokenCache::default();
        cache.insert(key.clone(), token(10_000));
        assert!(cache.get(&key, 10_000 - 301).is_some());
        assert!(cache.get(&key, 10_000 - 300).is_none());
        assert!(cache.get(&key, 20_000).is_none());
    }

    #[test]
    fn keys_differ_by_tenant_scopes_and_cae_but_not_scope_order() {
        let base = CacheKey::new("Tenant", &scopes(&["a", "b"]), false);
        assert_eq!(
            base,
            CacheKey::new("tenant", &scopes(&["b", "a", "a"]), false)
        );
        assert_ne!(base, CacheKey::new("other", &scopes(&["a", "b"]), false));
        assert_ne!(base, CacheKey::new("tenant", &scopes(&["a"]), false));
        assert_ne!(base, CacheKey::new("tenant", &scopes(&["a", "b"]), true));
    }

    #[test]
    fn clear_forgets_every_token() {
        let key = CacheKey::new("t", &scopes(&["s"]), false);
        let mut cache = TokenCache::default();
        cache.insert(key.clone(), token(10_000));
        cache.clear();
        assert!(cache.get(&key, 0).is_none());
    }
}
