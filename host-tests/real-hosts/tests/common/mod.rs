//! The Spin-style app (`examples/spin`: `GET /secrets` lists a key vault with a token from the
//! credential it imports) as a real host serves it: the workload identity the AKS webhook would
//! inject, the token volume as the kubelet projects it (webhook v1.6), and the checks every host
//! must pass against the fake Entra and the fake vault.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

pub mod sample_proxy;
pub mod via_bridge;

use credential_host::{AKS_WEBHOOK_1_6_TOKEN_FILE, AKS_WEBHOOK_1_6_TOKEN_PATH};
use host_tests::{FakeService, RecordedRequest, TokenDirectory, UPSTREAM_BODY};
use real_hosts_tests::{EntraServer, ServingHost, redacted};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
pub const VAULT_NAME: &str = "myvault";
pub const VAULT_HOST: &str = "myvault.vault.azure.net";
pub const VAULT_PATH: &str = "/secrets?api-version=7.5";
/// Service-account tokens' shape, before and after the kubelet's rotation.
pub const FIRST_ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOmZpcnN0In0.Zmlyc3Q";
pub const ROTATED_ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOnNlY29uZCJ9.c2Vjb25k";
/// How many requests the Entra-calls count is taken over.
pub const COUNTED_REQUESTS: usize = 100;
/// One request through a host: the credential's own bound (60 s) and a little more.
const REQUEST_BOUND: Duration = Duration::from_secs(70);

/// The wasmtime CLI, installed once for a test binary (about 8 minutes the first time).
pub fn wasmtime() -> &'static Path {
    static WASMTIME: OnceLock<PathBuf> = OnceLock::new();
    WASMTIME.get_or_init(|| {
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
        real_hosts_tests::wasmtime_serve::installed(target_dir)
    })
}

/// The projected token volume, webhook v1.6: `token/azure-identity-token` through `..data`.
pub struct TokenVolume(TokenDirectory);

impl TokenVolume {
    pub fn new() -> TokenVolume {
        let dir = TokenDirectory::new().expect("a temporary directory");
        dir.project_file(AKS_WEBHOOK_1_6_TOKEN_PATH, FIRST_ASSERTION)
            .expect("projecting the token");
        TokenVolume(dir)
    }

    /// The kubelet's rotation: the new token in a new timestamped directory, `..data` swapped
    /// to it, the old directory deleted.
    pub fn rotate(&self) {
        self.0
            .project_file(AKS_WEBHOOK_1_6_TOKEN_PATH, ROTATED_ASSERTION)
            .expect("rotating the token");
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// The app's variables: what the webhook injects, the vault's name, and the authority host when
/// it is not the default.
pub fn environment(authority_host: Option<&str>) -> Vec<(&'static str, String)> {
    let mut variables = workload_identity(authority_host);
    variables.push(("KEY_VAULT_NAME", VAULT_NAME.to_owned()));
    variables
}

/// What the webhook injects, and the authority host when it is not the default.
pub fn workload_identity(authority_host: Option<&str>) -> Vec<(&'static str, String)> {
    let mut variables = vec![
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            AKS_WEBHOOK_1_6_TOKEN_FILE.to_owned(),
        ),
    ];
    if let Some(authority_host) = authority_host {
        variables.push(("AZURE_AUTHORITY_HOST", authority_host.to_owned()));
    }
    variables
}

/// `GET /secrets` through the host at `address`: the status and the body.
pub fn get_secrets(address: SocketAddr) -> (u16, String) {
    let (status, body) =
        token_bridge_host::client::request(address, "GET", "/secrets", &[], REQUEST_BOUND)
            .unwrap_or_else(|error| panic!("GET /secrets from {address}: {error}"));
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The fakes a host's requests reached, and the secrets no failure message may show.
pub struct Fakes<'a> {
    pub entra: &'a EntraServer,
    pub vault: &'a FakeService,
    /// The URL of the vault's listing as the fake vault saw it (`scheme://host` + path).
    pub vault_url: String,
    /// `scheme://host:port` of the fake Entra as its requests arrived.
    pub entra_origin: String,
}

impl Fakes<'_> {
    /// Both assertions and every token issued so far.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![FIRST_ASSERTION.to_owned(), ROTATED_ASSERTION.to_owned()];
        secrets.extend(self.entra.fake().issued_tokens());
        secrets
    }

    /// `text` with no secret in it, for a failure message.
    pub fn clean(&self, text: &str) -> String {
        redacted(text, &self.secrets())
    }

    /// `GET /secrets` answers the vault's listing, and the vault got it with the bearer token
    /// the fake Entra issued last; `host_log` is quoted (cleaned) when it did not.
    pub fn assert_listing_with_latest_token(
        &self,
        address: SocketAddr,
        host_log: &dyn Fn() -> String,
    ) {
        let (status, body) = get_secrets(address);
        assert!(
            status == 200 && body == UPSTREAM_BODY,
            "GET /secrets answered {status}: {}\nhost log:\n{}",
            self.clean(&body),
            self.clean(&host_log())
        );
        let issued = self.entra.fake().issued_tokens();
        let request = self
            .vault
            .requests()
            .pop()
            .expect("the vault got a request");
        assert_eq!(request.url, self.vault_url);
        assert_eq!(request.method, "GET");
        let authorization = request.header_values("authorization");
        // Compared, never printed: a token must not appear in a failure message.
        assert!(
            issued
                .last()
                .is_some_and(|token| authorization == [format!("Bearer {token}")]),
            "the vault's request does not carry `Bearer <the token the fake Entra issued last>` \
             ({} authorization values, {} tokens issued)",
            authorization.len(),
            issued.len()
        );
    }

    /// The `n`th token request (from 1) is what Entra expects of a workload identity: POST to
    /// the tenant's v2.0 token path, this client, the vault's scope, and `assertion`.
    pub fn assert_token_request(&self, n: usize, assertion: &str) {
        let requests = self.entra.fake().requests();
        let request: &RecordedRequest = requests
            .get(n - 1)
            .unwrap_or_else(|| panic!("the fake Entra got {} requests, not {n}", requests.len()));
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            format!("{}/{TENANT}/oauth2/v2.0/token", self.entra_origin)
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.field("grant_type"), Some("client_credentials"));
        assert_eq!(request.field("client_id"), Some(CLIENT));
        assert_eq!(
            request.field("scope"),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(
            request.field("client_assertion_type"),
            Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        );
        let which = if assertion == FIRST_ASSERTION {
            "first"
        } else {
            "rotated"
        };
        assert!(
            request.field("client_assertion") == Some(assertion),
            "token request {n} does not carry the {which} token file's assertion"
        );
    }

    /// What every host must do: a listing with an issued token from the exact token request;
    /// after the kubelet's rotation, a token request with the new assertion; then the Entra
    /// calls [`COUNTED_REQUESTS`] more listings cost, which it returns.
    pub fn assert_app_served(
        &self,
        address: SocketAddr,
        volume: &TokenVolume,
        host_log: &dyn Fn() -> String,
    ) -> usize {
        self.assert_listing_with_latest_token(address, host_log);
        self.assert_token_request(1, FIRST_ASSERTION);

        volume.rotate();
        let before = self.entra.token_calls();
        self.assert_listing_with_latest_token(address, host_log);
        assert!(
            self.entra.token_calls() > before,
            "no token request after the rotation"
        );
        self.assert_token_request(self.entra.token_calls(), ROTATED_ASSERTION);

        let before = self.entra.token_calls();
        for _ in 0..COUNTED_REQUESTS {
            self.assert_listing_with_latest_token(address, host_log);
        }
        self.entra.token_calls() - before
    }

    /// `total` listings through the host at `address`, `at_once` at a time, each answered with
    /// the vault's listing and sent to the vault with a token the fake Entra issued; returns the
    /// Entra calls they cost.
    pub fn entra_calls_for(
        &self,
        address: SocketAddr,
        total: usize,
        at_once: usize,
        host_log: &dyn Fn() -> String,
    ) -> usize {
        let before = self.entra.token_calls();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failures = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..at_once {
                scope.spawn(|| {
                    while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < total {
                        let (status, body) = get_secrets(address);
                        if status != 200 || body != UPSTREAM_BODY {
                            failures.lock().unwrap().push(format!("{status}: {body}"));
                        }
                    }
                });
            }
        });
        let failures = failures.into_inner().unwrap();
        assert!(
            failures.is_empty(),
            "{} of {total} listings failed, the first: {}\nhost log:\n{}",
            failures.len(),
            self.clean(&failures[0]),
            self.clean(&host_log())
        );
        let issued = self.entra.fake().issued_tokens();
        let requests = self.vault.take_requests();
        assert_eq!(requests.len(), total);
        // Compared, never printed.
        assert!(
            requests.iter().all(|request| {
                let authorization = request.header_values("authorization");
                issued
                    .iter()
                    .any(|token| authorization == [format!("Bearer {token}")])
            }),
            "a vault request did not carry exactly one token the fake Entra issued"
        );
        self.entra.token_calls() - before
    }
}

/// `wash dev` stopped on SIGTERM, exiting 0; its log (cleaned) quoted when it did not.
pub fn stops_cleanly(host: ServingHost, fakes: &Fakes) {
    let (status, log) = host.stop();
    let log = fakes.clean(&log);
    assert!(
        status.is_some_and(|status| status.success()),
        "wash dev did not stop cleanly ({status:?}):\n{log}"
    );
}
