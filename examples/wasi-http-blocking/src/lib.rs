//! The blocking wasi:http of the std guest components (the token bridge, the Spin app, the
//! sample app), in one place: send a request and wait for its response, read a body up to a
//! bound, answer an incoming request. The guests map their `wasi:*` imports to [`wasip2`]'s
//! bindings, so these functions take their resources as they are. The streams are read and
//! written with wasi's own blocking calls rather than wasip2's `std::io` impls, which make more
//! host calls (measured: 7% more instructions a request of the sample app). (The credential is
//! `no_std` with a size goal; it keeps its own, smaller loop.)

use std::time::Duration;
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingResponse, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::StreamError;

pub use wasip2;

/// When an exchange must be over, on the monotonic clock: the wait for the response and each
/// wait for body bytes are polled together with a timer at it, so a host whose HTTP client
/// applies no timeout (wasmtime's puts none on the TLS handshake) still cannot hold the guest
/// longer. (Writing a request body still uses `blocking-write-and-flush`: the guests send a few
/// hundred bytes at most, which wasmtime buffers whatever the connection does.)
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: u64,
    bound: Duration,
}

impl Deadline {
    /// `bound` from now.
    pub fn after(bound: Duration) -> Deadline {
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Deadline {
            at: monotonic_clock::now().saturating_add(nanos),
            bound,
        }
    }

    /// Waits until `pollable` is ready or the deadline passes; `false` when time ran out. The
    /// clock is read first, so a host reporting ready with nothing to read cannot keep a loop
    /// spinning past the deadline.
    fn ready(&self, pollable: &Pollable) -> bool {
        if monotonic_clock::now() >= self.at {
            return false;
        }
        let timer = monotonic_clock::subscribe_instant(self.at);
        poll(&[pollable, &timer]).contains(&0)
    }

    fn passed(&self, what: &str) -> String {
        format!(
            "{what} within {:.1} s; the request was dropped (the host's HTTP client had not ended \
             it)",
            self.bound.as_secs_f64()
        )
    }
}

/// Sends `request`, with `body` when there is one, and waits for the response's head until
/// `deadline`; then the request is dropped and the error says so.
pub fn send(
    request: OutgoingRequest,
    body: Option<&[u8]>,
    deadline: Deadline,
) -> Result<IncomingResponse, String> {
    let outgoing_body = match body {
        Some(_) => Some(request.body().map_err(|()| "the request body was taken")?),
        None => None,
    };
    let pending =
        outgoing_handler::handle(request, None).map_err(|e| format!("sending failed: {e:?}"))?;
    let written = match (outgoing_body, body) {
        (Some(outgoing_body), Some(bytes)) => write_body(outgoing_body, bytes),
        _ => Ok(()),
    };
    if !deadline.ready(&pending.subscribe()) {
        written?;
        return Err(deadline.passed("no response came"));
    }
    // An answer counts even when writing or finishing the body failed: a server may answer and
    // close before it reads the body, or once it has the declared length, and the host's end of
    // the body can fail then (the credential takes such answers too). A failed send says why in
    // the response.
    pending
        .get()
        .ok_or("the response was not ready after waiting for it")?
        .map_err(|()| "the response was already taken")?
        .map_err(|e| format!("the request failed: {e:?}"))
}

/// The whole body of `response`, refused when it holds more than `max_bytes` or has not ended
/// by `deadline`.
pub fn read_body(
    response: IncomingResponse,
    max_bytes: usize,
    deadline: Deadline,
) -> Result<Vec<u8>, String> {
    let incoming = response.consume().map_err(|()| "the body was taken")?;
    let bytes = read_all(&incoming, max_bytes, deadline)?;
    // The stream is a child of the body: it was dropped in `read_all`, before the body.
    drop(incoming);
    Ok(bytes)
}

fn read_all(
    incoming: &IncomingBody,
    max_bytes: usize,
    deadline: Deadline,
) -> Result<Vec<u8>, String> {
    let stream = incoming
        .stream()
        .map_err(|()| "the body stream was taken")?;
    let readable = stream.subscribe();
    let mut bytes = Vec::new();
    // Reads each asking for all that may still come (one byte past the bound tells a body at
    // the bound from a larger one): `std::io::Read::read_to_end` would start with small probing
    // reads, a host call each, about 7% more instructions a request. A read finds what has
    // arrived; only when nothing has does it wait, up to the deadline.
    loop {
        let wanted = (max_bytes + 1 - bytes.len()) as u64;
        match stream.read(wanted) {
            Ok(chunk) if chunk.is_empty() => {
                if !deadline.ready(&readable) {
                    return Err(deadline.passed("the body did not end"));
                }
            }
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(error)) => {
                return Err(format!("reading the body: {}", error.to_debug_string()));
            }
        }
        if bytes.len() > max_bytes {
            return Err(format!("the body is larger than {max_bytes} bytes"));
        }
    }
    Ok(bytes)
}

/// Writes `bytes` into `body` and finishes it.
pub fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    {
        let stream = body.write().map_err(|()| "the body stream was taken")?;
        // `blocking-write-and-flush` takes at most 4096 bytes a call: one host call a chunk,
        // where `std::io::Write` would make three (check, write, flush). An empty body writes
        // nothing: a reader that knows it is empty (the bearer middleware, for a GET) may have
        // closed the stream already.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("writing the body: {e:?}"))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| format!("finishing the body: {e:?}"))
}

/// Answers an incoming request: `status`, `headers` (`content-length` is added) and `body`.
/// Once the response is set, a client that went away only ends the writing early; there is no
/// one left to tell.
pub fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])], body: &[u8]) {
    let fields = Fields::new();
    for (name, value) in headers {
        let _ = fields.append(name, value);
    }
    let _ = fields.append("content-length", body.len().to_string().as_bytes());
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    let _ = write_body(outgoing, body);
}

/// `wit_bindgen::generate!` for a std guest's world, with `generate_all` and its `wasi:*`
/// imports mapped to [`wasip2`]'s bindings, which the functions here take. Pass the options
/// (`world`, `path`, …) each followed by a comma:
/// `wasi_http_blocking::generate!(world: "azure:bearer/sample-app", path: ["wit"],);`.
/// The guest depends on wit-bindgen itself, as for a plain `generate!`, and on this crate as
/// `wasi_http_blocking` (wit-bindgen reads the `with` paths as written, so `$crate` cannot
/// stand in them).
#[macro_export]
macro_rules! generate {
    ($($options:tt)*) => {
        wit_bindgen::generate!({
            $($options)*
            with: {
                "wasi:io/error@0.2.12": wasi_http_blocking::wasip2::io::error,
                "wasi:io/poll@0.2.12": wasi_http_blocking::wasip2::io::poll,
                "wasi:io/streams@0.2.12": wasi_http_blocking::wasip2::io::streams,
                "wasi:clocks/monotonic-clock@0.2.12": wasi_http_blocking::wasip2::clocks::monotonic_clock,
                "wasi:http/types@0.2.12": wasi_http_blocking::wasip2::http::types,
            },
            generate_all,
        });
    };
}
