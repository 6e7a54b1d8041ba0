//! Scopes as get-token receives them.

use crate::prelude::*;
use crate::text::escaped;

use crate::error::CredentialError;

/// Checks the scopes of one get-token call: at least one, none blank, none containing whitespace
/// or control characters (a space would silently split one scope into two on the wire).
pub fn validate_scopes(scopes: &[String]) -> Result<(), CredentialError> {
    if scopes.is_empty() {
        return Err(CredentialError::InvalidArgument(
            "at least one scope is required, e.g. \"https://management.azure.com/.default\"".into(),
        ));
    }
    for scope in scopes {
        if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CredentialError::InvalidArgument(format!(
                "invalid scope '{}': a scope is non-empty and has no whitespace or control \
                 characters, e.g. \"https://vault.azure.net/.default\"",
                escaped(scope)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_scopes_is_an_invalid_argument() {
        let error = validate_scopes(&[]).unwrap_err();
        assert!(
            matches!(&error, CredentialError::InvalidArgument(m) if m.contains("at least one scope")),
            "{error:?}"
        );
    }

    #[test]
    fn default_scopes_are_valid() {
        assert!(validate_scopes(&scopes(&["https://vault.azure.net/.default", "openid"])).is_ok());
    }

    #[test]
    fn blank_spaced_and_control_scopes_are_invalid() {
        for bad in ["", "a b", "scope\n", "tab\there"] {
            assert!(
                matches!(
                    validate_scopes(&scopes(&[bad])),
                    Err(CredentialError::InvalidArgument(_))
                ),
                "{bad:?} accepted"
            );
        }
    }
}
