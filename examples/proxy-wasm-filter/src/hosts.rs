//! The allow-list of upstream hosts: the only `:authority` names whose requests get the token.
//!
//! Everything that can reach Envoy's listener can send a request through the filter, so the
//! filter, not the route table alone, decides where its token may go. Names match exactly,
//! ignoring ASCII case (DNS names are case-insensitive) and the authority's port: the port does
//! not say which server gets the request, the route and the cluster's TLS name check do. No
//! wildcards and no suffixes: a token for a vault is for that vault.

/// The listed hosts, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// The configuration's `allowed_hosts`: a non-empty list of host names; `Err` names each
    /// entry that is not one, and why.
    pub fn parse(value: Option<&serde_json::Value>) -> Result<AllowedHosts, Vec<String>> {
        const EXAMPLE: &str =
            "e.g. [\"myvault.vault.azure.net\"], the hosts whose requests get the token";
        let entries = match value {
            None => return Err(vec![format!("\"allowed_hosts\" is missing ({EXAMPLE})")]),
            Some(serde_json::Value::Array(entries)) if !entries.is_empty() => entries,
            Some(_) => {
                return Err(vec![format!(
                    "\"allowed_hosts\" must be a non-empty list of host names ({EXAMPLE})"
                )]);
            }
        };
        let mut hosts = Vec::new();
        let mut problems = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match entry.as_str() {
                Some(name) => match host_name_problem(name) {
                    None => hosts.push(name.to_ascii_lowercase()),
                    Some(problem) => {
                        problems.push(format!("\"allowed_hosts\" entry '{name}' {problem}"))
                    }
                },
                // Counted, not quoted: printing a JSON value would bring serde_json's
                // serializer (12 KB) into the filter for this one message.
                None => problems.push(format!(
                    "\"allowed_hosts\" entry {} is not a string: give host names",
                    index + 1
                )),
            }
        }
        if problems.is_empty() {
            Ok(AllowedHosts(hosts))
        } else {
            Err(problems)
        }
    }

    /// Whether a request with this `:authority` (`host` or `host:port`, as the client sent it)
    /// may get the token. A missing or non-UTF-8 authority names no listed host.
    pub fn allow(&self, authority: Option<&[u8]>) -> bool {
        let Some(host) = authority
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
            .map(without_port)
        else {
            return false;
        };
        self.0
            .iter()
            .any(|listed| listed.eq_ignore_ascii_case(host))
    }
}

/// `host:port` → `host`; a bracketed IPv6 literal keeps its brackets, and so does not match a
/// listed name (which cannot hold them).
fn without_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => authority,
    }
}

/// What keeps `name` from being a host name the allow-list can hold, said so that the fix is
/// plain.
fn host_name_problem(name: &str) -> Option<&'static str> {
    if name.contains("://") || name.contains('/') {
        Some("is not a host name: give the name alone, without scheme or path")
    } else if name.contains('*') {
        Some("has a wildcard: list each host by its full name")
    } else if name.contains(':') {
        Some("has a port: give the host alone (any port of it is allowed)")
    } else if name.is_empty()
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        Some("is not a host name (letters, digits, '-' and '.')")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hosts(value: serde_json::Value) -> AllowedHosts {
        AllowedHosts::parse(Some(&value)).unwrap()
    }

    #[test]
    fn a_listed_host_matches_exactly_ignoring_case_and_port() {
        let allowed = hosts(json!(["MyVault.vault.azure.net", "other.vault.azure.net"]));
        for authority in [
            "myvault.vault.azure.net",
            "MYVAULT.VAULT.AZURE.NET",
            "myvault.vault.azure.net:443",
            "other.vault.azure.net:10000",
        ] {
            assert!(allowed.allow(Some(authority.as_bytes())), "{authority}");
        }
        for authority in [
            "evil.example",
            "vault.azure.net",
            "xmyvault.vault.azure.net",
            "myvault.vault.azure.net.evil.example",
            "myvault.vault.azure.net.",
            "myvault.vault.azure.net:",
            "myvault.vault.azure.net:443:443",
            "[::1]:10000",
            "",
        ] {
            assert!(!allowed.allow(Some(authority.as_bytes())), "{authority}");
        }
        assert!(!allowed.allow(None));
        assert!(!allowed.allow(Some(b"myvault.vault.azure.net\xff")));
    }

    #[test]
    fn entries_that_are_not_host_names_are_named_with_the_fix() {
        let problems = AllowedHosts::parse(Some(&json!([
            "https://myvault.vault.azure.net",
            "*.vault.azure.net",
            "myvault.vault.azure.net:443",
            "my vault",
            "",
            7
        ])))
        .unwrap_err();
        let expected = [
            "'https://myvault.vault.azure.net' is not a host name: give the name alone",
            "'*.vault.azure.net' has a wildcard",
            "'myvault.vault.azure.net:443' has a port",
            "'my vault' is not a host name",
            "'' is not a host name",
            "entry 6 is not a string",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (problem, expected) in problems.iter().zip(expected) {
            assert!(problem.contains(expected), "{expected}: {problem}");
        }
        for absent_or_empty in [
            None,
            Some(json!([])),
            Some(json!("myvault.vault.azure.net")),
        ] {
            let problems = AllowedHosts::parse(absent_or_empty.as_ref()).unwrap_err();
            assert!(problems[0].contains("\"allowed_hosts\""), "{problems:?}");
            assert!(
                problems[0].contains("myvault.vault.azure.net"),
                "{problems:?}"
            );
        }
    }
}
