//! How fast the bridge answers SDK requests once it holds a token, and how many Entra calls
//! they cost: `cargo run --release -p token-bridge-host --features fake-authority --bin
//! bench-bridge [-- --quick]`.
//!
//! Each request is a new connection, as an SDK without connection reuse makes it; the bridge
//! runs with the demo identity and the in-process fake Entra.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use token_bridge_host::client::request;
use token_bridge_host::demo::FakeBridge;

const SECRET: &str = "bench-secret-0123456789";
const PATH: &str = "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (sequential, threads, per_thread) = if quick {
        (200, 4, 50)
    } else {
        (10_000, 8, 2_500)
    };
    let bridge = FakeBridge::start(SECRET, "https://vault.azure.net").expect("the bridge starts");
    let address = bridge.address();
    // The first request makes the one Entra call; the rest are answered from the cache.
    let first = Instant::now();
    ask(address);
    let first = first.elapsed();

    let mut latencies: Vec<Duration> = (0..sequential)
        .map(|_| {
            let started = Instant::now();
            ask(address);
            started.elapsed()
        })
        .collect();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;

    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || (0..per_thread).for_each(|_| ask(address))))
        .collect();
    workers
        .into_iter()
        .for_each(|worker| worker.join().unwrap());
    let concurrent = started.elapsed();
    let concurrent_requests = threads * per_thread;

    println!("token bridge, demo identity, fake Entra in-process, a new connection per request");
    println!("first request (one Entra call):   {:>8.2} ms", ms(first));
    println!(
        "{sequential} sequential requests: mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
        ms(mean),
        ms(percentile(50)),
        ms(percentile(99))
    );
    println!(
        "{concurrent_requests} requests from {threads} threads: {:.0} requests/s",
        concurrent_requests as f64 / concurrent.as_secs_f64()
    );
    println!(
        "requests served: {}; calls to Microsoft Entra ID: {}",
        bridge.running.requests_served(),
        bridge.running.entra_calls()
    );
    assert_eq!(
        bridge.running.entra_calls(),
        1,
        "every request after the first is a cache hit"
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// One token request on a new connection; panics unless the bridge answers 200.
fn ask(address: SocketAddr) {
    let headers = [("x-identity-header", SECRET)];
    let (status, body) = request(address, "GET", PATH, &headers, Duration::from_secs(30))
        .expect("the bridge answers");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}
