//! Where the token bridge is and its secret: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, the two
//! variables of the App Service protocol, which the token bridge's sidecar sets beside the app.

use crate::prelude::*;
use crate::text::escaped;

use crate::authority::{Authority, Scheme, TokenEndpoint};
use crate::error::CredentialError;
use crate::settings::{AZURE_CLIENT_ID, AZURE_TENANT_ID, WorkloadIdentityOptions};
use redacted::Redacted;

/// The token bridge's URL, e.g. `http://127.0.0.1:8080/msi/token`.
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// The secret the bridge expects in `X-IDENTITY-HEADER`.
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";

/// Hosts plain http may go to: the token bridge runs in the pod, on the loopback interface, so
/// its secret and its tokens never cross a network.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// The bridge variant's settings.
#[derive(Debug)]
pub struct BridgeSettings {
    /// The bridge's token URL without its query: https, or http to a loopback host.
    pub endpoint: TokenEndpoint,
    /// `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`.
    pub secret: Redacted<String>,
    /// `AZURE_CLIENT_ID` (or the option), sent as `client_id` so that the bridge checks it
    /// serves this identity.
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID` (or the option): a per-call tenant equal to it is this tenant.
    pub tenant_id: Option<String>,
}

impl BridgeSettings {
    /// The settings `create` makes from its options: `client-id` and `tenant-id` win over the
    /// variables; the options that name a token file, an authority or other tenants have no
    /// meaning without Entra, and are refused rather than ignored.
    pub fn from_options(
        options: &WorkloadIdentityOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BridgeSettings, CredentialError> {
        let given = [
            ("token-file-path", options.token_file_path.is_some()),
            ("authority-host", options.authority_host.is_some()),
            (
                "additionally-allowed-tenants",
                !options.additionally_allowed_tenants.is_empty(),
            ),
        ];
        if let Some((option, _)) = given.iter().find(|(_, set)| *set) {
            return Err(CredentialError::InvalidArgument(format!(
                "the option {option} does not apply to the token bridge's variant, which asks \
                 the bridge, not Microsoft Entra ID; leave it unset, or use the base component \
                 (azure_workload_identity.wasm)"
            )));
        }
        BridgeSettings::resolve(options.client_id.clone(), options.tenant_id.clone(), env)
    }

    /// Reads the settings from `env`; `client_id` and `tenant_id` (from `create`'s options) win
    /// over the variables. Every problem is named in one `unavailable` error.
    pub fn resolve(
        client_id: Option<String>,
        tenant_id: Option<String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BridgeSettings, CredentialError> {
        let present = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let unavailable = |problem: String| {
            CredentialError::Unavailable(format!(
                "the credential's token bridge variant: {problem}"
            ))
        };
        let (endpoint, secret) = match (present(IDENTITY_ENDPOINT), present(IDENTITY_HEADER)) {
            (Some(endpoint), Some(secret)) => (endpoint, secret),
            (None, None) => {
                return Err(unavailable(format!(
                    "{IDENTITY_ENDPOINT} and {IDENTITY_HEADER} are not set. This variant takes \
                     tokens from the token bridge, which must run beside the app (a sidecar in \
                     its pod) and give the app both variables; without a bridge, use the base \
                     component (azure_workload_identity.wasm)"
                )));
            }
            (None, Some(_)) => {
                return Err(unavailable(format!(
                    "{IDENTITY_ENDPOINT} is not set; set it to the token bridge's URL, e.g. \
                     http://127.0.0.1:8080/msi/token"
                )));
            }
            (Some(_), None) => {
                return Err(unavailable(format!(
                    "{IDENTITY_HEADER} is not set; set it to the token bridge's secret"
                )));
            }
        };
        let endpoint = parse_endpoint(endpoint.trim()).map_err(unavailable)?;
        // Never quoted: it is the secret. A line break in it would end the header early.
        if secret.chars().any(char::is_control) {
            return Err(unavailable(format!(
                "{IDENTITY_HEADER} holds control characters, which no HTTP header can carry; \
                 set it to the token bridge's secret exactly"
            )));
        }
        let non_blank = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
        Ok(BridgeSettings {
            endpoint,
            secret: Redacted::new(secret),
            client_id: non_blank(client_id).or_else(|| present(AZURE_CLIENT_ID)),
            tenant_id: non_blank(tenant_id).or_else(|| present(AZURE_TENANT_ID)),
        })
    }
}

/// `IDENTITY_ENDPOINT`: https anywhere, plain http only to a loopback host; host, port and path
/// checked as the authority host's are.
fn parse_endpoint(raw: &str) -> Result<TokenEndpoint, String> {
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
        _ => {
            return Err(format!(
                "{IDENTITY_ENDPOINT} '{}' is not an http or https URL; set it to the token \
                 bridge's URL, e.g. http://127.0.0.1:8080/msi/token",
                escaped(raw)
            ));
        }
    };
    let authority = Authority::parse(rest, IDENTITY_ENDPOINT)?;
    if scheme == Scheme::Http && !LOOPBACK_HOSTS.contains(&host_name(&authority.host)) {
        return Err(format!(
            "{IDENTITY_ENDPOINT} '{}' is plain http to a host that is not loopback; the secret \
             and the tokens would cross the network unencrypted. Use http only to the bridge \
             beside the app (127.0.0.1, [::1] or localhost), else https",
            escaped(raw)
        ));
    }
    Ok(TokenEndpoint {
        scheme,
        host: authority.host,
        path: authority.path_prefix,
    })
}

/// The host of `host[:port]` (`[v6]` keeps its brackets).
fn host_name(host_and_port: &str) -> &str {
    match host_and_port.strip_prefix('[') {
        Some(v6) => v6
            .find(']')
            .map_or(host_and_port, |end| &host_and_port[..end + 2]),
        None => host_and_port
            .split_once(':')
            .map_or(host_and_port, |(host, _)| host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "the-bridge-secret-0123";

    fn resolve(pairs: &[(&str, &str)]) -> Result<BridgeSettings, CredentialError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        BridgeSettings::resolve(None, None, move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn unavailable(result: Result<BridgeSettings, CredentialError>) -> String {
        match result {
            Err(CredentialError::Unavailable(message)) => message,
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[test]
    fn loopback_http_and_any_https_endpoint_are_accepted() {
        for (raw, scheme, host) in [
            (
                "http://127.0.0.1:8080/msi/token",
                Scheme::Http,
                "127.0.0.1:8080",
            ),
            ("http://[::1]:8080/msi/token", Scheme::Http, "[::1]:8080"),
            ("HTTP://localhost/msi/token/", Scheme::Http, "localhost"),
            (
                "https://bridge.example:8443/msi/token",
                Scheme::Https,
                "bridge.example:8443",
            ),
        ] {
            let settings = resolve(&[(IDENTITY_ENDPOINT, raw), (IDENTITY_HEADER, SECRET)])
                .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(settings.endpoint.scheme, scheme, "{raw}");
            assert_eq!(settings.endpoint.host, host, "{raw}");
            assert_eq!(settings.endpoint.path, "/msi/token", "{raw}");
            assert_eq!(settings.secret.expose(), SECRET);
        }
    }

    #[test]
    fn plain_http_off_loopback_and_other_schemes_are_unavailable_naming_the_variable() {
        for (raw, expected) in [
            ("http://10.0.0.7:8080/msi/token", "not loopback"),
            ("http://127.0.0.1.example/msi/token", "not loopback"),
            ("http://localhost.evil:80/", "not loopback"),
            ("ftp://127.0.0.1/msi/token", "not an http or https URL"),
            ("127.0.0.1:8080/msi/token", "not an http or https URL"),
            (
                "http://127.0.0.1:8080/msi/token?x=1",
                "must not contain a query",
            ),
            ("http://user@127.0.0.1/msi/token", "userinfo"),
        ] {
            let message = unavailable(resolve(&[
                (IDENTITY_ENDPOINT, raw),
                (IDENTITY_HEADER, SECRET),
            ]));
            assert!(message.contains(IDENTITY_ENDPOINT), "{raw}: {message}");
            assert!(message.contains(expected), "{raw}: {message}");
            assert!(!message.contains(SECRET), "{message}");
        }
    }

    #[test]
    fn both_missing_names_both_and_says_the_bridge_must_run_beside_the_app() {
        let message = unavailable(resolve(&[(AZURE_CLIENT_ID, "c")]));
        assert!(
            message.contains("IDENTITY_ENDPOINT and IDENTITY_HEADER are not set")
                && message.contains("token bridge, which must run beside the app"),
            "{message}"
        );
        let message = unavailable(resolve(&[(IDENTITY_HEADER, SECRET)]));
        assert!(
            message.contains("IDENTITY_ENDPOINT is not set"),
            "{message}"
        );
        assert!(!message.contains(SECRET), "{message}");
        let message = unavailable(resolve(&[(IDENTITY_ENDPOINT, "http://127.0.0.1/")]));
        assert!(message.contains("IDENTITY_HEADER is not set"), "{message}");
        let message = unavailable(resolve(&[
            (IDENTITY_ENDPOINT, "http://127.0.0.1/"),
            (IDENTITY_HEADER, "  "),
        ]));
        assert!(message.contains("IDENTITY_HEADER is not set"), "{message}");
    }

    #[test]
    fn the_secret_is_never_in_debug_output_or_errors() {
        let settings = resolve(&[
            (IDENTITY_ENDPOINT, "http://127.0.0.1:1/msi/token"),
            (IDENTITY_HEADER, SECRET),
        ])
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        let broken = "secret-with-a\r\nline-break";
        let message = unavailable(resolve(&[
            (IDENTITY_ENDPOINT, "http://127.0.0.1:1/msi/token"),
            (IDENTITY_HEADER, broken),
        ]));
        assert!(
            message.contains("IDENTITY_HEADER holds control characters"),
            "{message}"
        );
        assert!(!message.contains("secret-with-a"), "{message}");
    }

    #[test]
    fn options_win_over_the_variables() {
        let env = |name: &str| match name {
            IDENTITY_ENDPOINT => Some("http://127.0.0.1:1/msi/token".to_owned()),
            IDENTITY_HEADER => Some(SECRET.to_owned()),
            AZURE_CLIENT_ID => Some("from-env".to_owned()),
            AZURE_TENANT_ID => Some("tenant-env".to_owned()),
            _ => None,
        };
        let settings = BridgeSettings::resolve(Some("from-option".into()), None, env).unwrap();
        assert_eq!(settings.client_id.as_deref(), Some("from-option"));
        assert_eq!(settings.tenant_id.as_deref(), Some("tenant-env"));
    }

    #[test]
    fn create_options_without_meaning_here_are_refused() {
        let env = |name: &str| match name {
            IDENTITY_ENDPOINT => Some("http://127.0.0.1:1/msi/token".to_owned()),
            IDENTITY_HEADER => Some(SECRET.to_owned()),
            _ => None,
        };
        let options = WorkloadIdentityOptions {
            authority_host: Some("https://login.example".into()),
            ..Default::default()
        };
        match BridgeSettings::from_options(&options, env) {
            Err(CredentialError::InvalidArgument(message)) => {
                assert!(
                    message.contains("authority-host does not apply"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        let options = WorkloadIdentityOptions {
            client_id: Some("c".into()),
            ..Default::default()
        };
        let settings = BridgeSettings::from_options(&options, env).unwrap();
        assert_eq!(settings.client_id.as_deref(), Some("c"));
    }
}
