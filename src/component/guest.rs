//! The `azure:identity` exports, converting between WIT types and the core's.

use crate::prelude::*;

#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
use super::conversions::variable;
use super::conversions::{
    WorkloadIdentityCredential, create, to_core_options, to_core_request, to_wit_error,
    to_wit_result,
};
use super::exports::azure::identity::credential::{
    Guest, GuestWorkloadIdentityCredential, WorkloadIdentityCredential as CredentialHandle,
    WorkloadIdentityOptions,
};
use super::exports::azure::identity::types::{AccessToken, CredentialError, TokenRequestOptions};
use super::runtime::InstanceState;
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
use super::wasi::cli::environment;
use super::wasi_platform::WasiPlatform;
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
use super::wasi_store::{AZURE_TOKEN_CACHE_STORE, WasiStore};
use crate::credential;
use crate::error;
use crate::ready;
use crate::settings;
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
        let mut slot = ENVIRONMENT_CREDENTIAL
            .try_borrow_mut()
            .ok_or_else(|| to_wit_error(in_use()))?;
        let credential = match &mut *slot {
            Some(credential) => credential,
            None => slot.insert(create(&settings::WorkloadIdentityOptions::default())?),
        };
        get_token(credential, scopes, options)
    }
}

impl GuestWorkloadIdentityCredential for CredentialResource {
    fn create(options: WorkloadIdentityOptions) -> Result<CredentialHandle, CredentialError> {
        let credential = create(&to_core_options(options))?;
        Ok(CredentialHandle::new(CredentialResource(RefCell::new(
            credential,
        ))))
    }

    fn get_token(
        &self,
        scopes: Vec<String>,
        options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let mut credential = self
            .0
            .try_borrow_mut()
            .map_err(|_| to_wit_error(in_use()))?;
        get_token(&mut credential, scopes, options)
    }

    fn close(&self) {
        // A close that finds the credential busy cannot happen (see `in_use`); if it did, the
        // credential would simply stay open.
        if let Ok(credential) = self.0.try_borrow_mut() {
            credential.close();
        }
    }
}

/// The component model does not let a call re-enter an instance that is already running one,
/// so a credential is never found busy; should a host manage it anyway, the caller gets an
/// error rather than a trap.
fn in_use() -> error::CredentialError {
    error::CredentialError::Unavailable("the credential is busy with another call".into())
}

fn get_token(
    credential: &mut WorkloadIdentityCredential,
    scopes: Vec<String>,
    options: TokenRequestOptions,
) -> Result<AccessToken, CredentialError> {
    to_wit_result(fetch(credential, &scopes, &to_core_request(options)))
}

/// The base component: the instance's cache only.
#[cfg(not(any(feature = "keyvalue-draft2", feature = "keyvalue-draft")))]
fn fetch(
    credential: &mut WorkloadIdentityCredential,
    scopes: &[String],
    options: &credential::TokenRequestOptions,
) -> Result<error::AccessToken, error::CredentialError> {
    ready::run(credential.get_token(scopes, options, &mut WasiPlatform))
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
) -> Result<error::AccessToken, error::CredentialError> {
    let mut slot = SHARED_STORE.try_borrow_mut().ok_or_else(in_use)?;
    let store = slot.get_or_insert_with(|| {
        let identifier = variable(&environment::get_environment(), AZURE_TOKEN_CACHE_STORE);
        WasiStore::open(identifier.as_deref())
    });
    ready::run(credential.get_token_shared(scopes, options, &mut WasiPlatform, store.as_mut()))
}
