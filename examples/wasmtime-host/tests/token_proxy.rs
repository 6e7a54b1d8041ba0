//! AKS identity binding as the example runs it: the credential's token requests go to
//! AZURE_KUBERNETES_TOKEN_PROXY, a local TLS proxy with a throw-away CA, and the host's TLS to it
//! trusts only AZURE_KUBERNETES_CA_FILE / _CA_DATA and names AZURE_KUBERNETES_SNI_NAME.

mod common;

use common::wasmtime_host;
use guest_artifacts::CREDENTIAL as COMPONENT_PATH;
use host_tests::{
    AKS_TOKEN_FILE_NAME, ProxyConnection, SilentListener, ThrowAwayCa, TlsProxy, TokenDirectory,
};
use std::process::Output;
use std::time::{Duration, Instant};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The name the proxy's certificate is for, which is not the address the host connects to.
const SNI_NAME: &str = "aks-proxy.azmk8s.io";
const SCOPE: &str = "https://vault.azure.net/.default";

/// The example in a pod whose token proxy is `proxy`, with the TLS settings `tls`.
fn run_with_proxy(proxy: &TlsProxy, tls: &[(&str, &str)]) -> (Output, Duration) {
    let tokens = TokenDirectory::with_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
    let token_file = tokens.path().join(AKS_TOKEN_FILE_NAME);
    let proxy_url = format!("https://{}/identity", proxy.address());
    let mut env = vec![
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_KUBERNETES_TOKEN_PROXY", &proxy_url),
    ];
    env.extend_from_slice(tls);
    let started = Instant::now();
    let output = wasmtime_host(&[COMPONENT_PATH, SCOPE], &env);
    (output, started.elapsed())
}

/// The one connection a successful run makes: the proxy's name as SNI, the token path appended
/// to the proxy's path. The second round is the credential's cache.
fn assert_one_token_request_with_sni(proxy: &TlsProxy) {
    assert_eq!(
        proxy.connections(),
        [ProxyConnection {
            sni: Some(SNI_NAME.into()),
            request_line: Some(format!(
                "POST /identity/{TENANT}/oauth2/v2.0/token HTTP/1.1"
            )),
        }]
    );
}

fn assert_got_a_token(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    // proxy-access-token-1: 20 characters.
    assert!(
        stdout.contains(&format!(
            "first get-token {SCOPE}: Bearer token of 20 characters (not printed)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("second get-token"), "{stdout}");
}

#[test]
fn a_token_comes_through_the_proxy_trusting_its_ca_file_and_naming_its_sni() {
    let ca = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&ca, SNI_NAME);
    let ca_file = ca.cert_path();
    let (output, _) = run_with_proxy(
        &proxy,
        &[
            ("AZURE_KUBERNETES_SNI_NAME", SNI_NAME),
            ("AZURE_KUBERNETES_CA_FILE", ca_file.to_str().unwrap()),
        ],
    );
    assert_got_a_token(&output);
    assert_one_token_request_with_sni(&proxy);
}

#[test]
fn a_token_comes_through_the_proxy_trusting_its_ca_data() {
    let ca = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&ca, SNI_NAME);
    let (output, _) = run_with_proxy(
        &proxy,
        &[
            ("AZURE_KUBERNETES_SNI_NAME", SNI_NAME),
            ("AZURE_KUBERNETES_CA_DATA", &ca.cert_pem()),
        ],
    );
    assert_got_a_token(&output);
    assert_one_token_request_with_sni(&proxy);
}

#[test]
fn a_proxy_certificate_from_another_ca_is_refused_naming_the_problem() {
    let trusted = ThrowAwayCa::generate();
    let other = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&other, SNI_NAME);
    let ca_file = trusted.cert_path();
    let (output, took) = run_with_proxy(
        &proxy,
        &[
            ("AZURE_KUBERNETES_SNI_NAME", SNI_NAME),
            ("AZURE_KUBERNETES_CA_FILE", ca_file.to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "the host's HTTP client failed: TLS with the token proxy {} (server name {SNI_NAME}, \
         trusting the CA in AZURE_KUBERNETES_CA_FILE {}) failed: invalid peer certificate: \
         UnknownIssuer",
        proxy.address(),
        ca_file.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    // The credential's own retries (0.8 + 1.6 + 3.2 s), not a wait on the proxy.
    assert!(took < Duration::from_secs(30), "took {took:?}: {stderr}");
    let connections = proxy.connections();
    assert!(!connections.is_empty());
    assert!(
        connections.iter().all(|c| c.request_line.is_none()),
        "a request went to an untrusted proxy: {connections:?}"
    );
}

#[test]
fn a_missing_ca_file_stops_the_host_at_its_start_naming_the_variable_and_the_file() {
    let ca = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&ca, SNI_NAME);
    let (output, _) = run_with_proxy(
        &proxy,
        &[("AZURE_KUBERNETES_CA_FILE", "/nonexistent/ca.crt")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("AZURE_KUBERNETES_CA_FILE /nonexistent/ca.crt: No such file or directory"),
        "{stderr}"
    );
    assert_eq!(proxy.connections(), []);
}

#[test]
fn a_proxy_that_never_finishes_the_tls_handshake_costs_a_bounded_wait_naming_it() {
    // It accepts connections and never answers the ClientHello: the host's send, which does
    // the handshake itself for the proxy, must not wait on it past the attempt's bounds.
    let silent = SilentListener::start().unwrap();
    let tokens = TokenDirectory::with_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
    let token_file = tokens.path().join(AKS_TOKEN_FILE_NAME);
    let proxy_url = format!("https://{}/identity", silent.address());
    let ca = ThrowAwayCa::generate();
    let ca_file = ca.cert_path();
    let env = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_KUBERNETES_TOKEN_PROXY", &proxy_url),
        ("AZURE_KUBERNETES_SNI_NAME", SNI_NAME),
        ("AZURE_KUBERNETES_CA_FILE", ca_file.to_str().unwrap()),
    ];
    let started = Instant::now();
    let output = wasmtime_host(&[COMPONENT_PATH, SCOPE], &env);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The credential's 60 s bound for a get-token, with a little room for the process.
    assert!(took < Duration::from_secs(65), "took {took:?}: {stderr}");
    // The handshake counts toward the connect timeout (10 s an attempt), then the retries.
    assert!(stderr.contains("connecting timed out"), "{stderr}");
    assert!(silent.connections() >= 1);
}
