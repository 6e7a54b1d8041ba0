//! Hosts and peers that never answer, with the host's real clocks unless a test moves them: the
//! component's own deadline ends every wait, whatever the host does with the request's timeouts,
//! and the same instance works afterwards.

use crate::*;
use host_tests::{FakeResponse, SilentListener};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceAny;

for_each_edition!(
    at once: a_host_that_answers_after_300_s_ignoring_every_timeout_costs_at_most_60_s,
    with_a_valid_token_in_hand_a_stuck_refresh_costs_one_caller_5_s_and_the_others_nothing,
    a_peer_that_never_completes_tls_is_dropped_within_the_bound_through_the_real_client,
);

/// Longer than any bound of the component's: only its own deadline ends the wait.
const NEVER: Duration = Duration::from_secs(300);

fn timed<T>(call: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let result = call();
    (result, started.elapsed())
}

/// A get-token for `scope`, and how long it took; `expect` fails the test if the component trapped.
fn timed_get_token(
    instance: &mut EditionInstance,
    credential: ResourceAny,
    scope: &str,
) -> (Result<AccessToken, CredentialError>, Duration) {
    timed(|| {
        instance
            .get_token(credential, &[scope], &no_request_options())
            .expect("no trap")
    })
}

/// The component's own deadline ended the wait, after 60 s: the host did not.
fn assert_dropped_at_the_bound(message: &str, elapsed: Duration) {
    assert!(
        message.contains("the request was dropped (the host's HTTP client had not ended it)"),
        "{message}"
    );
    assert!(elapsed >= Duration::from_secs(59), "{elapsed:?}");
    assert!(elapsed <= Duration::from_secs(61), "{elapsed:?}");
}

fn a_host_that_answers_after_300_s_ignoring_every_timeout_costs_at_most_60_s(edition: Edition) {
    let fake = FakeEntra::new();
    fake.enqueue_late(NEVER);
    fake.enqueue_late(NEVER);
    let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
    let config =
        HostConfig::new(Transport::Fake(fake.clone())).preopen(tokens.path(), AKS_TOKEN_DIR);
    let mut instance = edition.instantiate(config).unwrap();
    let credential = instance.create(&explicit_options()).unwrap().unwrap();

    let (result, elapsed) = timed_get_token(&mut instance, credential, VAULT);
    let failure = authentication_failure(result);
    assert_dropped_at_the_bound(&failure.message, elapsed);
    assert!(
        failure.message.contains("gave up after 2 attempts in 60."),
        "{}",
        failure.message
    );
    assert_eq!(fake.requests().len(), 2);

    // Asked again at once, the same request gets the same answer without waiting; another
    // request gets a token: the instance works.
    let (again, elapsed) = timed_get_token(&mut instance, credential, VAULT);
    let again = authentication_failure(again).message;
    assert!(again.contains("not asked again"), "{again}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(fake.requests().len(), 2);
    let (result, elapsed) = timed_get_token(&mut instance, credential, STORAGE);
    // The late answers issued tokens 1 and 2 that nobody received.
    assert_eq!(result.unwrap().token, fake.issued_token(3));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

fn with_a_valid_token_in_hand_a_stuck_refresh_costs_one_caller_5_s_and_the_others_nothing(
    edition: Edition,
) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(
        200,
        r#"{"token_type":"Bearer","expires_in":7200,"refresh_in":3600,"access_token":"long-lived-token"}"#,
    ));
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.advance(3600);
    pod.fake.enqueue_late(NEVER);
    let (token, elapsed) = timed(|| pod.get_token(credential, &[VAULT]).unwrap());
    assert_eq!(token.token, "long-lived-token");
    assert!(elapsed >= Duration::from_secs(4), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    // Eight callers after it: served at once, nobody asked.
    let (tokens, elapsed) = timed(|| {
        (0..8)
            .map(|_| pod.get_token(credential, &[VAULT]).unwrap().token)
            .collect::<Vec<_>>()
    });
    assert!(tokens.iter().all(|token| token == "long-lived-token"));
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(pod.fake.requests().len(), 2);
    // 30 s after the attempt ended, the next caller refreshes.
    pod.advance(30);
    let refreshed = pod.get_token(credential, &[VAULT]).unwrap();
    // The late answer issued token 1, which nobody received.
    assert_eq!(refreshed.token, pod.fake.issued_token(2));
}

fn a_peer_that_never_completes_tls_is_dropped_within_the_bound_through_the_real_client(
    edition: Edition,
) {
    let listener = SilentListener::start().unwrap();
    let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
    let config = HostConfig::new(Transport::Network).preopen(tokens.path(), AKS_TOKEN_DIR);
    let mut instance = edition.instantiate(config).unwrap();
    let options = WorkloadIdentityOptions {
        authority_host: Some(format!("https://{}", listener.address())),
        ..explicit_options()
    };
    let credential = instance.create(&options).unwrap().unwrap();

    let (result, elapsed) = timed_get_token(&mut instance, credential, VAULT);
    let failure = authentication_failure(result);
    assert_dropped_at_the_bound(&failure.message, elapsed);
    assert_eq!(listener.connections(), 2);

    // The instance is not wedged: with the peer gone, the next call fails soon, for its own
    // reason (retries of a refused connection take a few seconds of backoff).
    drop(listener);
    let (result, elapsed) = timed_get_token(&mut instance, credential, STORAGE);
    let failure = authentication_failure(result);
    assert!(
        failure.message.contains("the connection was refused"),
        "{}",
        failure.message
    );
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}
