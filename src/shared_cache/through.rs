//! A token request through the shared store: what the instance's cache could not serve is looked
//! for in the store; the source is asked only by the instance that takes the lease (or one that
//! waited in vain), and what it gets is written back.

use super::lease::{Fetched, fetch, publish, release};
use super::seal::Sealer;
use super::store::SharedStore;
use crate::cache::refresh_at;
use crate::error::{AccessToken, CredentialError};
use crate::platform::Platform;

/// Gets the token of the entry `name`, sealed under `assertion` (the token file's contents), from
/// `store` or else from `source`. `source` is told whether a valid token is in hand (one short
/// attempt then, as with a valid token in the instance's cache); if that attempt fails, that
/// token is returned, and its lease kept to its end so that no instance asks again before. A
/// challenged request (`challenged`: claims) skips the store, like the instance's cache, and its
/// token replaces the stored one, so that no instance serves the rejected token again.
pub async fn through_store<P: Platform>(
    store: &mut impl SharedStore,
    platform: &mut P,
    assertion: &str,
    name: &str,
    challenged: bool,
    source: impl AsyncFnOnce(&mut P, bool) -> Result<AccessToken, CredentialError>,
) -> Result<AccessToken, CredentialError> {
    let sealer = Sealer::from_assertion(assertion);
    let fetched = if challenged {
        Fetched::Ask(None)
    } else {
        fetch(store, platform, &sealer, name).await
    };
    let held = match fetched {
        Fetched::Token(token) => return Ok(token),
        // The store failed: the source alone, as without a store.
        Fetched::Bypass => return source(platform, false).await,
        Fetched::Ask(held) => held,
    };
    let now = platform.now();
    let in_store = held
        .as_ref()
        .and_then(|held| held.valid_token(now))
        .cloned();
    match (source(platform, in_store.is_some()).await, held) {
        (Ok(token), _) => {
            // Stored as the instance's cache will return it: with the one refresh rule's time.
            let token = AccessToken {
                refresh_on: Some(refresh_at(&token)),
                ..token
            };
            publish(store, platform, &sealer, name, &token);
            Ok(token)
        }
        (Err(error), Some(held)) => match in_store {
            // The lease is kept to its end: the other instances serve the same token meanwhile,
            // and none asks again before.
            Some(token) => Ok(token),
            None => {
                release(store, platform, &sealer, name, held);
                Err(error)
            }
        },
        (Err(error), None) => Err(error),
    }
}
