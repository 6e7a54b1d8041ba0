//! Retries of throttling, server faults and transport failures; refusals are final.

use crate::*;
use host_tests::FakeResponse;

for_each_edition!(
    throttling_server_faults_and_refused_connections_are_retried_until_success,
    a_storm_of_503s_ends_after_exactly_four_attempts,
    every_retryable_status_is_retried,
    html_from_a_gateway_is_retried_then_reported_with_an_excerpt,
    refusals_are_final,
    a_retry_after_beyond_the_bound_is_not_waited_for,
    retry_after_as_an_http_date_is_honoured,
    an_answer_that_comes_before_the_body_is_written_is_taken_not_asked_again,
);

fn busy(status: u16) -> FakeResponse {
    FakeResponse::json(status, r#"{"error":"temporarily_unavailable"}"#)
        .with_header("Retry-After", "0")
}

fn throttling_server_faults_and_refused_connections_are_retried_until_success(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(busy(429));
    pod.fake
        .enqueue(FakeResponse::json(503, "{}").with_header("retry-after-ms", "0"));
    // No Retry-After: the first backoff, 0.64 to 0.96 s.
    pod.fake.enqueue_refusal();
    let credential = pod.credential(&explicit_options());
    let token = pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(token.token, pod.fake.issued_token(1));
    assert_eq!(pod.fake.requests().len(), 4);
}

fn a_storm_of_503s_ends_after_exactly_four_attempts(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    for _ in 0..10 {
        pod.fake.enqueue(busy(503));
    }
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(503));
    assert!(
        failure.message.contains("gave up after 4 attempts"),
        "{}",
        failure.message
    );
    assert_eq!(pod.fake.requests().len(), 4);
}

fn every_retryable_status_is_retried(edition: Edition) {
    for status in [408, 429, 500, 502, 503, 504] {
        let mut pod = Pod::new(edition, &[]);
        pod.fake.enqueue(busy(status));
        let credential = pod.credential(&explicit_options());
        assert!(pod.get_token(credential, &[VAULT]).is_ok(), "{status}");
        assert_eq!(pod.fake.requests().len(), 2, "{status}");
    }
}

fn html_from_a_gateway_is_retried_then_reported_with_an_excerpt(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    for _ in 0..4 {
        pod.fake.enqueue(
            FakeResponse::html(502, "<html><title>502 Bad Gateway</title></html>")
                .with_header("Retry-After", "0"),
        );
    }
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(502));
    assert!(
        failure.message.contains("<title>502 Bad Gateway</title>"),
        "{}",
        failure.message
    );
    assert_eq!(pod.fake.requests().len(), 4);
}

fn refusals_are_final(edition: Edition) {
    for status in [400, 401] {
        let mut pod = Pod::new(edition, &[]);
        pod.fake.enqueue(
            FakeResponse::json(
                status,
                r#"{"error":"invalid_client","error_codes":[7000215]}"#,
            )
            .with_header("Retry-After", "0"),
        );
        let credential = pod.credential(&explicit_options());
        assert_eq!(
            authentication_failure(pod.get_token(credential, &[VAULT])).status,
            Some(status)
        );
        assert_eq!(pod.fake.requests().len(), 1, "{status}");
    }
}

fn a_retry_after_beyond_the_bound_is_not_waited_for(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake
        .enqueue(FakeResponse::json(429, "{}").with_header("Retry-After", "3600"));
    let credential = pod.credential(&explicit_options());
    let started = std::time::Instant::now();
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert!(
        failure.message.contains("60 s bound"),
        "{}",
        failure.message
    );
    assert_eq!(pod.fake.requests().len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

fn retry_after_as_an_http_date_is_honoured(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    // The test clock's wall time: a date that is now means no wait.
    pod.fake.enqueue(
        FakeResponse::json(503, "{}").with_header("Retry-After", "Sat, 28 Nov 2026 00:00:00 GMT"),
    );
    let credential = pod.credential(&explicit_options());
    assert!(pod.get_token(credential, &[VAULT]).is_ok());
    assert_eq!(pod.fake.requests().len(), 2);
}

fn an_answer_that_comes_before_the_body_is_written_is_taken_not_asked_again(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    // A server that answers and closes without reading the body (or as soon as it has the
    // declared length): the component's write or finish of the body fails, the answer is there.
    pod.fake.enqueue_before_the_body(FakeResponse::json(
        200,
        r#"{"token_type":"Bearer","expires_in":3599,"access_token":"answered-before-the-body"}"#,
    ));
    let credential = pod.credential(&explicit_options());
    let token = pod.get_token(credential, &[VAULT]).unwrap();
    // Compared, not printed: the other answer would be a token.
    assert!(
        token.token == "answered-before-the-body" && pod.fake.requests().len() == 1,
        "the component asked again after an answer came ({} requests)",
        pod.fake.requests().len()
    );
}
