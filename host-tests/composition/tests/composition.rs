//! The sample app, the bearer middleware and the credential, composed by `wac plug`, run in
//! wasmtime: what the fake upstream and the fake Entra received is what the composition sent.

#![allow(clippy::result_large_err)]

mod common;

use common::{ASSERTION, AksPod, CHALLENGE, RULES, STORAGE, TENANT, VAULT};
use composition_tests::{AUTHORITY, AppInstance, BEARER_COMPOSITION, Composition, Fetched};
use host_tests::FakeResponse;
use std::ops::Deref;

/// One instance of the composition with the AKS environment and `AZURE_BEARER_RULES`.
struct App {
    instance: AppInstance,
    pod: AksPod,
}

impl Deref for App {
    type Target = AksPod;

    fn deref(&self) -> &AksPod {
        &self.pod
    }
}

impl App {
    fn new() -> App {
        App::with_rules(Some(RULES))
    }

    fn with_rules(rules: Option<&str>) -> App {
        let pod = AksPod::new();
        let instance = Composition::shared()
            .instantiate(pod.pod(rules, &[]))
            .unwrap();
        App { instance, pod }
    }

    fn get(&mut self, url: &str) -> Result<Fetched, String> {
        self.fetch(url, &[], None)
    }

    fn fetch(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Fetched, String> {
        let result = self
            .instance
            .fetch(url, headers, body)
            .expect("the composition does not trap");
        if let Err(message) = &result {
            self.assert_no_secret(message);
        }
        result
    }
}

#[test]
fn a_get_to_a_matching_host_carries_a_bearer_token_and_other_hosts_get_none() {
    let mut app = App::new();
    let fetched = app
        .get("https://myvault.vault.azure.net/secrets/db?api-version=7.5")
        .unwrap();
    assert_eq!((fetched.status, fetched.attempts), (200, 1));
    app.get("https://example.com/index.html").unwrap();

    let upstream = app.upstream.requests();
    assert_eq!(upstream.len(), 2);
    assert_eq!(upstream[0].method, "GET");
    assert_eq!(
        upstream[0].url,
        "https://myvault.vault.azure.net/secrets/db?api-version=7.5"
    );
    assert_eq!(app.authorizations(), [vec![app.bearer(1)], vec![]]);
    assert_eq!(upstream[1].url, "https://example.com/index.html");

    let token_requests = app.entra.requests();
    assert_eq!(
        token_requests.len(),
        1,
        "one token, for the one matching request"
    );
    assert_eq!(token_requests[0].field("scope"), Some(VAULT));
    assert_eq!(
        token_requests[0].url,
        format!("https://{AUTHORITY}/{TENANT}/oauth2/v2.0/token")
    );
}

#[test]
fn each_rule_gets_its_own_scope_and_tokens_are_reused_from_the_credential_cache() {
    let mut app = App::new();
    for _ in 0..3 {
        app.get("https://a.vault.azure.net/keys").unwrap();
        app.get("https://acct.blob.core.windows.net/c/blob")
            .unwrap();
    }
    let scopes = app.entra.form_fields("scope");
    assert_eq!(scopes, [VAULT, STORAGE]);
    let expected: Vec<Vec<String>> = (0..3)
        .flat_map(|_| [vec![app.bearer(1)], vec![app.bearer(2)]])
        .collect();
    assert_eq!(app.authorizations(), expected);
}

#[test]
fn an_authorization_header_the_app_set_is_never_overwritten() {
    let mut app = App::new();
    app.fetch(
        "https://myvault.vault.azure.net/secrets/db",
        &[("Authorization", "Bearer the-apps-own")],
        None,
    )
    .unwrap();
    assert_eq!(
        app.authorizations(),
        [vec!["Bearer the-apps-own".to_owned()]]
    );
    assert!(app.entra.requests().is_empty(), "no token was needed");
}

#[test]
fn a_put_with_a_body_is_authorized_by_the_app_through_the_middleware_and_arrives_whole() {
    let mut app = App::new();
    let body = "x".repeat(10_000);
    let fetched = app
        .fetch(
            "https://acct.blob.core.windows.net/c/blob",
            &[],
            Some(&body),
        )
        .unwrap();
    assert_eq!(fetched.status, 200);
    let upstream = app.upstream.requests();
    assert_eq!(upstream[0].method, "PUT");
    assert_eq!(upstream[0].body, body);
    assert_eq!(app.authorizations(), [vec![app.bearer(1)]]);
    assert_eq!(app.entra.requests()[0].field("scope"), Some(STORAGE));
}

#[test]
fn an_answer_that_comes_before_the_body_is_written_reaches_the_app() {
    let mut app = App::new();
    // A service that refuses a body before reading it, and closes: the app's write fails.
    app.upstream.enqueue_before_the_body(FakeResponse::json(
        413,
        r#"{"error":{"code":"RequestBodyTooLarge"}}"#,
    ));
    let fetched = app
        .fetch(
            "https://acct.blob.core.windows.net/c/blob",
            &[],
            Some(&"x".repeat(100_000)),
        )
        .unwrap();
    assert_eq!(fetched.status, 413, "{}", fetched.body);
    assert!(
        fetched.body.contains("RequestBodyTooLarge"),
        "{}",
        fetched.body
    );
}

#[test]
fn a_get_whose_client_takes_and_finishes_an_empty_body_still_gets_the_header() {
    let mut app = App::new();
    let fetched = app
        .fetch("https://myvault.vault.azure.net/secrets/db", &[], Some(""))
        .unwrap();
    assert_eq!(fetched.status, 200);
    let upstream = app.upstream.requests();
    assert_eq!(
        (upstream[0].method.as_str(), upstream[0].body.as_str()),
        ("GET", "")
    );
    assert_eq!(app.authorizations(), [vec![app.bearer(1)]]);
}

/// Fetches `url` with a body the middleware cannot forward (the sample app's `knob` says how),
/// checks it is refused before anything goes out, token requests included, and returns the
/// error.
fn refused_with_its_body(url: &str, knob: &str, body: &str) -> String {
    let mut app = App::new();
    let error = app
        .fetch(url, &[("x-sample-app", knob)], Some(body))
        .unwrap_err();
    assert!(
        error.contains("cannot authorize a request with a body"),
        "{error}"
    );
    assert!(
        app.upstream.requests().is_empty(),
        "nothing went out without its body"
    );
    assert!(app.entra.requests().is_empty());
    error
}

#[test]
fn a_get_whose_body_the_app_writes_without_a_length_is_refused_rather_than_sent_without_it() {
    let error = refused_with_its_body(
        "https://myvault.vault.azure.net/secrets/db",
        "get-with-undeclared-body",
        "a body a GET may carry",
    );
    assert!(error.contains("`content-length: 0`"), "{error}");
}

#[test]
fn a_request_without_a_scheme_is_sent_over_https_though_the_hosts_default_is_http() {
    let mut app = App::new();
    let fetched = app.get("//myvault.vault.azure.net/secrets/db").unwrap();
    assert_eq!(fetched.status, 200);
    let upstream = app.upstream.requests();
    assert_eq!(
        upstream[0].url,
        "https://myvault.vault.azure.net/secrets/db"
    );
    assert_eq!(app.authorizations(), [vec![app.bearer(1)]]);
}

#[test]
fn a_body_the_middleware_cannot_reach_is_refused_rather_than_lost() {
    let error = refused_with_its_body(
        "https://acct.blob.core.windows.net/c/blob",
        "skip-authorization-for",
        "data",
    );
    assert!(error.contains("authorization-for"), "{error}");
}

#[test]
fn a_claims_challenge_is_answered_with_a_token_carrying_its_claims_then_sent_once_more() {
    let mut app = App::new();
    app.get("https://myvault.vault.azure.net/secrets/db")
        .unwrap();
    app.upstream.enqueue(
        FakeResponse::json(401, r#"{"error":{"code":"Unauthorized"}}"#)
            .with_header("www-authenticate", CHALLENGE),
    );
    let fetched = app
        .get("https://myvault.vault.azure.net/secrets/db")
        .unwrap();
    assert_eq!((fetched.status, fetched.attempts), (200, 2));
    // Later requests keep the token that satisfied the challenge, without asking Entra again.
    app.get("https://myvault.vault.azure.net/secrets/other")
        .unwrap();

    assert_eq!(
        app.authorizations(),
        [
            vec![app.bearer(1)],
            vec![app.bearer(1)],
            vec![app.bearer(2)],
            vec![app.bearer(2)]
        ]
    );
    let token_requests = app.entra.requests();
    assert_eq!(token_requests.len(), 2);
    // The middleware asks for CAE tokens, since it answers their challenges.
    assert_eq!(
        token_requests[0].field("claims"),
        Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#)
    );
    let claims = token_requests[1].field("claims").expect("claims were sent");
    assert!(
        claims.contains(r#""nbf":{"essential":true,"value":"1726077595"}"#),
        "{claims}"
    );
    assert!(
        claims.contains(r#""xms_cc":{"values":["CP1"]}"#),
        "CAE stays declared: {claims}"
    );
}

#[test]
fn a_401_that_is_not_a_claims_challenge_is_returned_as_it_came() {
    let mut app = App::new();
    app.upstream.enqueue(
        FakeResponse::json(401, "denied")
            .with_header("www-authenticate", r#"Bearer error="invalid_token""#),
    );
    let fetched = app
        .get("https://myvault.vault.azure.net/secrets/db")
        .unwrap();
    assert_eq!(
        (fetched.status, fetched.attempts, fetched.body.as_str()),
        (401, 1, "denied")
    );
    assert_eq!(app.upstream.requests().len(), 1);
    assert_eq!(app.entra.requests().len(), 1);
}

#[test]
fn a_bearer_token_is_never_sent_over_plain_http() {
    let mut app = App::new();
    let error = app
        .get("http://myvault.vault.azure.net/secrets/db")
        .unwrap_err();
    assert!(error.contains("over http; use https"), "{error}");
    assert!(app.upstream.requests().is_empty());
    assert!(app.entra.requests().is_empty());
    // A host no rule names may still use http.
    app.get("http://example.com/").unwrap();
}

#[test]
fn a_failed_token_request_fails_the_request_with_the_aadsts_reason_and_no_secret() {
    let mut app = App::new();
    app.entra.enqueue(FakeResponse::json(
        401,
        &format!(
            r#"{{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject. Trace ID: t Correlation ID: c","error_codes":[700213],"correlation_id":"7b3a0f4c-0000-4000-8000-000000000001","trace_id":"t","assertion":"{ASSERTION}"}}"#
        ),
    ));
    let error = app
        .get("https://myvault.vault.azure.net/secrets/db")
        .unwrap_err();
    assert!(
        error.contains("no token for https://vault.azure.net/.default"),
        "{error}"
    );
    assert!(error.contains("AADSTS700213"), "{error}");
    assert!(
        error.contains("7b3a0f4c-0000-4000-8000-000000000001"),
        "{error}"
    );
    assert!(
        app.upstream.requests().is_empty(),
        "nothing was sent without its token"
    );
    // The next request gets a token.
    app.get("https://myvault.vault.azure.net/secrets/db")
        .unwrap();
    assert_eq!(app.authorizations(), [vec![app.bearer(1)]]);
}

#[test]
fn without_rules_every_request_fails_saying_how_to_write_them() {
    let mut app = App::with_rules(None);
    for url in ["https://myvault.vault.azure.net/", "https://example.com/"] {
        let error = app.get(url).unwrap_err();
        assert!(error.contains("AZURE_BEARER_RULES: is not set"), "{error}");
        assert!(
            error.contains("*.vault.azure.net=https://vault.azure.net/.default"),
            "{error}"
        );
    }
    assert!(app.upstream.requests().is_empty());
    let mut app = App::with_rules(Some("https://vault.azure.net=x"));
    let error = app.get("https://example.com/").unwrap_err();
    assert!(error.contains("not a host name"), "{error}");
}

#[test]
fn the_compositions_import_only_wasi_and_export_what_they_promise() {
    let app = Composition::shared().import_names();
    assert!(!app.is_empty());
    for name in &app {
        assert!(
            name.starts_with("wasi:"),
            "the app composition imports {name}"
        );
    }
    assert!(app.contains(&"wasi:http/outgoing-handler@0.2.12".to_owned()));
    assert!(app.contains(&"wasi:filesystem/preopens@0.2.12".to_owned()));

    let bearer = Composition::exports_of(BEARER_COMPOSITION).unwrap();
    assert_eq!(
        bearer,
        [
            "wasi:http/outgoing-handler@0.2.12",
            "azure:bearer/bearer@0.1.0"
        ]
    );
}
