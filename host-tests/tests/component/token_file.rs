//! The token file: trimmed, re-read after ten minutes, re-read at once when Entra says it expired.

use crate::*;
use host_tests::FakeResponse;

const EXPIRED_ASSERTION: &str = r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-11-28T01:00:00Z, assertion valid from 2026-11-27T23:00:00Z, expiry time of assertion 2026-11-28T00:00:00Z.","error_codes":[700024],"trace_id":"t","correlation_id":"c"}"#;

#[test]
fn whitespace_around_the_token_is_trimmed() {
    let mut pod = Pod::with_tokens(
        TokenDirectory::with_token(&format!("\n  {ASSERTION}\r\n\n")).unwrap(),
        &[],
    );
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(
        pod.fake.requests()[0].field("client_assertion"),
        Some(ASSERTION)
    );
}

#[test]
fn token_file_is_reread_after_ten_minutes_not_before() {
    let mut pod = Pod::new(&[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.write_token("rotated-service-account-token");
    pod.advance(599);
    pod.get_token(credential, &[STORAGE]).unwrap();
    pod.advance(1);
    pod.get_token(credential, &["https://management.azure.com/.default"])
        .unwrap();
    let assertions: Vec<_> = pod
        .fake
        .requests()
        .iter()
        .map(|r| r.field("client_assertion").unwrap().to_owned())
        .collect();
    assert_eq!(
        assertions,
        [ASSERTION, ASSERTION, "rotated-service-account-token"]
    );
}

#[test]
fn expired_assertion_is_reread_and_retried_once() {
    let mut pod = Pod::new(&[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.write_token("rotated-service-account-token");
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    let token = pod.get_token(credential, &[STORAGE]).unwrap();
    assert_eq!(token.token, FakeEntra::issued_token(2));
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].field("client_assertion"), Some(ASSERTION));
    assert_eq!(
        requests[2].field("client_assertion"),
        Some("rotated-service-account-token")
    );
}

#[test]
fn a_second_expired_assertion_is_reported_with_its_likely_cause() {
    let mut pod = Pod::new(&[]);
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    let credential = pod.credential(&explicit_options());
    let Err(CredentialError::AuthenticationFailed(failure)) = pod.get_token(credential, &[VAULT])
    else {
        panic!("expected authentication-failed");
    };
    assert_eq!(failure.error_codes, vec![700024]);
    assert!(
        failure.message.contains("Likely cause (AADSTS700024)"),
        "{}",
        failure.message
    );
    assert_eq!(pod.fake.requests().len(), 2);
}

#[test]
fn oversized_token_file_is_unavailable() {
    let big = "x".repeat(64 * 1024 + 1);
    let mut pod = Pod::with_tokens(TokenDirectory::with_token(&big).unwrap(), &[]);
    let credential = pod.credential(&explicit_options());
    assert!(unavailable(pod.get_token(credential, &[VAULT])).contains("larger than 64 KiB"));
    assert!(pod.fake.requests().is_empty());
}
