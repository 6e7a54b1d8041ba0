//! The `azure:identity@0.2.0` exports: get-token is async, so calls overlap on the instance. The
//! credentials are shared (`Rc`, `&self`): the core borrows its state only between awaits.

use crate::prelude::*;

use super::bindings::exports::azure::identity::credential::{
    Guest, GuestWorkloadIdentityCredential, WorkloadIdentityCredential as CredentialHandle,
    WorkloadIdentityOptions,
};
use super::bindings::exports::azure::identity::types::{
    AccessToken, CredentialError, TokenRequestOptions,
};
use super::platform::WasiPlatform;
use crate::component::conversions::{
    WorkloadIdentityCredential, create, to_core_options, to_core_request, to_wit_result,
};
use crate::component::runtime::InstanceState;
use crate::settings;
use alloc::rc::Rc;

pub struct Component;

/// The credential behind the free get-token, configured from the environment on first use.
/// Borrowed only to take a handle, never across an await.
static ENVIRONMENT_CREDENTIAL: InstanceState<Option<Rc<WorkloadIdentityCredential>>> =
    InstanceState::new(None);

/// A credential resource. The host keeps it while a call borrows it (the call's `borrow<>`),
/// so `&self` outlives every await of the call.
pub struct CredentialResource(WorkloadIdentityCredential);

impl Guest for Component {
    type WorkloadIdentityCredential = CredentialResource;

    async fn get_token(
        scopes: Vec<String>,
        options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let credential = environment_credential()?;
        let options = to_core_request(options);
        to_wit_result(
            credential
                .get_token(&scopes, &options, &mut WasiPlatform)
                .await,
        )
    }
}

/// The environment's credential, created by the first call.
fn environment_credential() -> Result<Rc<WorkloadIdentityCredential>, CredentialError> {
    // Never borrowed across an await, so never found borrowed.
    let mut slot = ENVIRONMENT_CREDENTIAL
        .try_borrow_mut()
        .ok_or_else(|| CredentialError::Unavailable("the credential is busy".into()))?;
    if let Some(credential) = &*slot {
        return Ok(credential.clone());
    }
    let credential = Rc::new(create(&settings::WorkloadIdentityOptions::default())?);
    *slot = Some(credential.clone());
    Ok(credential)
}

impl GuestWorkloadIdentityCredential for CredentialResource {
    fn create(options: WorkloadIdentityOptions) -> Result<CredentialHandle, CredentialError> {
        let credential = create(&to_core_options(options))?;
        Ok(CredentialHandle::new(CredentialResource(credential)))
    }

    async fn get_token(
        &self,
        scopes: Vec<String>,
        options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let options = to_core_request(options);
        to_wit_result(self.0.get_token(&scopes, &options, &mut WasiPlatform).await)
    }

    fn close(&self) {
        self.0.close();
    }
}
