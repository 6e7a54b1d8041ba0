//! The WASI 0.3 sample proxy with the WASI 0.3 bearer middleware and credential in front of its
//! `wasi:http/client` (`SAMPLE_PROXY_COMPOSITION`, a `wac plug` composite), served by wasmCloud's
//! real `wash dev` (2.10.3). Outgoing HTTPS goes to HTTPS fakes (Entra and the vault, both on
//! `localhost`) trusted through `http_client_ca_paths`: no reroute, no private network.
//!
//! Which configuration keeps instances: the `dev.component_path` component gets a fresh instance
//! per request, a WASI 0.3 one too (the first test counts it). One listed in `dev.components`
//! with `poolSize` is kept warm. `wash dev` needs a `component_path` and sends HTTP to the first
//! component exporting `wasi:http` (component_path first), so the warm configuration's
//! `component_path` is one exporting none: the credential's WASI 0.3 build, which nothing calls.

mod common;

use common::sample_proxy::{
    assert_challenge_answered, assert_plain_get_authorized, challenging_vault, environment,
};
use common::{Fakes, TokenVolume, stops_cleanly};
use credential_host::AKS_WEBHOOK_1_6_VOLUME;
use host_tests::{FakeResponse, FakeService, ThrowAwayCa, UPSTREAM_BODY};
use real_hosts_tests::wash::WashApp;
use real_hosts_tests::{EntraServer, ServingHost};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const RULES: &str = "localhost=https://vault.azure.net/.default";
/// `dev.components[].poolSize` of the warm configuration.
const POOL_SIZE: u32 = 4;
/// `dev.components[].maxConcurrency` of the warm configuration: a WASI 0.3 instance takes
/// concurrent requests (as wasmtime serve's 16).
const MAX_CONCURRENCY: u32 = 16;

fn wash() -> PathBuf {
    real_hosts_tests::wash::installed(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("wash-venv"))
}

/// Which of the two configurations serves the proxy.
#[derive(Clone, Copy)]
enum Instances {
    /// `dev.component_path`: wash's default, a fresh instance per request.
    Fresh,
    /// `dev.components` with `poolSize`.
    Warm,
}

/// The fakes of one test: Entra and the vault over HTTPS on `localhost`, with certificates from
/// one throw-away CA.
struct Pod {
    ca: ThrowAwayCa,
    entra: EntraServer,
    vault: FakeService,
    volume: TokenVolume,
}

impl Pod {
    /// The vault answers every request with its listing.
    fn new() -> Pod {
        Pod::with_vault(|_| Arc::new(|_| FakeResponse::json(200, UPSTREAM_BODY)))
    }

    /// The vault challenges the first token issued.
    fn challenging() -> Pod {
        Pod::with_vault(|entra| challenging_vault(entra.fake().clone()))
    }

    fn with_vault(answering: impl FnOnce(&EntraServer) -> Arc<host_tests::Answering>) -> Pod {
        let ca = ThrowAwayCa::generate();
        let entra = EntraServer::https(&ca);
        let vault = FakeService::https_answering(
            &ca,
            "localhost",
            SocketAddr::from(([127, 0, 0, 1], 0)),
            answering(&entra),
        );
        Pod {
            ca,
            entra,
            vault,
            volume: TokenVolume::new(),
        }
    }

    fn vault_origin(&self) -> String {
        format!("https://localhost:{}", self.vault.address().port())
    }

    fn fakes(&self) -> Fakes<'_> {
        Fakes {
            entra: &self.entra,
            vault: &self.vault,
            vault_url: format!("{}/secrets", self.vault_origin()),
            entra_origin: self.entra.authority_host().to_owned(),
        }
    }

    fn wash_dev(&self, wash: &Path, instances: Instances) -> ServingHost {
        let proxy = Path::new(guest_artifacts::SAMPLE_PROXY_COMPOSITION);
        let (component, linked, pool_size, max_concurrency) = match instances {
            Instances::Fresh => (proxy, None, None, None),
            Instances::Warm => (
                Path::new(guest_artifacts::CREDENTIAL_WASI_P3),
                Some(("sample-proxy", proxy)),
                Some(POOL_SIZE),
                Some(MAX_CONCURRENCY),
            ),
        };
        let ca = self.ca.cert_path();
        real_hosts_tests::wash::start_dev(
            wash,
            &WashApp {
                component,
                linked,
                pool_size,
                max_concurrency,
                ca: Some(ca.as_path()),
                volume: Some((self.volume.path(), AKS_WEBHOOK_1_6_VOLUME)),
                environment: &environment(
                    &self.vault_origin(),
                    RULES,
                    Some(self.entra.authority_host()),
                ),
            },
        )
    }
}

#[test]
fn wash_dev_gives_the_p3_component_path_app_a_fresh_instance_per_request() {
    let wash = wash();
    let pod = Pod::new();
    let host = pod.wash_dev(&wash, Instances::Fresh);
    let fakes = pod.fakes();
    let calls = fakes.entra_calls_for(host.address(), 100, 1, &|| host.output());
    println!(
        "figure: wash dev, WASI 0.3 proxy as component_path: {calls} Entra calls per 100 requests"
    );
    assert_eq!(
        calls, 100,
        "a fresh instance, so a token exchange, per request"
    );
    stops_cleanly(host, &fakes);
}

#[test]
fn wash_dev_sends_a_plain_get_from_the_warm_p3_app_with_a_cae_token() {
    let wash = wash();
    let pod = Pod::new();
    let host = pod.wash_dev(&wash, Instances::Warm);
    let fakes = pod.fakes();
    assert_plain_get_authorized(&fakes, host.address(), &|| host.output());
    stops_cleanly(host, &fakes);
}

#[test]
fn wash_dev_p3_app_answers_a_claims_challenge_itself_and_sends_the_body_again() {
    let wash = wash();
    let pod = Pod::challenging();
    let host = pod.wash_dev(&wash, Instances::Warm);
    let fakes = pod.fakes();
    assert_challenge_answered(&fakes, host.address(), &pod.vault_origin(), &|| {
        host.output()
    });
    stops_cleanly(host, &fakes);
}

#[test]
fn wash_dev_keeps_the_p3_app_warm_and_each_instance_asks_entra_once_per_1000_requests() {
    let wash = wash();
    for at_once in [1, 16] {
        let pod = Pod::new();
        let host = pod.wash_dev(&wash, Instances::Warm);
        let fakes = pod.fakes();
        let calls = fakes.entra_calls_for(host.address(), 1000, at_once, &|| host.output());
        println!(
            "figure: wash dev, WASI 0.3 proxy in dev.components with poolSize {POOL_SIZE}, \
             maxConcurrency {MAX_CONCURRENCY}: {calls} Entra calls per 1000 requests, {at_once} \
             at a time"
        );
        // Without maxConcurrency (1 a warm instance), requests finding the pool busy got fresh
        // instances: 433 Entra calls for 1,000 requests 16 at a time, seen here.
        assert!(
            (1..=POOL_SIZE as usize).contains(&calls),
            "{calls} Entra calls per 1000 requests, {at_once} at a time"
        );
        stops_cleanly(host, &fakes);
    }
}
