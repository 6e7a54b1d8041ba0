//! The smallest HTTP/1.1 client for a server on this machine: one request on a connection of its
//! own. The `--probe` command, the benchmark and the tests ask the bridge with it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Answers larger than this are not the bridge's.
const MAX_ANSWER: u64 = 1024 * 1024;

/// Sends `method target` with `headers` (and `host`, `connection: close`) and returns the
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

/// An HTTP answer: its status, its header fields in order, and its body.
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
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let malformed = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(malformed)?;
    let head = std::str::from_utf8(&answer[..split]).map_err(|_| malformed())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|status_line| status_line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(malformed)?;
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').ok_or_else(malformed)?;
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect::<std::io::Result<_>>()?;
    Ok(Answer {
        status,
        headers,
        body: answer[split + 4..].to_vec(),
    })
}
