//! The bridge against local processes that lack the secret, and against an authority that never
//! answers: each attack is bounded (a few hundred connections, a few seconds, loopback only),
//! and each test shows that a client with the secret is still answered.

mod common;

use common::{SECRET, VAULT, VAULT_PATH, get, request};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use token_bridge_host::demo::{FakeBridge, fake_authority_config};
use token_bridge_host::floods::{self, Legitimate};
use token_bridge_host::{Authority, Limits, RunningBridge};

fn bridge_within(limits: Limits) -> FakeBridge {
    FakeBridge::start_with(SECRET, VAULT, limits).unwrap()
}

/// Waits, a bounded while, until `done`; `what` names it if it never happens.
fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what} not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `count` token requests with the secret, 100 ms apart, each allowed `timeout`.
fn ask_legitimately(address: SocketAddr, count: usize, timeout: Duration) -> Legitimate {
    floods::legitimate(
        address,
        VAULT_PATH,
        SECRET,
        count,
        Duration::from_millis(100),
        timeout,
    )
}

fn assert_all_answered(got: &Legitimate, count: usize) {
    assert_eq!(got.answered, count, "{got:?}");
}

/// Every place taken and kept busy by connections without the secret (the issue: 1,024 idle
/// keep-alive connections asking `/healthz` every 5 s left 0 of 14 requests answered). A new
/// connection closes the oldest of them, so each request with the secret gets through.
#[test]
fn keep_alive_connections_without_the_secret_cannot_keep_a_client_out() {
    let max_connections = 48;
    let bridge = bridge_within(Limits {
        max_connections,
        ..Limits::default()
    });
    let address = bridge.address();
    let flood = floods::idle_keep_alive(address, max_connections, Duration::from_millis(500));
    wait_until(
        "the flood holding every place",
        Duration::from_secs(10),
        || flood.report().answered >= max_connections as u64,
    );
    let got = ask_legitimately(address, 20, Duration::from_secs(5));
    let report = flood.stop();
    assert_all_answered(&got, 20);
    // The flood's connections made room (it opens them again within 500 ms).
    assert!(report.refused >= 1, "{report:?}");
}

/// A flood of requests with a wrong secret (the issue: 9 of 17 requests with the secret got 503
/// "busy" when the refusals queued for the worker). The host refuses them itself, in the
/// component's words, and they never take a place in the worker's queue.
#[test]
fn a_flood_of_wrong_secrets_never_makes_a_client_wait_or_be_refused() {
    let bridge = bridge_within(Limits::default());
    let address = bridge.address();
    let (status, body) = get(address, VAULT_PATH, "a-wrong-secret-for-the-bridge");
    assert_eq!(status, 401);
    assert_eq!(
        body,
        token_bridge::answer::error_body(
            401,
            "unauthorized",
            "the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER"
        )
    );
    // Twice as many connections as the worker's queue has places.
    let flood = floods::wrong_secret(address, VAULT_PATH, 500, 10);
    wait_until("the flood answered", Duration::from_secs(10), || {
        flood.report().answered >= 1000
    });
    let got = ask_legitimately(address, 20, Duration::from_secs(5));
    let report = flood.stop();
    assert_all_answered(&got, 20);
    assert!(report.answered > 1000, "{report:?}");
    // Not even the flood was refused for want of room: it took none.
    assert_eq!(report.unavailable, 0, "{report:?}");
    assert_eq!(bridge.running.entra_calls(), 1);
}

/// Requests whose headers never end, each far larger than any SDK sends (the issue: hyper's
/// default buffers held ~390 KB each, 1,000 of them took the bridge from 77 MB to 459 MB, past
/// the pod's 128 Mi). The head is bounded at 16 KiB and 64 headers: beyond, 431 and closed. The
/// bridge runs as its command does, so that its memory is its own.
#[test]
fn unfinished_large_headers_are_cut_and_the_bridge_stays_small() {
    let (bridge, _log, _, address) =
        common::start_command(&["--quiet"], &[("IDENTITY_HEADER", SECRET)]);
    let bridge = KilledOnDrop(bridge);
    let pid = bridge.0.id();
    assert_eq!(get(address, VAULT_PATH, SECRET).0, 200);
    let large = "a".repeat(17 * 1024);
    let (status, _) = request(address, "GET", VAULT_PATH, &[("x-large", &large)]);
    assert_eq!(status, 431);
    let many: Vec<(String, String)> = (0..65)
        .map(|n| (format!("x-header-{n}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(request(address, "GET", VAULT_PATH, &many).0, 431);

    floods::reset_peak_memory(pid).unwrap();
    let (before, _) = floods::memory_kib(pid).unwrap();
    let connections = 300;
    let flood = floods::large_headers(address, connections, 256 * 1024);
    wait_until("the flood sent", Duration::from_secs(20), || {
        flood.report().connections >= connections as u64
    });
    let got = ask_legitimately(address, 10, Duration::from_secs(5));
    let (_, peak) = floods::memory_kib(pid).unwrap();
    let report = flood.stop();
    drop(bridge);
    // 300 × 16 KiB is 4.7 MiB; unbounded, 300 × 256 KiB would be 75 MiB.
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 24 * 1024,
        "the bridge grew by {grown} KiB (from {before} KiB to a peak of {peak} KiB)"
    );
    assert_all_answered(&got, 10);
    // Every one was cut at the bound, long before its 256 KiB.
    assert_eq!(report.refused, connections as u64, "{report:?}");
}

/// A child process killed when dropped, so that a failing test leaves no bridge behind.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// hyper counts the header-read timeout from the end of the previous answer, so it is also how
/// long a keep-alive connection may stay idle, and how long a connection that sends nothing is
/// kept.
#[test]
fn idle_and_silent_connections_are_closed_after_the_header_read_timeout() {
    let header_read_timeout = Duration::from_millis(500);
    let bridge = bridge_within(Limits {
        header_read_timeout,
        ..Limits::default()
    });
    let mut kept =
        token_bridge_host::client::Connection::open(bridge.address(), Duration::from_secs(5))
            .unwrap();
    assert_eq!(kept.send("GET", "/healthz", &[]).unwrap().status, 200);
    let mut silent = TcpStream::connect(bridge.address()).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    // 0 bytes: closed by the bridge (a read that timed out would be an error).
    let mut byte = [0; 1];
    assert_eq!(std::io::Read::read(&mut silent, &mut byte).unwrap(), 0);
    assert_eq!(std::io::Read::read(kept.stream(), &mut byte).unwrap(), 0);
    let waited = started.elapsed();
    assert!(
        waited >= header_read_timeout / 2 && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

/// An authority that accepts connections and never speaks TLS: the credential's request waits
/// in the TLS handshake, which no timeout of wasmtime's covers, until the credential's own 60 s
/// deadline; and the worker with it.
struct SilentAuthority {
    address: SocketAddr,
    held: Arc<Mutex<Vec<TcpStream>>>,
    accepting: Option<std::thread::JoinHandle<()>>,
    releasing: Arc<std::sync::atomic::AtomicBool>,
}

impl SilentAuthority {
    fn start() -> SilentAuthority {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let held = Arc::new(Mutex::new(Vec::new()));
        let releasing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (keep, stop) = (held.clone(), releasing.clone());
        let accepting = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    keep.lock().unwrap().push(stream);
                }
            }
        });
        SilentAuthority {
            address,
            held,
            accepting: Some(accepting),
            releasing,
        }
    }

    fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    /// Closes the held connections and the listener: the handshake fails, and so does any retry.
    fn release(&mut self) {
        self.releasing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // Wakes the accept.
        let _ = TcpStream::connect(self.address);
        if let Some(accepting) = self.accepting.take() {
            accepting.join().unwrap();
        }
        self.held.lock().unwrap().clear();
    }
}

impl Drop for SilentAuthority {
    fn drop(&mut self) {
        self.release();
    }
}

/// The issue: such an authority kept the only worker stuck for 10+ minutes, every client got 504
/// after 120 s and then 503 "busy", while `/healthz` and `--probe` said OK. Now the watchdog
/// reports the stuck worker, the requests waiting for it are answered 503 at once, and requests
/// that need no worker are answered as ever. Its bound here (2 s, not 70 s) makes the credential's
/// 60 s wait stand for one that never ends.
#[test]
fn a_worker_stuck_on_a_silent_authority_fails_health_and_nobody_waits_for_it() {
    let mut authority = SilentAuthority::start();
    let stuck_after = Duration::from_secs(2);
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let env = vec![
        ("IDENTITY_HEADER".to_owned(), SECRET.to_owned()),
        ("TOKEN_BRIDGE_RESOURCES".to_owned(), VAULT.to_owned()),
    ];
    let (mut config, _tokens) = fake_authority_config(
        loopback,
        env,
        &credential_host::fake_authority::FakeEntra::new(),
    )
    .unwrap();
    config
        .env
        .retain(|(name, _)| name != "AZURE_AUTHORITY_HOST");
    config.env.push((
        "AZURE_AUTHORITY_HOST".into(),
        format!("https://{}", authority.address),
    ));
    config.authority = Authority::Network(None);
    config.limits = Limits {
        stuck_after,
        ..Limits::default()
    };
    let bridge = RunningBridge::start(config).unwrap();
    let address = bridge.address();
    assert_eq!(request(address, "GET", "/healthz", &[]).0, 200);

    let asked = Instant::now();
    let first = std::thread::spawn(move || get(address, VAULT_PATH, SECRET));
    wait_until(
        "the credential at the authority",
        Duration::from_secs(10),
        || authority.connections() >= 1,
    );
    let queued = std::thread::spawn(move || get(address, VAULT_PATH, SECRET));

    // What needs no worker is answered while it is stuck.
    let started = Instant::now();
    assert_eq!(
        get(address, VAULT_PATH, "a-wrong-secret-for-the-bridge").0,
        401
    );
    assert_eq!(get(address, "/elsewhere", SECRET).0, 404);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    wait_until("health failing", stuck_after * 4, || {
        request(address, "GET", "/healthz", &[]).0 == 503
    });
    let (status, body) = request(address, "GET", "/healthz", &[]);
    assert_eq!(status, 503);
    assert!(body.contains("worker_stuck"), "{body}");
    assert!(body.contains("on one request for"), "{body}");
    let probe = Command::new(env!("CARGO_BIN_EXE_token-bridge"))
        .args(["--probe", "--listen", &address.to_string()])
        .output()
        .unwrap();
    assert!(!probe.status.success(), "{probe:?}");
    let said = String::from_utf8_lossy(&probe.stderr);
    assert!(
        said.contains("not ready (503)") && said.contains("worker_stuck"),
        "{said}"
    );

    // The two waiting for the worker were answered as soon as it was found stuck, not after
    // 120 s; a new token request is refused at once.
    for waiting in [first, queued] {
        let (status, body) = waiting.join().unwrap();
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("worker_stuck"), "{body}");
    }
    assert!(asked.elapsed() < stuck_after * 4, "{:?}", asked.elapsed());
    let started = Instant::now();
    let (status, body) = get(address, VAULT_PATH, SECRET);
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Once the authority lets go, the credential's request fails, and the worker serves again.
    authority.release();
    wait_until("health ok again", Duration::from_secs(30), || {
        request(address, "GET", "/healthz", &[]).0 == 200
    });
}
