//! The JSON bodies the bridge answers with: the token response of the App Service protocol
//! (what the SDKs parse) and error bodies shaped like Microsoft Entra's.

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
    let mut body = JsonObject::new();
    body.string("access_token", token.access_token);
    body.string("expires_on", &token.expires_on.to_string());
    body.string(
        "expires_in",
        &token.expires_on.saturating_sub(now).to_string(),
    );
    if let Some(refresh_on) = token.refresh_on.filter(|&at| at > now) {
        body.string("refresh_in", &(refresh_on - now).to_string());
    }
    body.string("resource", resource);
    body.string("token_type", token.token_type);
    if let Some(client_id) = client_id {
        body.string("client_id", client_id);
    }
    body.finish()
}

/// An error body: an OAuth-style `error` code and a description saying what to fix, also as
/// App Service's own `statusCode` and `message`, since the SDKs read one pair or the other (Python's
/// shows only `message`, Node's only `error_description`).
pub fn error_body(status: u16, error: &str, description: &str) -> String {
    let mut body = JsonObject::new();
    body.string("error", error);
    body.string("error_description", description);
    body.number("statusCode", status.into());
    body.string("message", description);
    body.finish()
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
    let mut body = JsonObject::new();
    body.string("error", failure.error.unwrap_or("authentication_failed"));
    body.string("error_description", failure.message);
    body.number("statusCode", status.into());
    body.string("message", failure.message);
    body.numbers("error_codes", failure.error_codes);
    if let Some(id) = failure.correlation_id {
        body.string("correlation_id", id);
    }
    if let Some(id) = failure.trace_id {
        body.string("trace_id", id);
    }
    body.finish()
}

/// A JSON object written field by field.
struct JsonObject(String);

impl JsonObject {
    fn new() -> JsonObject {
        JsonObject(String::from("{"))
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_string(&mut self.0, key);
        self.0.push(':');
    }

    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        push_string(&mut self.0, value);
    }

    fn number(&mut self, key: &str, value: u64) {
        self.key(key);
        self.0.push_str(&value.to_string());
    }

    fn numbers(&mut self, key: &str, values: &[u32]) {
        self.key(key);
        self.0.push('[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self.0.push(',');
            }
            self.0.push_str(&value.to_string());
        }
        self.0.push(']');
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// `value` as a JSON string (RFC 8259 escapes).
fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
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
