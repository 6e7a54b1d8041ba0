//! The smallest HTTP/1.1 client for a server on this machine: one request on a connection of its
//! own, or several on a kept-alive one. The `--probe` command, the benchmark, the floods and the
//! tests ask the bridge with it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Answers larger than this are not the bridge's.
const MAX_ANSWER: u64 = 1024 * 1024;

/// Sends `method target` with `headers` (and `host` unless they have one, `connection: close`) and returns the
/// status and the body; every step is bounded by `timeout`.
pub fn request(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let answer = exchange(address, method, target, headers, timeout)?;
    Ok((answer.status, answer.body))
}

/// An HTTP answer: its status, its header fields in order (names in lower case), and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// [`request`], keeping the answer's header fields too.
pub fn exchange(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> std::io::Result<Answer> {
    let mut connection = Connection::open(address, timeout)?;
    connection.send_head(method, target, headers, true)?;
    connection.read_answer()
}

/// A connection kept alive between requests.
pub struct Connection {
    address: SocketAddr,
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Connects; every later read and write is bounded by `timeout`.
    pub fn open(address: SocketAddr, timeout: Duration) -> std::io::Result<Connection> {
        let stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Connection {
            address,
            stream: BufReader::new(stream),
        })
    }

    /// Sends a request and reads its answer, leaving the connection open for the next.
    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Answer> {
        self.send_head(method, target, headers, false)?;
        self.read_answer()
    }

    /// Writes a request without a body; with `close`, asks the server to close after answering.
    pub fn send_head(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        close: bool,
    ) -> std::io::Result<()> {
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        // The server's address, unless the caller names the host (a proxy routes by it).
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {}\r\n", self.address));
        }
        if close {
            head.push_str("connection: close\r\n");
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.get_mut().write_all(head.as_bytes())
    }

    /// Reads one answer: its status, its header fields, and the body its `content-length`
    /// announces (or, without one, everything until the server closes).
    pub fn read_answer(&mut self) -> std::io::Result<Answer> {
        let malformed =
            || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
        let mut line = String::new();
        let mut lines = (&mut self.stream).take(MAX_ANSWER);
        lines.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(malformed)?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                return Err(malformed());
            }
            let field = line.trim_end_matches(['\r', '\n']);
            if field.is_empty() {
                break;
            }
            let (name, value) = field.split_once(':').ok_or_else(malformed)?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map(|(_, value)| value.parse::<u64>().map_err(|_| malformed()))
            .transpose()?;
        let mut body = Vec::new();
        match length {
            Some(length) if length <= MAX_ANSWER => {
                body.resize(length as usize, 0);
                self.stream.read_exact(&mut body)?;
            }
            Some(_) => return Err(malformed()),
            None => {
                (&mut self.stream).take(MAX_ANSWER).read_to_end(&mut body)?;
            }
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The connection itself, e.g. to write what no well-formed request holds.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream.get_mut()
    }
}
