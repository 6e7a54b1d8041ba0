//! Calls of one p3 instance's exports. The harness's callers are synchronous tests, so each call
//! blocks on wasmtime-wasi's own tokio runtime (the one its WASI 0.2 sync bindings use), where
//! the transports' futures (the fake authority's late answers, the real client) run.

use super::bindings::{WorkloadIdentity, WorkloadIdentityOptions};
use crate::host_config::HostState;
use credential_host::{AccessToken, CredentialError, TokenRequestOptions};
use futures::future::join_all;
use wasmtime::component::ResourceAny;
use wasmtime::{Result, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::runtime::in_tokio;

/// One get-token call: the resource's on `credential`, or the free one when `None`.
#[derive(Clone)]
pub struct TokenCall {
    pub credential: Option<ResourceAny>,
    pub scopes: Vec<String>,
    pub options: TokenRequestOptions,
}

impl TokenCall {
    pub fn new(
        credential: Option<ResourceAny>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> TokenCall {
        TokenCall {
            credential,
            scopes: scopes.iter().map(|scope| scope.to_string()).collect(),
            options: options.clone(),
        }
    }
}

/// One component instance. `Err` of the outer `Result` is a trap; the inner one is the
/// component's `credential-error`.
pub struct P3CredentialInstance {
    store: Store<HostState>,
    bindings: WorkloadIdentity,
    /// What the component wrote to stdout and stderr.
    output: MemoryOutputPipe,
    /// Every error the component returned, as Debug text.
    errors: Vec<String>,
}

impl P3CredentialInstance {
    pub(super) fn new(
        store: Store<HostState>,
        bindings: WorkloadIdentity,
        output: MemoryOutputPipe,
    ) -> P3CredentialInstance {
        P3CredentialInstance {
            store,
            bindings,
            output,
            errors: Vec::new(),
        }
    }

    /// `workload-identity-credential.create`.
    pub fn create(
        &mut self,
        options: &WorkloadIdentityOptions,
    ) -> Result<Result<ResourceAny, CredentialError>> {
        let created = in_tokio(
            self.bindings
                .azure_identity_credential()
                .workload_identity_credential()
                .call_create(&mut self.store, options),
        )?;
        Ok(self.record(created))
    }

    /// `n` calls of get-token at once on this one instance, all for `scopes` and `options`:
    /// the resource's on `credential`, or the free one when `None`. See
    /// [`get_tokens_concurrently`](Self::get_tokens_concurrently).
    pub fn get_tokens_at_once(
        &mut self,
        credential: Option<ResourceAny>,
        n: usize,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Vec<Result<AccessToken, CredentialError>>> {
        let call = TokenCall::new(credential, scopes, options);
        self.get_tokens_concurrently(vec![call; n])
    }

    /// The get-token `calls`, all at once on this one instance: each is started before any is
    /// awaited, inside one `run_concurrent`, so a component that lifts get-token async runs
    /// them interleaved (one that does not runs them one after another). The answers come in
    /// the order of `calls`; a trap in any call is the outer `Err`.
    pub fn get_tokens_concurrently(
        &mut self,
        calls: Vec<TokenCall>,
    ) -> Result<Vec<Result<AccessToken, CredentialError>>> {
        let exports = self.bindings.azure_identity_credential();
        let answers = in_tokio(self.store.run_concurrent(async |accessor| {
            let calls = calls.into_iter().map(|call| async move {
                match call.credential {
                    Some(credential) => {
                        exports
                            .workload_identity_credential()
                            .call_get_token(accessor, credential, call.scopes, call.options)
                            .await
                    }
                    None => {
                        exports
                            .call_get_token(accessor, call.scopes, call.options)
                            .await
                    }
                }
            });
            join_all(calls)
                .await
                .into_iter()
                .collect::<Result<Vec<_>>>()
        }))??;
        Ok(answers
            .into_iter()
            .map(|answer| self.record(answer))
            .collect())
    }

    /// `workload-identity-credential.get-token`, one call.
    pub fn get_token(
        &mut self,
        credential: ResourceAny,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        self.only_answer(Some(credential), scopes, options)
    }

    /// The free `get-token`, configured from the environment, one call.
    pub fn get_token_from_environment(
        &mut self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        self.only_answer(None, scopes, options)
    }

    fn only_answer(
        &mut self,
        credential: Option<ResourceAny>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Result<AccessToken, CredentialError>> {
        let call = TokenCall::new(credential, scopes, options);
        let mut answers = self.get_tokens_concurrently(vec![call])?;
        Ok(answers.remove(0))
    }

    /// `workload-identity-credential.close`.
    pub fn close(&mut self, credential: ResourceAny) -> Result<()> {
        in_tokio(
            self.bindings
                .azure_identity_credential()
                .workload_identity_credential()
                .call_close(&mut self.store, credential),
        )
    }

    /// Drops the resource, as a host does when it is done with a credential.
    pub fn drop_credential(&mut self, credential: ResourceAny) -> Result<()> {
        in_tokio(credential.resource_drop_async(&mut self.store))
    }

    /// Every error this instance returned so far, as Debug text (which includes the message).
    pub fn errors_seen(&self) -> &[String] {
        &self.errors
    }

    /// The size of the component's linear memory, in bytes (the largest it ever grew to).
    pub fn linear_memory_bytes(&self) -> usize {
        self.store.data().largest_memory_bytes()
    }

    /// Everything the component wrote to stdout and stderr.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.contents()).into_owned()
    }

    fn record<T>(&mut self, result: Result<T, CredentialError>) -> Result<T, CredentialError> {
        if let Err(error) = &result {
            self.errors.push(format!("{error:?}"));
        }
        result
    }
}
