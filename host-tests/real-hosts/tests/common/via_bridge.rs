//! The Spin-style app with the credential's token bridge variant, and the real token bridge
//! beside it (`token-bridge-host`'s `FakeBridge`: the bridge on loopback with the in-process fake
//! Entra), as a pod runs them: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` in the app's
//! environment, no token volume. The counts and checks every host must pass.

use super::{VAULT_NAME, get_secrets};
use host_tests::{FakeService, UPSTREAM_BODY};
use real_hosts_tests::{ServingHost, redacted};
use token_bridge_host::demo::{DEMO_ASSERTION, DEMO_CLIENT, FakeBridge};

pub const SECRET: &str = "3f0c9a7e51b24d8e9c6a0b1d2e3f4a5b";
pub const WRONG_SECRET: &str = "wrong-secret-7b6a5c4d3e2f1a0b";
const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// How many requests each count is taken over, and how many at a time in the second.
pub const REQUESTS: usize = 1000;
pub const CONCURRENT: usize = 16;

pub struct BridgePod {
    pub bridge: FakeBridge,
    pub vault: FakeService,
}

impl BridgePod {
    /// The bridge, serving vault tokens to callers with [`SECRET`], beside `vault`.
    pub fn new(vault: FakeService) -> BridgePod {
        BridgePod {
            bridge: FakeBridge::start(SECRET, VAULT_RESOURCE).expect("the token bridge starts"),
            vault,
        }
    }

    /// What the bridge's sidecar gives the app, with `secret` as its `IDENTITY_HEADER`, and the
    /// vault's name.
    pub fn environment(&self, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "IDENTITY_ENDPOINT",
                format!("http://{}/msi/token", self.bridge.address()),
            ),
            ("IDENTITY_HEADER", secret.to_owned()),
            ("AZURE_CLIENT_ID", DEMO_CLIENT.to_owned()),
            ("KEY_VAULT_NAME", VAULT_NAME.to_owned()),
        ]
    }

    /// Both secrets, the bridge's assertion and every token issued: what no message may show.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![
            SECRET.to_owned(),
            WRONG_SECRET.to_owned(),
            DEMO_ASSERTION.to_owned(),
        ];
        secrets.extend(self.bridge.entra.issued_tokens());
        secrets
    }

    pub fn clean(&self, text: &str) -> String {
        redacted(text, &self.secrets())
    }

    /// `n` listings through `host`, `at_once` at a time; each must answer the vault's listing.
    pub fn list(&self, host: &ServingHost, n: usize, at_once: usize) {
        let address = host.address();
        let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..at_once)
                .map(|worker| {
                    scope.spawn(move || {
                        (worker..n)
                            .step_by(at_once)
                            .map(|_| get_secrets(address))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("a client thread"))
                .collect()
        });
        assert_eq!(answers.len(), n);
        if let Some((status, body)) = answers
            .iter()
            .find(|(status, body)| *status != 200 || body != UPSTREAM_BODY)
        {
            panic!(
                "GET /secrets answered {status}: {}\nhost log:\n{}",
                self.clean(body),
                self.clean(&host.output())
            );
        }
    }

    /// [`REQUESTS`] sequential listings, then as many [`CONCURRENT`] at a time: one Entra call in
    /// all, one bridge call per request (a fresh instance each), every vault request with a
    /// token the fake Entra issued, for the bridge's identity and the vault's scope.
    pub fn assert_served_with_one_entra_call(&self, host: &ServingHost, what: &str) {
        let running = &self.bridge.running;
        self.list(host, REQUESTS, 1);
        let (entra, bridge) = (running.entra_calls(), running.requests_served());
        println!(
            "figure: {what}, via the token bridge: {entra} Entra calls, {bridge} bridge calls \
             per {REQUESTS} sequential requests"
        );
        assert_eq!(entra, 1, "Entra calls for {REQUESTS} sequential requests");
        assert_eq!(
            bridge, REQUESTS as u64,
            "bridge calls for {REQUESTS} requests"
        );

        self.list(host, REQUESTS, CONCURRENT);
        let more_entra = running.entra_calls() - entra;
        let more_bridge = running.requests_served() - bridge;
        println!(
            "figure: {what}, via the token bridge: {more_entra} Entra calls, {more_bridge} bridge \
             calls per {REQUESTS} requests {CONCURRENT} at a time (after the first {REQUESTS})"
        );
        assert_eq!(
            more_entra, 0,
            "Entra calls for {REQUESTS} more, {CONCURRENT} at a time"
        );
        assert_eq!(
            more_bridge, REQUESTS as u64,
            "bridge calls, {CONCURRENT} at a time"
        );

        let issued = self.bridge.entra.issued_tokens();
        let authorizations = self.vault.authorizations();
        assert_eq!(authorizations.len(), 2 * REQUESTS);
        // Compared, never printed.
        let carrying = authorizations
            .iter()
            .filter(|values| {
                (issued.iter()).any(|token| values.as_slice() == [format!("Bearer {token}")])
            })
            .count();
        assert_eq!(
            carrying,
            authorizations.len(),
            "vault requests without a token the fake Entra issued ({} tokens issued)",
            issued.len()
        );
        let token_requests = self.bridge.entra.requests();
        assert_eq!(token_requests[0].field("client_id"), Some(DEMO_CLIENT));
        assert_eq!(
            token_requests[0].field("scope"),
            Some("https://vault.azure.net/.default")
        );
    }

    /// The app's answer with a wrong `IDENTITY_HEADER`: a 502 naming `IDENTITY_HEADER` and the
    /// bridge's 401, with neither secret in it; nothing more reached Entra or the vault.
    pub fn assert_wrong_secret_named(&self, host: &ServingHost) {
        let entra_calls = self.bridge.running.entra_calls();
        let vault_requests = self.vault.requests().len();
        let (status, body) = get_secrets(host.address());
        let clean = self.clean(&body);
        assert_eq!(status, 502, "{clean}");
        assert!(
            body.contains("IDENTITY_HEADER") && body.contains("HTTP 401"),
            "the app's error does not name IDENTITY_HEADER and the 401:\n{clean}"
        );
        assert!(
            !body.contains(SECRET) && !body.contains(WRONG_SECRET),
            "the app's error holds a secret:\n{clean}"
        );
        assert_eq!(self.bridge.running.entra_calls(), entra_calls);
        assert_eq!(self.vault.requests().len(), vault_requests);
    }

    /// `output` (a host's) holds no secret; the failure names which, by index.
    pub fn assert_clean(&self, output: &str, host: &str) {
        let leaked: Vec<usize> = (self.secrets().iter().enumerate())
            .filter(|(_, secret)| output.contains(secret.as_str()))
            .map(|(index, _)| index)
            .collect();
        assert!(
            leaked.is_empty(),
            "{host}'s output holds secrets {leaked:?} (0, 1: IDENTITY_HEADERs, 2: the \
             assertion, 3…: tokens):\n{}",
            self.clean(output)
        );
    }
}
