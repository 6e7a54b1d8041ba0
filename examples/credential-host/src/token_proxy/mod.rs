//! AKS identity binding's TLS: the CA and server name of `AZURE_KUBERNETES_TOKEN_PROXY`.
//!
//! The credential sends its token requests to the proxy, but wasi:http has no way to carry TLS
//! settings from the guest to the host's client: the host reads the same variables and applies
//! them to the requests it sends to the proxy's host and port.

mod send;
mod trust;

use crate::network::ResponseFuture;
use azure_workload_identity::{
    AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_FILE, AZURE_KUBERNETES_SNI_NAME,
    AZURE_KUBERNETES_TOKEN_PROXY,
};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use trust::Trust;
use wasmtime_wasi_http::{RequestOptions, WasiBody};

/// How the host reaches the AKS token proxy: requests to its host and port trust only
/// `AZURE_KUBERNETES_CA_FILE` (re-read when it changes) or `AZURE_KUBERNETES_CA_DATA` (the
/// public roots when neither is set), and send `AZURE_KUBERNETES_SNI_NAME` (else the proxy's
/// host) as the TLS server name.
#[derive(Clone)]
pub struct TokenProxyTls {
    inner: Arc<Proxy>,
}

struct Proxy {
    /// Lowercase, as the credential writes the proxy's host into its requests.
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    trust: Trust,
}

impl TokenProxyTls {
    /// The proxy's TLS settings from the variables `env` looks up; `None` when
    /// `AZURE_KUBERNETES_TOKEN_PROXY` is unset (the credential then reports any TLS variable set
    /// without it). A CA file is read once here, so that a host fails at its start on a CA it
    /// could never use. `Err` names the variable at fault.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<TokenProxyTls>, String> {
        let setting = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(proxy) = setting(AZURE_KUBERNETES_TOKEN_PROXY) else {
            return Ok(None);
        };
        let (host, port) = host_and_port(&proxy)?;
        let server_name =
            match setting(AZURE_KUBERNETES_SNI_NAME) {
                Some(sni) => ServerName::try_from(sni.clone()).map_err(|_| {
                    format!("{AZURE_KUBERNETES_SNI_NAME} '{sni}' is not a DNS name or IP address")
                })?,
                None => ServerName::try_from(host.trim_matches(['[', ']']).to_owned()).map_err(
                    |_| format!("{AZURE_KUBERNETES_TOKEN_PROXY} '{proxy}' has no usable TLS name"),
                )?,
            };
        let trust = match (
            setting(AZURE_KUBERNETES_CA_FILE),
            setting(AZURE_KUBERNETES_CA_DATA),
        ) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "both {AZURE_KUBERNETES_CA_FILE} and {AZURE_KUBERNETES_CA_DATA} are set; \
                     only one should be set"
                ));
            }
            (Some(file), None) => Trust::file(file.into())?,
            (None, Some(pem)) => Trust::data(pem.as_bytes())?,
            (None, None) => Trust::public_roots(),
        };
        Ok(Some(TokenProxyTls {
            inner: Arc::new(Proxy {
                host,
                port,
                server_name,
                trust,
            }),
        }))
    }

    /// Whether `uri` is on the proxy's host and port (only https requests go to the proxy).
    pub fn serves(&self, uri: &http::Uri) -> bool {
        uri.scheme() == Some(&http::uri::Scheme::HTTPS)
            && uri.port_u16().unwrap_or(443) == self.inner.port
            && uri
                .host()
                .is_some_and(|host| host.eq_ignore_ascii_case(&self.inner.host))
    }

    /// Sends one of the guest's requests to the proxy with its TLS settings, with
    /// wasmtime-wasi-http's own client's timeouts and error codes.
    pub fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> ResponseFuture {
        let proxy = self.inner.clone();
        Box::new(async move {
            let config = proxy
                .trust
                .client_config()
                .map_err(|problem| wasmtime_wasi_http::Error::InternalError(Some(problem)))?;
            let what = proxy.describe();
            let server_name = proxy.server_name.clone();
            send::send_over_tls(request, options, config, server_name, what).await
        })
    }
}

impl Proxy {
    /// The connection, for TLS failures: "TLS with the token proxy host:port (server name …,
    /// trusting …)".
    fn describe(&self) -> String {
        format!(
            "TLS with the token proxy {}:{} (server name {}, trusting {})",
            self.host,
            self.port,
            self.server_name.to_str(),
            self.trust.source()
        )
    }
}

/// The settings, never a certificate: for a host's logs.
impl std::fmt::Debug for TokenProxyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProxyTls")
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .field("server_name", &self.inner.server_name.to_str())
            .field("trust", &self.inner.trust.source())
            .finish()
    }
}

/// The proxy's host and port as the credential sends them: a value without a scheme is https,
/// as the credential reads it (it checks the rest of the URL and reports what is wrong).
fn host_and_port(proxy: &str) -> Result<(String, u16), String> {
    let url = if proxy.contains("://") {
        proxy.to_owned()
    } else {
        format!("https://{proxy}")
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("{AZURE_KUBERNETES_TOKEN_PROXY} '{proxy}' is not a URL"))?;
    match uri.host() {
        Some(host) if uri.scheme() == Some(&http::uri::Scheme::HTTPS) => {
            Ok((host.to_ascii_lowercase(), uri.port_u16().unwrap_or(443)))
        }
        _ => Err(format!(
            "{AZURE_KUBERNETES_TOKEN_PROXY} '{proxy}' is not an https URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    fn uri(text: &str) -> http::Uri {
        text.parse().unwrap()
    }

    #[test]
    fn without_a_token_proxy_there_is_nothing_to_apply() {
        let tls = TokenProxyTls::from_env(env(&[(AZURE_KUBERNETES_SNI_NAME, "a.b")])).unwrap();
        assert!(tls.is_none());
    }

    #[test]
    fn only_requests_to_the_proxys_host_and_port_are_served() {
        let tls = TokenProxyTls::from_env(env(&[(
            AZURE_KUBERNETES_TOKEN_PROXY,
            "https://Proxy.kube-system.svc:8443/identity",
        )]))
        .unwrap()
        .unwrap();
        assert!(tls.serves(&uri(
            "https://proxy.kube-system.svc:8443/identity/t/oauth2/v2.0/token"
        )));
        assert!(!tls.serves(&uri("https://proxy.kube-system.svc/identity")));
        assert!(!tls.serves(&uri("http://proxy.kube-system.svc:8443/identity")));
        assert!(!tls.serves(&uri(
            "https://login.microsoftonline.com/t/oauth2/v2.0/token"
        )));
        assert_eq!(tls.inner.server_name.to_str(), "proxy.kube-system.svc");
    }

    #[test]
    fn a_proxy_without_scheme_or_port_is_https_on_443() {
        let tls = TokenProxyTls::from_env(env(&[
            (AZURE_KUBERNETES_TOKEN_PROXY, "aks-proxy"),
            (AZURE_KUBERNETES_SNI_NAME, "aks-proxy.azmk8s.io"),
        ]))
        .unwrap()
        .unwrap();
        assert!(tls.serves(&uri("https://aks-proxy/t/oauth2/v2.0/token")));
        assert!(tls.serves(&uri("https://aks-proxy:443/t")));
        assert_eq!(tls.inner.server_name.to_str(), "aks-proxy.azmk8s.io");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_variable() {
        for (vars, expected) in [
            (
                vec![(AZURE_KUBERNETES_TOKEN_PROXY, "http://proxy")],
                "AZURE_KUBERNETES_TOKEN_PROXY 'http://proxy' is not an https URL",
            ),
            (
                vec![
                    (AZURE_KUBERNETES_TOKEN_PROXY, "https://proxy"),
                    (AZURE_KUBERNETES_SNI_NAME, "not a name"),
                ],
                "AZURE_KUBERNETES_SNI_NAME 'not a name' is not a DNS name or IP address",
            ),
            (
                vec![
                    (AZURE_KUBERNETES_TOKEN_PROXY, "https://proxy"),
                    (AZURE_KUBERNETES_CA_FILE, "/ca.crt"),
                    (AZURE_KUBERNETES_CA_DATA, "pem"),
                ],
                "both AZURE_KUBERNETES_CA_FILE and AZURE_KUBERNETES_CA_DATA are set",
            ),
            (
                vec![
                    (AZURE_KUBERNETES_TOKEN_PROXY, "https://proxy"),
                    (AZURE_KUBERNETES_CA_DATA, "not pem"),
                ],
                "AZURE_KUBERNETES_CA_DATA holds no PEM certificate",
            ),
            (
                vec![
                    (AZURE_KUBERNETES_TOKEN_PROXY, "https://proxy"),
                    (AZURE_KUBERNETES_CA_FILE, "/nonexistent/ca.crt"),
                ],
                "AZURE_KUBERNETES_CA_FILE /nonexistent/ca.crt: ",
            ),
        ] {
            let error = TokenProxyTls::from_env(env(&vars)).err().unwrap();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
