//! The plugin configuration, as Envoy passes it (the filter's `configuration` string).

use crate::hosts::AllowedHosts;
use core::time::Duration;
use redacted::Redacted;

/// The bridge's token endpoint, as `token-bridge` serves it.
pub const DEFAULT_PATH: &str = "/msi/token";
/// Long enough for the bridge's first Entra call; a cached answer takes about a millisecond.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often each worker looks at the shared token: resumes requests waiting for another
/// worker's fetch, and refreshes a token at 80% of its life.
pub const DEFAULT_TICK: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Config {
    /// The Envoy cluster that reaches the bridge.
    pub cluster: String,
    /// The `:authority` of the callout, e.g. `127.0.0.1:8181`.
    pub authority: String,
    /// The resource whose token the requests get, e.g. `https://vault.azure.net`.
    pub resource: String,
    /// The hosts whose requests get the token; requests for any other are refused.
    pub allowed_hosts: AllowedHosts,
    /// The bridge's secret, sent as `X-IDENTITY-HEADER`.
    pub identity_header: Redacted<String>,
    pub path: String,
    pub timeout: Duration,
    pub tick: Duration,
}

impl Config {
    /// Parses the JSON configuration; `Err` names every missing or malformed field.
    pub fn parse(json: &[u8]) -> Result<Config, String> {
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|error| format!("the filter configuration is not JSON: {error}"))?;
        let object = value
            .as_object()
            .ok_or("the filter configuration must be a JSON object")?;
        let mut problems = Vec::new();
        let mut text = |name: &str, example: &str| -> String {
            match object.get(name).and_then(serde_json::Value::as_str) {
                Some(text) if !text.is_empty() => text.to_owned(),
                _ => {
                    problems.push(format!("\"{name}\" is missing (e.g. {example})"));
                    String::new()
                }
            }
        };
        let cluster = text("cluster", "\"token_bridge\", the cluster of the bridge");
        let authority = text("authority", "\"127.0.0.1:8181\", where the bridge listens");
        let resource = text("resource", "\"https://vault.azure.net\"");
        let identity_header = text("identity_header", "the bridge's IDENTITY_HEADER");
        let allowed_hosts = match AllowedHosts::parse(object.get("allowed_hosts")) {
            Ok(hosts) => Some(hosts),
            Err(hosts_problems) => {
                problems.extend(hosts_problems);
                None
            }
        };
        let path = match object.get("path") {
            None => DEFAULT_PATH.to_owned(),
            Some(path) => match path.as_str() {
                Some(path) if path.starts_with('/') => path.to_owned(),
                _ => {
                    problems.push("\"path\" must be a string starting with '/'".into());
                    String::new()
                }
            },
        };
        let mut millis = |name: &str, default: Duration| match object.get(name) {
            None => default,
            Some(value) => match value.as_u64().filter(|&ms| (1..=600_000).contains(&ms)) {
                Some(ms) => Duration::from_millis(ms),
                None => {
                    problems.push(format!("\"{name}\" must be milliseconds, 1 to 600000"));
                    default
                }
            },
        };
        let timeout = millis("timeout_ms", DEFAULT_TIMEOUT);
        let tick = millis("tick_ms", DEFAULT_TICK);
        if resource.ends_with("/.default") {
            problems.push(format!(
                "\"resource\" '{resource}' is a scope; give the resource, without '/.default'"
            ));
        }
        if !identity_header.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push("\"identity_header\" must be printable ASCII without spaces".into());
        }
        match allowed_hosts {
            Some(allowed_hosts) if problems.is_empty() => Ok(Config {
                cluster,
                authority,
                resource,
                allowed_hosts,
                identity_header: Redacted::new(identity_header),
                path,
                timeout,
                tick,
            }),
            _ => Err(format!("the filter configuration: {}", problems.join("; "))),
        }
    }

    /// The callout's `:path`: the App Service protocol's query, the resource percent-encoded.
    pub fn token_path(&self) -> String {
        let mut path = format!("{}?api-version=2019-08-01&resource=", self.path);
        for byte in self.resource.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                path.push(char::from(byte));
            } else {
                path.push_str(&format!("%{byte:02X}"));
            }
        }
        path
    }

    /// The shared-data key of `what` ("token", "lease") for this configuration's resource: two
    /// filters for different resources or bridges never share a token.
    pub fn shared_key(&self, what: &str) -> String {
        format!(
            "azure-token-bridge|{}|{}|{what}",
            self.cluster, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "9f2c41d7e8b05a63c1f4";

    fn full() -> String {
        format!(
            r#"{{"cluster":"token_bridge","authority":"127.0.0.1:8181","resource":"https://vault.azure.net","identity_header":"{SECRET}","allowed_hosts":["myvault.vault.azure.net"]}}"#
        )
    }

    #[test]
    fn a_minimal_configuration_takes_the_defaults() {
        let config = Config::parse(full().as_bytes()).unwrap();
        assert_eq!(config.cluster, "token_bridge");
        assert_eq!(config.path, DEFAULT_PATH);
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.tick, DEFAULT_TICK);
        assert_eq!(
            config.token_path(),
            "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net"
        );
        assert_eq!(
            config.shared_key("token"),
            "azure-token-bridge|token_bridge|https://vault.azure.net|token"
        );
    }

    #[test]
    fn every_problem_is_named_and_the_secret_never_printed() {
        let error = Config::parse(
            br#"{"resource":"https://vault.azure.net/.default","timeout_ms":0,"path":"msi"}"#,
        )
        .err()
        .unwrap();
        for expected in [
            "\"cluster\" is missing",
            "\"authority\" is missing",
            "\"identity_header\" is missing",
            "is a scope",
            "\"timeout_ms\" must be milliseconds",
            "\"path\" must be a string starting with '/'",
            "\"allowed_hosts\" is missing",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
        assert!(Config::parse(b"[1]").err().unwrap().contains("JSON object"));
        assert!(Config::parse(b"{").err().unwrap().contains("not JSON"));
        let debug = format!("{:?}", Config::parse(full().as_bytes()).unwrap());
        assert!(!debug.contains(SECRET) && debug.contains("***"), "{debug}");
    }
}
