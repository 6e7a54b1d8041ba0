//! The example as a user runs it, on the built component. Without Azure at hand these runs stop
//! at the credential's own checks: its configuration comes from the process's AZURE_* variables.

mod common;

use common::wasmtime_host;
use guest_artifacts::CREDENTIAL as COMPONENT_PATH;

#[test]
fn without_the_pods_variables_it_names_each_missing_one_and_fails() {
    let output = wasmtime_host(&[COMPONENT_PATH], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("credential unavailable (no request was sent)"),
        "{stderr}"
    );
    for variable in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        assert!(stderr.contains(variable), "{variable} not named: {stderr}");
    }
}

#[test]
fn a_missing_token_file_is_reported_before_any_request() {
    let output = wasmtime_host(
        &[COMPONENT_PATH, "https://vault.azure.net/.default"],
        &[
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                "/nonexistent/azure-identity-token",
            ),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("https://vault.azure.net/.default: credential unavailable"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/nonexistent/azure-identity-token"),
        "{stderr}"
    );
}

#[test]
fn without_a_component_it_prints_its_usage() {
    let output = wasmtime_host(&[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("usage: wasmtime-host"));
}

#[test]
fn an_unreachable_authority_is_reported_after_the_credentials_retries() {
    let tokens =
        host_tests::TokenDirectory::with_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
            .unwrap();
    let token_file = tokens.path().join(host_tests::AKS_TOKEN_FILE_NAME);
    let output = wasmtime_host(
        &[COMPONENT_PATH],
        &[
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
            // Port 1 on loopback: nothing listens, the connection is refused at once.
            ("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1"),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(stderr.contains("the connection was refused"), "{stderr}");
    assert!(stderr.contains("gave up after 4 attempts"), "{stderr}");
}
