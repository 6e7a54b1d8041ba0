//! The JSON bodies the bridge answers with: the token response of the App Service protocol
//! (what the SDKs parse) and error bodies shaped like Microsoft Entra's.

use serde::{Serialize, Serializer};

/// A token, as the credential returned it, and the request's time.
pub struct IssuedToken<'a> {
    pub access_token: &'a str,
    pub token_type: &'a str,
    /// Seconds since the Unix epoch.
    pub expires_on: u64,
    /// When the credential will fetch a new token, in seconds since the Unix epoch.
    pub refresh_on: Option<u64>,
}

/// The App Service token response: times as strings of seconds, as App Service sends them (and
/// as the SDKs parse them). `refresh_in` tells the SDKs to come back when the bridge has a fresh
/// token, not earlier (a cached one) nor later.
pub fn token_body(
    token: &IssuedToken,
    resource: &str,
    client_id: Option<&str>,
    now: u64,
) -> String {
    to_json(&TokenBody {
        access_token: token.access_token,
        expires_on: Seconds(token.expires_on),
        expires_in: Seconds(token.expires_on.saturating_sub(now)),
        refresh_in: token
            .refresh_on
            .filter(|&at| at > now)
            .map(|at| Seconds(at - now)),
        resource,
        token_type: token.token_type,
        client_id,
    })
}

/// An error body: an OAuth-style `error` code and a description saying what to fix, also as
/// App Service's own `statusCode` and `message`, since the SDKs read one pair or the other (Python's
/// shows only `message`, Node's only `error_description`).
pub fn error_body(status: u16, error: &str, description: &str) -> String {
    to_json(&ErrorBody {
        error,
        error_description: description,
        status_code: status,
        message: description,
    })
}

/// What Microsoft Entra ID answered when the credential's token request failed, passed on.
pub struct EntraFailure<'a> {
    pub error: Option<&'a str>,
    pub message: &'a str,
    pub error_codes: &'a [u32],
    pub correlation_id: Option<&'a str>,
    pub trace_id: Option<&'a str>,
}

pub fn entra_failure_body(status: u16, failure: &EntraFailure) -> String {
    to_json(&EntraFailureBody {
        error: failure.error.unwrap_or("authentication_failed"),
        error_description: failure.message,
        status_code: status,
        message: failure.message,
        error_codes: failure.error_codes,
        correlation_id: failure.correlation_id,
        trace_id: failure.trace_id,
    })
}

// The bodies as structs, not `json!` maps: serde_json's maps sort their keys (unless a feature
// pulls in `indexmap`), and these fields go out in the order App Service and Entra write them.

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    expires_on: Seconds,
    expires_in: Seconds,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_in: Option<Seconds>,
    resource: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(rename = "statusCode")]
    status_code: u16,
    message: &'a str,
}

/// An error body's fields, then Entra's codes and ids. (Not a `#[serde(flatten)]` of
/// `ErrorBody`: that needs serde's `alloc` and serializes through a map.)
#[derive(Serialize)]
struct EntraFailureBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(rename = "statusCode")]
    status_code: u16,
    message: &'a str,
    error_codes: &'a [u32],
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
}

/// A count of seconds, written as a JSON string (`"3600"`): App Service's format, which the
/// SDKs parse as such.
struct Seconds(u64);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

fn to_json(body: &impl Serialize) -> String {
    // Strings, integers and sequences of integers: nothing here can fail to serialize (only maps
    // with non-string keys and failing `Serialize` impls can).
    serde_json::to_string(body).expect("the answer bodies always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_body_has_the_app_service_fields_with_times_as_strings() {
        let token = IssuedToken {
            access_token: "eyJ0eXAi.body.sig",
            token_type: "Bearer",
            expires_on: 1_700_003_600,
            refresh_on: Some(1_700_001_800),
        };
        assert_eq!(
            token_body(
                &token,
                "https://vault.azure.net",
                Some("cid"),
                1_700_000_000
            ),
            r#"{"access_token":"eyJ0eXAi.body.sig","expires_on":"1700003600","expires_in":"3600","refresh_in":"1800","resource":"https://vault.azure.net","token_type":"Bearer","client_id":"cid"}"#
        );
        let due = IssuedToken {
            refresh_on: Some(1_699_999_999),
            ..token
        };
        assert_eq!(
            token_body(&due, "r", None, 1_700_000_000),
            r#"{"access_token":"eyJ0eXAi.body.sig","expires_on":"1700003600","expires_in":"3600","resource":"r","token_type":"Bearer"}"#
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            error_body(
                400,
                "invalid_request",
                "a \"quote\", a \\ and a\nnewline\u{1}"
            ),
            r#"{"error":"invalid_request","error_description":"a \"quote\", a \\ and a\nnewline\u0001","statusCode":400,"message":"a \"quote\", a \\ and a\nnewline\u0001"}"#
        );
    }

    #[test]
    fn every_control_character_and_quote_reads_back_as_it_was() {
        let description: String = (0..0x20u8)
            .map(char::from)
            .chain("\"\\/\u{7f}\u{2028}é😀".chars())
            .collect();
        let body: serde_json::Value =
            serde_json::from_str(&error_body(400, "invalid_request", &description)).unwrap();
        assert_eq!(body["error_description"], description.as_str());
        assert_eq!(body["message"], description.as_str());
        assert_eq!(body["statusCode"], 400);
    }

    #[test]
    fn an_entra_failure_keeps_its_codes_and_ids() {
        let failure = EntraFailure {
            error: Some("invalid_client"),
            message: "AADSTS70021: No matching federated identity record found",
            error_codes: &[70021, 7000215],
            correlation_id: Some("c0ffee"),
            trace_id: None,
        };
        assert_eq!(
            entra_failure_body(401, &failure),
            r#"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found","statusCode":401,"message":"AADSTS70021: No matching federated identity record found","error_codes":[70021,7000215],"correlation_id":"c0ffee"}"#
        );
    }
}
