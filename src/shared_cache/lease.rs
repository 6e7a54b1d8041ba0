//! One refresh across instances: finding a token in the store, taking the lease of its refresh,
//! waiting (boundedly) for another instance's, and writing the result.

use crate::prelude::*;

use super::entry::{Entry, Lease};
use super::seal::{NONCE_BYTES, Sealer, version_of};
use super::store::{Atomics, SharedStore, StoreFailure};
use crate::cache::refresh_at;
use crate::error::AccessToken;
use crate::platform::Platform;
use crate::retry::NANOS_PER_SECOND;

/// How long a lease holds (wall-clock seconds, the clock instances share). Longer than a refresh
/// takes when Entra is well (well under a second), short enough that a holder that crashed
/// delays the others little: when it lapses, another instance takes the refresh over.
pub const LEASE_SECONDS: u64 = 15;

/// Longest an instance waits for another's refresh when it has no valid token to serve (monotonic
/// nanoseconds); then it asks Entra itself. Inside the get-token's 60 s bound, leaving its own
/// request most of it.
pub const WAIT_BOUND_NANOS: u64 = 10 * NANOS_PER_SECOND;

/// The first wait between two looks at the entry; each wait doubles, up to [`MAX_POLL_NANOS`].
const FIRST_POLL_NANOS: u64 = 10_000_000;
const MAX_POLL_NANOS: u64 = 100_000_000;
/// Looks at the entry at most this many times: the waits alone end the loop within the bound,
/// this ends it whatever a store that keeps changing does.
const MAX_LOOKS: u32 = 256;

/// What the store gave.
#[derive(Debug)]
pub enum Fetched {
    /// A valid token, got by another instance: serve it.
    Token(AccessToken),
    /// Ask Entra, holding the lease (`Some`: release it if asking fails) or not (waited in vain);
    /// either way the token got is published.
    Ask(Option<Held>),
    /// The store failed: ask Entra and leave the store alone.
    Bypass,
}

/// A lease this instance holds: the entry as it wrote it when taking the lease.
pub struct Held {
    sealed: Vec<u8>,
    entry: Entry,
}

// By hand: the sealed bytes are never shown, nor anything of the token.
impl core::fmt::Debug for Held {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Held(..)")
    }
}

impl Held {
    /// The entry's token, if it is still valid at `now` (wall-clock seconds): the refresh is
    /// then one short attempt, and if it fails this token serves the caller.
    pub fn valid_token(&self, now: u64) -> Option<&AccessToken> {
        self.entry
            .token
            .as_ref()
            .filter(|token| now < token.expires_on)
    }
}

/// What the entry `name` gives: a token due for refresh only when another instance is already
/// refreshing it (valid tokens are served meanwhile), else the lease of its refresh.
pub async fn fetch(
    store: &mut impl SharedStore,
    platform: &mut impl Platform,
    sealer: &Sealer,
    name: &str,
) -> Fetched {
    let give_up_at = platform.monotonic_nanos().saturating_add(WAIT_BOUND_NANOS);
    let mut poll = FIRST_POLL_NANOS;
    for _ in 0..MAX_LOOKS {
        let Ok(sealed) = store.get(name) else {
            return Fetched::Bypass;
        };
        let entry = sealed
            .as_deref()
            .and_then(|sealed| sealer.open(name, sealed))
            .and_then(|plain| Entry::decode(&plain))
            .unwrap_or(Entry {
                lease: None,
                token: None,
            });
        let now = platform.now();
        let valid = entry.token.clone().filter(|token| now < token.expires_on);
        if let Some(token) = &valid
            && now < refresh_at(token)
        {
            return Fetched::Token(token.clone());
        }
        let leased = entry.lease.is_some_and(|lease| now < lease.until);
        if !leased {
            match claim(store, platform, sealer, name, sealed.as_deref(), &entry) {
                Ok(Claim::Won(held)) => return Fetched::Ask(Some(held)),
                // Replaced since it was read: look again at once.
                Ok(Claim::Changed) => continue,
                Ok(Claim::Taken) => {}
                Err(StoreFailure) => return Fetched::Bypass,
            }
        }
        // Another instance refreshes.
        if let Some(token) = valid {
            return Fetched::Token(token);
        }
        let now = platform.monotonic_nanos();
        if now >= give_up_at {
            break;
        }
        platform.sleep(poll.min(give_up_at - now)).await;
        poll = (poll * 2).min(MAX_POLL_NANOS);
    }
    Fetched::Ask(None)
}

enum Claim {
    Won(Held),
    /// The entry is not what was read any more.
    Changed,
    /// Another instance took the lease.
    Taken,
}

/// Takes the lease on the entry read as `sealed` (`None`: no entry yet), keeping its token so
/// that others serve it while it is valid.
fn claim(
    store: &mut impl SharedStore,
    platform: &mut impl Platform,
    sealer: &Sealer,
    name: &str,
    sealed: Option<&[u8]>,
    entry: &Entry,
) -> Result<Claim, StoreFailure> {
    let random = platform.random_bytes();
    let leased = Entry {
        lease: Some(Lease {
            until: platform.now().saturating_add(LEASE_SECONDS),
            holder: random,
        }),
        token: entry.token.clone(),
    };
    let leased_sealed = seal(platform, sealer, name, &leased);
    let held = Held {
        sealed: leased_sealed,
        entry: leased,
    };
    if let (Atomics::CompareAndSwap, Some(seen)) = (store.atomics(), sealed) {
        return Ok(if store.swap(name, seen, &held.sealed)? {
            Claim::Won(held)
        } else {
            Claim::Changed
        });
    }
    // No compare-and-swap, or no entry to compare with: a compare-and-swap that creates a key is
    // an upsert in Spin's SQLite store, so two racing creators would both win. The first to count
    // a ticket for this version of the entry wins instead.
    let ticket = format!("{name}/lease/{}", version_of(sealed));
    if store.increment(&ticket)? != 1 {
        return Ok(Claim::Taken);
    }
    // First for this version, which may have been replaced meanwhile (its winner has then deleted
    // the ticket, which this count created again).
    let outcome = if store.get(name)?.as_deref() == sealed {
        store.set(name, &held.sealed)?;
        Claim::Won(held)
    } else {
        Claim::Changed
    };
    // Nobody counts tickets of a version that is gone; a ticket left by a crash is one small
    // value, and never blocks anyone: a new version has a new ticket.
    let _ = store.delete(&ticket);
    Ok(outcome)
}

/// Writes the token got for `name`, with no lease. Errors are ignored: the token is the caller's
/// anyway, and the next instance asks for its own.
pub fn publish(
    store: &mut impl SharedStore,
    platform: &mut impl Platform,
    sealer: &Sealer,
    name: &str,
    token: &AccessToken,
) {
    let entry = Entry {
        lease: None,
        token: Some(token.clone()),
    };
    let sealed = seal(platform, sealer, name, &entry);
    let _ = store.set(name, &sealed);
}

/// Gives the lease back after a failed refresh with no valid token, so that waiting instances,
/// which have none to serve, try at once rather than at its end; unless another instance has
/// replaced the entry since. (With a valid token the lease is kept to its end instead: the
/// others serve that token meanwhile, and Entra is not asked again for 15 s.)
pub fn release(
    store: &mut impl SharedStore,
    platform: &mut impl Platform,
    sealer: &Sealer,
    name: &str,
    held: Held,
) {
    let released = Entry {
        lease: None,
        token: held.entry.token,
    };
    let sealed = seal(platform, sealer, name, &released);
    let _ = match store.atomics() {
        Atomics::CompareAndSwap => store.swap(name, &held.sealed, &sealed).map(drop),
        Atomics::IncrementOnly => match store.get(name) {
            Ok(Some(current)) if current == held.sealed => store.set(name, &sealed),
            _ => Ok(()),
        },
    };
}

fn seal(platform: &mut impl Platform, sealer: &Sealer, name: &str, entry: &Entry) -> Vec<u8> {
    let (first, second) = (platform.random_bytes(), platform.random_bytes());
    let mut nonce = [0u8; NONCE_BYTES];
    nonce[..16].copy_from_slice(&first);
    nonce[16..].copy_from_slice(&second[..NONCE_BYTES - 16]);
    sealer.seal(name, entry.encode(), nonce)
}
