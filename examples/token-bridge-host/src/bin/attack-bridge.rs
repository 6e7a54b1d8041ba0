//! The attacks of issue 14 at their measured size, each against a fresh `token-bridge` process
//! on loopback: what a client with the secret got meanwhile, what the flood got, and the bridge's
//! resident memory. `cargo build --release -p token-bridge-host --features fake-authority
//! --bins && target/release/attack-bridge [--bridge PATH]`; PATH is a `token-bridge` built with
//! `fake-authority` (default: the one beside this binary), e.g. an older build to compare.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use token_bridge_host::demo::start_command;
use token_bridge_host::floods::{self, Flood, Legitimate};

const SECRET: &str = "attack-secret-0123456789";
const RESOURCE: &str = "https://vault.azure.net";
const TOKEN_PATH: &str = "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

fn main() {
    let bridge = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => std::env::current_exe()
            .expect("this binary's path")
            .with_file_name("token-bridge"),
        [flag, path] if flag == "--bridge" => PathBuf::from(path),
        _ => {
            eprintln!("usage: attack-bridge [--bridge PATH-TO-token-bridge]");
            std::process::exit(2);
        }
    };
    println!("bridge: {}", bridge.display());
    attack(
        &bridge,
        "1,024 keep-alive connections asking /healthz every 5 s",
        14,
        |address| {
            let flood = floods::idle_keep_alive(address, 1024, Duration::from_secs(5));
            (flood, 1024)
        },
    );
    attack(
        &bridge,
        "1,000 connections asking with a wrong secret",
        17,
        |address| (floods::wrong_secret(address, TOKEN_PATH, 1000, 20), 5000),
    );
    attack(
        &bridge,
        "1,000 unfinished requests of 390 KB of headers",
        10,
        |address| (floods::large_headers(address, 1000, 390 * 1000), 0),
    );
}

/// Starts a bridge, lets `flood` start (until it has that many answers, or 30 s), then asks
/// `asks` times with the secret, one every 500 ms, each allowed 5 s; prints what happened.
fn attack(
    bridge: &PathBuf,
    what: &str,
    asks: usize,
    flood: impl FnOnce(std::net::SocketAddr) -> (Flood, u64),
) {
    let mut started = start_command(Command::new(bridge), &["--quiet"], SECRET, RESOURCE)
        .expect("the bridge starts");
    let (address, pid) = (started.address, started.child.id());
    let first = floods::legitimate(
        address,
        TOKEN_PATH,
        SECRET,
        1,
        Duration::ZERO,
        Duration::from_secs(5),
    );
    assert_eq!(
        first.answered, 1,
        "the bridge serves before the attack: {first:?}"
    );
    floods::reset_peak_memory(pid).expect("the bridge's peak memory reset");
    let (before, _) = floods::memory_kib(pid).expect("the bridge's memory");
    let (flood, answers) = flood(address);
    let ready = Instant::now();
    while flood.report().answered < answers && ready.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = floods::legitimate(
        address,
        TOKEN_PATH,
        SECRET,
        asks,
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    let (now, peak) = floods::memory_kib(pid).expect("the bridge's memory");
    let report = flood.stop();
    let _ = started.child.kill();
    let _ = started.child.wait();
    println!("\n{what}:");
    print_legitimate(&got, asks);
    println!("  the flood: {report:?}");
    println!(
        "  bridge memory: VmRSS {} MB before, {} MB after; peak (VmHWM) {} MB",
        before / 1024,
        now / 1024,
        peak / 1024
    );
}

fn print_legitimate(got: &Legitimate, asks: usize) {
    println!(
        "  requests with the secret: {} of {asks} answered 200; refused {:?}; no answer {}; slowest {:.0} ms",
        got.answered,
        got.refused,
        got.failed.len(),
        got.slowest.as_secs_f64() * 1e3
    );
}
