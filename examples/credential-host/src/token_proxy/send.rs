//! One request over TLS with a given configuration and server name. wasmtime-wasi-http's own
//! client (`default_send_request`) fixes its TLS to the public roots and the URL's host, so this
//! is that client's behaviour with the TLS made configurable: the connect, first-byte and
//! between-bytes timeouts of the guest's request options (600 s each when unset), HTTP/1.1, and
//! its error codes. One difference: the TLS handshake counts toward the connect timeout, which
//! that client leaves unbounded, so a proxy that accepts and never answers cannot hold a request.

use crate::network::SentResponse;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, timeout, timeout_at};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// wasmtime-wasi-http's default for each timeout the request options leave unset.
const UNSET_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends `request` to its URI's host and port over TLS with `config`, naming `server_name`.
/// `what` names the connection ("TLS with the token proxy …"), for TLS failures.
pub(super) async fn send_over_tls(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    what: String,
) -> wasmtime_wasi_http::Result<SentResponse> {
    let limit = |pick: fn(&RequestOptions) -> Option<Duration>| {
        options.as_ref().and_then(pick).unwrap_or(UNSET_TIMEOUT)
    };
    let connect_timeout = limit(|o| o.connect_timeout);
    let first_byte_timeout = limit(|o| o.first_byte_timeout);
    let between_bytes = limit(|o| o.between_bytes_timeout).max(Duration::from_nanos(1));

    let uri = request.uri();
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?;
    let address = format!("{host}:{}", uri.port_u16().unwrap_or(443));
    let connected_by = Instant::now() + connect_timeout;
    let tcp = timeout_at(connected_by, TcpStream::connect(&address))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Connect)?;
    let tls = timeout_at(
        connected_by,
        tokio_rustls::TlsConnector::from(config).connect(server_name, tcp),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)?
    .map_err(|error| tls_failure(error, &what))?;
    let (mut sender, connection) = timeout_at(
        connected_by,
        hyper::client::conn::http1::handshake(TokioIo::new(tls)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // The request line carries only the path: the URI's scheme and authority are for a
    // forward proxy, which this connection is not.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    // The connection must be driven while the response is awaited; it is handed back to
    // wasmtime-wasi-http afterwards to carry the body.
    let mut connection = Some(Box::pin(connection));
    let mut response = std::pin::pin!(sender.send_request(request));
    let answered = std::future::poll_fn(|cx| {
        if let Poll::Ready(answer) = response.as_mut().poll(cx) {
            return Poll::Ready(answer.map_err(Error::from));
        }
        let Some(driving) = connection.as_mut() else {
            return Poll::Pending;
        };
        let ended = ready!(driving.as_mut().poll(cx));
        connection = None;
        match ended {
            Ok(()) => response.as_mut().poll(cx).map_err(Error::from),
            Err(error) => Poll::Ready(Err(Error::from(error))),
        }
    });
    let response = timeout(first_byte_timeout, answered)
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;

    let response = response.map(|incoming| {
        BetweenBytes {
            incoming,
            wait: between_bytes,
            timer: Box::pin(tokio::time::sleep(between_bytes)),
        }
        .boxed_unsync()
    });
    let io = async move {
        match connection {
            Some(connection) => connection.await.map_err(body_error),
            None => Ok(()),
        }
    };
    Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
}

/// A certificate the proxy's CA does not vouch for, a name it is not valid for: said in words
/// (`internal-error` is the one wasi:http code with room for them), with what was trusted.
/// Other TLS failures keep wasmtime-wasi-http's mapping.
fn tls_failure(error: std::io::Error, what: &str) -> Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => Error::InternalError(Some(format!("{what} failed: {tls}"))),
        None => Error::Tls(error),
    }
}

fn body_error(error: hyper::Error) -> Error {
    if error.is_timeout() {
        Error::HttpResponseTimeout
    } else {
        Error::from(error)
    }
}

/// The response body, failing with `connection-read-timeout` when no frame comes for `wait`.
struct BetweenBytes {
    incoming: Incoming,
    wait: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer.as_mut().reset(Instant::now() + this.wait);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(body_error(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(this.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
