//! Calls overlapping on one credential, as WASI 0.3 runs them: each call's future is polled in
//! turn, and token requests wait at a gate the test opens, so that the calls meet in flight.

use crate::prelude::*;

use crate::credential::{TokenRequestOptions, WorkloadIdentityCredential};
use crate::error::{AccessToken, CredentialError};
use crate::platform::{FilePlatform, FileReadError, HttpRequest, HttpResponse, Platform};
use crate::ready;
use crate::scripted_platform::ScriptedPlatform;
use crate::settings::{Settings, WorkloadIdentityOptions};
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

const VAULT: &str = "https://vault.azure.net/.default";
const STORAGE: &str = "https://storage.azure.com/.default";

/// One scripted host shared by every call; its requests wait until the gate opens.
#[derive(Clone)]
struct GatedPlatform {
    host: Rc<RefCell<ScriptedPlatform>>,
    open: Rc<Cell<bool>>,
    /// Requests sent and not answered yet.
    in_flight: Rc<Cell<usize>>,
}

impl GatedPlatform {
    fn new() -> GatedPlatform {
        GatedPlatform {
            host: Rc::new(RefCell::new(ScriptedPlatform::new())),
            open: Rc::new(Cell::new(false)),
            in_flight: Rc::new(Cell::new(0)),
        }
    }

    fn requests(&self) -> usize {
        self.host.borrow().requests.len()
    }
}

impl Platform for GatedPlatform {
    const CALLS_OVERLAP: bool = true;

    fn now(&mut self) -> u64 {
        self.host.borrow_mut().now()
    }
    fn monotonic_nanos(&mut self) -> u64 {
        self.host.borrow_mut().monotonic_nanos()
    }
    async fn sleep(&mut self, nanos: u64) {
        ready::run(self.host.borrow_mut().sleep(nanos));
    }
    fn random_bytes(&mut self) -> [u8; 16] {
        self.host.borrow_mut().random_bytes()
    }
    async fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.in_flight.set(self.in_flight.get() + 1);
        let open = self.open.clone();
        poll_fn(|_| match open.get() {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        self.in_flight.set(self.in_flight.get() - 1);
        ready::run(self.host.borrow_mut().send(request))
    }
}

impl FilePlatform for GatedPlatform {
    async fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FileReadError> {
        ready::run(self.host.borrow_mut().read_file(path, limit))
    }
}

fn credential() -> WorkloadIdentityCredential {
    let options = WorkloadIdentityOptions {
        tenant_id: Some("tenant".into()),
        client_id: Some("client".into()),
        token_file_path: Some("/tokens/token".into()),
        ..Default::default()
    };
    WorkloadIdentityCredential::new(Settings::resolve(&options, |_| None).unwrap())
}

type Call<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, CredentialError>> + 'a>>;

fn call<'a>(
    credential: &'a WorkloadIdentityCredential,
    platform: &GatedPlatform,
    scope: &'a str,
    options: TokenRequestOptions,
) -> Call<'a> {
    let mut platform = platform.clone();
    Box::pin(async move {
        credential
            .get_token(&[scope.to_owned()], &options, &mut platform)
            .await
    })
}

/// Polls each call once; the results of those that ended.
fn poll_all(
    calls: &mut [Option<Call<'_>>],
    waker: &Waker,
) -> Vec<Option<Result<AccessToken, CredentialError>>> {
    let mut context = Context::from_waker(waker);
    calls
        .iter_mut()
        .map(|slot| {
            let call = slot.as_mut()?;
            match call.as_mut().poll(&mut context) {
                Poll::Ready(result) => {
                    *slot = None;
                    Some(result)
                }
                Poll::Pending => None,
            }
        })
        .collect()
}

/// Runs the calls to their ends: polled until each is waiting, then the gate opens.
fn run_together(
    calls: Vec<Call<'_>>,
    platform: &GatedPlatform,
) -> Vec<Result<AccessToken, CredentialError>> {
    let mut calls: Vec<Option<Call<'_>>> = calls.into_iter().map(Some).collect();
    let mut results: Vec<Option<Result<AccessToken, CredentialError>>> =
        calls.iter().map(|_| None).collect();
    for _ in 0..2 {
        for (slot, result) in results.iter_mut().zip(poll_all(&mut calls, Waker::noop())) {
            if result.is_some() {
                *slot = result;
            }
        }
    }
    platform.open.set(true);
    for _ in 0..4 {
        for (slot, result) in results.iter_mut().zip(poll_all(&mut calls, Waker::noop())) {
            if result.is_some() {
                *slot = result;
            }
        }
    }
    results
        .into_iter()
        .map(|result| result.expect("every call ended once the gate opened"))
        .collect()
}

#[test]
fn calls_for_one_token_at_once_make_one_request_and_share_its_token() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let calls = (0..100)
        .map(|_| call(&credential, &platform, VAULT, Default::default()))
        .collect();
    let results = run_together(calls, &platform);
    assert_eq!(platform.requests(), 1);
    for result in results {
        assert_eq!(result.unwrap().token, "token-1");
    }
}

#[test]
fn calls_for_different_tokens_are_requested_at_the_same_time() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let mut calls: Vec<Option<Call<'_>>> = vec![
        Some(call(&credential, &platform, VAULT, Default::default())),
        Some(call(&credential, &platform, STORAGE, Default::default())),
        Some(call(&credential, &platform, VAULT, Default::default())),
    ];
    poll_all(&mut calls, Waker::noop());
    assert_eq!(
        platform.in_flight.get(),
        2,
        "one request per token, both in flight"
    );
    platform.open.set(true);
    poll_all(&mut calls, Waker::noop());
    poll_all(&mut calls, Waker::noop());
    assert!(calls.iter().all(Option::is_none));
    assert_eq!(platform.requests(), 2);
}

#[test]
fn a_refusal_is_shared_by_the_calls_waiting_for_it() {
    let platform = GatedPlatform::new();
    platform.host.borrow_mut().answer(
        400,
        &[],
        r#"{"error":"invalid_client","error_codes":[70021]}"#,
    );
    let credential = credential();
    let calls = (0..5)
        .map(|_| call(&credential, &platform, VAULT, Default::default()))
        .collect();
    for result in run_together(calls, &platform) {
        assert!(
            matches!(&result, Err(CredentialError::AuthenticationFailed(failure)) if failure.error_codes == [70021]),
            "{result:?}"
        );
    }
    assert_eq!(platform.requests(), 1);
}

#[test]
fn a_cancelled_request_leaves_its_waiters_to_ask_themselves() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let mut calls: Vec<Option<Call<'_>>> = (0..3)
        .map(|_| Some(call(&credential, &platform, VAULT, Default::default())))
        .collect();
    poll_all(&mut calls, Waker::noop());
    assert_eq!(platform.in_flight.get(), 1);
    // The caller of the first call cancels it: its future is dropped mid-request.
    calls[0] = None;
    poll_all(&mut calls, Waker::noop());
    assert_eq!(
        platform.in_flight.get(),
        2,
        "the cancelled request, and one new one"
    );
    platform.open.set(true);
    poll_all(&mut calls, Waker::noop());
    poll_all(&mut calls, Waker::noop());
    assert!(calls.iter().all(Option::is_none));
    assert_eq!(
        platform.requests(),
        1,
        "the cancelled one never reached the host"
    );
}

#[test]
fn a_valid_token_is_served_at_once_while_another_call_refreshes_it() {
    let platform = GatedPlatform::new();
    platform.open.set(true);
    let credential = credential();
    let first = ready::run(call(&credential, &platform, VAULT, Default::default())).unwrap();
    platform.open.set(false);
    // Due for refresh (5 minutes before expiry), still valid.
    platform.host.borrow_mut().advance_seconds(3600 - 200);
    let mut calls: Vec<Option<Call<'_>>> = vec![
        Some(call(&credential, &platform, VAULT, Default::default())),
        Some(call(&credential, &platform, VAULT, Default::default())),
    ];
    let results = poll_all(&mut calls, Waker::noop());
    assert!(calls[0].is_some(), "the first refreshes");
    assert_eq!(
        results[1].as_ref().unwrap().as_ref().unwrap().token,
        first.token
    );
    platform.open.set(true);
    let results = poll_all(&mut calls, Waker::noop());
    assert_eq!(
        results[0].as_ref().unwrap().as_ref().unwrap().token,
        "token-2"
    );
}

#[test]
fn a_challenged_call_flies_alone() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let challenge = TokenRequestOptions {
        claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
        ..Default::default()
    };
    let calls = vec![
        call(&credential, &platform, VAULT, Default::default()),
        call(&credential, &platform, VAULT, challenge.clone()),
        call(&credential, &platform, VAULT, challenge),
    ];
    run_together(calls, &platform);
    assert_eq!(platform.requests(), 3);
}

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_waiting_call_is_woken_once_its_flight_lands() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let woken = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(woken.clone());
    let mut calls: Vec<Option<Call<'_>>> = vec![
        Some(call(&credential, &platform, VAULT, Default::default())),
        Some(call(&credential, &platform, VAULT, Default::default())),
    ];
    poll_all(&mut calls, &waker);
    poll_all(&mut calls, &waker);
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    platform.open.set(true);
    // Only the requesting call is polled; landing its answer wakes the waiting one.
    let mut context = Context::from_waker(Waker::noop());
    assert!(
        calls[0]
            .as_mut()
            .unwrap()
            .as_mut()
            .poll(&mut context)
            .is_ready()
    );
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
}

#[test]
fn a_plain_call_never_takes_the_token_of_a_challenged_one_in_flight() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let challenge = TokenRequestOptions {
        claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
        ..Default::default()
    };
    // The challenged call is in flight first; the plain one must ask for a plain token itself.
    let results = run_together(
        vec![
            call(&credential, &platform, VAULT, challenge),
            call(&credential, &platform, VAULT, Default::default()),
        ],
        &platform,
    );
    assert_eq!(platform.requests(), 2);
    assert_ne!(
        results[0].as_ref().unwrap().token,
        results[1].as_ref().unwrap().token
    );
    assert!(platform.host.borrow().field(0, "claims").is_some());
    assert!(platform.host.borrow().field(1, "claims").is_none());
}

#[test]
fn a_call_whose_flights_keep_being_cancelled_asks_itself_after_four() {
    let platform = GatedPlatform::new();
    let credential = credential();
    let mut calls: Vec<Option<Call<'_>>> = vec![
        Some(call(&credential, &platform, VAULT, Default::default())),
        Some(call(&credential, &platform, VAULT, Default::default())),
    ];
    // calls[0] flies, calls[1] (the waiter) joins it.
    poll_all(&mut calls, Waker::noop());
    assert_eq!(platform.in_flight.get(), 1);
    for cancelled in 1..=4 {
        // The flight is cancelled, and another call takes off before the waiter looks again.
        calls[0] = None;
        calls[0] = Some(call(&credential, &platform, VAULT, Default::default()));
        let mut context = Context::from_waker(Waker::noop());
        assert!(
            calls[0]
                .as_mut()
                .unwrap()
                .as_mut()
                .poll(&mut context)
                .is_pending()
        );
        assert!(
            calls[1]
                .as_mut()
                .unwrap()
                .as_mut()
                .poll(&mut context)
                .is_pending()
        );
        let own_request = usize::from(cancelled == 4);
        assert_eq!(
            platform.in_flight.get(),
            cancelled + 1 + own_request,
            "after {cancelled} cancelled flights"
        );
    }
}

#[test]
fn flights_debug_shows_how_many_and_nothing_they_carry() {
    let flights = super::Flights::default();
    let key = crate::cache::CacheKey::new(None, &[VAULT.to_owned()], false);
    let flight = flights.take_off(key);
    assert_eq!(format!("{flights:?}"), "Flights { in_flight: 1 }");
    let token = AccessToken {
        token: "secret-token".into(),
        expires_on: 1,
        refresh_on: None,
        token_type: "Bearer".into(),
    };
    flight.land(&Ok(token));
    assert_eq!(format!("{flights:?}"), "Flights { in_flight: 0 }");
}
