//! Cache and refresh rules, with the host's clocks moved by the test.

use crate::*;
use host_tests::FakeResponse;

for_each_edition!(
    cached_token_is_served_until_five_minutes_before_expiry,
    refresh_on_comes_from_refresh_in_or_half_of_a_long_lifetime,
    refresh_on_starts_one_refresh_however_many_calls_ask,
    a_failed_refresh_serves_the_valid_token_and_is_not_retried_for_30_seconds,
    an_expired_token_is_never_returned,
);

/// A token Entra advises refreshing after an hour.
const LONG_LIVED: &str = r#"{"token_type":"Bearer","expires_in":7200,"ext_expires_in":7200,"refresh_in":3600,"access_token":"long-lived-token"}"#;
const REFUSAL: &str = r#"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found.","error_codes":[70021]}"#;

fn pod_with_long_lived_token(edition: Edition) -> (Pod, wasmtime::component::ResourceAny) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(200, LONG_LIVED));
    let credential = pod.credential(&explicit_options());
    let token = pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(token.token, "long-lived-token");
    (pod, credential)
}

fn cached_token_is_served_until_five_minutes_before_expiry(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let first = pod.get_token(credential, &[VAULT]).unwrap();
    pod.advance(3599 - 301);
    assert_eq!(pod.get_token(credential, &[VAULT]).unwrap(), first);
    assert_eq!(pod.fake.requests().len(), 1);
    pod.advance(1);
    assert_eq!(
        pod.get_token(credential, &[VAULT]).unwrap().token,
        pod.fake.issued_token(2)
    );
    assert_eq!(pod.fake.requests().len(), 2);
}

fn refresh_on_comes_from_refresh_in_or_half_of_a_long_lifetime(edition: Edition) {
    let (mut pod, credential) = pod_with_long_lived_token(edition);
    let start = pod.clock.now_seconds();
    let token = pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(token.refresh_on, Some(start + 3600));
    assert_eq!(token.expires_on, start + 7200);
    pod.fake.enqueue(FakeResponse::json(
        200,
        r#"{"expires_in":"86400","access_token":"day-long-token"}"#,
    ));
    let day_long = pod.get_token(credential, &[STORAGE]).unwrap();
    assert_eq!(day_long.refresh_on, Some(start + 43_200));
}

fn refresh_on_starts_one_refresh_however_many_calls_ask(edition: Edition) {
    let (mut pod, credential) = pod_with_long_lived_token(edition);
    pod.advance(3599);
    assert_eq!(
        pod.get_token(credential, &[VAULT]).unwrap().token,
        "long-lived-token"
    );
    pod.advance(1);
    for _ in 0..100 {
        assert_eq!(
            pod.get_token(credential, &[VAULT]).unwrap().token,
            pod.fake.issued_token(1)
        );
    }
    assert_eq!(pod.fake.requests().len(), 2);
}

fn a_failed_refresh_serves_the_valid_token_and_is_not_retried_for_30_seconds(edition: Edition) {
    let (mut pod, credential) = pod_with_long_lived_token(edition);
    pod.advance(3600);
    pod.fake.enqueue(FakeResponse::json(400, REFUSAL));
    for _ in 0..20 {
        assert_eq!(
            pod.get_token(credential, &[VAULT]).unwrap().token,
            "long-lived-token"
        );
    }
    pod.advance(29);
    assert_eq!(
        pod.get_token(credential, &[VAULT]).unwrap().token,
        "long-lived-token"
    );
    assert_eq!(pod.fake.requests().len(), 2);
    pod.advance(1);
    assert_eq!(
        pod.get_token(credential, &[VAULT]).unwrap().token,
        pod.fake.issued_token(1)
    );
    assert_eq!(pod.fake.requests().len(), 3);
}

fn an_expired_token_is_never_returned(edition: Edition) {
    let (mut pod, credential) = pod_with_long_lived_token(edition);
    pod.advance(7200);
    pod.fake.enqueue(FakeResponse::json(400, REFUSAL));
    assert!(matches!(
        pod.get_token(credential, &[VAULT]),
        Err(CredentialError::AuthenticationFailed(_))
    ));
}
