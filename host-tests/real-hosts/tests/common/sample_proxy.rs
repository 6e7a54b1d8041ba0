//! The WASI 0.3 sample proxy (`examples/sample-proxy`) with the WASI 0.3 bearer middleware and
//! credential plugged in front of its `wasi:http/client` (`SAMPLE_PROXY_COMPOSITION`), as a real
//! host serves it: its variables, a vault that challenges a token as a resource with Continuous
//! Access Evaluation does, and the round trip every host must pass.

use super::{FIRST_ASSERTION, Fakes, REQUEST_BOUND, workload_identity};
use bearer_middleware::replay::NOT_ANSWERED_HEADER;
use host_tests::{Answering, FakeEntra, FakeResponse, UPSTREAM_BODY};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use token_bridge_host::client::{Answer, Connection};

/// A Key Vault claims challenge; its `claims` decodes to
/// `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`.
const CHALLENGE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ==""#;
/// What the middleware asks every token with: CAE declared, since it answers CAE challenges.
const CAE_CLAIMS: &str = r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#;
/// The request the round trip sends: a secret set, with a body.
const SET_SECRET: &str = "/secrets/db-password?api-version=7.5";
/// The body's value is larger than one read of the middleware's pump (16 KiB), so the copy it
/// keeps to send again is made of several chunks.
const SECRET_VALUE_BYTES: usize = 40 * 1024;

/// The proxy's variables: the workload identity, its upstream origin and the middleware's rules.
pub fn environment(
    upstream: &str,
    rules: &str,
    authority_host: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut variables = workload_identity(authority_host);
    variables.push(("SAMPLE_PROXY_UPSTREAM", upstream.to_owned()));
    variables.push(("AZURE_BEARER_RULES", rules.to_owned()));
    variables
}

/// A vault that answers the first token `entra` issued with a claims challenge (401), as a
/// resource does once the token's session is revoked, and any other with its listing.
pub fn challenging_vault(entra: FakeEntra) -> Arc<Answering> {
    Arc::new(move |request| {
        let first = entra.issued_tokens().into_iter().next();
        let challenged = first.is_some_and(|token| {
            request.header_values("authorization") == [format!("Bearer {token}")]
        });
        if challenged {
            FakeResponse::json(401, r#"{"error":{"code":"Unauthorized"}}"#)
                .with_header("www-authenticate", CHALLENGE)
        } else {
            FakeResponse::json(200, UPSTREAM_BODY)
        }
    })
}

/// The body of the secret set: JSON, [`SECRET_VALUE_BYTES`] of value.
fn secret_body() -> String {
    let value: String = (0..SECRET_VALUE_BYTES)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!(r#"{{"value":"{value}"}}"#)
}

/// `PUT target` with `body` (JSON) through the host at `address`.
fn put(address: SocketAddr, target: &str, body: &[u8]) -> Answer {
    let length = body.len().to_string();
    let headers = [
        ("content-type", "application/json"),
        ("content-length", length.as_str()),
    ];
    Connection::open(address, REQUEST_BOUND)
        .and_then(|mut connection| {
            connection.send_head("PUT", target, &headers, true)?;
            connection.stream().write_all(body)?;
            connection.read_answer()
        })
        .unwrap_or_else(|error| panic!("PUT {target} through {address}: {error}"))
}

/// The transparent round trip, through a host whose vault is [`challenging_vault`] at
/// `vault_origin` (`scheme://host:port` as its requests arrive): a secret set with a body gets
/// 200; the vault got the body twice, with the first token then with the second; the second
/// token request carried the challenge's claims (and CAE, as the first).
pub fn assert_challenge_answered(
    fakes: &Fakes,
    address: SocketAddr,
    vault_origin: &str,
    host_log: &dyn Fn() -> String,
) {
    let body = secret_body();
    let answer = put(address, SET_SECRET, body.as_bytes());
    let text = String::from_utf8_lossy(&answer.body);
    assert!(
        answer.status == 200 && text == UPSTREAM_BODY,
        "PUT {SET_SECRET} answered {}: {}\nheaders: {:?}\nhost log:\n{}",
        answer.status,
        fakes.clean(&text),
        answer.headers,
        fakes.clean(&host_log())
    );
    assert!(
        !answer
            .headers
            .iter()
            .any(|(name, _)| name == NOT_ANSWERED_HEADER),
        "the answer says the challenge was not answered: {:?}",
        answer.headers
    );

    let requests = fakes.vault.requests();
    assert_eq!(requests.len(), 2, "the vault got the request twice");
    for request in &requests {
        assert_eq!(request.method, "PUT");
        assert_eq!(request.url, format!("{vault_origin}{SET_SECRET}"));
        assert!(
            request.body == body,
            "the vault got a body of {} bytes, not the {} sent",
            request.body.len(),
            body.len()
        );
    }
    let tokens = fakes.entra.fake().issued_tokens();
    assert_eq!(tokens.len(), 2, "tokens issued");
    // Compared, never printed.
    for (request, token) in requests.iter().zip(&tokens) {
        assert!(
            request.header_values("authorization") == [format!("Bearer {token}")],
            "the vault's requests do not carry the first token, then the second"
        );
    }

    fakes.assert_token_request(1, FIRST_ASSERTION);
    fakes.assert_token_request(2, FIRST_ASSERTION);
    let token_requests = fakes.entra.fake().requests();
    assert_eq!(token_requests[0].field("claims"), Some(CAE_CLAIMS));
    let claims = token_requests[1]
        .field("claims")
        .expect("the second token request carries the challenge's claims");
    assert!(
        claims.contains(r#""nbf":{"essential":true,"value":"1726077595"}"#)
            && claims.contains(r#""xms_cc":{"values":["CP1"]}"#),
        "the second token request's claims are not the challenge's with CAE: {claims}"
    );
}

/// The plain authorized `GET /secrets`: the vault's listing, the vault got it with the issued
/// token, the one token request is exact and declares CAE.
pub fn assert_plain_get_authorized(
    fakes: &Fakes,
    address: SocketAddr,
    host_log: &dyn Fn() -> String,
) {
    fakes.assert_listing_with_latest_token(address, host_log);
    assert_eq!(fakes.entra.token_calls(), 1);
    fakes.assert_token_request(1, FIRST_ASSERTION);
    assert_eq!(
        fakes.entra.fake().requests()[0].field("claims"),
        Some(CAE_CLAIMS)
    );
}
