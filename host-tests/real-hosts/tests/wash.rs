//! The Spin-style app served by wasmCloud's real `wash dev` (2.10.3), with the credential as its
//! dependency: (a) the `wac plug` composite, (b) the app with the credential linked by wash itself
//! (`dev.components`). The token volume is a `dev.volumes` mount of a kubelet-shaped directory
//! (webhook v1.6's `..data` layout, rotated as the kubelet rotates it), the `AZURE_*` variables
//! are the workload's config, and outgoing HTTPS goes to an HTTPS fake Entra trusted through
//! `http_client_ca_paths`. The app calls the vault's fixed name `https://myvault.vault.azure.net`:
//! each test runs in a private network where that name is a fake on 127.0.0.1:443.

mod common;

use common::via_bridge::{BridgePod, SECRET, WRONG_SECRET};
use common::{
    COUNTED_REQUESTS, Fakes, TokenVolume, VAULT_HOST, VAULT_PATH, environment, stops_cleanly,
};
use credential_host::AKS_WEBHOOK_1_6_VOLUME;
use host_tests::{FakeResponse, FakeService, ThrowAwayCa, UPSTREAM_BODY};
use real_hosts_tests::ServingHost;
use real_hosts_tests::wash::WashApp;
use real_hosts_tests::{EntraServer, private_network};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One test's run in its private network: wash's start, about 110 requests, its stop.
const RUN_BOUND: Duration = Duration::from_secs(240);

fn wash() -> PathBuf {
    real_hosts_tests::wash::installed(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("wash-venv"))
}

/// The fakes of one test: Entra over HTTPS on localhost, the vault on 127.0.0.1:443, both with
/// certificates from one throw-away CA.
struct Pod {
    ca: ThrowAwayCa,
    entra: EntraServer,
    vault: FakeService,
    volume: TokenVolume,
}

impl Pod {
    fn new() -> Pod {
        let ca = ThrowAwayCa::generate();
        let entra = EntraServer::https(&ca);
        let vault = FakeService::https(
            &ca,
            VAULT_HOST,
            SocketAddr::from(([127, 0, 0, 1], 443)),
            FakeResponse::json(200, UPSTREAM_BODY),
        );
        Pod {
            ca,
            entra,
            vault,
            volume: TokenVolume::new(),
        }
    }

    fn fakes(&self) -> Fakes<'_> {
        Fakes {
            entra: &self.entra,
            vault: &self.vault,
            vault_url: format!("https://{VAULT_HOST}{VAULT_PATH}"),
            entra_origin: self.entra.authority_host().to_owned(),
        }
    }

    /// `wash dev` serving `component`, with `linked` linked in by wash, trusting the CA when
    /// `trust_ca`.
    fn wash_dev(
        &self,
        wash: &Path,
        component: &str,
        linked: Option<(&str, &Path)>,
        trust_ca: bool,
    ) -> ServingHost {
        let ca = self.ca.cert_path();
        real_hosts_tests::wash::start_dev(
            wash,
            &WashApp {
                component: Path::new(component),
                linked,
                pool_size: None,
                max_concurrency: None,
                ca: trust_ca.then_some(ca.as_path()),
                volume: Some((self.volume.path(), AKS_WEBHOOK_1_6_VOLUME)),
                environment: &environment(Some(self.entra.authority_host())),
            },
        )
    }
}

/// The app served, rotated and counted; wash stopped cleanly after.
fn serves_the_app(wash: &Path, component: &str, linked: Option<(&str, &Path)>, what: &str) {
    let pod = Pod::new();
    let host = pod.wash_dev(wash, component, linked, true);
    let fakes = pod.fakes();
    let calls = fakes.assert_app_served(host.address(), &pod.volume, &|| host.output());
    println!("figure: wash dev, {what}: {calls} Entra calls per {COUNTED_REQUESTS} requests");
    // A fresh instance per request (WASI 0.2 in wash): one token exchange each.
    assert_eq!(
        calls, COUNTED_REQUESTS,
        "Entra calls per {COUNTED_REQUESTS} requests"
    );
    stops_cleanly(host, &fakes);
}

#[test]
fn wash_dev_serves_the_wac_plug_composite_with_tokens_from_the_mounted_kubelet_volume() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    serves_the_app(
        &wash,
        guest_artifacts::SPIN_APP_COMPOSITION,
        None,
        "wac plug composite",
    );
}

#[test]
fn wash_dev_links_the_credential_itself_and_serves_the_app_the_same() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    serves_the_app(
        &wash,
        guest_artifacts::SPIN_APP,
        Some(("credential", Path::new(guest_artifacts::CREDENTIAL))),
        "credential linked by wash (dev.components)",
    );
}

/// The credential's wasi:keyvalue 0.2.0-draft variant in the app: wash's in-memory store, shared
/// by every request of one `wash dev` run, carries the token from instance to instance.
#[test]
fn with_the_keyvalue_variant_1000_requests_cost_one_entra_call_in_sequence_and_16_at_a_time() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    let component = guest_artifacts::SPIN_APP_KEYVALUE_DRAFT;
    // The checks every host passes, the rotation included: the entry sealed under the old token
    // file no longer opens, so the first request after it asks with the new assertion.
    {
        let pod = Pod::new();
        let host = pod.wash_dev(&wash, component, None, true);
        let fakes = pod.fakes();
        let calls = fakes.assert_app_served(host.address(), &pod.volume, &|| host.output());
        println!(
            "figure: wash dev, keyvalue draft variant: {calls} Entra calls per {COUNTED_REQUESTS} requests"
        );
        assert_eq!(
            calls, 0,
            "Entra calls per {COUNTED_REQUESTS} requests after the first"
        );
        assert_eq!(
            pod.entra.token_calls(),
            2,
            "the first request and the one after the rotation"
        );
        stops_cleanly(host, &fakes);
    }
    for at_once in [1, 16] {
        let pod = Pod::new();
        let host = pod.wash_dev(&wash, component, None, true);
        let fakes = pod.fakes();
        let calls = fakes.entra_calls_for(host.address(), 1000, at_once, &|| host.output());
        println!(
            "figure: wash dev, keyvalue draft variant: {calls} Entra calls per 1000 requests, {at_once} at a time"
        );
        assert_eq!(calls, 1, "{at_once} at a time");
        stops_cleanly(host, &fakes);
    }
}

#[test]
fn wash_links_the_keyvalue_variant_itself_and_its_store_carries_the_token_the_same() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    let pod = Pod::new();
    let variant = Path::new(guest_artifacts::CREDENTIAL_KEYVALUE_DRAFT);
    let host = pod.wash_dev(
        &wash,
        guest_artifacts::SPIN_APP,
        Some(("credential", variant)),
        true,
    );
    let fakes = pod.fakes();
    let calls = fakes.assert_app_served(host.address(), &pod.volume, &|| host.output());
    println!(
        "figure: wash dev, keyvalue draft variant linked by wash: {calls} Entra calls per {COUNTED_REQUESTS} requests"
    );
    assert_eq!(calls, 0);
    stops_cleanly(host, &fakes);
}

#[test]
fn without_http_client_ca_paths_the_app_answers_502_naming_the_authority_and_a_tls_error() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    let pod = Pod::new();
    let host = pod.wash_dev(&wash, guest_artifacts::SPIN_APP_COMPOSITION, None, false);
    let fakes = pod.fakes();
    let (status, body) = common::get_secrets(host.address());
    let body = fakes.clean(&body);
    assert_eq!(status, 502, "{body}");
    assert!(
        body.starts_with("no token for https://vault.azure.net/.default: ")
            && body.contains(&format!("{}/{}", pod.entra.authority_host(), common::TENANT))
            // wash's client reports the unknown issuer as this wasi:http error.
            && body.contains("failed in transit: wasi:http error tls-protocol-error"),
        "the answer names neither the authority nor the TLS error:\n{body}"
    );
    println!("wash dev without http_client_ca_paths answers {status}: {body}");
    // Refused at the TLS handshake: no token request reached the fake, nothing reached the vault.
    assert_eq!(pod.entra.token_calls(), 0);
    assert!(pod.vault.requests().is_empty());
}

/// The app with the token bridge variant, composed (`spin_key_vault_via_bridge.wasm`) or linked
/// by wash, served with the real token bridge beside it and no volume: 1,000 requests sequential,
/// 1,000 16 at a time, one Entra call; then a wrong `IDENTITY_HEADER` named.
fn serves_the_app_via_the_bridge(wash: &Path, component: &str, linked: Option<(&str, &Path)>) {
    let ca = ThrowAwayCa::generate();
    let vault = FakeService::https(
        &ca,
        VAULT_HOST,
        SocketAddr::from(([127, 0, 0, 1], 443)),
        FakeResponse::json(200, UPSTREAM_BODY),
    );
    let pod = BridgePod::new(vault);
    let ca_path = ca.cert_path();
    let start = |secret: &str| {
        real_hosts_tests::wash::start_dev(
            wash,
            &WashApp {
                component: Path::new(component),
                linked,
                pool_size: None,
                max_concurrency: None,
                ca: Some(ca_path.as_path()),
                volume: None,
                environment: &pod.environment(secret),
            },
        )
    };
    let what = if linked.is_some() {
        "wash dev, the variant linked by wash"
    } else {
        "wash dev, the wac plug composite"
    };
    let host = start(SECRET);
    pod.assert_served_with_one_entra_call(&host, what);
    let (status, log) = host.stop();
    assert!(
        status.is_some_and(|status| status.success()),
        "wash dev did not stop cleanly ({status:?}):\n{}",
        pod.clean(&log)
    );
    pod.assert_clean(&log, "wash dev");

    let host = start(WRONG_SECRET);
    pod.assert_wrong_secret_named(&host);
    let (_, log) = host.stop();
    pod.assert_clean(&log, "wash dev");
}

#[test]
fn wash_dev_serves_the_bridge_variant_composite_with_one_entra_call() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    serves_the_app_via_the_bridge(&wash, guest_artifacts::SPIN_APP_VIA_BRIDGE, None);
}

#[test]
fn wash_dev_links_the_bridge_variant_itself_with_one_entra_call() {
    let wash = wash();
    if !private_network::entered(&[VAULT_HOST], RUN_BOUND) {
        return;
    }
    serves_the_app_via_the_bridge(
        &wash,
        guest_artifacts::SPIN_APP,
        Some((
            "credential",
            Path::new(guest_artifacts::CREDENTIAL_VIA_BRIDGE),
        )),
    );
}
