//! Tokens from the credential against a real Azure Storage API: Azurite checks each bearer
//! token's audience, issuer and lifetime, so only a token shaped like Entra's, for the storage
//! resource, is accepted. The fake authority mints such tokens; what Azurite accepts and refuses
//! is Azurite's own judgement.

use azurite_tests::{API_VERSION, Azurite, STORAGE_RESOURCE};
use composition_tests::{AppInstance, Composition, FakeUpstream, Fetched, Pod};
use host_tests::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, FakeEntra, TokenDirectory, python_venv};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use test_tools::run_within;
use token_bridge_host::demo::FakeBridge;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
const ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOmFwcCJ9.c2lnbmF0dXJl";
const STORAGE_RULES: &str = "localhost=https://storage.azure.com/.default";
const CONTAINER: &str = "reports";
const BLOB: &str = "2026/12/summary.txt";
const CONTENT: &str = "quarterly summary, written by the sample app behind the bearer middleware";
const BRIDGE_SECRET: &str = "5e0b7c2a91d4f38e6a1b";

/// The sample app composed with the bearer middleware and the credential, with `rules`, its
/// requests for Azurite sent to it and its token requests to `entra`.
struct App {
    instance: AppInstance,
    entra: FakeEntra,
    _tokens: TokenDirectory,
}

impl App {
    fn start(azurite: &Azurite, rules: &str) -> App {
        let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
        let entra = FakeEntra::new();
        let env = [
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
            ("AZURE_BEARER_RULES", rules),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let pod = Pod {
            env,
            preopens: vec![(tokens.path().to_owned(), AKS_TOKEN_DIR.to_owned())],
            entra: entra.clone(),
            upstream: FakeUpstream::default(),
        };
        let instance = Composition::shared()
            .instantiate_reaching(pod, azurite.tls())
            .unwrap();
        App {
            instance,
            entra,
            _tokens: tokens,
        }
    }

    /// The app's fetch of `path` under the account, with the storage API version and `headers`;
    /// checks that no token or assertion is in what the app got back.
    fn fetch(&mut self, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Fetched {
        let headers = [&[("x-ms-version", API_VERSION)], headers].concat();
        let fetched = self
            .instance
            .fetch(url, &headers, body)
            .expect("the composition does not trap")
            .unwrap_or_else(|error| panic!("the app's fetch of {url} failed: {error}"));
        for secret in [vec![ASSERTION.to_owned()], self.entra.issued_tokens()].concat() {
            assert!(
                !fetched.body.contains(&secret),
                "a secret in: {}",
                fetched.body
            );
        }
        fetched
    }
}

/// Creates the container and puts the blob through the app; checks each step's status.
fn create_container_and_put_blob(app: &mut App, azurite: &Azurite) {
    let container = format!("{}/{CONTAINER}?restype=container", azurite.account_url());
    let created = app.fetch(&container, &[("x-sample-app-method", "PUT")], Some(""));
    assert_eq!(created.status, 201, "{}\n{}", created.body, azurite.log());
    let blob = format!("{}/{CONTAINER}/{BLOB}", azurite.account_url());
    let put = app.fetch(&blob, &[("x-ms-blob-type", "BlockBlob")], Some(CONTENT));
    assert_eq!(put.status, 201, "{}", put.body);
}

#[test]
fn the_app_behind_the_middleware_and_python_through_the_bridge_use_one_blob_in_azurite() {
    let azurite = Azurite::start();
    let mut app = App::start(&azurite, STORAGE_RULES);
    create_container_and_put_blob(&mut app, &azurite);
    let blob = format!("{}/{CONTAINER}/{BLOB}", azurite.account_url());
    let got = app.fetch(&blob, &[], None);
    assert_eq!((got.status, got.body.as_str()), (200, CONTENT));
    // The container's PUT and the blob's GET got the header from the middleware, the blob's PUT
    // from `authorization-for`: one token, from one token request, for all three.
    let scopes = app.entra.form_fields("scope");
    assert_eq!(scopes, [format!("{STORAGE_RESOURCE}/.default")]);

    // Python's azure-storage-blob reads it with ManagedIdentityCredential, from the bridge.
    let bridge = FakeBridge::start(BRIDGE_SECRET, STORAGE_RESOURCE).unwrap();
    let output = python_read_blob(&azurite, &bridge);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "read_blob.py: {}\n{stdout}\n{stderr}",
        output.status
    );
    assert_eq!(stdout, CONTENT);
    assert_eq!(bridge.running.entra_calls(), 1);
    for secret in [vec![BRIDGE_SECRET.to_owned()], bridge.entra.issued_tokens()].concat() {
        assert!(
            !stdout.contains(&secret) && !stderr.contains(&secret),
            "a secret in read_blob.py's output"
        );
    }
}

#[test]
fn a_rule_with_the_wrong_scope_gets_azurites_403_and_its_reason() {
    let azurite = Azurite::start();
    let mut app = App::start(&azurite, "localhost=https://vault.azure.net/.default");
    let container = format!("{}/{CONTAINER}?restype=container", azurite.account_url());
    let refused = app.fetch(&container, &[("x-sample-app-method", "PUT")], Some(""));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("<Code>AuthenticationFailed</Code>")
            && refused.body.contains("Invalid token audience."),
        "{}",
        refused.body
    );
    // The token itself was fine, for the scope the rule names.
    assert_eq!(
        app.entra.form_fields("scope"),
        ["https://vault.azure.net/.default"]
    );
}

/// read_blob.py in a venv with requirements.txt, against `azurite`, its token from `bridge`.
fn python_read_blob(azurite: &Azurite, bridge: &FakeBridge) -> std::process::Output {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("azurite-tests-venv");
    let python = python_venv(&venv, &dir.join("requirements.txt"));
    run_within(
        Command::new(python)
            .arg(dir.join("read_blob.py"))
            .env("IDENTITY_ENDPOINT", bridge.running.identity_endpoint())
            .env("IDENTITY_HEADER", BRIDGE_SECRET)
            .env("ACCOUNT_URL", azurite.account_url())
            .env("AZURITE_CA", azurite.ca_path())
            .env("CONTAINER", CONTAINER)
            .env("BLOB", BLOB),
        "python read_blob.py",
        Duration::from_secs(120),
    )
}
