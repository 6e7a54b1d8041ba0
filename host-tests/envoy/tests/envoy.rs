//! The filter in real Envoy 1.40 with two workers, the example's envoy.yaml adapted to loopback,
//! the real token bridge (the credential with a fake Entra) and a recording upstream in place of
//! Key Vault: what the upstream and the bridge saw is what Envoy did.

use envoy_tests::{RealEnvoy, VAULT_HOST, VAULT_RESOURCE, adapted_envoy_yaml};
use host_tests::{FakeResponse, FakeService, UPSTREAM_BODY};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use token_bridge_host::Limits;
use token_bridge_host::client::{Answer, Connection, exchange};
use token_bridge_host::demo::FakeBridge;

const SECRET: &str = "3c9e27b1f04a58d6e2b7";
const PATH: &str = "/secrets?api-version=7.5";
/// Every request of these tests is answered well within this (the filter's own bound on a
/// waiting request is twice its lease: 12 s).
const REQUEST_BOUND: Duration = Duration::from_secs(15);
/// The filter's pause after a failed fetch (its README: 2000 ms), plus ticks and scheduling.
const BACKOFF_BOUND: Duration = Duration::from_secs(6);

struct Pod {
    bridge: FakeBridge,
    upstream: FakeService,
    envoy: RealEnvoy,
}

impl Pod {
    fn start() -> Pod {
        Pod::start_configured(|_| {})
    }

    /// A pod whose bridge's fake Entra is set up by `configure` before Envoy starts.
    fn start_configured(configure: impl FnOnce(&FakeBridge)) -> Pod {
        let bridge = FakeBridge::start(SECRET, VAULT_RESOURCE).unwrap();
        configure(&bridge);
        let upstream = recording_upstream();
        let config = adapted_envoy_yaml(SECRET, bridge.address(), upstream.address());
        let envoy = RealEnvoy::start(&config).unwrap();
        Pod {
            bridge,
            upstream,
            envoy,
        }
    }

    fn bearer(&self, n: usize) -> String {
        format!("Bearer {}", self.bridge.entra.issued_token(n))
    }

    /// Stops Envoy and checks that its log holds neither the bridge's secret nor a token.
    fn stop(self) {
        let secrets = [vec![SECRET.to_owned()], self.bridge.entra.issued_tokens()].concat();
        let (status, log) = self.envoy.stop();
        for secret in secrets {
            assert!(!log.contains(&secret), "a secret in Envoy's log:\n{log}");
        }
        assert!(
            status.is_some_and(|status| status.success()),
            "Envoy after SIGTERM: {status:?}\n{log}"
        );
    }
}

/// Key Vault's stand-in behind Envoy: plain HTTP (Envoy adds the TLS), recording every request.
fn recording_upstream() -> FakeService {
    FakeService::http(FakeResponse::json(200, UPSTREAM_BODY))
}

/// GET [`PATH`] through Envoy with `Host: host` and `headers`, on a connection of its own.
fn get(envoy: SocketAddr, host: &str, headers: &[(&str, &str)]) -> Answer {
    let headers = [&[("host", host)], headers].concat();
    exchange(envoy, "GET", PATH, &headers, REQUEST_BOUND)
        .unwrap_or_else(|error| panic!("GET {host}{PATH} through Envoy: {error}"))
}

fn body(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

#[test]
fn the_token_is_added_a_clients_own_authorization_is_kept_and_other_hosts_get_none() {
    let pod = Pod::start();
    let listener = pod.envoy.listener();

    let added = get(listener, VAULT_HOST, &[]);
    assert_eq!(added.status, 200, "{}\n{}", body(&added), pod.envoy.log());
    // A client's own `Host` with the port, as SDKs send it.
    let with_port = format!("{VAULT_HOST}:443");
    let kept = get(
        listener,
        &with_port,
        &[("authorization", "Bearer the-apps-own")],
    );
    assert_eq!(kept.status, 200, "{}", body(&kept));
    let other = get(listener, "attacker.example", &[]);
    assert_eq!(other.status, 403, "{}", body(&other));
    assert!(
        body(&other).contains("'attacker.example' is not one of them"),
        "{}",
        body(&other)
    );
    let refused_with_its_own = get(
        listener,
        "attacker.example",
        &[("authorization", "Bearer x")],
    );
    assert_eq!(refused_with_its_own.status, 403);

    assert_eq!(
        pod.upstream.authorizations(),
        [vec![pod.bearer(1)], vec!["Bearer the-apps-own".to_owned()]],
        "only the two vault requests reach the upstream, each with one authorization"
    );
    assert_eq!(pod.bridge.running.entra_calls(), 1);
    assert_eq!(pod.bridge.running.requests_served(), 1);
    pod.stop();
}

#[test]
fn a_thousand_requests_from_twenty_clients_cost_one_entra_call_and_all_carry_the_token() {
    let pod = Pod::start();
    let listener = pod.envoy.listener();
    let clients: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                // Each client keeps its connection, as an SDK's pool does.
                let mut connection = Connection::open(listener, REQUEST_BOUND).unwrap();
                (0..50)
                    .map(|_| {
                        let answer = connection
                            .send("GET", PATH, &[("host", VAULT_HOST)])
                            .unwrap();
                        answer.status
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 1000);
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
    let authorizations = pod.upstream.authorizations();
    assert_eq!(authorizations.len(), 1000);
    let token = pod.bearer(1);
    assert!(
        authorizations
            .iter()
            .all(|values| values == std::slice::from_ref(&token)),
        "a request reached the upstream without the token (or with two)"
    );
    assert_eq!(
        pod.bridge.running.entra_calls(),
        1,
        "Entra calls for 1,000 requests"
    );
    assert_eq!(
        pod.bridge.running.requests_served(),
        1,
        "bridge calls for 1,000 requests"
    );
    pod.stop();
}

#[test]
fn a_cold_burst_of_fifty_makes_one_bridge_call_across_both_workers_and_nobody_waits_long() {
    let pod = Pod::start();
    let listener = pod.envoy.listener();
    let start = Arc::new(Barrier::new(50));
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let sent = Instant::now();
                let answer = get(listener, VAULT_HOST, &[]);
                (answer.status, sent.elapsed())
            })
        })
        .collect();
    let answered: Vec<(u16, Duration)> = requests.into_iter().map(|r| r.join().unwrap()).collect();
    assert!(
        answered.iter().all(|(status, _)| *status == 200),
        "{answered:?}"
    );
    let slowest = answered.iter().map(|(_, waited)| *waited).max().unwrap();
    // The first fetch answers in milliseconds; requests on the other worker wait for its
    // next tick (200 ms). 5 s is the callout's timeout: nobody may wait for another attempt.
    assert!(
        slowest < Duration::from_secs(5),
        "the slowest request waited {slowest:?}"
    );
    eprintln!("the slowest of the cold burst's 50 requests took {slowest:?}");
    assert_eq!(
        pod.bridge.running.requests_served(),
        1,
        "bridge calls for the burst"
    );
    assert_eq!(pod.bridge.running.entra_calls(), 1);
    let token = pod.bearer(1);
    assert!(
        (pod.upstream.authorizations().iter()).all(|values| values == std::slice::from_ref(&token))
    );
    both_workers_took_connections(&pod.envoy);
    pod.stop();
}

/// Envoy's per-worker listener counters: both of its workers accepted connections, so the token
/// and the lease were shared between two VMs.
fn both_workers_took_connections(envoy: &RealEnvoy) {
    // Envoy names the listener's stats by its configured address, port 0.
    let worker = |n: u32| {
        envoy
            .counter(&format!(
                "listener.127.0.0.1_0.worker_{n}.downstream_cx_total"
            ))
            .unwrap_or(0)
    };
    let (first, second) = (worker(0), worker(1));
    assert!(
        first > 0 && second > 0,
        "connections per worker: {first} and {second}"
    );
}

/// A port nothing listens on yet, for a bridge that starts later.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Sends requests until one is answered `status` with a body containing `needle`, at most
/// `bound`; returns that answer's body and how long it took.
fn until_answered(
    listener: SocketAddr,
    status: u16,
    needle: &str,
    bound: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    loop {
        let answer = get(listener, VAULT_HOST, &[]);
        if answer.status == status && body(&answer).contains(needle) {
            return (body(&answer), started.elapsed());
        }
        assert!(
            started.elapsed() < bound,
            "no {status} with {needle:?} within {bound:?}; the last answer: {} {}",
            answer.status,
            body(&answer)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bridge_down_then_refusing_the_secret_then_back_gives_503s_naming_each_cause_then_recovers() {
    let bridge_address = free_port();
    let upstream = recording_upstream();
    let config = adapted_envoy_yaml(SECRET, bridge_address, upstream.address());
    let envoy = RealEnvoy::start(&config).unwrap();
    let listener = envoy.listener();

    let down = get(listener, VAULT_HOST, &[]);
    assert_eq!(down.status, 503, "{}", body(&down));
    assert!(
        body(&down).contains("the token bridge at cluster 'token_bridge' could not be reached"),
        "{}",
        body(&down)
    );

    // A bridge with another secret on that port: its own refusal, once the backoff is over.
    let wrong = FakeBridge::start_at(
        bridge_address,
        "another-secret-entirely",
        VAULT_RESOURCE,
        Limits::default(),
    )
    .unwrap();
    let (refused, _) = until_answered(
        listener,
        503,
        "the token bridge answered 401",
        BACKOFF_BOUND,
    );
    assert!(refused.contains("X-IDENTITY-HEADER"), "{refused}");
    // For the backoff's 2 s, requests get the same answer without the bridge being asked again.
    let backing_off = Instant::now();
    while backing_off.elapsed() < Duration::from_secs(1) {
        let again = get(listener, VAULT_HOST, &[]);
        assert_eq!((again.status, body(&again)), (503, refused.clone()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        wrong.running.requests_served(),
        1,
        "bridge calls during the backoff"
    );
    assert_eq!(wrong.running.entra_calls(), 0);
    wrong.running.stop();

    let right =
        FakeBridge::start_at(bridge_address, SECRET, VAULT_RESOURCE, Limits::default()).unwrap();
    let (_, recovered_after) = until_answered(listener, 200, "", BACKOFF_BOUND);
    let token = format!("Bearer {}", right.entra.issued_token(1));
    assert_eq!(
        upstream.authorizations(),
        [vec![token.clone()]],
        "only the recovered request reached the vault"
    );
    assert_eq!(right.running.entra_calls(), 1);
    assert_eq!(right.running.requests_served(), 1);
    eprintln!("recovered {recovered_after:?} after the bridge came back");

    let (status, log) = envoy.stop();
    assert!(
        log.contains("no token for https://vault.azure.net"),
        "one warning per failed fetch:\n{log}"
    );
    for secret in [SECRET, "another-secret-entirely", token.as_str()] {
        assert!(!log.contains(secret), "a secret in Envoy's log:\n{log}");
    }
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}

#[test]
fn a_short_lived_token_is_renewed_before_expiry_with_one_bridge_call_across_both_workers() {
    // 310 s: the credential refreshes 5 minutes before expiry, 10 s after issue, and the bridge
    // tells the filter so (`refresh_in`).
    let pod = Pod::start_configured(|bridge| bridge.entra.set_token_lifetime(310));
    let listener = pod.envoy.listener();
    let started = Instant::now();
    let mut statuses = Vec::new();
    // Requests on fresh connections, spread over both workers, until the new token has been
    // in use for 2 s (at most 25 s).
    let mut renewed_at = None;
    while renewed_at.is_none_or(|at: Duration| started.elapsed() < at + Duration::from_secs(2)) {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "no renewal within 25 s"
        );
        statuses.push(get(listener, VAULT_HOST, &[]).status);
        let issued = pod.bridge.entra.issued_tokens().len();
        if renewed_at.is_none() && issued == 2 {
            renewed_at = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
    let (first, second) = (pod.bearer(1), pod.bearer(2));
    let authorizations = pod.upstream.authorizations();
    let switched = authorizations
        .iter()
        .position(|values| values == std::slice::from_ref(&second))
        .expect("the renewed token reached the upstream");
    assert!(
        authorizations[..switched]
            .iter()
            .all(|values| values == std::slice::from_ref(&first))
            && authorizations[switched..]
                .iter()
                .all(|values| values == std::slice::from_ref(&second)),
        "every request carried the token of its time, and none went without"
    );
    let renewed_at = renewed_at.unwrap();
    eprintln!(
        "renewed {renewed_at:?} after the first token; {} requests",
        statuses.len()
    );
    // Expiry is counted in whole seconds: the refresh comes 9 to 10 s after the first token.
    assert!(
        (Duration::from_secs(8)..Duration::from_secs(16)).contains(&renewed_at),
        "renewed {renewed_at:?} after the first token, which the bridge said to refresh at 10 s"
    );
    assert_eq!(
        pod.bridge.running.requests_served(),
        2,
        "one renewal for both workers"
    );
    assert_eq!(pod.bridge.running.entra_calls(), 2);
    both_workers_took_connections(&pod.envoy);
    pod.stop();
}
