//! A real HTTP/1.1 server on 127.0.0.1 for fault tests: the component's requests reach it through
//! wasmtime-wasi-http's real client (the host only rewrites the URL), and it misbehaves on cue.
//!
//! Every thread it starts ends when the server is dropped, or after [`MAX_LIFETIME`] at the latest.

use crate::acceptor::{Acceptor, MAX_LIFETIME, lock};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server treats one request.
#[derive(Clone, Debug)]
pub enum ServerAnswer {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Promises a 1000-byte body, sends 10 bytes, closes the connection.
    CloseMidBody,
    /// Sends the headers and part of the body, then resets the connection (TCP RST).
    ResetMidBody,
    /// Reads the request and never answers.
    NeverAnswer,
    /// Sends the headers, then one body byte a second, never finishing.
    SlowDrip,
    /// A 200 whose body is this many bytes.
    HugeBody(usize),
}

impl ServerAnswer {
    pub fn status(status: u16, headers: &[(&str, &str)], body: &str) -> ServerAnswer {
        ServerAnswer::Respond {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<ServerAnswer>,
    requests: usize,
    issued: u64,
}

pub struct LocalServer {
    acceptor: Acceptor,
    state: Arc<Mutex<State>>,
}

impl LocalServer {
    /// Listens on an ephemeral port of 127.0.0.1. Unscripted requests get a token.
    pub fn start() -> std::io::Result<LocalServer> {
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = {
            let state = state.clone();
            Acceptor::start(move |connection, stop| {
                let (state, stop) = (state.clone(), stop.clone());
                std::thread::spawn(move || {
                    let _ = serve(connection, &state, &stop);
                });
            })?
        };
        Ok(LocalServer { acceptor, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    pub fn enqueue(&self, answer: ServerAnswer) {
        lock(&self.state).script.push_back(answer);
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }
}

fn serve(
    mut connection: TcpStream,
    state: &Mutex<State>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    connection.set_read_timeout(Some(Duration::from_secs(10)))?;
    read_request(&mut connection)?;
    let answer = {
        let mut state = lock(state);
        state.requests += 1;
        match state.script.pop_front() {
            Some(answer) => answer,
            None => {
                state.issued += 1;
                ServerAnswer::status(
                    200,
                    &[("content-type", "application/json")],
                    &format!(
                        r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"local-access-token-{}"}}"#,
                        state.issued
                    ),
                )
            }
        }
    };
    let started = Instant::now();
    let running = || !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME;
    match answer {
        ServerAnswer::Respond {
            status,
            headers,
            body,
        } => {
            write_head(&mut connection, status, &headers, body.len())?;
            connection.write_all(&body)?;
        }
        ServerAnswer::CloseMidBody => {
            write_head(&mut connection, 200, &[], 1000)?;
            connection.write_all(b"{\"access_")?;
        }
        ServerAnswer::ResetMidBody => {
            write_head(&mut connection, 200, &[], 1000)?;
            connection.write_all(b"{\"access_")?;
            connection.flush()?;
            // A zero linger makes the close an RST instead of a FIN.
            socket2::SockRef::from(&connection).set_linger(Some(Duration::ZERO))?;
        }
        ServerAnswer::NeverAnswer => {
            while running() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        ServerAnswer::SlowDrip => {
            write_head(&mut connection, 200, &[], 1_000_000)?;
            while running() {
                connection.write_all(b" ")?;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        ServerAnswer::HugeBody(size) => {
            write_head(&mut connection, 200, &[], size)?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < size && running() {
                let n = chunk.len().min(size - sent);
                connection.write_all(&chunk[..n])?;
                sent += n;
            }
        }
    }
    connection.flush()
}

/// Reads the request head and its Content-Length body; returns the request line.
pub(crate) fn read_request(connection: &mut impl Read) -> std::io::Result<String> {
    let request = read_request_from(&mut BufReader::new(connection))?;
    Ok(request.map_or_else(String::new, |request| request.request_line))
}

/// A request as a test server read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// `METHOD /path HTTP/1.1`.
    pub request_line: String,
    /// Names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReadRequest {
    /// Every value of the header `name` (lowercase), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Reads one request (head and Content-Length body, at most 1 MiB) from a connection that may
/// carry several; `None` when the connection ended before a request began.
pub(crate) fn read_request_from(reader: &mut impl BufRead) -> std::io::Result<Option<ReadRequest>> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    let mut content_length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                content_length = value.parse().unwrap_or(0);
            }
            headers.push((name, value.to_owned()));
        }
    }
    let mut body = vec![0; content_length.min(1024 * 1024)];
    reader.read_exact(&mut body)?;
    Ok(Some(ReadRequest {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body,
    }))
}

/// Writes a response head announcing `content_length` bytes of body; the connection closes
/// after it.
pub(crate) fn write_head(
    connection: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    content_length: usize,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} Status\r\ncontent-length: {content_length}\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    connection.write_all(head.as_bytes())
}
