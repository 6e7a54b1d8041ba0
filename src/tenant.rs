//! Tenant ids: what a valid one looks like, and which tenant one get-token call may use.

use crate::prelude::*;
use crate::text::escaped;

use crate::error::CredentialError;
use crate::settings::{AZURE_ADDITIONALLY_ALLOWED_TENANTS, Settings};

/// A tenant id goes into the token URL's path, so only ASCII letters, digits, `.` and `-` are
/// accepted (a GUID or a domain name such as `contoso.onmicrosoft.com`).
pub fn validate_tenant_id(tenant: &str) -> Result<(), String> {
    let valid = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant id '{}': use the directory's GUID or domain name (ASCII letters, \
             digits, '.' and '-' only)",
            escaped(tenant)
        ))
    }
}

/// The tenant a get-token call is served from: `None` for the credential's own (the usual
/// case, which the cache then recognises without comparing names), or another that the caller
/// asked for and the settings allow.
pub fn tenant_for_request<'a>(
    settings: &Settings,
    requested: Option<&'a str>,
) -> Result<Option<&'a str>, CredentialError> {
    let Some(requested) = requested.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if settings.multitenant_disabled || requested.eq_ignore_ascii_case(&settings.tenant_id) {
        return Ok(None);
    }
    validate_tenant_id(requested).map_err(CredentialError::InvalidArgument)?;
    let allowed = settings
        .additionally_allowed_tenants
        .iter()
        .any(|tenant| tenant == "*" || tenant.eq_ignore_ascii_case(requested));
    if allowed {
        Ok(Some(requested))
    } else {
        Err(CredentialError::InvalidArgument(format!(
            "the credential is configured for tenant '{}' and may not request tokens from tenant \
             '{requested}'; add '{requested}' to the additionally-allowed-tenants option or to \
             {AZURE_ADDITIONALLY_ALLOWED_TENANTS} (';'-separated), or add \"*\" to allow any tenant",
            settings.tenant_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Authority;

    fn settings(allowed: &[&str], multitenant_disabled: bool) -> Settings {
        Settings {
            tenant_id: "home".into(),
            client_id: "client".into(),
            token_file_path: "/token".into(),
            authority: Authority::parse("login.microsoftonline.com", "authority").unwrap(),
            token_proxy: None,
            additionally_allowed_tenants: allowed.iter().map(|t| t.to_string()).collect(),
            multitenant_disabled,
        }
    }

    #[test]
    fn guid_and_domain_tenants_are_valid() {
        assert!(validate_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(validate_tenant_id("contoso.onmicrosoft.com").is_ok());
    }

    #[test]
    fn tenants_that_could_change_the_url_are_invalid() {
        for tenant in ["", "a/b", "..%2f", "a b", "tenant?x", "tenant#", "ténant"] {
            assert!(validate_tenant_id(tenant).is_err(), "{tenant:?} accepted");
        }
    }

    #[test]
    fn no_requested_tenant_or_the_same_one_uses_the_configured_tenant() {
        let settings = settings(&[], false);
        assert_eq!(tenant_for_request(&settings, None).unwrap(), None);
        assert_eq!(tenant_for_request(&settings, Some("HOME")).unwrap(), None);
        assert_eq!(tenant_for_request(&settings, Some(" ")).unwrap(), None);
    }

    #[test]
    fn another_tenant_is_refused_naming_it_and_the_fix() {
        let error =
            tenant_for_request(&settings(&["friend"], false), Some("stranger")).unwrap_err();
        let CredentialError::InvalidArgument(message) = error else {
            panic!("expected invalid-argument, got {error:?}");
        };
        assert!(message.contains("'stranger'"), "{message}");
        assert!(
            message.contains(AZURE_ADDITIONALLY_ALLOWED_TENANTS),
            "{message}"
        );
        assert!(message.contains("\"*\""), "{message}");
    }

    #[test]
    fn listed_or_wildcard_tenants_are_allowed() {
        assert_eq!(
            tenant_for_request(&settings(&["Friend"], false), Some("friend")).unwrap(),
            Some("friend")
        );
        assert_eq!(
            tenant_for_request(&settings(&["*"], false), Some("anyone")).unwrap(),
            Some("anyone")
        );
    }

    #[test]
    fn disabled_multitenant_auth_ignores_the_requested_tenant() {
        assert_eq!(
            tenant_for_request(&settings(&[], true), Some("stranger")).unwrap(),
            None
        );
    }

    #[test]
    fn an_allowed_but_malformed_tenant_is_invalid() {
        assert!(matches!(
            tenant_for_request(&settings(&["*"], false), Some("a/b")),
            Err(CredentialError::InvalidArgument(_))
        ));
    }
}
