//! The smallest correct wasmtime embedding of the credential component.
//!
//! `wasmtime-host COMPONENT.wasm [SCOPE ...]` asks Microsoft Entra ID for a token for each scope,
//! twice, through one credential, configured like azure-identity from the process's AZURE_*
//! variables (an AKS pod with workload identity has them). It shows what a host should do:
//! - compile and link once (`Component`, `Linker`, `InstancePre`), instantiate per tenant of the
//!   host (here: once);
//! - keep the `workload-identity-credential` resource across requests: it holds the token cache,
//!   so the second round is served from memory;
//! - grant the component only the token file's directory, read-only, and only the AZURE_*
//!   variables;
//! - print errors with what Entra said: AADSTS codes, correlation and trace ids.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "workload-identity",
    // wasmtime-wasi and wasmtime-wasi-http provide the wasi:* imports.
    require_store_data_send: true,
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

use exports::azure::identity::credential::WorkloadIdentityOptions;
use exports::azure::identity::types::{CredentialError, TokenRequestOptions};

const USAGE: &str = "usage: wasmtime-host COMPONENT.wasm [SCOPE ...]
Configured from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE and
AZURE_AUTHORITY_HOST; the default scope is https://management.azure.com/.default.";

/// What one instance's store holds: WASI, wasi:http and their resources.
struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            // Requests go out over the network with wasmtime-wasi-http's own client.
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

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
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
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

/// WASI for the component: the AZURE_* variables, and the token file's directory, read-only, at
/// the same path. Nothing else: no other files, no stdin, no other variables.
fn host_state() -> wasmtime::Result<Host> {
    let mut wasi = WasiCtx::builder();
    for (name, value) in std::env::vars().filter(|(name, _)| name.starts_with("AZURE_")) {
        wasi.env(&name, &value);
    }
    if let Some(directory) = std::env::var("AZURE_FEDERATED_TOKEN_FILE")
        .ok()
        .and_then(|file| Path::new(&file).parent().map(Path::to_path_buf))
        .filter(|directory| directory.is_dir())
    {
        let guest_path = directory.to_string_lossy().into_owned();
        wasi.preopened_dir(&directory, &guest_path, FsPerms::ReadOnly)?;
    }
    Ok(Host {
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
    })
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
    use exports::azure::identity::types::AuthenticationFailure;

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
