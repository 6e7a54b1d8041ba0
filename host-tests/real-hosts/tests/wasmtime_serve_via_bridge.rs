//! The Spin-style app with the credential's token bridge variant
//! (`spin_key_vault_via_bridge.wasm`), served by the real `wasmtime serve` (the wasmtime CLI
//! 48.0.8), with the real token bridge beside it (`token-bridge-host`'s `FakeBridge`: the bridge
//! served on loopback with the in-process fake Entra) as a pod runs it: `IDENTITY_ENDPOINT` and
//! `IDENTITY_HEADER` in the app's environment, no token volume, no `--dir`.
//!
//! `wasmtime serve` makes a fresh instance per request, so every request asks the bridge; the
//! bridge's one cache makes that one Entra call per token lifetime. The app's vault request is
//! rerouted to the loopback fake by the TEST-ONLY reroute (the CLI trusts only public roots);
//! the bridge is plain http on loopback already, so the reroute passes it on to itself.

mod common;

use common::{CLIENT, VAULT_HOST, get_secrets, wasmtime};
use host_tests::{FakeResponse, FakeService, UPSTREAM_BODY};
use real_hosts_tests::{ServingHost, redacted};
use std::path::Path;
use token_bridge_host::demo::{DEMO_ASSERTION, DEMO_CLIENT, FakeBridge};

const SECRET: &str = "3f0c9a7e51b24d8e9c6a0b1d2e3f4a5b";
const WRONG_SECRET: &str = "wrong-secret-7b6a5c4d3e2f1a0b";
const VAULT_RESOURCE: &str = "https://vault.azure.net";
const REQUESTS: usize = 1000;
const CONCURRENT: usize = 16;

struct Pod {
    bridge: FakeBridge,
    vault: FakeService,
}

impl Pod {
    fn new() -> Pod {
        Pod {
            bridge: FakeBridge::start(SECRET, VAULT_RESOURCE).expect("the token bridge starts"),
            vault: FakeService::http(FakeResponse::json(200, UPSTREAM_BODY)),
        }
    }

    /// `wasmtime serve` with what the bridge's sidecar gives the app, and `secret` as its
    /// `IDENTITY_HEADER`.
    fn serve(&self, secret: &str) -> ServingHost {
        let bridge = self.bridge.address();
        let variables = [
            ("IDENTITY_ENDPOINT", format!("http://{bridge}/msi/token")),
            ("IDENTITY_HEADER", secret.to_owned()),
            ("AZURE_CLIENT_ID", DEMO_CLIENT.to_owned()),
            ("KEY_VAULT_NAME", common::VAULT_NAME.to_owned()),
            (
                reroute_for_tests::REROUTE_VARIABLE,
                format!("{VAULT_HOST}={},{bridge}={bridge}", self.vault.address()),
            ),
        ];
        real_hosts_tests::wasmtime_serve::start(
            wasmtime(),
            Path::new(guest_artifacts::SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS),
            None,
            &variables,
            &[],
        )
    }

    /// The secrets, the assertion and every token issued: what no message may show.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![
            SECRET.to_owned(),
            WRONG_SECRET.to_owned(),
            DEMO_ASSERTION.to_owned(),
        ];
        secrets.extend(self.bridge.entra.issued_tokens());
        secrets
    }

    fn clean(&self, text: &str) -> String {
        redacted(text, &self.secrets())
    }

    /// `n` listings, `at_once` at a time; each must answer the vault's listing.
    fn list(&self, host: &ServingHost, n: usize, at_once: usize) {
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

    /// Every vault request so far carried `Bearer <a token the fake Entra issued>`; compared,
    /// never printed.
    fn assert_every_vault_request_carries_an_issued_token(&self) {
        let issued = self.bridge.entra.issued_tokens();
        let authorizations = self.vault.authorizations();
        let carrying = authorizations
            .iter()
            .filter(|values| {
                issued
                    .iter()
                    .any(|token| values.as_slice() == [format!("Bearer {token}")])
            })
            .count();
        assert_eq!(
            carrying,
            authorizations.len(),
            "vault requests without a token the fake Entra issued ({} tokens issued)",
            issued.len()
        );
    }
}

#[test]
fn a_thousand_requests_sequential_then_sixteen_at_a_time_cost_one_entra_call() {
    let pod = Pod::new();
    let host = pod.serve(SECRET);

    pod.list(&host, REQUESTS, 1);
    let (entra, bridge) = (
        pod.bridge.running.entra_calls(),
        pod.bridge.running.requests_served(),
    );
    println!(
        "figure: wasmtime serve, via the token bridge: {entra} Entra calls, {bridge} bridge calls \
         per {REQUESTS} sequential requests"
    );
    assert_eq!(entra, 1, "Entra calls for {REQUESTS} sequential requests");
    // A fresh instance per request (WASI 0.2): each asks the bridge once, and only once.
    assert_eq!(
        bridge, REQUESTS as u64,
        "bridge calls for {REQUESTS} requests"
    );

    pod.list(&host, REQUESTS, CONCURRENT);
    let entra = pod.bridge.running.entra_calls();
    let bridge = pod.bridge.running.requests_served() - bridge;
    println!(
        "figure: wasmtime serve, via the token bridge: {} Entra calls, {bridge} bridge calls per \
         {REQUESTS} requests {CONCURRENT} at a time",
        entra - 1
    );
    assert_eq!(
        entra, 1,
        "Entra calls after {REQUESTS} more, {CONCURRENT} at a time"
    );
    assert_eq!(
        bridge, REQUESTS as u64,
        "bridge calls for {REQUESTS} concurrent requests"
    );

    assert_eq!(pod.vault.authorizations().len(), 2 * REQUESTS);
    pod.assert_every_vault_request_carries_an_issued_token();
    // The bridge was asked for this app's identity and resource, with the secret.
    let token_requests = pod.bridge.entra.requests();
    assert_eq!(token_requests[0].field("client_id"), Some(DEMO_CLIENT));
    assert_eq!(
        token_requests[0].field("scope"),
        Some("https://vault.azure.net/.default")
    );

    let (status, output) = host.stop();
    assert!(status.is_some(), "wasmtime serve did not stop on SIGTERM");
    let leaked: Vec<usize> = (pod.secrets().iter().enumerate())
        .filter(|(_, secret)| output.contains(secret.as_str()))
        .map(|(index, _)| index)
        .collect();
    assert!(
        leaked.is_empty(),
        "wasmtime serve's output holds secrets {leaked:?} (0: IDENTITY_HEADER, 2: the assertion, \
         3…: tokens):\n{}",
        pod.clean(&output)
    );
}

#[test]
fn a_wrong_identity_header_is_named_with_the_401_and_neither_secret() {
    let pod = Pod::new();
    let host = pod.serve(WRONG_SECRET);
    let (status, body) = get_secrets(host.address());
    let clean = pod.clean(&body);
    // The app's answer for a credential that could not authenticate.
    assert_eq!(status, 502, "{clean}");
    assert!(
        body.contains("IDENTITY_HEADER") && body.contains("HTTP 401"),
        "the app's error does not name IDENTITY_HEADER and the 401:\n{clean}"
    );
    assert!(
        !body.contains(SECRET) && !body.contains(WRONG_SECRET),
        "the app's error holds a secret:\n{clean}"
    );
    assert_eq!(pod.bridge.running.entra_calls(), 0);
    assert!(pod.vault.requests().is_empty());
    let (_, output) = host.stop();
    assert!(
        !output.contains(SECRET) && !output.contains(WRONG_SECRET),
        "wasmtime serve's output holds a secret:\n{}",
        pod.clean(&output)
    );
}

#[test]
fn the_variant_names_both_missing_variables_and_the_bridge_it_needs() {
    let pod = Pod::new();
    // Without the bridge's variables, as in a pod with no bridge beside the app.
    let host = real_hosts_tests::wasmtime_serve::start(
        wasmtime(),
        Path::new(guest_artifacts::SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS),
        None,
        &[
            ("AZURE_CLIENT_ID", CLIENT.to_owned()),
            ("KEY_VAULT_NAME", common::VAULT_NAME.to_owned()),
        ],
        &[],
    );
    let (status, body) = get_secrets(host.address());
    assert_eq!(status, 500, "{}", pod.clean(&body));
    assert!(
        body.contains("IDENTITY_ENDPOINT and IDENTITY_HEADER are not set")
            && body.contains("must run beside the app"),
        "{}",
        pod.clean(&body)
    );
    assert_eq!(pod.bridge.running.requests_served(), 0);
}
