//! Secrets never reach error text or the component's output, on any failure path.

use crate::*;
use host_tests::FakeResponse;

/// An access token the fake authority issues and then echoes back in a later error.
const ISSUED: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.issued-access-token.sig";

/// Drives every failure path the component has, collects each error's text (message and Debug
/// form) and everything written to stdout/stderr, and checks that none holds a secret.
#[test]
fn no_error_text_on_any_failure_path_contains_a_secret() {
    let echo = format!("client_assertion={ASSERTION}&access_token={ISSUED}");
    let mut collected: Vec<String> = Vec::new();
    let mut run = |env: &[(&str, &str)],
                   token_file: Option<&str>,
                   options: WorkloadIdentityOptions,
                   answers: Vec<FakeResponse>,
                   scopes: &[&str],
                   request: TokenRequestOptions| {
        let tokens = match token_file {
            Some(contents) => TokenDirectory::with_token(contents).unwrap(),
            None => TokenDirectory::new().unwrap(),
        };
        let mut pod = Pod::with_tokens(tokens, env);
        // A successful token first, so that its value is a secret later errors could echo.
        pod.fake.enqueue(FakeResponse::json(
            200,
            &format!(r#"{{"expires_in":60,"access_token":"{ISSUED}"}}"#),
        ));
        for answer in answers {
            pod.fake.enqueue(answer);
        }
        match pod.instance.create(&options).unwrap() {
            Err(error) => collected.push(format!("{error:?}")),
            Ok(credential) => {
                let _ = pod.instance.get_token(
                    credential,
                    &["https://warm-up/.default"],
                    &no_request_options(),
                );
                if let Err(error) = pod
                    .instance
                    .get_token(credential, scopes, &request)
                    .unwrap()
                {
                    collected.push(format!("{error:?}"));
                }
                pod.instance.close(credential).unwrap();
                if let Err(error) = pod
                    .instance
                    .get_token(credential, scopes, &request)
                    .unwrap()
                {
                    collected.push(format!("{error:?}"));
                }
            }
        }
        collected.push(pod.instance.output());
    };
    let token = Some(ASSERTION);
    let none = no_request_options;
    let json = |status, body: &str| FakeResponse::json(status, body);
    let echo_json = format!(
        r#"{{"error":"invalid_client","error_description":"{echo}","error_codes":[70021],"trace_id":"{ASSERTION}","correlation_id":"{ISSUED}"}}"#
    );
    let expired = r#"{"error":"invalid_client","error_codes":[700024]}"#;

    run(&[], token, no_options(), vec![], &[VAULT], none());
    run(
        &AKS_ENV,
        token,
        WorkloadIdentityOptions {
            authority_host: Some("http://login.microsoftonline.com".into()),
            ..no_options()
        },
        vec![],
        &[VAULT],
        none(),
    );
    run(&[], None, explicit_options(), vec![], &[VAULT], none());
    run(
        &[],
        Some("  \n"),
        explicit_options(),
        vec![],
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        vec![json(400, &echo_json)],
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        vec![json(400, expired), json(400, expired)],
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        (0..4)
            .map(|_| FakeResponse::html(502, &echo).with_header("Retry-After", "0"))
            .collect(),
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        (0..4)
            .map(|_| json(429, &echo_json).with_header("Retry-After", "0"))
            .collect(),
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        vec![json(200, &echo)],
        &[VAULT],
        none(),
    );
    run(
        &[],
        token,
        explicit_options(),
        vec![json(200, r#"{"expires_in":3600}"#)],
        &[VAULT],
        none(),
    );
    run(&[], token, explicit_options(), vec![], &[], none());
    run(
        &[],
        token,
        explicit_options(),
        vec![],
        &[VAULT],
        TokenRequestOptions {
            claims: Some("not json".into()),
            ..none()
        },
    );
    run(
        &[],
        token,
        explicit_options(),
        vec![],
        &[VAULT],
        TokenRequestOptions {
            tenant_id: Some("a/b".into()),
            ..none()
        },
    );

    let errors = collected.iter().filter(|text| !text.is_empty()).count();
    assert!(
        errors >= 20,
        "only {errors} error texts were collected: {collected:#?}"
    );
    for text in &collected {
        for secret in [ASSERTION, ISSUED] {
            assert!(!text.contains(secret), "secret leaked in: {text}");
        }
    }
    let output: Vec<_> = collected
        .iter()
        .filter(|t| !t.starts_with("CredentialError"))
        .collect();
    assert!(
        output.iter().all(|t| t.is_empty()),
        "the component wrote: {output:?}"
    );
}
