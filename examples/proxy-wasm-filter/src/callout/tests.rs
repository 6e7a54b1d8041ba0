//! Answers as Envoy 1.40 delivered them to the filter (captured from a run of `envoy.yaml`
//! against a refused port, a listener that never answers, one that closes at once, and another
//! server at the bridge's address), and the bridge's own.

use super::*;

const NOW: u64 = 1_800_000_000;
const BRIDGE: Bridge = Bridge {
    cluster: "token_bridge",
    timeout: Duration::from_millis(5000),
};

fn envoy(status: u16, body: &'static [u8]) -> CalloutAnswer<'static> {
    CalloutAnswer::Http {
        status: Some(status),
        content_type: Some(b"text/plain"),
        body,
    }
}

fn bridge(status: u16, body: &[u8]) -> CalloutAnswer<'_> {
    CalloutAnswer::Http {
        status: Some(status),
        content_type: Some(b"application/json; charset=utf-8"),
        body,
    }
}

fn failure(answer: CalloutAnswer) -> String {
    BRIDGE.token_from(answer, NOW).unwrap_err()
}

#[test]
fn envoys_own_answers_name_the_real_cause_not_the_bridge() {
    assert_eq!(
        failure(envoy(
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"
        )),
        "the token bridge at cluster 'token_bridge' could not be reached: the connection was refused or failed (is the bridge running, at the cluster's address?)"
    );
    assert_eq!(
        failure(envoy(504, b"upstream request timeout")),
        "the token bridge at cluster 'token_bridge' did not answer within 5000 ms"
    );
    assert_eq!(
        failure(envoy(
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection termination"
        )),
        "the token bridge at cluster 'token_bridge' could not be reached: the connection was closed before an answer"
    );
    assert_eq!(
        failure(envoy(503, b"no healthy upstream")),
        "the token bridge at cluster 'token_bridge' could not be reached: Envoy has no healthy endpoint in that cluster"
    );
    assert_eq!(
        failure(CalloutAnswer::Reset),
        "the token bridge at cluster 'token_bridge' broke off its answer (the connection was reset)"
    );
}

#[test]
fn an_answer_without_the_bridges_json_is_not_blamed_on_the_bridge_nor_quoted() {
    // Another server at the bridge's address (here an egress proxy's refusal).
    let other = CalloutAnswer::Http {
        status: Some(403),
        content_type: Some(b"text/plain"),
        body: b"resolve_deny: denied destination 9f2c41d7",
    };
    let message = failure(other);
    assert_eq!(
        message,
        "the token bridge at cluster 'token_bridge' answered 403 without the bridge's JSON: is the cluster's address the bridge's?"
    );
    // A 200 that is not JSON is not the bridge's token, whatever its body.
    let html = CalloutAnswer::Http {
        status: Some(200),
        content_type: Some(b"text/html"),
        body: br#"{"access_token":"eyJ0.e30.sig","expires_on":"1800003600"}"#,
    };
    assert!(failure(html).contains("answered 200 without the bridge's JSON"));
    let bare = CalloutAnswer::Http {
        status: Some(503),
        content_type: None,
        body: b"upstream request timeout",
    };
    assert!(failure(bare).contains("answered 503 without the bridge's JSON"));
}

#[test]
fn the_bridges_json_errors_keep_their_message_and_its_token_is_taken() {
    let refusal = br#"{"error":"invalid_resource","error_description":"the resource 'https://x' is not allowed","statusCode":400,"message":"the resource 'https://x' is not allowed"}"#;
    assert_eq!(
        failure(bridge(400, refusal)),
        "the token bridge answered 400: the resource 'https://x' is not allowed"
    );
    // Even a 503 or 504: the bridge's JSON is the bridge speaking.
    let busy = br#"{"error":"temporarily_unavailable","message":"Entra did not answer"}"#;
    assert_eq!(
        failure(bridge(503, busy)),
        "the token bridge answered 503: Entra did not answer"
    );
    assert_eq!(
        failure(bridge(502, b"not json")),
        "the token bridge at cluster 'token_bridge' answered 502"
    );
    let token = format!(
        r#"{{"access_token":"eyJ0.e30.sig","expires_on":"{}","token_type":"Bearer"}}"#,
        NOW + 3600
    );
    let upper = CalloutAnswer::Http {
        status: Some(200),
        content_type: Some(b" Application/JSON ;charset=utf-8"),
        body: token.as_bytes(),
    };
    let token = BRIDGE.token_from(upper, NOW).unwrap();
    assert_eq!(token.authorization.expose(), "Bearer eyJ0.e30.sig");
}
