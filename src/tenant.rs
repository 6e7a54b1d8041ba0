//! Tenant ids: what a valid one looks like. (Which tenant one get-token call may use is a
//! question for the settings: `Settings::tenant_for_request`.)

use crate::prelude::*;
use crate::text::escaped;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
