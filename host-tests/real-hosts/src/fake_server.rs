//! A fake service as a real host's HTTP client reaches it: HTTP/1.1 on a loopback port, plain or
//! over TLS, one request per connection. Each request is read into a [`RecordedRequest`] and
//! answered by the service's handler.
//!
//! Every thread it starts ends when the server is dropped, or after
//! [`MAX_LIFETIME`](host_tests::acceptor::MAX_LIFETIME) at the latest.

use host_tests::acceptor::Acceptor;
use host_tests::{FakeResponse, RecordedRequest, handshake, read_request_from, write_head};
use rustls::ServerConfig;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// How long one read or write of a connection may wait.
const IO_BOUND: Duration = Duration::from_secs(10);

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
        let acceptor = Acceptor::start_on(address, move |tcp, _| {
            let (tls, handler) = (tls.clone(), handler.clone());
            std::thread::spawn(move || {
                let _ = serve(tcp, tls, &*handler);
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
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(IO_BOUND))?;
    tcp.set_write_timeout(Some(IO_BOUND))?;
    let Some(config) = tls else {
        return exchange(&mut tcp, "http", handler);
    };
    let mut connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    // A client that refuses the certificate ends here, before any request.
    handshake(&mut connection, &mut tcp)?;
    exchange(
        &mut rustls::Stream::new(&mut connection, &mut tcp),
        "https",
        handler,
    )?;
    connection.send_close_notify();
    connection.complete_io(&mut tcp).map(|_| ())
}

/// Reads one request, records it under `scheme://host/target` and writes the handler's answer.
fn exchange(
    stream: &mut (impl Read + Write),
    scheme: &str,
    handler: &Handler,
) -> std::io::Result<()> {
    let Some(request) = read_request_from(&mut BufReader::new(&mut *stream))? else {
        return Ok(());
    };
    let mut line = request.request_line.split(' ');
    let (method, target) = (line.next().unwrap_or_default(), line.next().unwrap_or("/"));
    let host = request
        .headers
        .iter()
        .find(|(name, _)| name == "host")
        .map_or("", |(_, value)| value.as_str());
    let recorded = RecordedRequest::from_parts(
        method,
        &format!("{scheme}://{host}{target}"),
        request.headers.clone(),
        &request.body,
    );
    let Some(response) = handler(recorded) else {
        return Ok(());
    };
    let mut headers = vec![("content-type".to_owned(), response.content_type)];
    headers.extend(response.headers);
    write_head(stream, response.status, &headers, response.body.len())?;
    stream.write_all(response.body.as_bytes())?;
    stream.flush()
}
