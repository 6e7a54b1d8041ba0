//! Reads the token endpoint's answer: an access token, or an authentication failure that says
//! what Entra said, in fields and in words.

use crate::prelude::*;
use crate::text::join;

use crate::error::{AccessToken, AuthenticationFailure, CredentialError, redact};
use crate::hints::likely_cause;
use crate::json::{self, Object, Value};
use crate::platform::HttpResponse;

/// How much of an unexpected body is quoted in a message.
const EXCERPT_CHARS: usize = 200;

/// Entra advises refreshing at half the lifetime of tokens that live this long or longer.
const HALF_LIFE_REFRESH_MIN_SECONDS: u64 = 2 * 60 * 60;

/// Turns the response to a token request sent at `requested_at` (seconds since the Unix epoch)
/// into a token or a failure. `url` names the endpoint in messages; `secrets` never appear in them.
pub fn parse_token_response(
    response: &HttpResponse,
    requested_at: u64,
    url: &str,
    secrets: &[&str],
) -> Result<AccessToken, CredentialError> {
    let status = response.status;
    let json = match json::parse(&response.body) {
        Ok(Value::Object(object)) => object,
        _ => {
            return Err(failure(
                status,
                format!(
                    "{url} answered HTTP {status} with a body that is not a Microsoft Entra token \
                     response: \"{}\". Check that the authority host points at Microsoft Entra ID \
                     and that no proxy on the way rewrites the answer",
                    excerpt(&response.body, secrets)
                ),
            ));
        }
    };
    if (200..300).contains(&status) && !json.contains_key("error") {
        access_token(&json, requested_at).map_err(|problem| {
            failure(
                status,
                format!("{url} answered HTTP {status} with an unusable token response: {problem}"),
            )
        })
    } else {
        Err(entra_error(status, &json, url, secrets))
    }
}

/// The token of a successful answer to a request sent at `requested_at`: expiry from
/// `expires_in` (else the absolute `expires_on`), numbers or strings of seconds; `Err` says what
/// makes it unusable.
pub fn access_token(json: &Object, requested_at: u64) -> Result<AccessToken, String> {
    let token = match json.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => token.clone(),
        _ => return Err("it has no access_token".into()),
    };
    let expires_on = match seconds(json, "expires_in")? {
        Some(expires_in) => requested_at.saturating_add(expires_in),
        // Some token services send only the absolute expiry (epoch seconds); MSAL and
        // azure-identity accept that, so the credential does too.
        None => seconds(json, "expires_on")?.ok_or("it has neither expires_in nor expires_on")?,
    };
    if expires_on <= requested_at {
        return Err(format!(
            "the token expires at {expires_on}, not after the request was sent ({requested_at} \
             seconds since 1970): check the clocks"
        ));
    }
    let lifetime = expires_on - requested_at;
    let refresh_in = seconds(json, "refresh_in")?
        .or((lifetime >= HALF_LIFE_REFRESH_MIN_SECONDS).then_some(lifetime / 2));
    let token_type = match json.get("token_type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        _ => "Bearer".to_owned(),
    };
    Ok(AccessToken {
        token,
        expires_on,
        refresh_on: refresh_in.map(|refresh_in| requested_at.saturating_add(refresh_in)),
        token_type,
    })
}

/// A count of seconds, which some authorities send as a string.
fn seconds(json: &Object, field: &str) -> Result<Option<u64>, String> {
    let value = match json.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    // One parse for both forms: each instance of it costs the component half a kilobyte.
    let text = match value {
        Value::Number(number) => number.as_str(),
        Value::String(text) => text.trim(),
        _ => "",
    };
    text.parse()
        .map(Some)
        .map_err(|_| format!("{field} is {value}, not a whole number of seconds"))
}

fn entra_error(status: u16, json: &Object, url: &str, secrets: &[&str]) -> CredentialError {
    let (mut failure, description) = error_fields(status, json, secrets);
    let mut message = format!(
        "Microsoft Entra ID refused the token request to {url} (HTTP {status}, {}): {description}",
        failure.error.as_deref().unwrap_or("no error code")
    );
    if let Some(cause) = likely_cause(&failure.error_codes) {
        message.push('\n');
        message.push_str(&cause);
    }
    failure.message = message;
    CredentialError::AuthenticationFailed(Box::new(failure))
}

/// An error body's fields as Entra writes them (and the token bridge passes them on): `error`,
/// `error_codes`, `correlation_id`, `trace_id`, with `status`; and the first line of
/// `error_description` (else of `message`, App Service's field), every secret redacted. The
/// failure's message is left for the caller to write.
pub fn error_fields(
    status: u16,
    json: &Object,
    secrets: &[&str],
) -> (AuthenticationFailure, String) {
    let text = |field: &str| {
        json.get(field)
            .and_then(Value::as_str)
            .map(|value| redact(value, secrets))
    };
    let error_codes: Vec<u32> = json
        .get("error_codes")
        .and_then(|codes| match codes {
            Value::Array(codes) => Some(codes),
            _ => None,
        })
        .map(|codes| {
            codes
                .iter()
                .filter_map(|code| match code {
                    Value::Number(n) => n.parse::<u32>().ok(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    // Entra's description repeats trace id, correlation id and timestamp on further lines;
    // those are fields of the failure, so the message keeps the first line.
    let description = text("error_description")
        .or_else(|| text("message"))
        .and_then(|d| d.lines().next().map(str::trim).map(str::to_owned))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "no error description".to_owned());
    let failure = AuthenticationFailure {
        message: String::new(),
        status: Some(status),
        error: text("error"),
        error_codes,
        correlation_id: text("correlation_id"),
        trace_id: text("trace_id"),
    };
    (failure, description)
}

/// An authentication failure with an answer of `status` and `message`.
pub fn failure(status: u16, message: String) -> CredentialError {
    CredentialError::AuthenticationFailed(Box::new(AuthenticationFailure {
        message,
        status: Some(status),
        ..Default::default()
    }))
}

/// The start of a body, printable and with secrets redacted before it is cut, so that a cut
/// can never leave part of a secret behind.
pub fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = redact(&String::from_utf8_lossy(body), secrets);
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = join(&printable.split_whitespace().collect::<Vec<_>>(), " ");
    match collapsed.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://login.microsoftonline.com/t/oauth2/v2.0/token";

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(status: u16, body: &str) -> Result<AccessToken, CredentialError> {
        parse_token_response(&response(status, body), 1_000, URL, &["the-assertion"])
    }

    fn failure_of(result: Result<AccessToken, CredentialError>) -> AuthenticationFailure {
        match result {
            Err(CredentialError::AuthenticationFailed(failure)) => *failure,
            other => panic!("expected authentication-failed, got {other:?}"),
        }
    }

    #[test]
    fn success_counts_expiry_from_the_request_start() {
        let token = parse(
            200,
            r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tok"}"#,
        )
        .unwrap();
        assert_eq!(token.token, "tok");
        assert_eq!(token.expires_on, 4_599);
        assert_eq!(token.refresh_on, None);
        assert_eq!(token.token_type, "Bearer");
    }

    #[test]
    fn numbers_as_strings_refresh_in_and_default_token_type_are_accepted() {
        let token = parse(
            200,
            r#"{"expires_in":"3600","refresh_in":"1800","access_token":"tok"}"#,
        )
        .unwrap();
        assert_eq!(token.expires_on, 4_600);
        assert_eq!(token.refresh_on, Some(2_800));
        assert_eq!(token.token_type, "Bearer");
    }

    #[test]
    fn long_lived_tokens_refresh_at_half_life() {
        let token = parse(200, r#"{"expires_in":86400,"access_token":"tok"}"#).unwrap();
        assert_eq!(token.refresh_on, Some(1_000 + 43_200));
    }

    #[test]
    fn half_life_refresh_starts_at_two_hour_tokens() {
        let refresh_on = |expires_in: u64| {
            parse(
                200,
                &format!(r#"{{"expires_in":{expires_in},"access_token":"tok"}}"#),
            )
            .unwrap()
            .refresh_on
        };
        assert_eq!(refresh_on(7_199), None);
        assert_eq!(refresh_on(7_200), Some(1_000 + 3_600));
    }

    #[test]
    fn an_absolute_expires_on_alone_is_accepted_as_a_number_or_a_string() {
        for expires_on in ["4600", r#""4600""#] {
            let token = parse(
                200,
                &format!(r#"{{"access_token":"tok","expires_on":{expires_on}}}"#),
            )
            .unwrap();
            assert_eq!(token.expires_on, 4_600);
            assert_eq!(token.refresh_on, None);
        }
        // Its lifetime counts from the request for the half-life rule, as expires_in's does.
        let long = parse(200, r#"{"access_token":"tok","expires_on":8200}"#).unwrap();
        assert_eq!(long.refresh_on, Some(1_000 + 3_600));
        // expires_in, relative to the request, wins when both are sent.
        let both = parse(
            200,
            r#"{"access_token":"tok","expires_in":60,"expires_on":999999}"#,
        )
        .unwrap();
        assert_eq!(both.expires_on, 1_060);
    }

    #[test]
    fn a_token_that_expires_before_it_was_requested_is_refused() {
        for body in [
            r#"{"access_token":"tok","expires_on":1000}"#,
            r#"{"access_token":"tok","expires_on":"12"}"#,
            r#"{"access_token":"tok","expires_in":0}"#,
        ] {
            let failure = failure_of(parse(200, body));
            assert!(
                failure
                    .message
                    .contains("not after the request was sent (1000"),
                "{}",
                failure.message
            );
        }
        let failure = failure_of(parse(200, r#"{"access_token":"tok","expires_on":"soon"}"#));
        assert!(
            failure
                .message
                .ends_with(r#"expires_on is "soon", not a whole number of seconds"#),
            "{}",
            failure.message
        );
    }

    #[test]
    fn an_empty_access_token_is_refused() {
        let failure = failure_of(parse(200, r#"{"access_token":"","expires_in":3600}"#));
        assert_eq!(failure.status, Some(200));
        assert_eq!(
            failure.message,
            format!(
                "{URL} answered HTTP 200 with an unusable token response: it has no access_token"
            )
        );
    }

    #[test]
    fn a_token_in_an_answer_that_is_not_2xx_is_refused() {
        for status in [199, 300, 400, 500] {
            let failure = failure_of(parse(status, r#"{"access_token":"tok","expires_in":3600}"#));
            assert_eq!(failure.status, Some(status));
            assert_eq!(
                failure.message,
                format!(
                    "Microsoft Entra ID refused the token request to {URL} (HTTP {status}, no \
                     error code): no error description"
                )
            );
        }
        assert!(parse(299, r#"{"access_token":"tok","expires_in":3600}"#).is_ok());
    }

    #[test]
    fn a_2xx_answer_with_an_error_keeps_its_details() {
        let failure = failure_of(parse(
            200,
            r#"{"access_token":"tok","expires_in":3600,"error":"invalid_grant","error_description":"AADSTS50013: bad","error_codes":[50013]}"#,
        ));
        assert_eq!(failure.status, Some(200));
        assert_eq!(failure.error.as_deref(), Some("invalid_grant"));
        assert_eq!(failure.error_codes, vec![50013]);
        assert!(
            failure
                .message
                .starts_with(&format!("Microsoft Entra ID refused the token request to {URL} (HTTP 200, invalid_grant): AADSTS50013: bad")),
            "{}",
            failure.message
        );
    }

    #[test]
    fn success_without_access_token_or_expiry_fails() {
        let failure = failure_of(parse(200, r#"{"expires_in":3600}"#));
        assert!(
            failure.message.contains("no access_token"),
            "{}",
            failure.message
        );
        let failure = failure_of(parse(200, r#"{"access_token":"tok"}"#));
        assert!(
            failure
                .message
                .contains("neither expires_in nor expires_on"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains("tok\""), "{}", failure.message);
        for (expires_in, shown) in [("-5", "-5"), ("1.5", "1.5"), (r#"" soon ""#, r#"" soon ""#)] {
            let failure = failure_of(parse(
                200,
                &format!(r#"{{"access_token":"tok","expires_in":{expires_in}}}"#),
            ));
            assert!(
                failure.message.ends_with(&format!(
                    "unusable token response: expires_in is {shown}, not a whole number of seconds"
                )),
                "{}",
                failure.message
            );
        }
    }

    #[test]
    fn a_token_type_is_kept_unless_missing_or_empty() {
        let token_type = |field: &str| {
            parse(
                200,
                &format!(r#"{{"access_token":"tok","expires_in":3600{field}}}"#),
            )
            .unwrap()
            .token_type
        };
        assert_eq!(token_type(r#","token_type":"pop""#), "pop");
        assert_eq!(token_type(r#","token_type":"""#), "Bearer");
        assert_eq!(token_type(""), "Bearer");
    }

    #[test]
    fn entra_error_body_is_mapped_field_by_field() {
        let body = r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.example'.\r\nTrace ID: 0ab1\r\nCorrelation ID: 9cd2\r\nTimestamp: 2026-11-28 10:00:00Z","error_codes":[70021],"timestamp":"2026-11-28 10:00:00Z","trace_id":"0ab1","correlation_id":"9cd2","error_uri":"https://login.microsoftonline.com/error?code=70021"}"#;
        let failure = failure_of(parse(400, body));
        assert_eq!(failure.status, Some(400));
        assert_eq!(failure.error.as_deref(), Some("invalid_request"));
        assert_eq!(failure.error_codes, vec![70021]);
        assert_eq!(failure.trace_id.as_deref(), Some("0ab1"));
        assert_eq!(failure.correlation_id.as_deref(), Some("9cd2"));
        assert_eq!(
            failure.message,
            format!(
                "Microsoft Entra ID refused the token request to {URL} (HTTP 400, invalid_request): \
                 AADSTS70021: No matching federated identity record found for presented \
                 assertion. Assertion Issuer: 'https://oidc.example'.\n{}",
                likely_cause(&[70021]).unwrap()
            )
        );
    }

    #[test]
    fn echoed_assertion_is_redacted_from_error_fields() {
        let body =
            r#"{"error":"invalid_client","error_description":"bad assertion the-assertion"}"#;
        let failure = failure_of(parse(401, body));
        assert!(
            !failure.message.contains("the-assertion"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("bad assertion ***"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn non_json_body_reports_status_and_a_short_clean_excerpt() {
        let html = format!(
            "<html>\r\n<body>502 Bad Gateway the-assertion {}</body></html>",
            "x".repeat(1000)
        );
        let failure = failure_of(parse(502, &html));
        assert_eq!(failure.status, Some(502));
        assert!(failure.message.contains("HTTP 502"), "{}", failure.message);
        assert!(
            failure.message.contains("<html> <body>502 Bad Gateway ***"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains("the-assertion"));
        assert!(
            failure.message.len() < 600,
            "{} chars",
            failure.message.len()
        );
    }

    #[test]
    fn empty_body_is_a_failure() {
        let failure = failure_of(parse(200, ""));
        assert!(
            failure
                .message
                .contains("not a Microsoft Entra token response")
        );
    }
}
