//! A fake service as a real host's or proxy's HTTP client reaches it: HTTP/1.1 on a loopback
//! port, plain or over TLS, with keep-alive (a proxy such as Envoy keeps its upstream connections
//! open). Each request is read into a [`RecordedRequest`] and answered by the service's handler.
//!
//! Every thread it starts ends when the server is dropped (a connection: at its next request or
//! idle timeout), or after [`MAX_LIFETIME`] at the latest.

use crate::acceptor::{Acceptor, MAX_LIFETIME};
use crate::local_server::read_request_from;
use crate::tls_proxy::handshake;
use crate::{FakeResponse, RecordedRequest};
use rustls::ServerConfig;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one read or write of a connection may wait, an idle kept-alive one included.
const IO_BOUND: Duration = Duration::from_secs(30);

/// What a fake answers to a request: a response, or `None` to close the connection unanswered.
pub type Handler = dyn Fn(RecordedRequest) -> Option<FakeResponse> + Send + Sync;

pub struct FakeServer {
    acceptor: Acceptor,
}

impl FakeServer {
    /// Serves on `address` (a loopback address; port 0 for any), over TLS with `tls` when given.
    pub fn start(
        address: SocketAddr,
        tls: Option<Arc<ServerConfig>>,
        handler: Arc<Handler>,
    ) -> std::io::Result<FakeServer> {
        assert!(
            address.ip().is_loopback(),
            "a fake serves on loopback only, not {address}"
        );
        let acceptor = Acceptor::start_on(address, move |tcp, stop| {
            let (tls, handler, stop) = (tls.clone(), handler.clone(), stop.clone());
            std::thread::spawn(move || {
                let _ = serve(tcp, tls, &*handler, &stop);
            });
        })?;
        Ok(FakeServer { acceptor })
    }

    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }
}

fn serve(
    mut tcp: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    handler: &Handler,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(IO_BOUND))?;
    tcp.set_write_timeout(Some(IO_BOUND))?;
    // Each answer is one write, sent at once: with Nagle's algorithm a client's delayed ACK
    // would hold it 40 ms.
    tcp.set_nodelay(true)?;
    let Some(config) = tls else {
        return exchanges(&mut tcp, "http", handler, stop);
    };
    let mut connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    // A client that refuses the certificate ends here, before any request.
    handshake(&mut connection, &mut tcp)?;
    exchanges(
        &mut rustls::Stream::new(&mut connection, &mut tcp),
        "https",
        handler,
        stop,
    )?;
    connection.send_close_notify();
    connection.complete_io(&mut tcp).map(|_| ())
}

/// Reads requests until the client closes or asks to, records each under `scheme://host/target`
/// and writes the handler's answer.
fn exchanges(
    stream: &mut (impl Read + Write),
    scheme: &str,
    handler: &Handler,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let started = Instant::now();
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
        let Some(request) = read_request_from(&mut reader)? else {
            return Ok(());
        };
        let close = request
            .header_values("connection")
            .iter()
            .any(|value| value.eq_ignore_ascii_case("close"))
            || request.request_line.ends_with("HTTP/1.0");
        let mut line = request.request_line.split(' ');
        let (method, target) = (line.next().unwrap_or_default(), line.next().unwrap_or("/"));
        let host = request.header_values("host").first().copied().unwrap_or("");
        let recorded = RecordedRequest::from_parts(
            method,
            &format!("{scheme}://{host}{target}"),
            request.headers.clone(),
            &request.body,
        );
        let Some(response) = handler(recorded) else {
            return Ok(());
        };
        let mut answer = format!(
            "HTTP/1.1 {} Status\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
            response.status,
            response.content_type,
            response.body.len()
        );
        if close {
            answer.push_str("connection: close\r\n");
        }
        for (name, value) in &response.headers {
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
        answer.push_str("\r\n");
        answer.push_str(&response.body);
        let stream = reader.get_mut();
        stream.write_all(answer.as_bytes())?;
        stream.flush()?;
        if close {
            return Ok(());
        }
    }
    Ok(())
}
