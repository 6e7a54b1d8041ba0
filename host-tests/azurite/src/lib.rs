//! Azurite 3.37's blob service (the Azure Storage emulator, from npm) as a real Azure data plane
//! for the tests: HTTPS with a certificate from a throw-away CA, in memory, with OAuth on, so it
//! checks every bearer token's audience, issuer and lifetime as Azure Storage does (it does not
//! check signatures). Started on a free port, stopped when dropped.

use credential_host::TokenProxyTls;
use host_tests::{ThrowAwayCa, npm_ci_unless_installed};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use test_tools::Background;

/// Azurite's one account; URLs name it in the path: `https://host:port/devstoreaccount1/…`.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The audience Azure Storage accepts (and the resource of the scope for it).
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";
/// The name its certificate is for: what the clients connect to.
pub const HOST: &str = "localhost";
/// A storage API version both Azurite and the SDKs speak (bearer tokens need 2017-11-09 or later).
pub const API_VERSION: &str = "2025-01-05";

/// Ready in about 1.5 s here; the bound leaves room for a busy machine.
const READY_BOUND: Duration = Duration::from_secs(60);

pub struct Azurite {
    process: Background,
    port: u16,
    ca: ThrowAwayCa,
}

impl Azurite {
    /// Installs Azurite (`npm ci`, once) and starts its blob service; returns once it listens.
    pub fn start() -> Azurite {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        npm_ci_unless_installed(dir, &[("azurite", "3.37.0")]);
        let ca = ThrowAwayCa::generate();
        let (certificate, key) = ca.issue_files(HOST);
        let mut process = Background::start(
            Command::new(dir.join("node_modules/.bin/azurite-blob"))
                .args(["--blobHost", "127.0.0.1", "--blobPort", "0"])
                // `--oauth basic`: any other value silently turns bearer checks off.
                .args([
                    "--inMemoryPersistence",
                    "--extentMemoryLimit",
                    "64",
                    "--oauth",
                    "basic",
                ])
                .arg("--cert")
                .arg(&certificate)
                .arg("--key")
                .arg(&key)
                // Python's azure-storage-blob sends a version newer than Azurite knows.
                .args(["--skipApiVersionCheck", "--disableTelemetry"]),
            "azurite-blob",
        );
        let listening = "successfully listens on https://127.0.0.1:";
        process
            .wait_for_output(listening, READY_BOUND)
            .unwrap_or_else(|problem| panic!("{problem}"));
        let output = process.output();
        let port = output
            .split(listening)
            .nth(1)
            .and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .unwrap_or_else(|| panic!("Azurite named no port:\n{output}"));
        Azurite { process, port, ca }
    }

    /// `https://localhost:PORT/devstoreaccount1`: the account's blob endpoint.
    pub fn account_url(&self) -> String {
        format!("https://{HOST}:{}/{ACCOUNT}", self.port)
    }

    /// The CA its certificate is from, PEM: what a client must trust.
    pub fn ca_path(&self) -> PathBuf {
        self.ca.cert_path()
    }

    /// The TLS settings a host needs to reach it: its origin, trusting only its CA.
    pub fn tls(&self) -> TokenProxyTls {
        let origin = format!("https://{HOST}:{}", self.port);
        let ca = self.ca_path().to_string_lossy().into_owned();
        TokenProxyTls::from_env(|name| match name {
            "AZURE_KUBERNETES_TOKEN_PROXY" => Some(origin.clone()),
            "AZURE_KUBERNETES_CA_FILE" => Some(ca.clone()),
            _ => None,
        })
        .expect("Azurite's origin and CA are valid TLS settings")
        .expect("an origin is set")
    }

    /// Azurite's log so far.
    pub fn log(&self) -> String {
        self.process.output()
    }
}
