//! What the filter tests share: the filter's configuration, Envoy with the filter loaded, the
//! real bridge, and callouts sent on to it over a real socket.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use proxy_wasm_host::{Callout, Envoy, FILTER, HttpAnswer, LogLevel, Upstream, Worker};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use token_bridge_host::client::exchange;
use token_bridge_host::demo::FakeBridge;

pub const SECRET: &str = "9f2c41d7e8b05a63c1f4";
pub const CLUSTER: &str = "token_bridge";
pub const VAULT: &str = "myvault.vault.azure.net";
pub const VAULT_REQUEST: [(&str, &str); 3] = [
    (":method", "GET"),
    (":authority", VAULT),
    (":path", "/secrets?api-version=7.5"),
];

pub fn start_bridge() -> FakeBridge {
    FakeBridge::start(SECRET, "https://vault.azure.net").unwrap()
}

/// The filter's configuration for a bridge at `authority`, with these extra fields (JSON, each
/// with its trailing comma) and the vault as its one allowed host.
pub fn plugin_config_with(authority: &str, secret: &str, extra: &str) -> String {
    format!(
        r#"{{"cluster":"{CLUSTER}","authority":"{authority}","resource":"https://vault.azure.net","identity_header":"{secret}",{extra}"allowed_hosts":["{VAULT}"]}}"#
    )
}

pub fn plugin_config(authority: &str, secret: &str) -> String {
    plugin_config_with(authority, secret, "")
}

/// Envoy with the filter compiled, its clock at the real time (the bridge's tokens are real-time).
pub fn envoy() -> Envoy {
    let envoy = Envoy::load(FILTER, &[CLUSTER]).unwrap();
    envoy.set_now(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    envoy
}

/// What Envoy's cluster does with the callout: sends it to `address` and waits at most the
/// callout's timeout, like Envoy; a refused or closed connection and a timeout become Envoy's
/// own answers.
pub fn forward(callout: &Callout, address: SocketAddr) -> Upstream {
    assert_eq!(callout.cluster, CLUSTER);
    // The pseudo-headers make the request line and `host`; the rest go as they are.
    let headers: Vec<(&str, &str)> = callout
        .headers
        .iter()
        .filter(|(name, _)| !name.starts_with(':'))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let attempt = exchange(
        address,
        callout.header(":method").unwrap(),
        callout.header(":path").unwrap(),
        &headers,
        Duration::from_millis(callout.timeout_ms.into()),
    )
    .map(|answer| HttpAnswer {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
    });
    Upstream::from_attempt(attempt)
}

/// Every callout the worker made, sent to the bridge and its answer delivered.
pub fn answer_from_bridge(worker: &mut Worker, bridge: &FakeBridge) {
    for callout in worker.take_callouts() {
        let upstream = forward(&callout, bridge.running.address());
        worker.answer(&callout, &upstream).unwrap();
    }
}

/// An answer in the bridge's form, made by the test.
pub fn bridge_json(status: u16, body: String) -> Upstream {
    Upstream::Answered(HttpAnswer {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: body.into_bytes(),
    })
}

/// The bridge's token answer, made by the test.
pub fn bridge_token(envoy: &Envoy, token: &str, lifetime: u64) -> Upstream {
    bridge_json(
        200,
        format!(
            r#"{{"access_token":"{token}","expires_on":"{}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#,
            envoy.now() + lifetime
        ),
    )
}

/// What the worker logged at warning level.
pub fn warnings(worker: &Worker) -> Vec<String> {
    worker
        .logs()
        .into_iter()
        .filter(|(level, _)| *level == LogLevel::Warn)
        .map(|(_, message)| message)
        .collect()
}
