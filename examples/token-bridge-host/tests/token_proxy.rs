//! AKS identity binding through the bridge: the credential's token requests go to
//! AZURE_KUBERNETES_TOKEN_PROXY, a local TLS proxy with a throw-away CA, and the bridge's TLS to
//! it trusts only AZURE_KUBERNETES_CA_FILE / _CA_DATA and names AZURE_KUBERNETES_SNI_NAME. The CA
//! file is read again for each connection, as the kubelet rotates it.

mod common;

use common::{SECRET, STORAGE, VAULT, VAULT_PATH, get, terminate};
use host_tests::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AKS_TOKEN_FILE_NAME, PROXY_ACCESS_TOKEN_PREFIX, ProxyConnection,
    ThrowAwayCa, TlsProxy, TokenDirectory,
};
use std::process::Command;
use token_bridge_host::{Authority, BridgeConfig, Limits, RunningBridge};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
/// The name the proxy's certificate is for, which is not the address the bridge connects to.
const SNI_NAME: &str = "aks-proxy.azmk8s.io";
const MANAGEMENT: &str = "https://management.azure.com";

fn token_path(resource: &str) -> String {
    format!(
        "/msi/token?api-version=2019-08-01&resource={}",
        resource.replace(':', "%3A").replace('/', "%2F")
    )
}

/// The access token of a 200 answer.
fn access_token((status, body): (u16, String)) -> String {
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// `count` token requests, each on a connection that named the proxy's SNI name.
fn token_requests(count: usize) -> Vec<ProxyConnection> {
    vec![
        ProxyConnection {
            sni: Some(SNI_NAME.into()),
            request_line: Some(format!(
                "POST /identity/{TENANT}/oauth2/v2.0/token HTTP/1.1"
            )),
        };
        count
    ]
}

/// A started command, killed when a failed assertion ends the test before it is stopped (it
/// would hold the test's output open).
struct Sidecar(Option<std::process::Child>);

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command as a sidecar runs it, configured by its environment alone.
#[test]
fn the_token_bridge_command_gets_tokens_through_the_proxy_with_its_ca_and_sni() {
    let ca = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&ca, SNI_NAME);
    let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_token-bridge"));
    command
        .args(["--listen", "127.0.0.1:0", "--quiet"])
        .env_clear()
        .env("IDENTITY_HEADER", SECRET)
        .env("TOKEN_BRIDGE_RESOURCES", VAULT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT)
        .env(
            "AZURE_FEDERATED_TOKEN_FILE",
            tokens.path().join(AKS_TOKEN_FILE_NAME),
        )
        .env(
            "AZURE_KUBERNETES_TOKEN_PROXY",
            format!("https://{}/identity", proxy.address()),
        )
        .env("AZURE_KUBERNETES_SNI_NAME", SNI_NAME)
        .env("AZURE_KUBERNETES_CA_FILE", ca.cert_path());
    let bridge = token_bridge_host::demo::start_serving(command).unwrap();
    let mut sidecar = Sidecar(Some(bridge.child));
    let token = access_token(get(bridge.address, VAULT_PATH, SECRET));
    assert_eq!(token, format!("{PROXY_ACCESS_TOKEN_PREFIX}1"));
    let exit = terminate(sidecar.0.take().unwrap());
    assert!(exit.success(), "{exit}");
    assert_eq!(proxy.connections(), token_requests(1));
}

/// A bridge whose proxy is `proxy`, trusting the CA in `ca_file`, serving three resources so
/// that each is one new token request.
fn bridge_trusting_ca_file(
    proxy: &TlsProxy,
    ca_file: &std::path::Path,
    tokens: &TokenDirectory,
) -> RunningBridge {
    let env: Vec<(String, String)> = [
        ("IDENTITY_HEADER", SECRET.to_owned()),
        (
            "TOKEN_BRIDGE_RESOURCES",
            format!("{VAULT},{STORAGE},{MANAGEMENT}"),
        ),
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT.to_owned()),
        ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE.to_owned()),
        (
            "AZURE_KUBERNETES_TOKEN_PROXY",
            format!("https://{}/identity", proxy.address()),
        ),
        ("AZURE_KUBERNETES_SNI_NAME", SNI_NAME.to_owned()),
        (
            "AZURE_KUBERNETES_CA_FILE",
            ca_file.to_str().unwrap().to_owned(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let authority = Authority::network_from_env(|name| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap();
    RunningBridge::start(BridgeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        component: None,
        env,
        preopens: vec![(tokens.path().to_path_buf(), AKS_TOKEN_DIR.into())],
        authority,
        log: false,
        limits: Limits::default(),
    })
    .unwrap()
}

#[test]
fn a_rotated_ca_file_is_picked_up_and_an_emptied_one_keeps_the_last_good_ca() {
    let first_ca = ThrowAwayCa::generate();
    let proxy = TlsProxy::start(&first_ca, SNI_NAME);
    let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
    let ca_dir = TokenDirectory::new().unwrap();
    let ca_file = ca_dir.path().join("ca.crt");
    std::fs::write(&ca_file, first_ca.cert_pem()).unwrap();
    let bridge = bridge_trusting_ca_file(&proxy, &ca_file, &tokens);

    access_token(get(bridge.address(), VAULT_PATH, SECRET));

    // The CA rotates: the kubelet writes the new CA, the proxy's certificate is re-issued.
    let second_ca = ThrowAwayCa::generate();
    std::fs::write(&ca_file, second_ca.cert_pem()).unwrap();
    proxy.present(&second_ca, SNI_NAME);
    access_token(get(bridge.address(), &token_path(STORAGE), SECRET));

    // Mid-rotation the file is empty for a moment: the last good CA stays in use.
    std::fs::write(&ca_file, "").unwrap();
    access_token(get(bridge.address(), &token_path(MANAGEMENT), SECRET));

    assert_eq!(proxy.connections(), token_requests(3));
    assert_eq!(bridge.entra_calls(), 3);
}
