//! Faults from a real server on 127.0.0.1, reached through wasmtime-wasi-http's real client with
//! the host's real clocks: every outcome is a `credential-error` (a trap would fail the `unwrap`
//! of the call), within the get-token bound, and the same instance works afterwards.

use crate::*;
use host_tests::{LocalServer, ServerAnswer};
use std::time::{Duration, Instant};

for_each_edition!(
    a_token_comes_through_the_real_client,
    a_connection_closed_mid_body_is_retried,
    a_connection_reset_mid_body_is_retried,
    resets_on_every_attempt_end_in_an_error_naming_the_cause,
    a_ten_mib_body_is_refused_and_the_instance_stays_small,
    an_html_502_from_a_gateway_is_reported_with_status_and_excerpt,
);

for_each_edition!(
    at once: connection_refused_is_retried_then_reported,
    a_server_that_never_answers_is_bounded_by_the_get_token_limit,
    a_slow_drip_body_ends_at_the_attempt_bound_and_is_retried,
    a_503_storm_without_retry_after_makes_exactly_four_attempts_with_backoff,
    a_429_storm_with_retry_after_makes_exactly_four_attempts_as_told,
);

/// A pod whose token requests go to a local server.
struct LocalPod {
    server: LocalServer,
    _tokens: TokenDirectory,
    instance: EditionInstance,
    credential: ResourceAny,
}

impl LocalPod {
    fn new(edition: Edition) -> LocalPod {
        let server = LocalServer::start().unwrap();
        LocalPod::to(edition, server.address(), server)
    }

    fn to(edition: Edition, address: std::net::SocketAddr, server: LocalServer) -> LocalPod {
        let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
        let config =
            HostConfig::new(Transport::Local(address)).preopen(tokens.path(), AKS_TOKEN_DIR);
        let mut instance = edition.instantiate(config).unwrap();
        let credential = instance.create(&explicit_options()).unwrap().unwrap();
        LocalPod {
            server,
            _tokens: tokens,
            instance,
            credential,
        }
    }

    /// A get-token; `unwrap` of the outer result fails the test if the component trapped.
    fn get_token(&mut self, scope: &str) -> (Result<AccessToken, CredentialError>, Duration) {
        let started = Instant::now();
        let result = self
            .instance
            .get_token(self.credential, &[scope], &no_request_options())
            .expect("the component must not trap");
        (result, started.elapsed())
    }

    /// The fault is over: the same instance gets a token from the now healthy server.
    fn still_works(&mut self) {
        let (result, _) = self.get_token("https://after-the-fault/.default");
        let token = result.expect("the instance works after the fault");
        assert!(
            token.token.starts_with("local-access-token-"),
            "{}",
            token.token
        );
    }
}

fn failure_message(result: Result<AccessToken, CredentialError>) -> (Option<u16>, String) {
    let failure = authentication_failure(result);
    (failure.status, failure.message)
}

fn a_token_comes_through_the_real_client(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    let (result, _) = pod.get_token(VAULT);
    assert_eq!(result.unwrap().token, "local-access-token-1");
    assert_eq!(pod.server.requests(), 1);
}

fn connection_refused_is_retried_then_reported(edition: Edition) {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let mut pod = LocalPod::to(edition, address, LocalServer::start().unwrap());
    let (result, elapsed) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, None);
    assert!(message.contains("the connection was refused"), "{message}");
    assert!(message.contains("gave up after 4 attempts"), "{message}");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

fn a_connection_closed_mid_body_is_retried(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    pod.server.enqueue(ServerAnswer::CloseMidBody);
    let (result, _) = pod.get_token(VAULT);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(pod.server.requests(), 2);
}

fn a_connection_reset_mid_body_is_retried(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    pod.server.enqueue(ServerAnswer::ResetMidBody);
    pod.server.enqueue(ServerAnswer::ResetMidBody);
    let (result, _) = pod.get_token(VAULT);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(pod.server.requests(), 3);
}

fn resets_on_every_attempt_end_in_an_error_naming_the_cause(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    for _ in 0..4 {
        pod.server.enqueue(ServerAnswer::ResetMidBody);
    }
    let (result, _) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, None);
    assert!(
        message.contains("reading the response body failed"),
        "{message}"
    );
    assert_eq!(pod.server.requests(), 4);
    pod.still_works();
}

fn a_server_that_never_answers_is_bounded_by_the_get_token_limit(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    // Two attempts fit in the bound: 30 s of first-byte timeout, a backoff, and the rest.
    pod.server.enqueue(ServerAnswer::NeverAnswer);
    pod.server.enqueue(ServerAnswer::NeverAnswer);
    let (result, elapsed) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, None);
    assert!(message.contains("did not arrive in time"), "{message}");
    assert!(
        elapsed >= Duration::from_secs(29),
        "timeouts fired early: {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(62),
        "past the bound: {elapsed:?}"
    );
    assert_eq!(pod.server.requests(), 2);
    pod.still_works();
}

fn a_slow_drip_body_ends_at_the_attempt_bound_and_is_retried(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    pod.server.enqueue(ServerAnswer::SlowDrip);
    pod.server.enqueue(ServerAnswer::SlowDrip);
    let (result, elapsed) = pod.get_token(VAULT);
    let (_, message) = failure_message(result);
    assert!(
        message.contains("the response body (HTTP 200) did not end within"),
        "{message}"
    );
    assert!(
        elapsed >= Duration::from_secs(59) && elapsed <= Duration::from_secs(62),
        "not the bound: {elapsed:?}"
    );
    assert_eq!(
        pod.server.requests(),
        2,
        "one attempt of 45 s, one of what is left"
    );
    pod.still_works();
}

fn a_ten_mib_body_is_refused_and_the_instance_stays_small(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    for _ in 0..4 {
        pod.server.enqueue(ServerAnswer::HugeBody(10 * 1024 * 1024));
    }
    let (result, _) = pod.get_token(VAULT);
    let (_, message) = failure_message(result);
    assert!(message.contains("larger than 1024 KiB"), "{message}");
    assert_eq!(pod.server.requests(), 4);
    let memory = pod.instance.linear_memory_bytes();
    assert!(
        memory < 4 * 1024 * 1024,
        "linear memory grew to {memory} bytes"
    );
    pod.still_works();
}

fn a_503_storm_without_retry_after_makes_exactly_four_attempts_with_backoff(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    for _ in 0..10 {
        pod.server
            .enqueue(ServerAnswer::status(503, &[], "Service Unavailable"));
    }
    let (result, elapsed) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, Some(503));
    assert!(message.contains("gave up after 4 attempts"), "{message}");
    assert_eq!(pod.server.requests(), 4);
    // 0.8 s, 1.6 s and 3.2 s, each at least 80% of that.
    assert!(elapsed >= Duration::from_millis(4480), "{elapsed:?}");
}

fn a_429_storm_with_retry_after_makes_exactly_four_attempts_as_told(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    for _ in 0..10 {
        pod.server.enqueue(ServerAnswer::status(
            429,
            &[("retry-after", "1"), ("content-type", "application/json")],
            r#"{"error":"temporarily_unavailable","error_codes":[50196]}"#,
        ));
    }
    let (result, elapsed) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, Some(429));
    assert!(message.contains("Likely cause (AADSTS50196)"), "{message}");
    assert_eq!(pod.server.requests(), 4);
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

fn an_html_502_from_a_gateway_is_reported_with_status_and_excerpt(edition: Edition) {
    let mut pod = LocalPod::new(edition);
    for _ in 0..4 {
        pod.server.enqueue(ServerAnswer::status(
            502,
            &[("content-type", "text/html"), ("retry-after", "0")],
            "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
        ));
    }
    let (result, _) = pod.get_token(VAULT);
    let (status, message) = failure_message(result);
    assert_eq!(status, Some(502));
    assert!(
        message.contains("<title>502 Bad Gateway</title>"),
        "{message}"
    );
    pod.still_works();
}
