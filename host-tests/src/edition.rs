//! The credential's two builds behind one instance type, so that one test body runs against
//! both: the WASI 0.2 build (`azure:identity@0.1.0`, synchronous exports) and the WASI 0.3 build
//! (`azure:identity@0.2.0`, get-token an `async func`). Both take the same [`HostConfig`] and the
//! 0.2 world's types; a 0.3 instance's calls are made one at a time here, as a 0.2 host makes
//! them (calls at once are [`P3CredentialInstance`]'s own).

use crate::embedding::{CredentialComponent, CredentialInstance};
use crate::embedding_p3::{P3CredentialComponent, P3CredentialInstance};
use crate::host_config::HostConfig;
use credential_host::{AccessToken, CredentialError, TokenRequestOptions, WorkloadIdentityOptions};
use wasmtime::Result;
use wasmtime::component::ResourceAny;

/// A build of the credential, by the WASI edition it targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edition {
    /// [`crate::COMPONENT_PATH`], the release build of the root crate.
    Wasi0_2,
    /// `guest_artifacts::CREDENTIAL_WASI_P3`, the root crate with feature `wasi-p3`.
    Wasi0_3,
}

impl Edition {
    /// A fresh instance of this edition's build, compiled once per process.
    pub fn instantiate(self, config: HostConfig) -> Result<EditionInstance> {
        Ok(match self {
            Edition::Wasi0_2 => {
                EditionInstance::Wasi0_2(CredentialComponent::shared().instantiate(config)?)
            }
            Edition::Wasi0_3 => EditionInstance::Wasi0_3(
                P3CredentialComponent::shared(guest_artifacts::CREDENTIAL_WASI_P3)
                    .instantiate(config)?,
            ),
        })
    }
}

/// An instance of either edition. `Err` of the outer `Result` is a trap; the inner one is the
/// component's `credential-error`.
pub enum EditionInstance {
    Wasi0_2(CredentialInstance),
    Wasi0_3(P3CredentialInstance),
}

/// `$call` on the instance inside `$instance`, whichever edition it is: the two instance types
/// have the same methods.
macro_rules! on_either {
    ($instance:expr, $inner:ident => $call:expr) => {
        match $instance {
            EditionInstance::Wasi0_2($inner) => $call,
            EditionInstance::Wasi0_3($inner) => $call,
        }
    };
}

impl EditionInstance {
    /// The WASI 0.3 instance, for what only it can do (calls at once); `None` for a 0.2 one.
    pub fn wasi_0_3(&mut self) -> Option<&mut P3CredentialInstance> {
        match self {
            EditionInstance::Wasi0_2(_) => None,
            EditionInstance::Wasi0_3(instance) => Some(instance),
        }
    }

    /// `workload-identity-credential.create`; a 0.3 instance gets the same options in its
    /// world's type.
    pub fn create(
        &mut self,
        options: &WorkloadIdentityOptions,
    ) -> Result<Result<ResourceAny, CredentialError>> {
        match self {
            EditionInstance::Wasi0_2(instance) => instance.create(options),
            EditionInstance::Wasi0_3(instance) => instance.create(&options.into()),
        }
    }

    /// `workload-identity-credential.get-token`.
    pub fn get_token(
        &mut self,
        credential: ResourceAny,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        on_either!(self, instance => instance.get_token(credential, scopes, options))
    }

    /// The free `get-token`, configured from the environment.
    pub fn get_token_from_environment(
        &mut self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        on_either!(self, instance => instance.get_token_from_environment(scopes, options))
    }

    /// `workload-identity-credential.close`.
    pub fn close(&mut self, credential: ResourceAny) -> Result<()> {
        on_either!(self, instance => instance.close(credential))
    }

    /// Drops the resource, as a host does when it is done with a credential.
    pub fn drop_credential(&mut self, credential: ResourceAny) -> Result<()> {
        on_either!(self, instance => instance.drop_credential(credential))
    }

    /// Every error this instance returned so far, as Debug text (which includes the message).
    pub fn errors_seen(&self) -> &[String] {
        on_either!(self, instance => instance.errors_seen())
    }

    /// The size of the component's linear memory, in bytes (the largest it ever grew to).
    pub fn linear_memory_bytes(&self) -> usize {
        on_either!(self, instance => instance.linear_memory_bytes())
    }

    /// Everything the component wrote to stdout and stderr.
    pub fn output(&self) -> String {
        on_either!(self, instance => instance.output())
    }
}
