//! `AZURE_BEARER_RULES`: which hosts get a bearer token, and for which scope.
//!
//! `*.vault.azure.net=https://vault.azure.net/.default;storage.example.com=api://x/.default`:
//! entries separated by `;`, each `host-pattern=scope`. A pattern is a host name, or `*.` and a
//! domain, which matches every host below that domain (not the domain itself). Names compare
//! case-insensitively and ports are ignored. When several rules match, an exact host wins over a
//! wildcard, and a longer domain over a shorter one, so the most specific rule applies.

use crate::prelude::*;

use core::fmt;

/// The variable the rules are read from.
pub const AZURE_BEARER_RULES: &str = "AZURE_BEARER_RULES";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    pattern: Pattern,
    scope: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// A host name, lowercase.
    Exact(String),
    /// The domain after `*.`, lowercase, with a leading dot: `.vault.azure.net`.
    Below(String),
}

/// Why `AZURE_BEARER_RULES` was refused; the message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError(String);

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{AZURE_BEARER_RULES}: {}", self.0)
    }
}

impl Rules {
    /// Reads the variable's value; `None` (unset) is an error, since a bearer middleware without
    /// rules would silently send every request unauthenticated.
    pub fn parse(value: Option<&str>) -> Result<Rules, RulesError> {
        let value = value.ok_or_else(|| {
            RulesError(
                "is not set; set it to `host-pattern=scope` entries separated by `;`, e.g. \
                 `*.vault.azure.net=https://vault.azure.net/.default`"
                    .into(),
            )
        })?;
        let mut rules: Vec<Rule> = Vec::new();
        for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let rule = parse_rule(entry)?;
            if rules.iter().any(|r| r.pattern == rule.pattern) {
                return Err(RulesError(format!(
                    "the host pattern of `{entry}` appears twice; keep one rule per pattern"
                )));
            }
            rules.push(rule);
        }
        if rules.is_empty() {
            return Err(RulesError(
                "has no rules; give at least one `host-pattern=scope`".into(),
            ));
        }
        Ok(Rules { rules })
    }

    /// The scope for a request to `authority` (`host` or `host:port`), if a rule matches.
    pub fn scope_for(&self, authority: &str) -> Option<&str> {
        let host = host_of(authority).to_ascii_lowercase();
        let mut best: Option<(&Rule, usize)> = None;
        for rule in &self.rules {
            let specificity = match &rule.pattern {
                // An exact name outranks every wildcard.
                Pattern::Exact(name) if *name == host => usize::MAX,
                Pattern::Below(domain) if host.len() > domain.len() && host.ends_with(domain) => {
                    domain.len()
                }
                _ => continue,
            };
            if best.is_none_or(|(_, b)| specificity > b) {
                best = Some((rule, specificity));
            }
        }
        best.map(|(rule, _)| rule.scope.as_str())
    }
}

fn parse_rule(entry: &str) -> Result<Rule, RulesError> {
    let (pattern, scope) = entry
        .split_once('=')
        .ok_or_else(|| RulesError(format!("`{entry}` has no `=`; write `host-pattern=scope`")))?;
    let (pattern, scope) = (pattern.trim(), scope.trim());
    if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RulesError(format!(
            "the scope of `{entry}` is empty or has spaces; give one scope, e.g. \
             https://vault.azure.net/.default"
        )));
    }
    let pattern = match pattern.strip_prefix("*.") {
        Some(domain) => {
            check_host_name(domain, entry)?;
            Pattern::Below(format!(".{}", domain.to_ascii_lowercase()))
        }
        None => {
            check_host_name(pattern, entry)?;
            Pattern::Exact(pattern.to_ascii_lowercase())
        }
    };
    Ok(Rule {
        pattern,
        scope: scope.to_owned(),
    })
}

/// Letters, digits, `-` and `.` in non-empty labels: a `*` anywhere but the front, a port or a
/// URL is a mistake the user should hear about, not a rule that never matches.
fn check_host_name(name: &str, entry: &str) -> Result<(), RulesError> {
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(RulesError(format!(
            "the host pattern of `{entry}` is not a host name or `*.` and a domain \
             (no scheme, port or path)"
        )))
    }
}

/// The host of an authority: without a port, brackets kept off IPv6 literals.
fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    authority
        .split_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAULT: &str = "https://vault.azure.net/.default";
    const STORAGE: &str = "https://storage.azure.com/.default";

    fn rules(value: &str) -> Rules {
        Rules::parse(Some(value)).unwrap()
    }

    fn refusal(value: Option<&str>) -> String {
        Rules::parse(value).unwrap_err().to_string()
    }

    #[test]
    fn the_example_rules_match_their_hosts_and_nothing_else() {
        let rules = rules(&format!(
            "*.vault.azure.net={VAULT}; *.blob.core.windows.net={STORAGE}"
        ));
        assert_eq!(rules.scope_for("myvault.vault.azure.net"), Some(VAULT));
        assert_eq!(rules.scope_for("MyVault.Vault.Azure.NET:443"), Some(VAULT));
        assert_eq!(rules.scope_for("acct.blob.core.windows.net"), Some(STORAGE));
        assert_eq!(
            rules.scope_for("vault.azure.net"),
            None,
            "the domain itself"
        );
        assert_eq!(
            rules.scope_for("evilvault.azure.net"),
            None,
            "not below the domain"
        );
        assert_eq!(rules.scope_for("myvault.vault.azure.net.evil.com"), None);
        assert_eq!(rules.scope_for("example.com"), None);
    }

    #[test]
    fn the_most_specific_rule_wins_whatever_the_order() {
        for value in [
            "*.azure.net=a; *.vault.azure.net=b; special.vault.azure.net=c",
            "special.vault.azure.net=c; *.vault.azure.net=b; *.azure.net=a",
        ] {
            let rules = rules(value);
            assert_eq!(rules.scope_for("special.vault.azure.net"), Some("c"));
            assert_eq!(rules.scope_for("other.vault.azure.net"), Some("b"));
            assert_eq!(rules.scope_for("x.azure.net"), Some("a"));
        }
    }

    #[test]
    fn hosts_with_ports_userinfo_trailing_dots_and_ipv6_are_matched_by_host() {
        let rules = rules("api.example.com=s");
        assert_eq!(rules.scope_for("api.example.com:8443"), Some("s"));
        assert_eq!(rules.scope_for("user@api.example.com"), Some("s"));
        assert_eq!(rules.scope_for("api.example.com."), Some("s"));
        assert_eq!(rules.scope_for("[::1]:443"), None);
    }

    #[test]
    fn empty_entries_and_spaces_are_ignored() {
        let rules = rules(" ; a.example.com = s1 ;; ");
        assert_eq!(rules.scope_for("a.example.com"), Some("s1"));
    }

    #[test]
    fn unset_or_empty_rules_are_refused_with_an_example() {
        assert!(refusal(None).contains("is not set"));
        assert!(refusal(None).contains("*.vault.azure.net="));
        assert!(refusal(Some(" ; ")).contains("has no rules"));
    }

    #[test]
    fn malformed_entries_are_refused_naming_the_entry() {
        for (value, expected) in [
            ("vault.azure.net", "has no `=`"),
            ("a.example.com=", "scope"),
            ("a.example.com=two scopes", "scope"),
            ("https://a.example.com=s", "not a host name"),
            ("a.example.com:443=s", "not a host name"),
            ("a.*.example.com=s", "not a host name"),
            ("*=s", "not a host name"),
            ("*.=s", "not a host name"),
            ("a..b=s", "not a host name"),
            ("a.example.com=s; A.example.com=t", "appears twice"),
        ] {
            let message = refusal(Some(value));
            assert!(message.starts_with("AZURE_BEARER_RULES: "), "{message}");
            assert!(message.contains(expected), "{value}: {message}");
        }
    }
}
