//! The token request of the client-credentials flow with a federated client assertion.

use crate::prelude::*;
use crate::text::join;

use crate::authority::TokenEndpoint;
use crate::form;
use crate::platform::{HttpRequest, Method, Timeouts};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The `user-agent` header: this credential and its version.
pub const USER_AGENT: &str = concat!("azure-workload-identity-wasm/", env!("CARGO_PKG_VERSION"));

/// Everything one token request says.
pub struct TokenRequest<'a> {
    /// Where the request goes.
    pub endpoint: &'a TokenEndpoint,
    /// The app's client id.
    pub client_id: &'a str,
    /// The service-account token, already trimmed.
    pub assertion: &'a str,
    /// Validated scopes, sent space-separated.
    pub scopes: &'a [String],
    /// The `claims` field (a JSON object), if any.
    pub claims: Option<&'a str>,
    /// The `x-ms-client-request-id` header.
    pub request_id: &'a str,
}

impl TokenRequest<'_> {
    /// `POST` to the endpoint with the url-encoded form, bounded by `timeouts` and
    /// `deadline` (monotonic nanoseconds).
    pub fn to_http(&self, timeouts: Timeouts, deadline: u64) -> HttpRequest {
        let scope = join(self.scopes, " ");
        let mut fields = vec![
            ("client_assertion", self.assertion),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_id", self.client_id),
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ];
        if let Some(claims) = self.claims {
            fields.push(("claims", claims));
        }
        let body = form::encode(&fields).into_bytes();
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "application/json"),
            ("x-ms-client-request-id", self.request_id),
            ("user-agent", USER_AGENT),
            ("content-length", &body.len().to_string()),
        ]
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        HttpRequest {
            method: Method::Post,
            endpoint: self.endpoint.clone(),
            headers,
            body,
            timeouts,
            deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Scheme;
    use crate::form::tests::decode;

    const TIMEOUTS: Timeouts = Timeouts {
        connect: 1,
        first_byte: 2,
        between_bytes: 3,
    };

    fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    #[test]
    fn request_has_the_endpoint_headers_and_every_form_field() {
        let scopes = vec!["https://vault.azure.net/.default".to_string()];
        let endpoint = TokenEndpoint {
            scheme: Scheme::Https,
            host: "login.microsoftonline.com".into(),
            path: "/tenant-1/oauth2/v2.0/token".into(),
        };
        let request = TokenRequest {
            endpoint: &endpoint,
            client_id: "client-1",
            assertion: "header.payload.signature",
            scopes: &scopes,
            claims: Some(r#"{"access_token":{}}"#),
            request_id: "00000000-0000-4000-8000-000000000000",
        }
        .to_http(TIMEOUTS, 99);
        assert_eq!(
            request.endpoint.url(),
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
        );
        assert_eq!(
            header(&request, "content-type"),
            "application/x-www-form-urlencoded"
        );
        assert_eq!(header(&request, "accept"), "application/json");
        assert_eq!(
            header(&request, "x-ms-client-request-id"),
            "00000000-0000-4000-8000-000000000000"
        );
        assert_eq!(
            header(&request, "user-agent"),
            "azure-workload-identity-wasm/0.1.0"
        );
        assert_eq!(
            header(&request, "content-length"),
            request.body.len().to_string()
        );
        assert_eq!((request.timeouts, request.deadline), (TIMEOUTS, 99));
        let form = decode(core::str::from_utf8(&request.body).unwrap());
        let expected = [
            ("client_assertion", "header.payload.signature"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_id", "client-1"),
            ("grant_type", "client_credentials"),
            ("scope", "https://vault.azure.net/.default"),
            ("claims", r#"{"access_token":{}}"#),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(form, expected);
    }

    #[test]
    fn scopes_are_joined_by_one_space_and_no_claims_field_without_claims() {
        let scopes = vec!["a/.default".to_string(), "openid".to_string()];
        let endpoint = TokenEndpoint {
            scheme: Scheme::Https,
            host: "login.example".into(),
            path: "/adfs/t/oauth2/v2.0/token".into(),
        };
        let request = TokenRequest {
            endpoint: &endpoint,
            client_id: "c",
            assertion: "x",
            scopes: &scopes,
            claims: None,
            request_id: "id",
        }
        .to_http(TIMEOUTS, 99);
        assert_eq!(request.endpoint.path, "/adfs/t/oauth2/v2.0/token");
        let form = decode(core::str::from_utf8(&request.body).unwrap());
        assert!(form.contains(&("scope".to_string(), "a/.default openid".to_string())));
        assert!(form.iter().all(|(name, _)| name != "claims"));
    }
}
