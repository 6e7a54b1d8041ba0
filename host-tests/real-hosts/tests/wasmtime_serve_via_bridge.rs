//! The Spin-style app with the credential's token bridge variant (`common::via_bridge`), served
//! by the real `wasmtime serve` (the wasmtime CLI 48.0.8) with no `--dir`, the real token bridge
//! beside it.
//!
//! `wasmtime serve` makes a fresh instance per request, so every request asks the bridge; the
//! bridge's one cache makes that one Entra call per token lifetime. The app's vault request is
//! rerouted to the loopback fake by the TEST-ONLY reroute (the CLI trusts only public roots);
//! the bridge is plain http on loopback already, so the reroute sends it on unchanged.

mod common;

use common::via_bridge::{BridgePod, SECRET, WRONG_SECRET};
use common::{CLIENT, VAULT_HOST, VAULT_NAME, get_secrets, wasmtime};
use host_tests::{FakeResponse, FakeService, UPSTREAM_BODY};
use real_hosts_tests::ServingHost;
use std::path::Path;

fn pod() -> BridgePod {
    BridgePod::new(FakeService::http(FakeResponse::json(200, UPSTREAM_BODY)))
}

/// `wasmtime serve` with `environment` and the reroute table: the vault to its fake, the bridge
/// to itself.
fn serve(pod: &BridgePod, mut environment: Vec<(&'static str, String)>) -> ServingHost {
    let bridge = pod.bridge.address();
    environment.push((
        reroute_for_tests::REROUTE_VARIABLE,
        format!("{VAULT_HOST}={},{bridge}={bridge}", pod.vault.address()),
    ));
    real_hosts_tests::wasmtime_serve::start(
        wasmtime(),
        Path::new(guest_artifacts::SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS),
        None,
        &environment,
        &[],
    )
}

#[test]
fn a_thousand_requests_sequential_then_sixteen_at_a_time_cost_one_entra_call() {
    let pod = pod();
    let host = serve(&pod, pod.environment(SECRET));
    pod.assert_served_with_one_entra_call(&host, "wasmtime serve");
    let (status, output) = host.stop();
    assert!(status.is_some(), "wasmtime serve did not stop on SIGTERM");
    pod.assert_clean(&output, "wasmtime serve");
}

#[test]
fn a_wrong_identity_header_is_named_with_the_401_and_neither_secret() {
    let pod = pod();
    let host = serve(&pod, pod.environment(WRONG_SECRET));
    pod.assert_wrong_secret_named(&host);
    let (_, output) = host.stop();
    pod.assert_clean(&output, "wasmtime serve");
}

#[test]
fn without_the_bridges_variables_the_app_names_both_and_the_bridge_it_needs() {
    let pod = pod();
    let host = serve(
        &pod,
        vec![
            ("AZURE_CLIENT_ID", CLIENT.to_owned()),
            ("KEY_VAULT_NAME", VAULT_NAME.to_owned()),
        ],
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
