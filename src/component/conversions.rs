//! Between the WIT types of `azure:identity` and the core's, and the credential's creation from
//! options and the environment: the same for the WASI 0.2 and 0.3 builds, whose bindings have the
//! same paths (`super::bindings`).

use crate::prelude::*;

use super::bindings::exports::azure::identity::credential::WorkloadIdentityOptions;
use super::bindings::exports::azure::identity::types::{
    AccessToken, AuthenticationFailure, CredentialError, TokenRequestOptions,
};
use super::bindings::wasi::cli::environment;
use crate::credential;
#[cfg(not(feature = "via-bridge"))]
pub use crate::credential::WorkloadIdentityCredential;
use crate::error;
use crate::settings;
#[cfg(not(feature = "via-bridge"))]
use crate::settings::Settings;
// The token bridge's credential takes the workload identity credential's place behind the same
// exports.
#[cfg(feature = "via-bridge")]
pub use crate::via_bridge::BridgeCredential as WorkloadIdentityCredential;
#[cfg(feature = "via-bridge")]
use crate::via_bridge::settings::BridgeSettings;

/// The options of `workload-identity-credential.create`, as the core takes them.
pub fn to_core_options(options: WorkloadIdentityOptions) -> settings::WorkloadIdentityOptions {
    settings::WorkloadIdentityOptions {
        tenant_id: options.tenant_id,
        client_id: options.client_id,
        token_file_path: options.token_file_path,
        authority_host: options.authority_host,
        additionally_allowed_tenants: options.additionally_allowed_tenants,
    }
}

/// get-token's options, as the core takes them.
pub fn to_core_request(options: TokenRequestOptions) -> credential::TokenRequestOptions {
    credential::TokenRequestOptions {
        claims: options.claims,
        tenant_id: options.tenant_id,
        enable_cae: options.enable_cae,
    }
}

/// A token, or the error, as get-token returns them.
pub fn to_wit_result(
    result: Result<error::AccessToken, error::CredentialError>,
) -> Result<AccessToken, CredentialError> {
    let token = result.map_err(to_wit_error)?;
    Ok(AccessToken {
        token: token.token,
        expires_on: token.expires_on,
        refresh_on: token.refresh_on,
        token_type: token.token_type,
    })
}

pub fn create(
    options: &settings::WorkloadIdentityOptions,
) -> Result<WorkloadIdentityCredential, CredentialError> {
    let environment = environment::get_environment();
    let lookup = |name: &str| variable(&environment, name);
    #[cfg(not(feature = "via-bridge"))]
    let settings = Settings::resolve(options, lookup).map_err(to_wit_error)?;
    #[cfg(feature = "via-bridge")]
    let settings = BridgeSettings::from_options(options, lookup).map_err(to_wit_error)?;
    Ok(WorkloadIdentityCredential::new(settings))
}

pub fn variable(environment: &[(String, String)], name: &str) -> Option<String> {
    environment
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

pub fn to_wit_error(error: error::CredentialError) -> CredentialError {
    match error {
        error::CredentialError::Unavailable(message) => CredentialError::Unavailable(message),
        error::CredentialError::InvalidArgument(message) => {
            CredentialError::InvalidArgument(message)
        }
        error::CredentialError::AuthenticationFailed(failure) => {
            let failure = *failure;
            CredentialError::AuthenticationFailed(AuthenticationFailure {
                message: failure.message,
                status: failure.status,
                error: failure.error,
                error_codes: failure.error_codes,
                correlation_id: failure.correlation_id,
                trace_id: failure.trace_id,
            })
        }
    }
}
