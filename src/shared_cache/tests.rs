//! The shared cache through the credential: what instances that share a store do.

use crate::prelude::*;

use super::entry::{Entry, Lease};
use super::model_store::{Interleaved, ModelStore, Values, increment};
use super::seal::{NONCE_BYTES, version_of};
use super::store::Atomics;
use super::{LEASE_SECONDS, Sealer, entry_name};
use crate::credential::WorkloadIdentityCredential;
use crate::error::{AccessToken, CredentialError};
use crate::ready::run;
use crate::scripted_platform::ScriptedPlatform;
use crate::settings::{Settings, WorkloadIdentityOptions};

const VAULT: &str = "https://vault.azure.net/.default";
const ASSERTION: &str = "service-account-jwt";
const SECOND: u64 = 1_000_000_000;

fn settings() -> Settings {
    let options = WorkloadIdentityOptions {
        tenant_id: Some("tenant".into()),
        client_id: Some("client".into()),
        token_file_path: Some("/tokens/token".into()),
        authority_host: None,
        additionally_allowed_tenants: vec![],
    };
    Settings::resolve(&options, |_| None).unwrap()
}

/// A fresh instance's credential.
fn instance() -> WorkloadIdentityCredential {
    WorkloadIdentityCredential::new(settings())
}

fn name() -> String {
    entry_name(&settings(), None, "tenant", &[VAULT.into()], false)
}

fn platform() -> ScriptedPlatform {
    let mut platform = ScriptedPlatform::new();
    platform.distinct_randoms = true;
    platform
}

fn get(
    credential: &mut WorkloadIdentityCredential,
    platform: &mut ScriptedPlatform,
    store: &mut ModelStore,
) -> Result<AccessToken, CredentialError> {
    run(credential.get_token_shared(&[VAULT.into()], &Default::default(), platform, Some(store)))
}

fn stored(values: &Values) -> Option<Entry> {
    let plain = Sealer::from_assertion(ASSERTION).open(&name(), values.get(&name())?)?;
    Entry::decode(&plain)
}

fn store_entry(values: &mut Values, entry: &Entry, nonce: u8) {
    let sealed =
        Sealer::from_assertion(ASSERTION).seal(&name(), entry.encode(), [nonce; NONCE_BYTES]);
    values.insert(name(), sealed);
}

/// A token of another instance's, `expires_in` seconds from `wall`, due `refresh_in` from it.
fn token_of_another(wall: u64, expires_in: u64, refresh_in: u64) -> AccessToken {
    AccessToken {
        token: "token-of-another-instance".into(),
        expires_on: wall + expires_in,
        refresh_on: Some(wall + refresh_in),
        token_type: "Bearer".into(),
    }
}

fn lease_until(until: u64) -> Option<Lease> {
    Some(Lease {
        until,
        holder: [0xee; 16],
    })
}

#[test]
fn a_fresh_instance_serves_the_token_another_got_without_asking() {
    for atomics in [Atomics::CompareAndSwap, Atomics::IncrementOnly] {
        let mut platform = platform();
        let mut store = ModelStore::new(atomics);
        let first = get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(platform.requests.len(), 1);
        // Stored sealed, with no lease left behind, and nothing else (the ticket is gone).
        assert_eq!(store.values.len(), 1, "{:?}", store.values.keys());
        let entry = stored(&store.values).unwrap();
        assert_eq!((entry.token.as_ref(), entry.lease), (Some(&first), None));
        let sealed = &store.values[&name()];
        assert!(
            !sealed
                .windows(first.token.len())
                .any(|w| w == first.token.as_bytes())
        );

        platform.advance_seconds(100);
        let second = get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(second, first, "{atomics:?}");
        assert_eq!(platform.requests.len(), 1, "{atomics:?}: no second request");
        assert!(platform.sleeps.is_empty());
    }
}

#[test]
fn an_entry_another_token_file_sealed_is_a_miss_and_is_replaced() {
    let mut platform = platform();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    get(&mut instance(), &mut platform, &mut store).unwrap();
    // Kubernetes rotated the token file: the entry no longer opens.
    platform.token_file = Ok(b"rotated-service-account-jwt".to_vec());
    let after = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!(
        (after.token.as_str(), platform.requests.len()),
        ("token-2", 2)
    );
    assert_eq!(
        stored(&store.values),
        None,
        "sealed under the new file's key"
    );
    let again = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!((again, platform.requests.len()), (after, 2));
}

#[test]
fn a_refresh_in_progress_elsewhere_is_waited_for_and_its_token_served() {
    for atomics in [Atomics::CompareAndSwap, Atomics::IncrementOnly] {
        let mut platform = platform();
        let wall = platform.wall();
        let mut store = ModelStore::new(atomics);
        let leased = Entry {
            lease: lease_until(wall + 15),
            token: None,
        };
        store_entry(&mut store.values, &leased, 1);
        // The holder writes its token after the waiter's third look.
        store.interleaved.push(Interleaved {
            before: 3,
            action: Box::new(move |values| {
                let done = Entry {
                    lease: None,
                    token: Some(token_of_another(wall, 3600, 3300)),
                };
                store_entry(values, &done, 2);
            }),
        });
        let token = get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(token.token, "token-of-another-instance", "{atomics:?}");
        assert!(platform.requests.is_empty(), "{atomics:?}");
        assert_eq!(
            platform.sleeps,
            [SECOND / 100, SECOND / 50, SECOND / 25],
            "{atomics:?}"
        );
        // Served from the instance's cache afterwards.
        let looks = store.count("get");
        let mut same = instance();
        get(&mut same, &mut platform, &mut store).unwrap();
        get(&mut same, &mut platform, &mut store).unwrap();
        assert_eq!(store.count("get"), looks + 1);
    }
}

#[test]
fn a_lease_never_given_back_is_waited_for_10_s_then_the_instance_asks_within_the_60_s_bound() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    store_entry(
        &mut store.values,
        &Entry {
            lease: lease_until(wall + 1000),
            token: None,
        },
        1,
    );
    let token = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!(token.token, "token-1");
    assert_eq!(platform.sleeps.iter().sum::<u64>(), 10 * SECOND);
    assert!(
        platform.sleeps.len() < 120,
        "{} looks",
        platform.sleeps.len()
    );
    // The wait is part of the get-token's 60 s bound.
    assert!(platform.requests[0].deadline <= 60 * SECOND);
    // What it got is published for the others, the stale lease overwritten.
    let entry = stored(&store.values).unwrap();
    assert_eq!((entry.token, entry.lease), (Some(token), None));
}

#[test]
fn a_lapsed_lease_is_taken_over_at_once() {
    for atomics in [Atomics::CompareAndSwap, Atomics::IncrementOnly] {
        let mut platform = platform();
        let wall = platform.wall();
        let mut store = ModelStore::new(atomics);
        store_entry(
            &mut store.values,
            &Entry {
                lease: lease_until(wall - 1),
                token: None,
            },
            1,
        );
        get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(platform.requests.len(), 1, "{atomics:?}");
        assert!(platform.sleeps.is_empty(), "{atomics:?}");
    }
}

#[test]
fn a_valid_token_is_served_at_once_while_another_instance_refreshes_it() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    // Due for refresh 10 s ago, valid for another 290 s, and another instance on it.
    let due = token_of_another(wall - 3310, 3600, 3300);
    store_entry(
        &mut store.values,
        &Entry {
            lease: lease_until(wall + 10),
            token: Some(due.clone()),
        },
        1,
    );
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store).unwrap(),
        due
    );
    assert!(platform.requests.is_empty() && platform.sleeps.is_empty());
}

#[test]
fn a_due_token_nobody_refreshes_is_refreshed_by_the_lease_holder_and_replaced() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let due = token_of_another(wall - 3310, 3600, 3300);
    store_entry(
        &mut store.values,
        &Entry {
            lease: None,
            token: Some(due),
        },
        1,
    );
    let fresh = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!((fresh.token.as_str(), store.count("swap")), ("token-1", 1));
    assert_eq!(stored(&store.values).unwrap().token, Some(fresh));
}

#[test]
fn a_compare_and_swap_that_loses_looks_again() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let due = token_of_another(wall - 3310, 3600, 3300);
    store_entry(
        &mut store.values,
        &Entry {
            lease: None,
            token: Some(due),
        },
        1,
    );
    // Between the look (op 0) and the swap (op 1), another instance publishes a fresh token.
    store.interleaved.push(Interleaved {
        before: 1,
        action: Box::new(move |values| {
            store_entry(
                values,
                &Entry {
                    lease: None,
                    token: Some(token_of_another(wall, 3600, 3300)),
                },
                2,
            );
        }),
    });
    let token = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!(token.expires_on, wall + 3600);
    assert!(platform.requests.is_empty());
    assert_eq!(store.log.len(), 3, "look, lost swap, look: {:?}", store.log);
}

#[test]
fn without_compare_and_swap_the_first_ticket_of_a_version_wins_and_the_others_wait() {
    // Also what creates an entry in a store with compare-and-swap: Spin's SQLite store makes a
    // swap on a missing key an upsert, which two racing creators would both win.
    for atomics in [Atomics::IncrementOnly, Atomics::CompareAndSwap] {
        let mut platform = platform();
        let wall = platform.wall();
        let mut store = ModelStore::new(atomics);
        let ticket = format!("{}/lease/{}", name(), version_of(None));
        // Another instance counted its ticket first (before our increment, op 1), and publishes
        // its token a little later.
        let ticket_of_another = ticket.clone();
        store.interleaved.push(Interleaved {
            before: 1,
            action: Box::new(move |values| {
                increment(values, &ticket_of_another);
            }),
        });
        store.interleaved.push(Interleaved {
            before: 4,
            action: Box::new(move |values| {
                store_entry(
                    values,
                    &Entry {
                        lease: None,
                        token: Some(token_of_another(wall, 3600, 3300)),
                    },
                    2,
                );
            }),
        });
        let token = get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(token.token, "token-of-another-instance", "{atomics:?}");
        assert!(platform.requests.is_empty(), "{atomics:?}");
        assert_eq!(
            store.count("swap"),
            0,
            "{atomics:?}: no swap creates an entry"
        );
    }
}

#[test]
fn a_ticket_won_for_a_version_already_replaced_is_dropped_and_the_entry_looked_at_again() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::IncrementOnly);
    // Between our look (op 0) and our ticket (op 1), another instance won the ticket, published
    // and deleted it: ours is the first count again, but of a version that is gone.
    store.interleaved.push(Interleaved {
        before: 1,
        action: Box::new(move |values| {
            store_entry(
                values,
                &Entry {
                    lease: None,
                    token: Some(token_of_another(wall, 3600, 3300)),
                },
                2,
            );
        }),
    });
    let token = get(&mut instance(), &mut platform, &mut store).unwrap();
    assert_eq!(token.token, "token-of-another-instance");
    assert!(platform.requests.is_empty());
    assert_eq!(
        store.values.len(),
        1,
        "the ticket counted again is deleted: {:?}",
        store.values.keys()
    );
}

#[test]
fn a_failing_store_costs_requests_only() {
    let mut platform = platform();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    store.failing = true;
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store)
            .unwrap()
            .token,
        "token-1"
    );
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store)
            .unwrap()
            .token,
        "token-2"
    );
    assert!(platform.sleeps.is_empty());
    assert_eq!(store.log.len(), 2, "one look each: {:?}", store.log);
}

#[test]
fn a_failed_request_gives_the_lease_back_for_the_next_instance() {
    for atomics in [Atomics::CompareAndSwap, Atomics::IncrementOnly] {
        let mut platform = platform();
        let mut store = ModelStore::new(atomics);
        platform.answer(
            400,
            &[],
            r#"{"error":"invalid_client","error_codes":[70021]}"#,
        );
        assert!(get(&mut instance(), &mut platform, &mut store).is_err());
        assert_eq!(stored(&store.values).unwrap().lease, None, "{atomics:?}");
        // The next instance asks at once, without waiting for a lease to lapse.
        get(&mut instance(), &mut platform, &mut store).unwrap();
        assert!(platform.sleeps.is_empty(), "{atomics:?}");
        assert_eq!(platform.requests.len(), 2);
    }
}

#[test]
fn a_claims_challenge_skips_the_store_and_its_token_replaces_the_stored_one() {
    let mut platform = platform();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let rejected = get(&mut instance(), &mut platform, &mut store).unwrap();
    let options = crate::credential::TokenRequestOptions {
        claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
        ..Default::default()
    };
    let challenged = run(instance().get_token_shared(
        &[VAULT.into()],
        &options,
        &mut platform,
        Some(&mut store),
    ))
    .unwrap();
    assert_ne!(challenged, rejected);
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store).unwrap(),
        challenged
    );
    assert_eq!(platform.requests.len(), 2);
}

#[test]
fn a_failed_refresh_with_a_valid_token_in_the_store_serves_it_and_holds_the_others_off_15_s() {
    for atomics in [Atomics::CompareAndSwap, Atomics::IncrementOnly] {
        let mut platform = platform();
        let wall = platform.wall();
        let mut store = ModelStore::new(atomics);
        // Due 10 s ago, valid for 290 s more, and nobody refreshing it.
        let due = token_of_another(wall - 3310, 3600, 3300);
        store_entry(
            &mut store.values,
            &Entry {
                lease: None,
                token: Some(due.clone()),
            },
            1,
        );
        platform.answer(503, &[], r#"{"error":"temporarily_unavailable"}"#);
        // The lease holder's one short attempt fails: it serves the valid token.
        assert_eq!(
            get(&mut instance(), &mut platform, &mut store).unwrap(),
            due,
            "{atomics:?}"
        );
        assert_eq!(
            platform.requests.len(),
            1,
            "{atomics:?}: one attempt, no retries"
        );
        assert!(
            platform.requests[0].deadline <= 5 * SECOND,
            "{atomics:?}: a 5 s attempt"
        );
        // The others serve it too, without asking, until the lease ends.
        platform.advance_seconds(LEASE_SECONDS - 1);
        assert_eq!(
            get(&mut instance(), &mut platform, &mut store).unwrap(),
            due
        );
        assert_eq!(platform.requests.len(), 1, "{atomics:?}");
        platform.advance_seconds(1);
        let renewed = get(&mut instance(), &mut platform, &mut store).unwrap();
        assert_eq!(
            (renewed.token.as_str(), platform.requests.len()),
            ("token-1", 2)
        );
    }
}

#[test]
fn what_the_store_gave_shows_no_token_and_no_sealed_bytes_in_debug_output() {
    let mut platform = platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let due = token_of_another(wall - 3310, 3600, 3300);
    store_entry(
        &mut store.values,
        &Entry {
            lease: None,
            token: Some(due.clone()),
        },
        1,
    );
    let fetched = run(super::fetch(
        &mut store,
        &mut platform,
        &Sealer::from_assertion(ASSERTION),
        &name(),
    ));
    assert!(matches!(fetched, super::Fetched::Ask(Some(_))));
    let debug = format!("{fetched:?}");
    assert_eq!(debug, "Ask(Some(Held(..)))");
}

#[test]
fn a_token_is_served_as_it_is_until_its_refresh_time_and_is_valid_until_its_expiry_only() {
    // At its refresh time exactly, a token is due: the lease holder asks.
    let mut platform = self::platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let due_now = token_of_another(wall - 100, 3600, 100);
    store_entry(
        &mut store.values,
        &Entry {
            lease: None,
            token: Some(due_now),
        },
        1,
    );
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store)
            .unwrap()
            .token,
        "token-1"
    );

    // At its expiry exactly, a token is not valid: not served while another instance refreshes
    // it (the waiter waits, then asks), nor by a lease holder whose request fails.
    let mut platform = self::platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    let expiring = token_of_another(wall - 3600, 3600, 3300);
    store_entry(
        &mut store.values,
        &Entry {
            lease: lease_until(wall + 1000),
            token: Some(expiring.clone()),
        },
        1,
    );
    assert_eq!(
        get(&mut instance(), &mut platform, &mut store)
            .unwrap()
            .token,
        "token-1"
    );
    assert_eq!(platform.sleeps.iter().sum::<u64>(), 10 * SECOND);

    let mut platform = self::platform();
    let mut store = ModelStore::new(Atomics::CompareAndSwap);
    store_entry(
        &mut store.values,
        &Entry {
            lease: None,
            token: Some(expiring),
        },
        1,
    );
    platform.answer(
        400,
        &[],
        r#"{"error":"invalid_client","error_codes":[70021]}"#,
    );
    assert!(get(&mut instance(), &mut platform, &mut store).is_err());
}

#[test]
fn a_failed_request_leaves_an_entry_another_instance_replaced_meanwhile() {
    let mut platform = self::platform();
    let wall = platform.wall();
    let mut store = ModelStore::new(Atomics::IncrementOnly);
    // Look (0), ticket (1), look again (2), write the lease (3), drop the ticket (4); the request
    // fails; before the release's look (5), another instance publishes its token.
    store.interleaved.push(Interleaved {
        before: 5,
        action: Box::new(move |values| {
            let done = Entry {
                lease: None,
                token: Some(token_of_another(wall, 3600, 3300)),
            };
            store_entry(values, &done, 2);
        }),
    });
    platform.answer(
        400,
        &[],
        r#"{"error":"invalid_client","error_codes":[70021]}"#,
    );
    assert!(get(&mut instance(), &mut platform, &mut store).is_err());
    let token = stored(&store.values).unwrap().token.unwrap();
    assert_eq!(token.token, "token-of-another-instance", "{:?}", store.log);
}
