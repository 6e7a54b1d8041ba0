//! What the filter costs a request in real Envoy 1.40: one Envoy (two workers) with the
//! example's listener and, beside it, the same listener without the filter, both routing to the
//! same local upstream; the token comes from the real bridge once, then every filtered request is
//! served from the workers' shared data. Requests on kept-alive connections, the two listeners
//! taking turns batch by batch so that both see the same machine:
//! - sequential: one client;
//! - concurrent: 20 clients at once, each on connections of its own.
//!
//! `cargo run --release -p envoy-tests --bin bench-envoy` (`--quick`: a few requests, to check
//! that it runs). Goal: at most 50 µs added to the median, sequential.

use envoy_tests::{
    LISTENER_WITHOUT_FILTER, RealEnvoy, VAULT_HOST, VAULT_RESOURCE, adapted_envoy_yaml,
    with_a_listener_without_the_filter,
};
use host_tests::{FakeResponse, FakeService, UPSTREAM_BODY, micros, percentile};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use token_bridge_host::client::Connection;
use token_bridge_host::demo::FakeBridge;

const SECRET: &str = "7d1f0c5a92e84b36a0c1";
const PATH: &str = "/secrets?api-version=7.5";
const CLIENTS: usize = 20;
const GOAL: Duration = Duration::from_micros(50);

/// One listener's timed requests.
struct Variant {
    name: &'static str,
    address: SocketAddr,
    samples: Vec<Duration>,
}

fn main() -> Result<(), String> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (rounds, batch) = if quick { (2, 20) } else { (20, 500) };
    let bridge = FakeBridge::start(SECRET, VAULT_RESOURCE)?;
    let upstream = FakeService::http(FakeResponse::json(200, UPSTREAM_BODY));
    let config = with_a_listener_without_the_filter(&adapted_envoy_yaml(
        SECRET,
        bridge.address(),
        upstream.address(),
    ));
    let envoy = RealEnvoy::start(&config)?;
    let listeners = [
        (
            "without the filter",
            envoy.listener_named(LISTENER_WITHOUT_FILTER),
        ),
        ("with the filter, token from shared data", envoy.listener()),
    ];

    let variants = |samples: usize| {
        listeners.map(|(name, address)| Variant {
            name,
            address,
            samples: Vec::with_capacity(samples),
        })
    };
    let mut sequential = variants(rounds * batch);
    let mut connections = sequential
        .iter()
        .map(|variant| connect(variant.address))
        .collect::<Result<Vec<_>, _>>()?;
    // Warm-up: the filter fetches the token; both listeners' connections and code paths are hot.
    for (connection, _) in connections.iter_mut().zip(&sequential) {
        for _ in 0..batch {
            send(connection)?;
        }
    }
    check_and_forget(&upstream, &bridge, 2 * batch)?;
    for _ in 0..rounds {
        for (variant, connection) in sequential.iter_mut().zip(&mut connections) {
            for _ in 0..batch {
                let started = Instant::now();
                send(connection)?;
                variant.samples.push(started.elapsed());
            }
        }
        check_and_forget(&upstream, &bridge, 2 * batch)?;
    }

    let mut concurrent = variants(rounds * batch);
    for _ in 0..rounds {
        for variant in &mut concurrent {
            variant
                .samples
                .extend(concurrently(variant.address, batch / CLIENTS.min(batch))?);
        }
        check_and_forget(
            &upstream,
            &bridge,
            2 * CLIENTS * (batch / CLIENTS.min(batch)),
        )?;
    }

    let build = if cfg!(debug_assertions) {
        "debug build of the client (figures mean little)"
    } else {
        "release build of the client"
    };
    println!(
        "Envoy filter, per request (real Envoy 1.40, {} workers, {build}, {} cores; \
         bridge calls: {}, Entra calls: {}):",
        envoy_tests::WORKERS,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bridge.running.requests_served(),
        bridge.running.entra_calls(),
    );
    println!();
    println!(
        "| clients | listener | median | p99 | added (median) | added (p99) | ratio (median) | requests |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut added_sequential = Duration::ZERO;
    for (clients, variants) in [(1, &mut sequential), (CLIENTS, &mut concurrent)] {
        let floor = (
            percentile(&mut variants[0].samples, 50),
            percentile(&mut variants[0].samples, 99),
        );
        for variant in variants.iter_mut() {
            let (median, p99) = (
                percentile(&mut variant.samples, 50),
                percentile(&mut variant.samples, 99),
            );
            if clients == 1 {
                added_sequential = median.saturating_sub(floor.0);
            }
            println!(
                "| {clients} | {} | {} | {} | {} | {} | {:.2} | {} |",
                variant.name,
                micros(median),
                micros(p99),
                micros(median.saturating_sub(floor.0)),
                micros(p99.saturating_sub(floor.1)),
                median.as_secs_f64() / floor.0.as_secs_f64(),
                variant.samples.len()
            );
        }
    }
    println!();
    println!(
        "goal: at most {} added to the median, sequential: {} ({})",
        micros(GOAL),
        micros(added_sequential),
        if added_sequential <= GOAL {
            "met"
        } else {
            "not met"
        }
    );
    let (status, log) = envoy.stop();
    if !status.is_some_and(|status| status.success()) {
        return Err(format!("Envoy did not stop cleanly ({status:?}):\n{log}"));
    }
    Ok(())
}

fn connect(address: SocketAddr) -> Result<Connection, String> {
    Connection::open(address, Duration::from_secs(10))
        .map_err(|error| format!("connecting to Envoy at {address}: {error}"))
}

fn send(connection: &mut Connection) -> Result<(), String> {
    let answer = connection
        .send("GET", PATH, &[("host", VAULT_HOST)])
        .map_err(|error| format!("a request through Envoy: {error}"))?;
    if answer.status != 200 {
        return Err(format!(
            "Envoy answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    Ok(())
}

/// [`CLIENTS`] clients sending `each` requests at once to `address`; every request's time.
fn concurrently(address: SocketAddr, each: usize) -> Result<Vec<Duration>, String> {
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                let mut connection = connect(address)?;
                send(&mut connection)?;
                start.wait();
                (0..each)
                    .map(|_| {
                        let started = Instant::now();
                        send(&mut connection).map(|()| started.elapsed())
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(CLIENTS * each);
    for client in clients {
        samples.extend(
            client
                .join()
                .map_err(|_| "a client panicked".to_owned())??,
        );
    }
    Ok(samples)
}

/// What the upstream received since the last check: `count` requests (the concurrent clients'
/// first, untimed ones aside), each filtered one with the bridge's one token and each other one
/// with none, so the figures are of requests that did what they claim.
fn check_and_forget(
    upstream: &FakeService,
    bridge: &FakeBridge,
    count: usize,
) -> Result<(), String> {
    let requests = upstream.take_requests();
    let token = format!("Bearer {}", bridge.entra.issued_token(1));
    let with_token = requests
        .iter()
        .filter(|request| request.header_values("authorization") == [token.as_str()])
        .count();
    let without = requests
        .iter()
        .filter(|request| request.header_values("authorization").is_empty())
        .count();
    if with_token + without != requests.len() || with_token < count / 2 || without < count / 2 {
        return Err(format!(
            "the upstream saw {} requests, {with_token} with the token and {without} without; \
             expected {count}, half of each",
            requests.len()
        ));
    }
    Ok(())
}
