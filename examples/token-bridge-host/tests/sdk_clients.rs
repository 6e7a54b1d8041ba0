//! The Azure SDKs' own `ManagedIdentityCredential` against the bridge: Python `azure-identity`,
//! Node `@azure/identity` and Rust `azure_identity`, each pinned in `clients/`, installed on first
//! use (a venv under the target directory, `npm ci` in `clients/node`, a cargo build with its own
//! lock) and run as a separate process with nothing but `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`
//! to go on.

mod common;

use common::{Bridge, SECRET, STORAGE, start_bridge};
use host_tests::{npm_ci_unless_installed, python_venv, run_to_success};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use token_bridge_host::demo::DEMO_CLIENT;

const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
/// What `clients/python/requirements.txt` and `clients/node/package.json` pin.
const AZURE_IDENTITY_PYTHON: &str = "1.27.0";
const AZURE_IDENTITY_NODE: &str = "4.13.1";
/// Requests the Python client makes, each with a fresh credential (so no SDK cache answers).
const SDK_REQUESTS: u64 = 1000;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Where the clients are installed: beside the test binaries, out of the source tree.
fn install_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("token-bridge-clients")
}

/// The venv's python, with the pinned azure-identity.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        python_venv(
            &install_dir().join("python-venv"),
            &clients_dir().join("python").join("requirements.txt"),
        )
    })
}

/// `node`, with the pinned @azure/identity installed in clients/node.
fn node_client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let dir = clients_dir().join("node");
        npm_ci_unless_installed(&dir, &[("@azure/identity", AZURE_IDENTITY_NODE)]);
        dir.join("client.mjs")
    })
}

/// The Rust client, built with its own lock file and target directory.
fn rust_client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let target = install_dir().join("rust-target");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "--locked", "--quiet", "--manifest-path"])
            .arg(clients_dir().join("rust").join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        run_to_success(&mut cargo, "cargo build (the Rust client)");
        target.join("debug").join("token-bridge-rust-client")
    })
}

#[derive(Clone, Copy, Debug)]
enum Sdk {
    Python,
    Node,
    Rust,
}

/// One client run against `bridge` with `secret`: whether it succeeded, and its report line.
fn ask(sdk: Sdk, bridge: &Bridge, secret: &str, args: &[&str]) -> (bool, Value) {
    // Serialises the installs; the clients themselves then run in parallel.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let mut command = {
        let _installing = INSTALLING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match sdk {
            Sdk::Python => {
                let mut command = Command::new(python());
                command.arg(clients_dir().join("python").join("client.py"));
                command
            }
            Sdk::Node => {
                let mut command = Command::new("node");
                command.arg(node_client());
                command
            }
            Sdk::Rust => Command::new(rust_client()),
        }
    };
    // Nothing of this process's environment (proxies, AZURE_*, other identity endpoints) may
    // steer the SDK: it gets the two variables an app on the pod gets, and a PATH.
    let output = command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", install_dir())
        .env("IDENTITY_ENDPOINT", bridge.running.identity_endpoint())
        .env("IDENTITY_HEADER", secret)
        .output()
        .unwrap_or_else(|error| panic!("{sdk:?} client could not start: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "{sdk:?} client printed nothing; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("{sdk:?} client's line {line:?}: {error}"));
    assert_eq!(
        report["ok"].as_bool(),
        Some(output.status.success()),
        "{report}"
    );
    (output.status.success(), report)
}

/// The token the bridge handed out, as the SDK saw it: its length and expiry match Entra's.
fn assert_got_the_token(sdk: Sdk, bridge: &Bridge, report: &Value) {
    let issued = bridge.entra.issued_tokens();
    assert_eq!(issued.len(), 1, "{sdk:?}");
    assert_eq!(
        report["token_length"].as_u64(),
        Some(issued[0].len() as u64),
        "{report}"
    );
    let expires_on = report["expires_on"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 3500..=now + 3600).contains(&expires_on),
        "{sdk:?}: {report}"
    );
    assert_eq!(
        bridge.entra.requests()[0].field("scope"),
        Some(VAULT_SCOPE),
        "{sdk:?}"
    );
}

fn assert_refused(sdk: Sdk, bridge: &Bridge, args: &[&str], secret: &str, expected: &str) {
    let (ok, report) = ask(sdk, bridge, secret, args);
    assert!(!ok, "{sdk:?}: {report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.contains(expected), "{sdk:?}: {message}");
    assert!(!message.contains(SECRET), "{sdk:?}: {message}");
}

#[test]
fn python_azure_identity_gets_a_token_and_a_thousand_requests_cost_one_entra_call() {
    let bridge = start_bridge();
    let count = SDK_REQUESTS.to_string();
    let (ok, report) = ask(
        Sdk::Python,
        &bridge,
        SECRET,
        &[VAULT_SCOPE, "--count", &count],
    );
    assert!(ok, "{report}");
    assert_eq!(report["tokens"].as_u64(), Some(SDK_REQUESTS));
    assert_got_the_token(Sdk::Python, &bridge, &report);
    assert_eq!(bridge.running.requests_served(), SDK_REQUESTS);
    assert_eq!(bridge.running.entra_calls(), 1);
    println!(
        "python azure-identity {AZURE_IDENTITY_PYTHON}: {} bridge requests, {} Microsoft Entra call(s)",
        bridge.running.requests_served(),
        bridge.running.entra_calls()
    );
}

#[test]
fn python_azure_identity_is_refused_a_wrong_header_another_identity_and_an_unlisted_resource() {
    let bridge = start_bridge();
    assert_refused(
        Sdk::Python,
        &bridge,
        &[VAULT_SCOPE],
        "not-the-secret-at-all",
        "401, the X-IDENTITY-HEADER header does not match",
    );
    assert_refused(
        Sdk::Python,
        &bridge,
        &[
            VAULT_SCOPE,
            "--client-id",
            "00000000-0000-0000-0000-000000000001",
        ],
        SECRET,
        "client_id '00000000-0000-0000-0000-000000000001' is not this bridge's identity",
    );
    assert_refused(
        Sdk::Python,
        &bridge,
        &["https://graph.microsoft.com/.default"],
        SECRET,
        "not on the bridge's allow-list",
    );
    assert_eq!(bridge.running.entra_calls(), 0);
    // A user-assigned identity's app names the bridge's client id, which is served.
    let (ok, report) = ask(
        Sdk::Python,
        &bridge,
        SECRET,
        &[VAULT_SCOPE, "--client-id", DEMO_CLIENT],
    );
    assert!(ok, "{report}");
    assert_got_the_token(Sdk::Python, &bridge, &report);
}

#[test]
fn node_azure_identity_gets_a_token_and_is_refused_a_wrong_header() {
    let bridge = start_bridge();
    let (ok, report) = ask(Sdk::Node, &bridge, SECRET, &[VAULT_SCOPE]);
    assert!(ok, "{report}");
    assert_got_the_token(Sdk::Node, &bridge, &report);
    // msal-node keeps its cache per process; this is a new one.
    assert_refused(
        Sdk::Node,
        &bridge,
        &[VAULT_SCOPE],
        "not-the-secret-at-all",
        "the X-IDENTITY-HEADER header does not match",
    );
    assert_refused(
        Sdk::Node,
        &bridge,
        &[
            &format!("{STORAGE}/.default"),
            "--client-id",
            "someone-else",
        ],
        SECRET,
        "client_id 'someone-else' is not this bridge's identity",
    );
    assert_eq!(bridge.running.requests_served(), 3);
    assert_eq!(bridge.running.entra_calls(), 1);
}

#[test]
fn rust_azure_identity_gets_a_token_and_is_refused_a_wrong_header() {
    let bridge = start_bridge();
    let (ok, report) = ask(Sdk::Rust, &bridge, SECRET, &[VAULT_SCOPE]);
    assert!(ok, "{report}");
    assert_got_the_token(Sdk::Rust, &bridge, &report);
    assert_refused(
        Sdk::Rust,
        &bridge,
        &[VAULT_SCOPE],
        "not-the-secret-at-all",
        "the X-IDENTITY-HEADER header does not match",
    );
    // azure_identity words every 400 its own way, without the body.
    assert_refused(
        Sdk::Rust,
        &bridge,
        &["https://graph.microsoft.com/.default"],
        SECRET,
        "has not been assigned to this resource",
    );
    assert_eq!(bridge.running.requests_served(), 3);
    assert_eq!(bridge.running.entra_calls(), 1);
}
