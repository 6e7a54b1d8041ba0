//! The smallest correct wasmtime embedding of the credential component.
//!
//! `wasmtime-host COMPONENT.wasm [SCOPE ...]` asks Microsoft Entra ID for a token for each scope,
//! twice, through one credential, configured like azure-identity from the process's AZURE_*
//! variables (an AKS pod with workload identity has them). It shows what a host should do:
//! - compile and link once (`Component`, `Linker`, `InstancePre`), instantiate per tenant of the
//!   host (here: once);
//! - keep the `workload-identity-credential` resource across requests: it holds the token cache,
//!   so the second round is served from memory;
//! - grant the component only the token's projected volume (the directory holding `..data`,
//!   which survives the kubelet's rotations), read-only, and only the AZURE_* variables;
//! - print errors with what Entra said: AADSTS codes, correlation and trace ids.

use credential_host::{
    Authority, CredentialError, TokenRequestOptions, WasiHost, WorkloadIdentityOptions,
    WorkloadIdentityPre, grant_read_only, token_file_grant, wasi_http_linker,
};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use wasmtime::component::Component;
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;

const USAGE: &str = "usage: wasmtime-host COMPONENT.wasm [SCOPE ...]
Configured from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE and
AZURE_AUTHORITY_HOST (AKS identity binding: AZURE_KUBERNETES_TOKEN_PROXY, with
AZURE_KUBERNETES_SNI_NAME and AZURE_KUBERNETES_CA_FILE or AZURE_KUBERNETES_CA_DATA); the default
scope is https://management.azure.com/.default.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(component) = args.next().filter(|a| !a.starts_with('-')) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut scopes: Vec<String> = args.collect();
    if scopes.is_empty() {
        scopes.push("https://management.azure.com/.default".into());
    }
    match run(&component, &scopes) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(trap) => {
            eprintln!("wasmtime-host: {trap:?}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(false)`: the component returned a credential-error, already printed.
fn run(component_path: &str, scopes: &[String]) -> wasmtime::Result<bool> {
    // Once per process: compiling takes ~100 ms, linking is checked here too.
    let engine = Engine::default();
    let component = Component::from_file(&engine, component_path)?;
    let linker = wasi_http_linker(&engine)?;
    let pre = WorkloadIdentityPre::new(linker.instantiate_pre(&component)?)?;

    // Once per credential lifetime: ~15 µs from an InstancePre.
    let mut store = Store::new(&engine, host_state()?);
    let identity = pre.instantiate(&mut store)?;
    let api = identity
        .azure_identity_credential()
        .workload_identity_credential();
    // Every option unset: each falls back to the AZURE_* variables granted above.
    let options = WorkloadIdentityOptions {
        tenant_id: None,
        client_id: None,
        token_file_path: None,
        authority_host: None,
        additionally_allowed_tenants: Vec::new(),
    };
    let credential = match api.call_create(&mut store, &options)? {
        Ok(credential) => credential,
        Err(error) => {
            eprintln!("{}", describe(&error));
            return Ok(false);
        }
    };
    let request = TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    };
    for round in ["first", "second"] {
        for scope in scopes {
            let started = Instant::now();
            let result = api.call_get_token(
                &mut store,
                credential,
                std::slice::from_ref(scope),
                &request,
            )?;
            let elapsed = started.elapsed();
            match result {
                Ok(token) => println!(
                    "{round} get-token {scope}: {} token of {} characters (not printed), \
                     expires in {} s, took {elapsed:.1?}",
                    token.token_type,
                    token.token.len(),
                    token.expires_on.saturating_sub(unix_now())
                ),
                Err(error) => {
                    eprintln!("{scope}: {}", describe(&error));
                    return Ok(false);
                }
            }
        }
    }
    credential.resource_drop(&mut store)?;
    Ok(true)
}

/// WASI for the component: the AZURE_* variables, and the token's projected volume, read-only, at
/// the same path. Nothing else: no other files, no stdin, no other variables.
/// Requests go out over the network with wasmtime-wasi-http's own client; those to the AKS token
/// proxy (identity binding) with its CA and SNI name, which the component cannot apply itself.
fn host_state() -> wasmtime::Result<WasiHost<Authority>> {
    let authority = Authority::network_from_env(|name| std::env::var(name).ok())
        .map_err(wasmtime::Error::msg)?;
    let mut wasi = WasiCtx::builder();
    for (name, value) in std::env::vars().filter(|(name, _)| name.starts_with("AZURE_")) {
        wasi.env(&name, &value);
    }
    let token_directory = std::env::var("AZURE_FEDERATED_TOKEN_FILE")
        .ok()
        .and_then(|file| token_file_grant(&file));
    grant_read_only(&mut wasi, token_directory.as_slice())?;
    Ok(WasiHost::new(wasi.build(), authority))
}

/// A credential-error for a person: what failed, what Entra said, and what to quote to support.
fn describe(error: &CredentialError) -> String {
    match error {
        CredentialError::Unavailable(message) => {
            format!("credential unavailable (no request was sent): {message}")
        }
        CredentialError::InvalidArgument(message) => format!("invalid argument: {message}"),
        CredentialError::AuthenticationFailed(failure) => {
            let mut text = format!("authentication failed: {}", failure.message);
            if let Some(status) = failure.status {
                text.push_str(&format!("\n  HTTP status: {status}"));
            }
            if let Some(error) = &failure.error {
                text.push_str(&format!("\n  error: {error}"));
            }
            for code in &failure.error_codes {
                text.push_str(&format!(
                    "\n  AADSTS{code}: https://login.microsoftonline.com/error?code={code}"
                ));
            }
            if let Some(id) = &failure.correlation_id {
                text.push_str(&format!("\n  correlation id: {id}"));
            }
            if let Some(id) = &failure.trace_id {
                text.push_str(&format!("\n  trace id: {id}"));
            }
            text
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_host::AuthenticationFailure;

    #[test]
    fn an_authentication_failure_is_printed_with_its_aadsts_codes_and_ids() {
        let error = CredentialError::AuthenticationFailed(AuthenticationFailure {
            message: "Microsoft Entra ID refused the client assertion".into(),
            status: Some(400),
            error: Some("invalid_client".into()),
            error_codes: vec![700213],
            correlation_id: Some("c-1".into()),
            trace_id: Some("t-1".into()),
        });
        assert_eq!(
            describe(&error),
            "authentication failed: Microsoft Entra ID refused the client assertion
  HTTP status: 400
  error: invalid_client
  AADSTS700213: https://login.microsoftonline.com/error?code=700213
  correlation id: c-1
  trace id: t-1"
        );
    }

    #[test]
    fn unavailable_says_no_request_was_sent() {
        let error = CredentialError::Unavailable("AZURE_TENANT_ID is not set".into());
        assert_eq!(
            describe(&error),
            "credential unavailable (no request was sent): AZURE_TENANT_ID is not set"
        );
    }
}
