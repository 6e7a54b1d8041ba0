//! The token bridge's answer: a token (`access_token`, `expires_on`/`expires_in` as strings of
//! seconds, `refresh_in`), or an error body (`error`, `error_description`, `message`, and
//! Entra's `error_codes` and ids when the bridge passes Entra's refusal on).

use crate::prelude::*;

use super::settings::IDENTITY_HEADER;
use crate::attempts::Outcome;
use crate::error::{AuthenticationFailure, CredentialError};
use crate::json::{self, Value};
use crate::platform::HttpResponse;
use crate::retry::{is_retryable_status, server_delay};
use crate::token_response::{access_token, error_fields, excerpt, failure};

/// What the answer of the request sent at `requested_at` (seconds since the Unix epoch, `now`
/// the time it came) means; `url` names the bridge in messages, `secrets` never appear in them.
/// Throttling and server faults are worth asking again; anything else is final.
pub fn bridge_outcome(
    response: &HttpResponse,
    requested_at: u64,
    now: u64,
    url: &str,
    secrets: &[&str],
) -> Outcome {
    let status = response.status;
    let error = match json::parse(&response.body) {
        Ok(Value::Object(json)) if (200..300).contains(&status) && !json.contains_key("error") => {
            match access_token(&json, requested_at) {
                Ok(token) => return Outcome::Token(token),
                Err(problem) => failure(
                    status,
                    format!(
                        "the token bridge at {url} answered HTTP {status} with an unusable token \
                         response: {problem}"
                    ),
                ),
            }
        }
        Ok(Value::Object(json)) => {
            let (mut failure, description) = error_fields(status, &json, secrets);
            failure.message = format!(
                "the token bridge at {url} refused the token request (HTTP {status}, {}): \
                 {description}{}",
                failure.error.as_deref().unwrap_or("no error code"),
                hint(status)
            );
            CredentialError::AuthenticationFailed(Box::new(failure))
        }
        _ => failure(
            status,
            format!(
                "{url} answered HTTP {status} with a body that is not the token bridge's: \"{}\". \
                 Check that IDENTITY_ENDPOINT points at the token bridge",
                excerpt(&response.body, secrets)
            ),
        ),
    };
    if is_retryable_status(status) {
        Outcome::Retryable(error, server_delay(&response.headers, now))
    } else {
        Outcome::Final(error)
    }
}

/// What to check, for the refusals that mean a setting of the app is wrong.
fn hint(status: u16) -> String {
    match status {
        401 => format!(
            ". The bridge did not accept the secret: {IDENTITY_HEADER} must be the value the \
             token bridge was given as its own {IDENTITY_HEADER}"
        ),
        404 => ". Check IDENTITY_ENDPOINT: the bridge's token path is /msi/token".into(),
        _ => String::new(),
    }
}

/// A transport failure: no answer from the bridge.
pub fn unreachable(url: &str, transport: &str, request_id: &str) -> CredentialError {
    CredentialError::AuthenticationFailed(Box::new(AuthenticationFailure {
        message: format!(
            "the token request to the token bridge at {url} failed in transit: {transport}. \
             Check that the token bridge runs beside the app at IDENTITY_ENDPOINT and that the \
             host lets the component make outgoing HTTP requests to it (wasi:http) \
             (x-ms-client-request-id {request_id})"
        ),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripted_platform::response;

    const URL: &str = "http://127.0.0.1:8080/msi/token?api-version=2019-08-01&resource=r";
    const SECRET: &str = "bridge-secret-0123";

    fn outcome(status: u16, headers: &[(&str, &str)], body: &str) -> Outcome {
        bridge_outcome(
            &response(status, headers, body),
            1_000,
            1_000,
            URL,
            &[SECRET],
        )
    }

    fn failed(outcome: Outcome) -> (bool, AuthenticationFailure) {
        match outcome {
            Outcome::Final(CredentialError::AuthenticationFailed(failure)) => (false, *failure),
            Outcome::Retryable(CredentialError::AuthenticationFailed(failure), _) => {
                (true, *failure)
            }
            _ => panic!("expected an authentication failure"),
        }
    }

    #[test]
    fn the_bridges_token_answer_with_times_as_strings() {
        let body = r#"{"access_token":"eyJ0.eyJ1.c2ln","expires_on":"4600","expires_in":"3600","refresh_in":"1800","resource":"https://vault.azure.net","token_type":"Bearer","client_id":"c"}"#;
        let Outcome::Token(token) = outcome(200, &[], body) else {
            panic!("no token");
        };
        assert_eq!(token.token, "eyJ0.eyJ1.c2ln");
        assert_eq!(token.expires_on, 4_600);
        assert_eq!(token.refresh_on, Some(2_800));
        assert_eq!(token.token_type, "Bearer");
    }

    #[test]
    fn a_wrong_secret_names_identity_header_and_the_401_never_the_secret() {
        let body = format!(
            r#"{{"error":"unauthorized","error_description":"the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER ({SECRET})","statusCode":401,"message":"same"}}"#
        );
        let (retryable, failure) = failed(outcome(401, &[], &body));
        assert!(!retryable);
        assert_eq!(failure.status, Some(401));
        assert_eq!(failure.error.as_deref(), Some("unauthorized"));
        assert!(
            failure.message.starts_with(&format!(
                "the token bridge at {URL} refused the token request (HTTP 401, unauthorized): \
                 the X-IDENTITY-HEADER header does not match"
            )),
            "{}",
            failure.message
        );
        assert!(
            failure
                .message
                .contains("IDENTITY_HEADER must be the value"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains(SECRET), "{}", failure.message);
    }

    #[test]
    fn entras_refusal_passed_on_keeps_its_codes_and_throttling_is_retryable() {
        let body = r#"{"error":"invalid_client","error_description":"Microsoft Entra ID refused …: AADSTS70021","statusCode":400,"message":"x","error_codes":[70021],"correlation_id":"c0ffee"}"#;
        let (retryable, failure) = failed(outcome(400, &[], body));
        assert!(!retryable);
        assert_eq!(failure.error_codes, vec![70021]);
        assert_eq!(failure.correlation_id.as_deref(), Some("c0ffee"));
        let only_message = r#"{"error":"unavailable","statusCode":503,"message":"Entra is busy"}"#;
        match outcome(503, &[("retry-after", "2")], only_message) {
            Outcome::Retryable(CredentialError::AuthenticationFailed(failure), delay) => {
                assert!(
                    failure.message.ends_with("Entra is busy"),
                    "{}",
                    failure.message
                );
                assert_eq!(delay, Some(2_000_000_000));
            }
            _ => panic!("a 503 is retryable"),
        }
    }

    #[test]
    fn a_body_that_is_not_the_bridges_is_quoted_short_and_clean() {
        let (_, failure) = failed(outcome(200, &[], &format!("<html>{SECRET}</html>")));
        assert!(
            failure.message.contains("not the token bridge's"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains(SECRET), "{}", failure.message);
        let (_, failure) = failed(outcome(200, &[], r#"{"access_token":"t"}"#));
        assert!(
            failure.message.contains("unusable token response"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn only_a_2xx_without_an_error_is_a_token_and_a_wrong_path_is_named() {
        let token = r#"{"access_token":"t","expires_in":"3600"}"#;
        let (_, failure) = failed(outcome(500, &[], token));
        assert_eq!(failure.status, Some(500));
        assert!(
            failure.message.contains("(HTTP 500, no error code)"),
            "{}",
            failure.message
        );
        let with_error = r#"{"access_token":"t","expires_in":"3600","error":"invalid_request"}"#;
        let (_, failure) = failed(outcome(200, &[], with_error));
        assert_eq!(failure.error.as_deref(), Some("invalid_request"));
        let not_found =
            r#"{"error":"not_found","error_description":"the token endpoint is /msi/token"}"#;
        let (_, failure) = failed(outcome(404, &[], not_found));
        assert!(
            failure
                .message
                .ends_with("Check IDENTITY_ENDPOINT: the bridge's token path is /msi/token"),
            "{}",
            failure.message
        );
    }
}
