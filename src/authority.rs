//! https endpoints from settings: the Microsoft Entra authority host, and the AKS token proxy.

use crate::prelude::*;
use crate::text::{escaped, find};

/// Where token requests are sent when neither the option nor `AZURE_AUTHORITY_HOST` says otherwise.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// A checked https endpoint: host (with optional port) and an optional path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// `host` or `host:port`, as sent in the request's authority.
    pub host: String,
    /// Empty, or a path starting with `/` and without a trailing `/` (ADFS and Azure Stack hosts).
    pub path_prefix: String,
}

impl Authority {
    /// Parses an endpoint as users write it: `login.microsoftonline.us`,
    /// `https://login.microsoftonline.com/`, `https://adfs.contoso.com/adfs`.
    /// A missing scheme means https; any other scheme is refused because the request carries a
    /// credential. `what` names the setting in messages, e.g. "the authority host".
    pub fn parse(raw: &str, what: &str) -> Result<Authority, String> {
        let trimmed = raw.trim();
        let scheme_end = find(trimmed, "://");
        let without_scheme = match scheme_end.map(|end| (&trimmed[..end], &trimmed[end + 3..])) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "{what} '{trimmed}' uses the scheme '{scheme}'; only https is allowed \
                     because the request carries a credential"
                ));
            }
            None => trimmed,
        };
        if let Some(bad) = without_scheme
            .chars()
            .find(|c| matches!(c, '?' | '#' | '@') || c.is_whitespace() || c.is_control())
        {
            let part = match bad {
                '@' => "userinfo (user@)",
                '?' => "a query",
                '#' => "a fragment",
                _ => "spaces or control characters",
            };
            return Err(format!(
                "{what} '{}' must not contain {part}; give https://host[:port][/path]",
                escaped(trimmed)
            ));
        }
        let (host, path) = match without_scheme.find('/') {
            Some(slash) => without_scheme.split_at(slash),
            None => (without_scheme, ""),
        };
        if host.is_empty() {
            return Err(format!("{what} '{trimmed}' names no host"));
        }
        if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']'))
            && port.parse::<u16>().is_err()
        {
            return Err(format!("{what} '{trimmed}' has an invalid port '{port}'"));
        }
        Ok(Authority {
            host: host.to_ascii_lowercase(),
            path_prefix: path.trim_end_matches('/').to_owned(),
        })
    }
}

/// How a token request travels. Plain http only ever to the token bridge on the loopback
/// interface (`via_bridge::settings` checks that); Microsoft Entra ID only over https.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// TLS, made by the host's HTTP client.
    Https,
    /// No TLS: loopback only.
    // Only the token bridge's variant sends it; the base component compiles it in no request.
    #[cfg_attr(
        all(target_arch = "wasm32", not(feature = "via-bridge")),
        allow(dead_code)
    )]
    Http,
}

/// Where a token request goes: `{scheme}://{host}{path}`. The token URL is made in one place:
/// [`TokenEndpoint::new`] joins its path, [`TokenEndpoint::url`] writes it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEndpoint {
    /// https, except to a token bridge on loopback.
    pub scheme: Scheme,
    /// `host` or `host:port`, as sent in the request's authority.
    pub host: String,
    /// The path, starting with `/`: Entra's ends in `/oauth2/v2.0/token`; the token bridge's
    /// carries the query.
    pub path: String,
}

impl TokenEndpoint {
    /// The token endpoint for `tenant`: `{prefix}/{tenant}/oauth2/v2.0/token` on the authority,
    /// or, when the AKS token proxy is set, that path appended to the proxy's path on the proxy's
    /// host, as azure-identity joins them.
    pub fn new(
        authority: &Authority,
        token_proxy: Option<&Authority>,
        tenant: &str,
    ) -> TokenEndpoint {
        let path = format!("{}/{tenant}/oauth2/v2.0/token", authority.path_prefix);
        match token_proxy {
            Some(proxy) => TokenEndpoint {
                scheme: Scheme::Https,
                host: proxy.host.clone(),
                path: format!("{}{path}", proxy.path_prefix),
            },
            None => TokenEndpoint {
                scheme: Scheme::Https,
                host: authority.host.clone(),
                path,
            },
        }
    }

    /// The endpoint as a URL, for messages: `{scheme}://{host}{path}`.
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{scheme}://{}{}", self.host, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHAT: &str = "the authority host";

    fn parsed(raw: &str) -> Authority {
        Authority::parse(raw, WHAT).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    /// The token endpoint's path on `authority`, without a proxy.
    fn token_path(authority: &Authority, tenant: &str) -> String {
        TokenEndpoint::new(authority, None, tenant).path
    }

    #[test]
    fn default_authority_has_no_path() {
        let authority = parsed(DEFAULT_AUTHORITY_HOST);
        assert_eq!(authority.host, "login.microsoftonline.com");
        assert_eq!(authority.path_prefix, "");
        assert_eq!(
            token_path(&authority, "tenant-1"),
            "/tenant-1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn missing_scheme_means_https_and_trailing_slash_is_dropped() {
        let authority = parsed("login.microsoftonline.us/");
        assert_eq!(authority.host, "login.microsoftonline.us");
        assert_eq!(token_path(&authority, "t"), "/t/oauth2/v2.0/token");
    }

    #[test]
    fn scheme_is_case_insensitive_and_port_is_kept() {
        assert_eq!(
            parsed("HTTPS://Login.Example:8443").host,
            "login.example:8443"
        );
    }

    #[test]
    fn path_on_the_authority_is_kept() {
        let authority = parsed("https://adfs.contoso.com/adfs/");
        assert_eq!(token_path(&authority, "t"), "/adfs/t/oauth2/v2.0/token");
    }

    #[test]
    fn http_scheme_is_refused_with_the_reason() {
        let error = Authority::parse("http://login.microsoftonline.com", WHAT).unwrap_err();
        assert!(error.starts_with("the authority host 'http://"), "{error}");
        assert!(error.contains("only https"), "{error}");
        assert!(error.contains("'http'"), "{error}");
    }

    #[test]
    fn userinfo_query_fragment_and_spaces_are_refused() {
        for raw in [
            "https://user@login.example",
            "https://login.example/?x=1",
            "https://login.example/#f",
            "https://login example",
        ] {
            assert!(Authority::parse(raw, WHAT).is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn empty_host_and_bad_port_are_refused() {
        assert!(Authority::parse("https://", WHAT).is_err());
        assert!(Authority::parse("", WHAT).is_err());
        assert!(Authority::parse("https://login.example:http", WHAT).is_err());
    }
}
