//! The `azure:identity` exports, converting between WIT types and the core's.

use crate::prelude::*;

use super::exports::azure::identity::credential::{
    Guest, GuestWorkloadIdentityCredential, WorkloadIdentityCredential as CredentialHandle,
    WorkloadIdentityOptions,
};
use super::exports::azure::identity::types::{
    AccessToken, AuthenticationFailure, CredentialError, TokenRequestOptions,
};
use super::runtime::InstanceState;
use super::wasi::cli::environment;
use super::wasi_platform::WasiPlatform;
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
use super::wasi_store::{AZURE_TOKEN_CACHE_STORE, WasiStore};
use crate::credential;
#[cfg(not(feature = "via-bridge"))]
use crate::credential::WorkloadIdentityCredential;
use crate::error;
use crate::settings;
#[cfg(not(feature = "via-bridge"))]
use crate::settings::Settings;
// The token bridge's credential takes the workload identity credential's place behind the same
// exports.
#[cfg(feature = "via-bridge")]
use crate::via_bridge::{BridgeCredential as WorkloadIdentityCredential, settings::BridgeSettings};
use core::cell::RefCell;

pub struct Component;

/// The credential behind the free get-token, configured from the environment on first use.
static ENVIRONMENT_CREDENTIAL: InstanceState<Option<WorkloadIdentityCredential>> =
    InstanceState::new(None);

/// A credential resource; wasm instances are single-threaded, so a `RefCell` suffices.
pub struct CredentialResource(RefCell<WorkloadIdentityCredential>);

impl Guest for Component {
    type WorkloadIdentityCredential = CredentialResource;

    fn get_token(
        scopes: Vec<String>,
        options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let mut slot = ENVIRONMENT_CREDENTIAL.try_borrow_mut().ok_or_else(in_use)?;
        let credential = match &mut *slot {
            Some(credential) => credential,
            None => slot.insert(create(&settings::WorkloadIdentityOptions::default())?),
        };
        get_token(credential, scopes, options)
    }
}

impl GuestWorkloadIdentityCredential for CredentialResource {
    fn create(options: WorkloadIdentityOptions) -> Result<CredentialHandle, CredentialError> {
        let options = settings::WorkloadIdentityOptions {
            tenant_id: options.tenant_id,
            client_id: options.client_id,
            token_file_path: options.token_file_path,
            authority_host: options.authority_host,
            additionally_allowed_tenants: options.additionally_allowed_tenants,
        };
        let credential = create(&options)?;
        Ok(CredentialHandle::new(CredentialResource(RefCell::new(
            credential,
        ))))
    }

    fn get_token(
        &self,
        scopes: Vec<String>,
        options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let mut credential = self.0.try_borrow_mut().map_err(|_| in_use())?;
        get_token(&mut credential, scopes, options)
    }

    fn close(&self) {
        // A close that finds the credential busy cannot happen (see `in_use`); if it did, the
        // credential would simply stay open.
        if let Ok(mut credential) = self.0.try_borrow_mut() {
            credential.close();
        }
    }
}

/// The component model does not let a call re-enter an instance that is already running one,
/// so a credential is never found busy; should a host manage it anyway, the caller gets an
/// error rather than a trap.
fn in_use() -> CredentialError {
    CredentialError::Unavailable("the credential is busy with another call".into())
}

fn create(
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

fn get_token(
    credential: &mut WorkloadIdentityCredential,
    scopes: Vec<String>,
    options: TokenRequestOptions,
) -> Result<AccessToken, CredentialError> {
    let options = credential::TokenRequestOptions {
        claims: options.claims,
        tenant_id: options.tenant_id,
        enable_cae: options.enable_cae,
    };
    let token = fetch(credential, &scopes, &options)?;
    Ok(AccessToken {
        token: token.token,
        expires_on: token.expires_on,
        refresh_on: token.refresh_on,
        token_type: token.token_type,
    })
}

fn variable(environment: &[(String, String)], name: &str) -> Option<String> {
    environment
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// The base component: the instance's cache only.
#[cfg(not(any(feature = "keyvalue-draft2", feature = "keyvalue-draft")))]
fn fetch(
    credential: &mut WorkloadIdentityCredential,
    scopes: &[String],
    options: &credential::TokenRequestOptions,
) -> Result<error::AccessToken, CredentialError> {
    credential
        .get_token(scopes, options, &mut WasiPlatform)
        .map_err(to_wit_error)
}

/// The instance's wasi:keyvalue store, opened on the first token request; `Some(None)` when the
/// host has none to give (then the credential works as the base component does).
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
static SHARED_STORE: InstanceState<Option<Option<WasiStore>>> = InstanceState::new(None);

/// A wasi:keyvalue variant: the instance's cache, then the store every instance shares.
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
fn fetch(
    credential: &mut WorkloadIdentityCredential,
    scopes: &[String],
    options: &credential::TokenRequestOptions,
) -> Result<error::AccessToken, CredentialError> {
    let mut slot = SHARED_STORE.try_borrow_mut().ok_or_else(in_use)?;
    let store = slot.get_or_insert_with(|| {
        let identifier = variable(&environment::get_environment(), AZURE_TOKEN_CACHE_STORE);
        WasiStore::open(identifier.as_deref())
    });
    credential
        .get_token_shared(scopes, options, &mut WasiPlatform, store.as_mut())
        .map_err(to_wit_error)
}

fn to_wit_error(error: error::CredentialError) -> CredentialError {
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
