//! What can be asked of the token bridge, and the request that asks it: the App Service
//! managed-identity protocol, `GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=…` with
//! the secret in `X-IDENTITY-HEADER`.

use crate::prelude::*;

use super::settings::BridgeSettings;
use crate::authority::TokenEndpoint;
use crate::credential::TokenRequestOptions;
use crate::error::CredentialError;
use crate::form;
use crate::platform::{HttpRequest, Method, Timeouts};
use crate::text::escaped;
use crate::token_request::USER_AGENT;

/// The protocol version every current SDK sends, and the only one the token bridge serves.
pub const API_VERSION: &str = "2019-08-01";
/// What a scope adds to a resource (`https://vault.azure.net/.default`).
const DEFAULT_SCOPE_SUFFIX: &str = "/.default";

/// The resource to ask the bridge for: the one scope (already validated), without `/.default`.
/// Everything the protocol cannot say is refused before any request, naming the base component,
/// which can.
///
/// `enable-cae` is accepted and changes nothing: it declares that the caller can answer claims
/// challenges (the bearer middleware always sets it), and the bridge asks Entra without it, so
/// the token is one without CAE, which resources take as they take any token (they send CAE
/// challenges only to CAE tokens). The token is cached under one key whatever `enable-cae` says.
pub fn resource_for<'a>(
    scopes: &'a [String],
    options: &TokenRequestOptions,
    settings: &BridgeSettings,
) -> Result<&'a str, CredentialError> {
    let refused = |what: String| {
        CredentialError::InvalidArgument(format!(
            "{what}, which the token bridge's protocol cannot express (one resource per request, \
             no claims, the bridge's own tenant); the base component \
             (azure_workload_identity.wasm) supports it"
        ))
    };
    let [scope] = scopes else {
        return Err(refused(format!(
            "{} scopes were asked for at once",
            scopes.len()
        )));
    };
    if options
        .claims
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
    {
        return Err(refused("a claims challenge was passed".into()));
    }
    if let Some(tenant) = options
        .tenant_id
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        let own = settings
            .tenant_id
            .as_deref()
            .is_some_and(|own| own.eq_ignore_ascii_case(tenant));
        if !own {
            return Err(refused(format!(
                "a token from the tenant '{}' was asked for",
                escaped(tenant)
            )));
        }
    }
    scope.strip_suffix(DEFAULT_SCOPE_SUFFIX).ok_or_else(|| {
        CredentialError::InvalidArgument(format!(
            "the scope '{}' does not end in {DEFAULT_SCOPE_SUFFIX}: the token bridge issues \
             tokens for a resource (e.g. \"https://vault.azure.net/.default\")",
            escaped(scope)
        ))
    })
}

/// The GET for `resource`'s token, bounded by `timeouts` and `deadline` (monotonic
/// nanoseconds). The secret is in a header; the query holds nothing secret.
pub fn bridge_request(
    settings: &BridgeSettings,
    resource: &str,
    request_id: &str,
    timeouts: Timeouts,
    deadline: u64,
) -> HttpRequest {
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    if let Some(client_id) = &settings.client_id {
        query.push(("client_id", client_id));
    }
    let endpoint = TokenEndpoint {
        scheme: settings.endpoint.scheme,
        host: settings.endpoint.host.clone(),
        path: format!("{}?{}", settings.endpoint.path, form::encode(&query)),
    };
    let headers = [
        ("x-identity-header", settings.secret.expose().as_str()),
        ("accept", "application/json"),
        ("x-ms-client-request-id", request_id),
        ("user-agent", USER_AGENT),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    HttpRequest {
        method: Method::Get,
        endpoint,
        headers,
        body: Vec::new(),
        timeouts,
        deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Scheme;

    const SECRET: &str = "bridge-secret-0123456789";

    fn settings(client_id: Option<&str>) -> BridgeSettings {
        BridgeSettings::resolve(
            client_id.map(str::to_owned),
            Some("tenant-a".into()),
            |name| match name {
                "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:8080/msi/token".into()),
                "IDENTITY_HEADER" => Some(SECRET.into()),
                _ => None,
            },
        )
        .unwrap()
    }

    const TIMEOUTS: Timeouts = Timeouts {
        connect: 1,
        first_byte: 2,
        between_bytes: 3,
    };

    #[test]
    fn the_request_is_the_app_service_get_with_the_secret_header() {
        let request = bridge_request(
            &settings(Some("5b0a9b3e-61a5")),
            "https://vault.azure.net",
            "req-id",
            TIMEOUTS,
            9,
        );
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.endpoint.scheme, Scheme::Http);
        assert_eq!(
            request.endpoint.url(),
            "http://127.0.0.1:8080/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&client_id=5b0a9b3e-61a5"
        );
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("x-identity-header", SECRET),
                ("accept", "application/json"),
                ("x-ms-client-request-id", "req-id"),
                ("user-agent", USER_AGENT),
            ]
        );
        assert!(request.body.is_empty());
        assert_eq!((request.timeouts, request.deadline), (TIMEOUTS, 9));
        let debug = format!("{request:?}");
        // The secret is a header value; Debug of the request shows headers, so it must not be
        // built for a message. It is not: errors name the URL only (checked in mod.rs's tests).
        assert!(
            debug.contains("http://127.0.0.1:8080/msi/token?"),
            "{debug}"
        );
    }

    #[test]
    fn without_a_client_id_the_query_has_none() {
        let request = bridge_request(
            &settings(None),
            "https://management.azure.com",
            "r",
            TIMEOUTS,
            1,
        );
        assert_eq!(
            request.endpoint.path,
            "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com"
        );
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn invalid(result: Result<&str, CredentialError>) -> String {
        match result {
            Err(CredentialError::InvalidArgument(message)) => message,
            other => panic!("expected invalid-argument, got {other:?}"),
        }
    }

    #[test]
    fn the_resource_is_the_one_scope_without_default() {
        let vault = scopes(&["https://vault.azure.net/.default"]);
        let cae = TokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        assert_eq!(
            resource_for(&vault, &cae, &settings(None)).unwrap(),
            "https://vault.azure.net"
        );
        // The bridge's own tenant, in any case, is no other tenant.
        let own = TokenRequestOptions {
            tenant_id: Some("TENANT-A".into()),
            ..Default::default()
        };
        assert!(resource_for(&vault, &own, &settings(None)).is_ok());
    }

    #[test]
    fn what_the_protocol_cannot_say_is_refused_naming_the_base_component() {
        let vault = scopes(&["https://vault.azure.net/.default"]);
        let two = scopes(&[
            "https://vault.azure.net/.default",
            "https://storage.azure.com/.default",
        ]);
        let claims = TokenRequestOptions {
            claims: Some(r#"{"access_token":{"nbf":{"essential":true}}}"#.into()),
            ..Default::default()
        };
        let tenant = TokenRequestOptions {
            tenant_id: Some("other-tenant".into()),
            ..Default::default()
        };
        let cases = [
            (
                &two,
                TokenRequestOptions::default(),
                "2 scopes were asked for at once",
            ),
            (&vault, claims, "a claims challenge was passed"),
            (&vault, tenant, "the tenant 'other-tenant'"),
        ];
        for (scopes, options, expected) in cases {
            let message = invalid(resource_for(scopes, &options, &settings(None)));
            assert!(message.contains(expected), "{message}");
            assert!(
                message.contains("cannot express")
                    && message.contains("azure_workload_identity.wasm"),
                "{message}"
            );
        }
        let message = invalid(resource_for(
            &scopes(&["https://vault.azure.net/user_impersonation"]),
            &TokenRequestOptions::default(),
            &settings(None),
        ));
        assert!(message.contains("does not end in /.default"), "{message}");
    }
}
