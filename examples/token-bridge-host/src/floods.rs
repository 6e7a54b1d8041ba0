//! What a local process without the secret can throw at the bridge, and a legitimate client
//! asking meanwhile: the attacks of the tests and of `attack-bridge`, each on threads of its own
//! until stopped. Loopback only, and bounded by the caller's counts.

use crate::client::{Connection, request};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use token_bridge::protocol::{HEALTH_PATH, SECRET_HEADER};

/// How long a flood's connection waits for the bridge before counting the step refused.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
/// A secret the bridge does not have (secrets are at least 16 characters).
const WRONG_SECRET: &str = "not-the-bridge-secret-0000";

/// What a flood got from the bridge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FloodReport {
    /// Connections opened.
    pub connections: u64,
    /// Requests answered, whatever the status.
    pub answered: u64,
    /// Of those, the answers 503: the bridge had no room for the request.
    pub unavailable: u64,
    /// Steps refused: a connection the bridge closed, or that it did not answer within 2 s, or
    /// that could not be opened.
    pub refused: u64,
}

/// The counts as the flood's threads make them.
#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    answered: AtomicU64,
    unavailable: AtomicU64,
    refused: AtomicU64,
}

impl Counts {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn answered(&self, status: u16) {
        Counts::count(&self.answered);
        if status == 503 {
            Counts::count(&self.unavailable);
        }
    }
}

/// A flood running on its threads; [`stop`](Self::stop) ends it.
pub struct Flood {
    counts: Arc<Counts>,
    /// Dropped to stop the threads: each one's receiver then reports the sender gone.
    stops: Vec<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Flood {
    fn start<F>(threads: usize, run: F) -> Flood
    where
        F: Fn(&Counts, Receiver<()>) + Clone + Send + 'static,
    {
        let counts = Arc::new(Counts::default());
        let (stops, threads) = (0..threads)
            .map(|_| {
                let (stop, stopped) = std::sync::mpsc::channel();
                let (run, counts) = (run.clone(), counts.clone());
                (stop, std::thread::spawn(move || run(&counts, stopped)))
            })
            .unzip();
        Flood {
            counts,
            stops,
            threads,
        }
    }

    /// What the flood got so far.
    pub fn report(&self) -> FloodReport {
        FloodReport {
            connections: self.counts.connections.load(Ordering::Relaxed),
            answered: self.counts.answered.load(Ordering::Relaxed),
            unavailable: self.counts.unavailable.load(Ordering::Relaxed),
            refused: self.counts.refused.load(Ordering::Relaxed),
        }
    }

    /// Stops the threads, closing their connections, and says what the flood got.
    pub fn stop(mut self) -> FloodReport {
        self.stops.clear();
        for thread in self.threads.drain(..) {
            thread.join().expect("a flood thread");
        }
        self.report()
    }
}

fn stopped(stop: &Receiver<()>) -> bool {
    matches!(stop.try_recv(), Err(TryRecvError::Disconnected))
}

/// Opens `slot`'s connection if it has none.
fn reopen(slot: &mut Option<Connection>, address: SocketAddr, counts: &Counts) {
    if slot.is_none() {
        match Connection::open(address, STEP_TIMEOUT) {
            Ok(connection) => {
                Counts::count(&counts.connections);
                *slot = Some(connection);
            }
            Err(_) => Counts::count(&counts.refused),
        }
    }
}

/// `connections` keep-alive connections, each asking `GET /healthz` (no secret needed) every
/// `every`, so that none is ever idle for long; a connection the bridge closes is opened again.
pub fn idle_keep_alive(address: SocketAddr, connections: usize, every: Duration) -> Flood {
    Flood::start(1, move |counts, stop| {
        let mut open: Vec<Option<Connection>> = (0..connections).map(|_| None).collect();
        loop {
            for slot in &mut open {
                reopen(slot, address, counts);
                if let Some(connection) = slot {
                    match connection.send("GET", HEALTH_PATH, &[]) {
                        Ok(answer) => counts.answered(answer.status),
                        Err(_) => {
                            Counts::count(&counts.refused);
                            *slot = None;
                        }
                    }
                }
                if stopped(&stop) {
                    return;
                }
            }
            if stop.recv_timeout(every) != Err(RecvTimeoutError::Timeout) {
                return;
            }
        }
    })
}

/// `connections` keep-alive connections spread over `threads`, each asking `target` with a
/// wrong secret as fast as the bridge answers: every round writes a request on each of a
/// thread's connections, then reads each answer, so that up to `connections` requests wait at
/// once.
pub fn wrong_secret(
    address: SocketAddr,
    target: &'static str,
    connections: usize,
    threads: usize,
) -> Flood {
    let per_thread = connections.div_ceil(threads);
    Flood::start(threads, move |counts, stop| {
        let mut open: Vec<Option<Connection>> = (0..per_thread).map(|_| None).collect();
        let headers = [(SECRET_HEADER, WRONG_SECRET)];
        while !stopped(&stop) {
            for slot in &mut open {
                reopen(slot, address, counts);
                if let Some(connection) = slot
                    && connection
                        .send_head("GET", target, &headers, false)
                        .is_err()
                {
                    Counts::count(&counts.refused);
                    *slot = None;
                }
            }
            for slot in &mut open {
                if let Some(connection) = slot {
                    match connection.read_answer() {
                        Ok(answer) => counts.answered(answer.status),
                        Err(_) => {
                            Counts::count(&counts.refused);
                            *slot = None;
                        }
                    }
                }
            }
        }
    })
}

/// `connections` requests that never end: each writes a request line and then up to
/// `header_bytes` of header lines, without the blank line that ends them, and keeps its
/// connection open until stopped. `connections` counts those opened (and written); once stopped,
/// `refused` counts those the bridge had cut (answered, 431, or closed).
pub fn large_headers(address: SocketAddr, connections: usize, header_bytes: usize) -> Flood {
    Flood::start(1, move |counts, stop| {
        let line = format!("x-padding: {}\r\n", "a".repeat(1000));
        let mut held = Vec::new();
        for _ in 0..connections {
            let Ok(mut connection) = Connection::open(address, STEP_TIMEOUT) else {
                Counts::count(&counts.refused);
                continue;
            };
            let stream = connection.stream();
            // A write fails once the bridge has cut the connection; the kernel's buffers may
            // take the rest first, so the cut is looked for once stopped.
            let mut written = stream
                .write_all(b"GET /msi/token HTTP/1.1\r\nhost: 127.0.0.1\r\n")
                .is_ok();
            let mut sent = 0;
            while written && sent < header_bytes {
                written = stream.write_all(line.as_bytes()).is_ok();
                sent += line.len();
            }
            Counts::count(&counts.connections);
            held.push(connection);
            if stopped(&stop) {
                break;
            }
        }
        // Held open until stopped, as an attacker would.
        let _ = stop.recv();
        for mut connection in held {
            if cut(connection.stream()) {
                Counts::count(&counts.refused);
            }
        }
    })
}

/// Whether the server has answered or closed `stream`, without waiting.
fn cut(stream: &mut std::net::TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut byte = [0; 1];
    !matches!(stream.read(&mut byte), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
}

/// What a legitimate client got while a flood ran.
#[derive(Debug, Default)]
pub struct Legitimate {
    /// Token requests answered 200.
    pub answered: usize,
    /// The other answers' statuses.
    pub refused: Vec<u16>,
    /// Requests with no answer within the timeout, or whose connection failed.
    pub failed: Vec<String>,
    /// The slowest answer.
    pub slowest: Duration,
}

/// `count` token requests with the secret, one after another on a new connection each (as an
/// SDK makes its first), `every` apart, each allowed `timeout`.
pub fn legitimate(
    address: SocketAddr,
    target: &str,
    secret: &str,
    count: usize,
    every: Duration,
    timeout: Duration,
) -> Legitimate {
    let mut got = Legitimate::default();
    let headers = [(SECRET_HEADER, secret)];
    for _ in 0..count {
        let started = Instant::now();
        match request(address, "GET", target, &headers, timeout) {
            Ok((200, _)) => got.answered += 1,
            Ok((status, _)) => got.refused.push(status),
            Err(error) => got.failed.push(error.to_string()),
        }
        got.slowest = got.slowest.max(started.elapsed());
        // Pacing, not waiting for anything.
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
    got
}

/// Starts a process's peak resident memory (`VmHWM`) over from its present size (Linux's
/// `clear_refs` 5), so that the next peak is what came after.
pub fn reset_peak_memory(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// A process's resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM`), from
/// /proc/PID/status.
pub fn memory_kib(pid: u32) -> std::io::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("no {name} in /proc/{pid}/status"),
                )
            })
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}
