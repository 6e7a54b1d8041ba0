//! The WASI 0.3 sample proxy with the WASI 0.3 bearer middleware and credential plugged in front
//! of its `wasi:http/client` (`wac plug`), served from the host in a wasmtime 48 p3 embedding:
//! what the fake upstream and the fake Entra received is what the composition sent, and what the
//! host got back is what an app's client would.

mod common;

use common::{AksPod, CHALLENGE, CHALLENGE_CLAIM, RULES, VAULT};
use composition_tests::{Challenged, P3Composition, P3Instance, P3Request, Served};
use host_tests::FakeResponse;
use std::ops::Deref;

const VAULT_ORIGIN: &str = "https://myvault.vault.azure.net";
const NOT_ANSWERED: &str = "x-azure-bearer-challenge-not-answered";
/// The middleware keeps at most this much of a body to send again.
const REPLAY_BOUND: usize = 1024 * 1024;

/// One instance of the composition, proxying to `SAMPLE_PROXY_UPSTREAM`.
struct Proxy {
    instance: P3Instance,
    pod: AksPod,
}

impl Deref for Proxy {
    type Target = AksPod;

    fn deref(&self) -> &AksPod {
        &self.pod
    }
}

impl Proxy {
    fn to(upstream: &str) -> Proxy {
        let pod = AksPod::new();
        let instance = P3Composition::shared()
            .instantiate(pod.pod(Some(RULES), &[("SAMPLE_PROXY_UPSTREAM", upstream)]))
            .unwrap();
        Proxy { instance, pod }
    }

    fn serve(&mut self, request: P3Request) -> Result<Served, String> {
        self.serve_at_once(vec![request]).remove(0)
    }

    /// The requests at once; every error and every not-answered reason is checked for secrets.
    fn serve_at_once(&mut self, requests: Vec<P3Request>) -> Vec<Result<Served, String>> {
        let answers = self
            .instance
            .serve_at_once(requests)
            .expect("the composition does not trap");
        answers
            .into_iter()
            .map(|answer| {
                let answer = answer.map_err(|error| format!("{error:?}"));
                match &answer {
                    Ok(served) => {
                        if let Some(reason) = served.header(NOT_ANSWERED) {
                            self.assert_no_secret(&reason);
                        }
                    }
                    Err(error) => self.assert_no_secret(error),
                }
                answer
            })
            .collect()
    }

    /// One GET that gets token 1, so that a test can challenge it.
    fn first_token(&mut self) -> String {
        let served = self.serve(P3Request::get("/secrets/first")).unwrap();
        assert_eq!(served.status, 200);
        self.entra.issued_token(1)
    }
}

/// A body of `length` bytes whose every KiB differs, so that a copy out of order shows.
fn body_of(length: usize) -> String {
    (0..length)
        .map(|i| char::from(b'a' + ((i / 1024 + i) % 26) as u8))
        .collect()
}

#[test]
fn the_composition_imports_wasi_0_3_alone_and_exports_the_handler() {
    let (imports, exports) = P3Composition::shared().interface_names();
    assert_eq!(
        imports,
        [
            "wasi:cli/environment@0.3.0",
            "wasi:clocks/types@0.3.0",
            "wasi:http/types@0.3.0",
            "wasi:clocks/system-clock@0.3.0",
            "wasi:clocks/monotonic-clock@0.3.0",
            "wasi:http/client@0.3.0",
            "wasi:random/random@0.3.0",
            "wasi:filesystem/types@0.3.0",
            "wasi:filesystem/preopens@0.3.0",
        ]
    );
    // No wasi:cli/stdout or stderr: the composition has no output a secret could reach.
    assert_eq!(exports, ["wasi:http/handler@0.3.0"]);
}

#[test]
fn a_get_to_a_matching_host_carries_a_bearer_token() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let served = proxy
        .serve(P3Request::get("/secrets/db?api-version=7.5").header("x-ms-client-request-id", "1"))
        .unwrap();
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(
        served.body,
        "hello from https://myvault.vault.azure.net/secrets/db?api-version=7.5"
    );
    assert_eq!(served.header(NOT_ANSWERED), None);
    let upstream = proxy.upstream.requests();
    assert_eq!(upstream.len(), 1);
    assert_eq!(upstream[0].method, "GET");
    assert_eq!(upstream[0].header("x-ms-client-request-id"), Some("1"));
    assert_eq!(proxy.authorizations(), [vec![proxy.bearer(1)]]);
    let token_requests = proxy.entra.requests();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].field("scope"), Some(VAULT));
}

#[test]
fn a_request_to_a_host_no_rule_names_passes_untouched() {
    let mut proxy = Proxy::to("https://example.com");
    let body = body_of(3000);
    let served = proxy
        .serve(P3Request::put("/items/1", body.clone()).header("x-custom", "kept"))
        .unwrap();
    assert_eq!(served.status, 200, "{}", served.body);
    let upstream = proxy.upstream.requests();
    assert_eq!(
        (upstream[0].method.as_str(), upstream[0].url.as_str()),
        ("PUT", "https://example.com/items/1")
    );
    assert_eq!(upstream[0].body, body);
    assert_eq!(upstream[0].header("x-custom"), Some("kept"));
    assert_eq!(proxy.authorizations(), [Vec::<String>::new()]);
    assert!(proxy.entra.requests().is_empty(), "no token was needed");
}

#[test]
fn a_bearer_token_is_never_sent_over_plain_http() {
    let mut proxy = Proxy::to("http://myvault.vault.azure.net");
    let error = proxy.serve(P3Request::get("/secrets/db")).unwrap_err();
    assert!(error.contains("over http; use https"), "{error}");
    assert!(proxy.upstream.requests().is_empty());
    assert!(proxy.entra.requests().is_empty());
}

#[test]
fn an_authorization_header_the_app_set_is_never_overwritten() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let served = proxy
        .serve(P3Request::get("/secrets/db").header("authorization", "Bearer the-apps-own"))
        .unwrap();
    assert_eq!(served.status, 200);
    assert_eq!(
        proxy.authorizations(),
        [vec!["Bearer the-apps-own".to_owned()]]
    );
    assert!(proxy.entra.requests().is_empty(), "no token was needed");
}

#[test]
fn a_claims_challenge_to_a_put_is_answered_by_sending_it_again_with_its_body() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let revoked = proxy.first_token();
    proxy
        .upstream
        .challenge(Challenged::Token(revoked), CHALLENGE);
    let body = body_of(5000);
    let served = proxy
        .serve(P3Request::put("/secrets/db", body.clone()))
        .unwrap();
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.header(NOT_ANSWERED), None);
    // Later requests keep the token that satisfied the challenge.
    proxy.serve(P3Request::get("/secrets/other")).unwrap();

    let upstream = proxy.upstream.requests();
    assert_eq!(upstream.len(), 4);
    for put in &upstream[1..3] {
        assert_eq!(put.method, "PUT");
        assert_eq!(put.url, "https://myvault.vault.azure.net/secrets/db");
        assert_eq!(put.body.len(), body.len());
        assert!(put.body == body, "the body sent differs from the app's");
    }
    assert_eq!(
        proxy.authorizations(),
        [
            vec![proxy.bearer(1)],
            vec![proxy.bearer(1)],
            vec![proxy.bearer(2)],
            vec![proxy.bearer(2)]
        ]
    );
    let token_requests = proxy.entra.requests();
    assert_eq!(token_requests.len(), 2);
    assert_eq!(
        token_requests[0].field("claims"),
        Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#)
    );
    let claims = token_requests[1].field("claims").expect("claims were sent");
    assert!(claims.contains(CHALLENGE_CLAIM), "{claims}");
    assert!(
        claims.contains(r#""xms_cc":{"values":["CP1"]}"#),
        "{claims}"
    );
}

#[test]
fn a_body_of_exactly_the_bound_is_sent_again() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let revoked = proxy.first_token();
    proxy
        .upstream
        .challenge(Challenged::Token(revoked), CHALLENGE);
    let body = body_of(REPLAY_BOUND);
    let served = proxy
        .serve(P3Request::put("/secrets/db", body.clone()))
        .unwrap();
    assert_eq!(served.status, 200, "{:?}", served.header(NOT_ANSWERED));
    let upstream = proxy.upstream.requests();
    assert_eq!(upstream.len(), 3);
    assert!(upstream[2].body == body, "the body sent again differs");
}

#[test]
fn a_body_over_1_mib_streams_through_once_and_its_challenge_comes_back_unanswered() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let revoked = proxy.first_token();
    proxy
        .upstream
        .challenge(Challenged::Token(revoked), CHALLENGE);
    let body = body_of(REPLAY_BOUND + 1);
    let served = proxy
        .serve(P3Request::put("/secrets/db", body.clone()))
        .unwrap();
    assert_eq!(served.status, 401);
    assert_eq!(
        served.header("www-authenticate").as_deref(),
        Some(CHALLENGE)
    );
    let reason = served.header(NOT_ANSWERED).expect("the header says why");
    assert!(reason.contains("over 1 MiB"), "{reason}");
    assert!(served.body.contains("Unauthorized"), "{}", served.body);
    let upstream = proxy.upstream.requests();
    assert_eq!(upstream.len(), 2, "the PUT went out once");
    assert!(upstream[1].body == body, "the body streamed through whole");
    assert_eq!(proxy.entra.requests().len(), 1, "no token with the claims");
}

#[test]
fn a_challenge_of_the_token_that_answered_a_challenge_is_returned_not_answered_again() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    proxy.upstream.challenge(Challenged::EveryToken, CHALLENGE);
    let served = proxy
        .serve(P3Request::put("/secrets/db", body_of(100)))
        .unwrap();
    assert_eq!(served.status, 401);
    let reason = served.header(NOT_ANSWERED).expect("the header says why");
    assert!(
        reason.contains("challenged the token that answered"),
        "{reason}"
    );
    assert_eq!(
        proxy.authorizations(),
        [vec![proxy.bearer(1)], vec![proxy.bearer(2)]],
        "sent twice, not more"
    );
    assert_eq!(proxy.entra.requests().len(), 2);
}

#[test]
fn a_challenge_whose_token_request_fails_is_returned_with_the_reason_and_no_secret() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let revoked = proxy.first_token();
    proxy
        .upstream
        .challenge(Challenged::Token(revoked.clone()), CHALLENGE);
    // Entra refuses the token with the claims, quoting the assertion and the revoked token.
    proxy.entra.enqueue(FakeResponse::json(
        400,
        &format!(
            r#"{{"error":"invalid_grant","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop. {revoked} {}","error_codes":[50196],"correlation_id":"7b3a0f4c-0000-4000-8000-000000000002"}}"#,
            common::ASSERTION
        ),
    ));
    let served = proxy
        .serve(P3Request::put("/secrets/db", body_of(100)))
        .unwrap();
    assert_eq!(served.status, 401);
    let reason = served.header(NOT_ANSWERED).expect("the header says why");
    assert!(reason.contains("AADSTS50196"), "{reason}");
    assert!(
        reason.contains("7b3a0f4c-0000-4000-8000-000000000002"),
        "{reason}"
    );
    assert_eq!(proxy.upstream.requests().len(), 2, "not sent again");
}

#[test]
fn a_failed_token_request_fails_the_request_with_the_aadsts_reason_and_no_secret() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    proxy.entra.enqueue(FakeResponse::json(
        401,
        &format!(
            r#"{{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject.","error_codes":[700213],"correlation_id":"7b3a0f4c-0000-4000-8000-000000000001","assertion":"{}"}}"#,
            common::ASSERTION
        ),
    ));
    let error = proxy.serve(P3Request::get("/secrets/db")).unwrap_err();
    assert!(
        error.contains("no token for https://vault.azure.net/.default"),
        "{error}"
    );
    assert!(error.contains("AADSTS700213"), "{error}");
    assert!(
        proxy.upstream.requests().is_empty(),
        "nothing went without its token"
    );
}

#[test]
fn a_hundred_requests_at_once_on_one_instance_make_one_token_request() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let requests = (0..100)
        .map(|i| P3Request::get(&format!("/secrets/s{i}")))
        .collect();
    let answers = proxy.serve_at_once(requests);
    for (i, answer) in answers.iter().enumerate() {
        let served = answer.as_ref().unwrap();
        assert_eq!(served.status, 200);
        assert_eq!(
            served.body,
            format!("hello from https://myvault.vault.azure.net/secrets/s{i}")
        );
    }
    assert_eq!(proxy.entra.requests().len(), 1);
    let authorizations = proxy.authorizations();
    assert_eq!(authorizations.len(), 100);
    assert!(authorizations.iter().all(|a| *a == [proxy.bearer(1)]));
}

#[test]
fn a_thousand_requests_in_sequence_make_one_token_request() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    for i in 0..1000 {
        let served = proxy
            .serve(P3Request::get(&format!("/secrets/s{i}")))
            .unwrap();
        assert_eq!(served.status, 200);
    }
    assert_eq!(proxy.entra.requests().len(), 1);
    assert_eq!(proxy.upstream.requests().len(), 1000);
}

#[test]
fn a_body_that_breaks_off_is_not_sent_again_as_if_it_were_whole() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    // The resource challenges at once, before it reads the body (which then breaks off).
    proxy.upstream.enqueue_before_the_body(
        FakeResponse::json(401, r#"{"error":{"code":"Unauthorized"}}"#)
            .with_header("www-authenticate", CHALLENGE),
    );
    let request = P3Request::put("/secrets/db", body_of(3000))
        .without_length()
        .failing_after_body();
    let served = proxy.serve(request).unwrap();
    assert_eq!(served.status, 401);
    let reason = served.header(NOT_ANSWERED).expect("the header says why");
    assert!(reason.contains("request body failed"), "{reason}");
    assert_eq!(
        proxy.upstream.requests().len(),
        1,
        "the broken body was not sent again"
    );
    assert_eq!(proxy.entra.requests().len(), 1, "no token with the claims");
}

#[test]
fn a_challenged_request_is_sent_again_with_its_trailers() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    let revoked = proxy.first_token();
    proxy
        .upstream
        .challenge(Challenged::Token(revoked), CHALLENGE);
    let request = P3Request::put("/secrets/db", body_of(2000)).trailer("x-content-crc64", "q1w2e3");
    let served = proxy.serve(request).unwrap();
    assert_eq!(served.status, 200, "{:?}", served.header(NOT_ANSWERED));
    let upstream = proxy.upstream.requests();
    let trailers = vec![("x-content-crc64".to_owned(), "q1w2e3".to_owned())];
    assert_eq!(upstream[1].trailers, trailers, "the first request's");
    assert_eq!(upstream[2].trailers, trailers, "the request sent again");
}

#[test]
fn requests_served_at_once_on_one_instance_are_in_flight_together() {
    let mut proxy = Proxy::to(VAULT_ORIGIN);
    // Each answer waits until all 20 requests have reached the upstream: requests the
    // composition handled one after another would time out instead.
    proxy.upstream.answer_together(20);
    let requests = (0..20)
        .map(|i| P3Request::put(&format!("/secrets/s{i}"), body_of(3000)))
        .collect();
    for answer in proxy.serve_at_once(requests) {
        assert_eq!(answer.unwrap().status, 200);
    }
    assert_eq!(proxy.entra.requests().len(), 1);
}
