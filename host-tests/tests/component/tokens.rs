//! Token acquisition and caching.

use crate::*;
use std::time::Duration;

for_each_edition!(
    token_is_acquired_with_every_request_detail_exact,
    second_call_is_served_from_the_cache,
    a_different_scope_is_a_new_request,
    credentials_keep_separate_caches,
    token_file_is_read_at_get_token_time_and_rotation_is_seen_after_ten_minutes,
    cae_sends_the_client_capability_and_uses_its_own_cache_entry,
    an_additionally_allowed_tenant_is_requested_from_its_own_endpoint,
    free_get_token_uses_one_environment_credential_per_instance,
    free_get_token_without_environment_names_the_missing_settings,
    closed_credential_is_unavailable,
    every_request_carries_timeouts_and_a_fresh_request_id,
    a_scope_smuggling_a_form_field_arrives_as_one_scope,
    a_claims_challenge_is_sent_bypasses_the_cache_and_its_token_replaces_the_rejected_one,
    an_answer_with_only_an_absolute_expires_on_is_served_and_cached_until_then,
);

fn token_is_acquired_with_every_request_detail_exact(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let token = pod.get_token(credential, &[VAULT]).unwrap();

    assert_eq!(token.token, pod.fake.issued_token(1));
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.expires_on, pod.clock.now_seconds() + 3599);
    // No refresh_in from Entra: the credential refreshes 5 minutes before expiry, and says so.
    assert_eq!(token.refresh_on, Some(token.expires_on - 300));

    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some("azure-workload-identity-wasm/0.1.0")
    );
    let request_id = request
        .header("x-ms-client-request-id")
        .expect("request id");
    assert!(is_uuid_v4(request_id), "{request_id}");
    let expected_form = [
        ("client_assertion", ASSERTION),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_id", CLIENT),
        ("grant_type", "client_credentials"),
        ("scope", VAULT),
    ];
    let expected_form: Vec<(String, String)> = expected_form
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(request.form, expected_form);
}

fn is_uuid_v4(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}

fn second_call_is_served_from_the_cache(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let first = pod.get_token(credential, &[VAULT]).unwrap();
    let second = pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(second, first);
    assert_eq!(pod.fake.requests().len(), 1);
}

fn a_different_scope_is_a_new_request(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let vault = pod.get_token(credential, &[VAULT]).unwrap();
    let storage = pod.get_token(credential, &[STORAGE]).unwrap();
    assert_ne!(vault.token, storage.token);
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].field("scope"), Some(STORAGE));
    assert_eq!(pod.get_token(credential, &[VAULT]).unwrap(), vault);
    assert_eq!(pod.fake.requests().len(), 2);
}

fn credentials_keep_separate_caches(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let first = pod.credential(&explicit_options());
    let second = pod.credential(&explicit_options());
    pod.get_token(first, &[VAULT]).unwrap();
    pod.get_token(second, &[VAULT]).unwrap();
    assert_eq!(pod.fake.requests().len(), 2);
}

fn token_file_is_read_at_get_token_time_and_rotation_is_seen_after_ten_minutes(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.write_token("rotated.service.account-token");
    pod.advance(600);
    pod.get_token(credential, &[STORAGE]).unwrap();
    let requests = pod.fake.requests();
    assert_eq!(requests[0].field("client_assertion"), Some(ASSERTION));
    assert_eq!(
        requests[1].field("client_assertion"),
        Some("rotated.service.account-token")
    );
}

fn cae_sends_the_client_capability_and_uses_its_own_cache_entry(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let cae = TokenRequestOptions {
        enable_cae: true,
        ..no_request_options()
    };
    pod.get_token(credential, &[VAULT]).unwrap();
    for _ in 0..2 {
        pod.instance
            .get_token(credential, &[VAULT], &cae)
            .unwrap()
            .unwrap();
    }
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].field("claims"), None);
    assert_eq!(
        requests[1].field("claims"),
        Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#)
    );
}

fn an_additionally_allowed_tenant_is_requested_from_its_own_endpoint(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&WorkloadIdentityOptions {
        additionally_allowed_tenants: vec!["fabrikam.onmicrosoft.com".into()],
        ..explicit_options()
    });
    let other_tenant = TokenRequestOptions {
        tenant_id: Some("fabrikam.onmicrosoft.com".into()),
        ..no_request_options()
    };
    pod.instance
        .get_token(credential, &[VAULT], &other_tenant)
        .unwrap()
        .unwrap();
    assert_eq!(
        pod.fake.requests()[0].url,
        "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
    );
}

fn free_get_token_uses_one_environment_credential_per_instance(edition: Edition) {
    let mut pod = Pod::new(edition, &AKS_ENV);
    let first = pod
        .instance
        .get_token_from_environment(&[VAULT], &no_request_options())
        .unwrap()
        .unwrap();
    let second = pod
        .instance
        .get_token_from_environment(&[VAULT], &no_request_options())
        .unwrap()
        .unwrap();
    assert_eq!(first, second);
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].field("client_id"), Some(CLIENT));
    assert_eq!(requests[0].field("client_assertion"), Some(ASSERTION));
}

fn free_get_token_without_environment_names_the_missing_settings(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let message = unavailable(
        pod.instance
            .get_token_from_environment(&[VAULT], &no_request_options())
            .unwrap(),
    );
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        assert!(message.contains(name), "{name} missing from: {message}");
    }
    assert!(pod.fake.requests().is_empty());
}

fn closed_credential_is_unavailable(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.instance.close(credential).unwrap();
    let message = unavailable(pod.get_token(credential, &[VAULT]));
    assert!(message.contains("closed"), "{message}");
    pod.instance.drop_credential(credential).unwrap();
    assert_eq!(pod.fake.requests().len(), 1);
}

fn every_request_carries_timeouts_and_a_fresh_request_id(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.get_token(credential, &[STORAGE]).unwrap();
    let requests = pod.fake.requests();
    let options = requests[0].options.expect("request options");
    assert_eq!(options.connect_timeout, Some(Duration::from_secs(10)));
    assert_eq!(options.first_byte_timeout, Some(Duration::from_secs(30)));
    assert_eq!(options.between_bytes_timeout, Some(Duration::from_secs(30)));
    assert_ne!(
        requests[0].header("x-ms-client-request-id"),
        requests[1].header("x-ms-client-request-id")
    );
}

fn a_scope_smuggling_a_form_field_arrives_as_one_scope(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let smuggled = "https://vault.azure.net/.default&grant_type=password";
    pod.get_token(credential, &[smuggled]).unwrap();
    let request = &pod.fake.requests()[0];
    assert_eq!(request.field("scope"), Some(smuggled));
    assert_eq!(request.field("grant_type"), Some("client_credentials"));
    assert_eq!(request.form.len(), 5);
}

fn a_claims_challenge_is_sent_bypasses_the_cache_and_its_token_replaces_the_rejected_one(
    edition: Edition,
) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let rejected = pod.get_token(credential, &[VAULT]).unwrap();
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1795824000"}}}"#;
    let challenge = TokenRequestOptions {
        claims: Some(claims.into()),
        ..no_request_options()
    };
    let mut answered = Vec::new();
    for _ in 0..2 {
        answered.push(
            pod.instance
                .get_token(credential, &[VAULT], &challenge)
                .unwrap()
                .unwrap(),
        );
    }
    // The next plain call gets the token that answered the challenge, not the one the resource
    // rejected, and asks Entra nothing.
    let next = pod.get_token(credential, &[VAULT]).unwrap();
    assert_ne!(next, rejected);
    assert_eq!(next, answered[1]);
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].field("claims"), Some(claims));
}

fn an_answer_with_only_an_absolute_expires_on_is_served_and_cached_until_then(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let expires_on = pod.clock.now_seconds() + 3_000;
    // As a string, the way some token services send it.
    let body = format!(
        r#"{{"token_type":"Bearer","access_token":"absolute","expires_on":"{expires_on}"}}"#
    );
    pod.fake.enqueue(host_tests::FakeResponse::json(200, &body));
    let credential = pod.credential(&explicit_options());
    let token = pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(
        (token.token.as_str(), token.expires_on),
        ("absolute", expires_on)
    );
    assert_eq!(token.refresh_on, Some(expires_on - 300));
    pod.advance(2_000);
    assert_eq!(
        pod.get_token(credential, &[VAULT]).unwrap().token,
        "absolute"
    );
    assert_eq!(pod.fake.requests().len(), 1);
}
