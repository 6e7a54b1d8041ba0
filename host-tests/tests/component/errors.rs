//! Bad arguments and refusals from Entra.

use crate::*;
use host_tests::FakeResponse;

for_each_edition!(
    aadsts70021_error_body_is_mapped_field_by_field,
    a_failure_is_not_cached_and_the_next_call_asks_again,
    an_authority_echoing_the_assertion_never_gets_it_into_the_error,
    non_json_answer_from_a_proxy_reports_status_and_excerpt,
    success_without_access_token_is_an_authentication_failure,
    no_scopes_is_an_invalid_argument_and_sends_nothing,
    a_tenant_not_allowed_is_an_invalid_argument_naming_it,
    a_truncated_token_response_is_an_authentication_failure,
    scopes_with_whitespace_and_malformed_tenants_are_invalid_arguments,
    claims_nested_to_the_limit_are_sent_and_deeper_ones_refused_without_a_trap,
    a_token_response_nested_past_the_limit_is_a_failure_not_a_trap,
);

const AADSTS70021_BODY: &str = r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.example'. Assertion Subject: 'system:serviceaccount:default:workload'. Assertion Audience: 'api://AzureADTokenExchange'. https://docs.microsoft.com/azure/active-directory/develop/workload-identity-federation\r\nTrace ID: 0e5c5b1e-7a0a-4c8e-9f6c-2f4b7c1d0e00\r\nCorrelation ID: 7f1d3c2b-8e4a-4b5c-9d6e-0a1b2c3d4e5f\r\nTimestamp: 2026-11-28 10:00:00Z","error_codes":[70021],"timestamp":"2026-11-28 10:00:00Z","trace_id":"0e5c5b1e-7a0a-4c8e-9f6c-2f4b7c1d0e00","correlation_id":"7f1d3c2b-8e4a-4b5c-9d6e-0a1b2c3d4e5f","error_uri":"https://login.microsoftonline.com/error?code=70021"}"#;

fn aadsts70021_error_body_is_mapped_field_by_field(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(400, AADSTS70021_BODY));
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(400));
    assert_eq!(failure.error.as_deref(), Some("invalid_request"));
    assert_eq!(failure.error_codes, vec![70021]);
    assert_eq!(
        failure.trace_id.as_deref(),
        Some("0e5c5b1e-7a0a-4c8e-9f6c-2f4b7c1d0e00")
    );
    assert_eq!(
        failure.correlation_id.as_deref(),
        Some("7f1d3c2b-8e4a-4b5c-9d6e-0a1b2c3d4e5f")
    );
    assert_eq!(
        failure.message,
        format!(
            "Microsoft Entra ID refused the token request to \
             https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token (HTTP 400, \
             invalid_request): AADSTS70021: No matching federated identity record found for \
             presented assertion. Assertion Issuer: 'https://oidc.example'. Assertion Subject: \
             'system:serviceaccount:default:workload'. Assertion Audience: \
             'api://AzureADTokenExchange'. \
             https://docs.microsoft.com/azure/active-directory/develop/workload-identity-federation\n\
             Likely cause (AADSTS70021): no federated identity credential of the app matches the \
             service-account token: its issuer must be the cluster's OIDC issuer URL, its subject \
             system:serviceaccount:<namespace>:<service-account>, its audience \
             api://AzureADTokenExchange. See https://login.microsoftonline.com/error?code=70021 \
             and https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/identity/troubleshoot-workload-identity"
        )
    );
}

fn a_failure_is_not_cached_and_the_next_call_asks_again(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(400, AADSTS70021_BODY));
    let credential = pod.credential(&explicit_options());
    assert!(pod.get_token(credential, &[VAULT]).is_err());
    assert!(pod.get_token(credential, &[VAULT]).is_ok());
    assert_eq!(pod.fake.requests().len(), 2);
}

fn an_authority_echoing_the_assertion_never_gets_it_into_the_error(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(
        401,
        &format!(r#"{{"error":"invalid_client","error_description":"rejected {ASSERTION}","trace_id":"{ASSERTION}"}}"#),
    ));
    pod.fake.enqueue(FakeResponse::html(
        403,
        &format!("<html><body>Blocked by policy: client_assertion={ASSERTION}</body></html>"),
    ));
    let credential = pod.credential(&explicit_options());
    for _ in 0..2 {
        let error = pod.get_token(credential, &[VAULT]).unwrap_err();
        let shown = format!("{error:?}");
        assert!(!shown.contains(ASSERTION), "assertion leaked: {shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

fn non_json_answer_from_a_proxy_reports_status_and_excerpt(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::html(
        403,
        "<html><head><title>403 Forbidden</title></head><body>Blocked by policy</body></html>",
    ));
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(403));
    assert!(failure.message.contains("HTTP 403"), "{}", failure.message);
    assert!(
        failure.message.contains("<title>403 Forbidden</title>"),
        "{}",
        failure.message
    );
}

fn success_without_access_token_is_an_authentication_failure(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(
        200,
        r#"{"token_type":"Bearer","expires_in":3599}"#,
    ));
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(200));
    assert!(
        failure.message.contains("no access_token"),
        "{}",
        failure.message
    );
}

fn no_scopes_is_an_invalid_argument_and_sends_nothing(edition: Edition) {
    let mut pod = Pod::new(edition, &AKS_ENV);
    let credential = pod.credential(&explicit_options());
    let message = invalid_argument(pod.get_token(credential, &[]));
    assert!(message.contains("at least one scope"), "{message}");
    let message = invalid_argument(
        pod.instance
            .get_token_from_environment(&[], &no_request_options())
            .unwrap(),
    );
    assert!(message.contains("at least one scope"), "{message}");
    assert!(pod.fake.requests().is_empty());
}

fn a_tenant_not_allowed_is_an_invalid_argument_naming_it(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let message = invalid_argument(
        pod.instance
            .get_token(
                credential,
                &[VAULT],
                &TokenRequestOptions {
                    tenant_id: Some("fabrikam.onmicrosoft.com".into()),
                    ..no_request_options()
                },
            )
            .unwrap(),
    );
    assert!(message.contains("'fabrikam.onmicrosoft.com'"), "{message}");
    assert!(
        message.contains("AZURE_ADDITIONALLY_ALLOWED_TENANTS"),
        "{message}"
    );
    assert!(pod.fake.requests().is_empty());
}

fn a_truncated_token_response_is_an_authentication_failure(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(
        200,
        r#"{"token_type":"Bearer","expires_in":3599,"access_tok"#,
    ));
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert_eq!(failure.status, Some(200));
    assert!(
        failure
            .message
            .contains("not a Microsoft Entra token response"),
        "{}",
        failure.message
    );
}

fn scopes_with_whitespace_and_malformed_tenants_are_invalid_arguments(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&WorkloadIdentityOptions {
        additionally_allowed_tenants: vec!["*".into()],
        ..explicit_options()
    });
    let message =
        invalid_argument(pod.get_token(credential, &["https://vault.azure.net/.default openid"]));
    assert!(message.contains("invalid scope"), "{message}");
    let bad_tenant = TokenRequestOptions {
        tenant_id: Some("evil/../tenant".into()),
        ..no_request_options()
    };
    let message = invalid_argument(
        pod.instance
            .get_token(credential, &[VAULT], &bad_tenant)
            .unwrap(),
    );
    assert!(message.contains("invalid tenant id"), "{message}");
    assert!(pod.fake.requests().is_empty());
}

/// JSON nested `depth` objects deep: `{"a":{"a":…{}…}}`.
fn nested(depth: usize) -> String {
    format!("{}{{}}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

fn claims_nested_to_the_limit_are_sent_and_deeper_ones_refused_without_a_trap(edition: Edition) {
    // The component's stack is 64 KiB: the JSON reader's nesting limit must hold within it,
    // for reading and for writing the merged claims back out.
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let options = |claims: String| TokenRequestOptions {
        claims: Some(claims),
        tenant_id: None,
        enable_cae: true,
    };
    let deepest = nested(126);
    pod.instance
        .get_token(credential, &[VAULT], &options(deepest.clone()))
        .expect("no trap")
        .unwrap();
    let sent = pod.fake.requests()[0].field("claims").unwrap().to_owned();
    assert!(sent.starts_with(&r#"{"a":"#.repeat(126)), "{sent}");
    for too_deep in [nested(127), nested(100_000)] {
        let result = pod
            .instance
            .get_token(credential, &[VAULT], &options(too_deep))
            .expect("no trap");
        assert!(invalid_argument(result).contains("claims must be a JSON object"));
    }
    assert_eq!(pod.fake.requests().len(), 1);
}

fn a_token_response_nested_past_the_limit_is_a_failure_not_a_trap(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(200, &nested(100_000)));
    let credential = pod.credential(&explicit_options());
    let failure = authentication_failure(pod.get_token(credential, &[VAULT]));
    assert!(
        failure
            .message
            .contains("not a Microsoft Entra token response"),
        "{}",
        failure.message
    );
    pod.get_token(credential, &[VAULT]).unwrap();
}
