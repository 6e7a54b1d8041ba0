//! What the app answers, decided without I/O.

/// The variable naming the key vault, e.g. `myvault` for `https://myvault.vault.azure.net`.
pub const KEY_VAULT_NAME: &str = "KEY_VAULT_NAME";
/// The scope of Key Vault's data plane.
pub const KEY_VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const KEY_VAULT_API_VERSION: &str = "7.5";

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    ListSecrets,
    NotFound,
    MethodNotAllowed,
}

pub fn route(method: &str, path_with_query: &str) -> Route {
    let path = path_with_query.split('?').next().unwrap_or_default();
    match path.trim_end_matches('/') {
        "/secrets" if method == "GET" => Route::ListSecrets,
        "/secrets" => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }
}

/// The list-secrets URL of the vault, after checking the name the way Azure names vaults
/// (3-24 letters, digits and dashes, starting with a letter): a typo becomes a clear 500, not a
/// request to some other host.
pub fn list_secrets_url(vault_name: Option<&str>) -> Result<String, String> {
    let name = vault_name.ok_or_else(|| {
        format!("{KEY_VAULT_NAME} is not set; set it to the vault's name, e.g. `myvault`")
    })?;
    let valid = (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(format!(
            "{KEY_VAULT_NAME} '{name}' is not a key vault name (3-24 letters, digits and dashes, \
             starting with a letter)"
        ));
    }
    Ok(format!(
        "https://{name}.vault.azure.net/secrets?api-version={KEY_VAULT_API_VERSION}"
    ))
}

/// How a credential error is answered: configuration the operator must fix is a 500, Entra's
/// refusal a 502 (the app's upstream failed).
pub enum CredentialFailure {
    Unavailable,
    AuthenticationFailed,
    InvalidArgument,
}

pub fn credential_failure_status(failure: CredentialFailure) -> u16 {
    match failure {
        CredentialFailure::AuthenticationFailed => 502,
        CredentialFailure::Unavailable | CredentialFailure::InvalidArgument => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_secrets_is_served() {
        assert_eq!(route("GET", "/secrets"), Route::ListSecrets);
        assert_eq!(route("GET", "/secrets/?x=1"), Route::ListSecrets);
        assert_eq!(route("POST", "/secrets"), Route::MethodNotAllowed);
        assert_eq!(route("GET", "/"), Route::NotFound);
        assert_eq!(route("GET", "/secrets/db"), Route::NotFound);
    }

    #[test]
    fn the_vault_name_becomes_its_list_url_or_a_clear_error() {
        assert_eq!(
            list_secrets_url(Some("my-vault1")).unwrap(),
            "https://my-vault1.vault.azure.net/secrets?api-version=7.5"
        );
        assert!(list_secrets_url(None).unwrap_err().contains("is not set"));
        for bad in [
            "ab",
            "1vault",
            "my.vault",
            "evil.com/x",
            "a234567890123456789012345",
        ] {
            let error = list_secrets_url(Some(bad)).unwrap_err();
            assert!(error.contains("is not a key vault name"), "{bad}: {error}");
        }
    }

    #[test]
    fn entras_refusal_is_a_bad_gateway_and_configuration_an_internal_error() {
        assert_eq!(
            credential_failure_status(CredentialFailure::AuthenticationFailed),
            502
        );
        assert_eq!(
            credential_failure_status(CredentialFailure::Unavailable),
            500
        );
        assert_eq!(
            credential_failure_status(CredentialFailure::InvalidArgument),
            500
        );
    }
}
