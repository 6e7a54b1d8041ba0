//! A service behind a real proxy or host (Envoy, `wash dev`, `wasmtime serve`): plain HTTP/1.1
//! with keep-alive on 127.0.0.1, recording every request it receives, answering each with a
//! fixed JSON body.
//!
//! Every thread it starts ends when the upstream is dropped (connections: at their next request
//! or idle timeout), or after [`MAX_LIFETIME`](crate::acceptor::MAX_LIFETIME) at the latest.

use crate::acceptor::{Acceptor, MAX_LIFETIME, lock};
use crate::local_server::{ReadRequest, read_request_from};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every request gets: a Key Vault "list secrets" answer with no secrets.
pub const UPSTREAM_BODY: &str = r#"{"value":[],"nextLink":null}"#;

/// A proxy keeps idle connections open; a connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct RecordingUpstream {
    acceptor: Acceptor,
    requests: Arc<Mutex<Vec<ReadRequest>>>,
}

impl RecordingUpstream {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub fn start() -> std::io::Result<RecordingUpstream> {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let requests = requests.clone();
            Acceptor::start(move |connection, stop| {
                let (requests, stop) = (requests.clone(), stop.clone());
                std::thread::spawn(move || {
                    let _ = serve(connection, &requests, &stop);
                });
            })?
        };
        Ok(RecordingUpstream { acceptor, requests })
    }

    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReadRequest> {
        lock(&self.requests).clone()
    }

    /// Every request since the last call, which the upstream then forgets (a benchmark's many
    /// requests would otherwise be kept).
    pub fn take_requests(&self) -> Vec<ReadRequest> {
        std::mem::take(&mut lock(&self.requests))
    }

    /// The `authorization` values of every request so far, in arrival order.
    pub fn authorizations(&self) -> Vec<Vec<String>> {
        lock(&self.requests)
            .iter()
            .map(|request| {
                (request.header_values("authorization").into_iter())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }
}

fn serve(
    connection: TcpStream,
    requests: &Mutex<Vec<ReadRequest>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    connection.set_read_timeout(Some(IDLE_TIMEOUT))?;
    // One write per answer, sent at once: with Nagle's algorithm a proxy's delayed ACK would
    // hold each answer 40 ms.
    connection.set_nodelay(true)?;
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\n\r\n{UPSTREAM_BODY}",
        UPSTREAM_BODY.len()
    );
    let mut writer = connection.try_clone()?;
    let mut reader = BufReader::new(connection);
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
        let Some(request) = read_request_from(&mut reader)? else {
            return Ok(());
        };
        lock(requests).push(request);
        writer.write_all(answer.as_bytes())?;
    }
    Ok(())
}
