//! The Spin-style app served by the real `wasmtime serve` (the wasmtime CLI 48.0.8), configured as
//! a user would: `-Scli`, `--dir` for the token volume (webhook v1.6's `..data` layout, rotated
//! as the kubelet rotates it), `--env` for the `AZURE_*` variables.
//!
//! The CLI's outgoing HTTPS trusts only public roots and has no flag to add a CA, so the app runs
//! as `spin_key_vault_rerouted_for_tests.wasm`: the composite with a TEST-ONLY outgoing handler
//! (`host-tests/real-hosts/reroute`, never shipped) plugged in front, which sends the requests for
//! `login.microsoftonline.com` and `myvault.vault.azure.net` to loopback fakes over plain http.
//! The credential itself still asks for `https://login.microsoftonline.com/…` (its default
//! authority) and still refuses an http authority host, as the last test shows.

mod common;

use common::{COUNTED_REQUESTS, Fakes, TokenVolume, VAULT_HOST, VAULT_PATH, environment, wasmtime};
use credential_host::AKS_WEBHOOK_1_6_VOLUME;
use host_tests::{FakeResponse, FakeService, UPSTREAM_BODY};
use real_hosts_tests::EntraServer;
use real_hosts_tests::ServingHost;
use std::path::Path;

const AUTHORITY: &str = "login.microsoftonline.com";

/// The fakes, over plain http on loopback ports, and the token volume.
struct Pod {
    entra: EntraServer,
    vault: FakeService,
    volume: TokenVolume,
}

impl Pod {
    fn new() -> Pod {
        Pod {
            entra: EntraServer::http(),
            vault: FakeService::http(FakeResponse::json(200, UPSTREAM_BODY)),
            volume: TokenVolume::new(),
        }
    }

    fn fakes(&self) -> Fakes<'_> {
        Fakes {
            entra: &self.entra,
            vault: &self.vault,
            vault_url: format!("http://{}{VAULT_PATH}", self.vault.address()),
            entra_origin: format!("http://{}", self.entra.address()),
        }
    }

    /// `wasmtime serve` with the app's variables (plus `extra_env`), the reroute table, the
    /// token volume, and `flags`.
    fn serve(&self, extra_env: &[(&'static str, String)], flags: &[&str]) -> ServingHost {
        let mut variables = environment(None);
        variables.extend_from_slice(extra_env);
        variables.push((
            reroute_for_tests::REROUTE_VARIABLE,
            format!(
                "{AUTHORITY}={},{VAULT_HOST}={}",
                self.entra.address(),
                self.vault.address()
            ),
        ));
        real_hosts_tests::wasmtime_serve::start(
            wasmtime(),
            Path::new(guest_artifacts::SPIN_APP_REROUTED_FOR_TESTS),
            Some((self.volume.path(), AKS_WEBHOOK_1_6_VOLUME)),
            &variables,
            flags,
        )
    }
}

#[test]
fn wasmtime_serve_serves_the_app_with_tokens_from_the_granted_kubelet_volume() {
    let pod = Pod::new();
    let host = pod.serve(&[], &[]);
    let fakes = pod.fakes();
    let calls = fakes.assert_app_served(host.address(), &pod.volume, &|| host.output());
    println!("figure: wasmtime serve: {calls} Entra calls per {COUNTED_REQUESTS} requests");
    // A fresh instance per request (WASI 0.2, `--max-instance-reuse-count` 1 by default): one
    // token exchange each, and no more (a credential that dropped an answer whose body's end the
    // host failed asked again: 101-105 in half the runs).
    assert_eq!(
        calls, COUNTED_REQUESTS,
        "Entra calls per {COUNTED_REQUESTS} requests"
    );
    let (status, output) = host.stop();
    assert!(
        status.is_some(),
        "wasmtime serve did not stop on SIGTERM:\n{}",
        fakes.clean(&output)
    );
}

#[test]
fn the_credential_under_wasmtime_serve_refuses_an_http_authority_host_before_any_request() {
    let pod = Pod::new();
    // Even with the reroute in front: the credential checks the setting, not the network.
    let authority = format!("http://{}", pod.entra.address());
    let host = pod.serve(&[("AZURE_AUTHORITY_HOST", authority.clone())], &[]);
    let (status, body) = common::get_secrets(host.address());
    let body = pod.fakes().clean(&body);
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains(&authority) && body.contains("https"),
        "the answer does not name the http authority host and the https it needs:\n{body}"
    );
    assert_eq!(pod.entra.token_calls(), 0);
    assert!(pod.vault.requests().is_empty());
}

#[test]
fn with_max_instance_reuse_count_p2_instances_are_kept_and_each_keeps_its_token() {
    for at_once in [1, 16] {
        let pod = Pod::new();
        let host = pod.serve(&[], &["--max-instance-reuse-count", "1000"]);
        let fakes = pod.fakes();
        let calls = fakes.entra_calls_for(host.address(), 1000, at_once, &|| host.output());
        println!(
            "figure: wasmtime serve --max-instance-reuse-count 1000: {calls} Entra calls per 1000 \
             requests, {at_once} at a time"
        );
        // How many instances serve the requests is wasmtime's choice: one per request in
        // flight, each dropped after 1 s idle (`--idle-instance-timeout`). Each asks Entra once
        // and serves the rest from the credential's cache.
        assert!(
            (1..=2 * at_once + 8).contains(&calls),
            "{calls} Entra calls per 1000 requests, {at_once} at a time"
        );
    }
}
