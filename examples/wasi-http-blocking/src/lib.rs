//! The blocking wasi:http of the std guest components (the token bridge, the Spin app, the
//! sample app), in one place: send a request and wait for its response, read a body up to a
//! bound, answer an incoming request. The guests map their `wasi:*` imports to [`wasip2`]'s
//! bindings, so these functions take their resources as they are. (The credential is `no_std`
//! with a size goal; it keeps its own, smaller loop.)

use std::io::{Read, Write};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingResponse, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam,
};

pub use wasip2;

/// Sends `request`, with `body` when there is one, and waits for the response's head.
pub fn send(request: OutgoingRequest, body: Option<&[u8]>) -> Result<IncomingResponse, String> {
    let outgoing_body = match body {
        Some(_) => Some(request.body().map_err(|()| "the request body was taken")?),
        None => None,
    };
    let pending =
        outgoing_handler::handle(request, None).map_err(|e| format!("sending failed: {e:?}"))?;
    if let (Some(outgoing_body), Some(bytes)) = (outgoing_body, body) {
        write_body(outgoing_body, bytes)?;
    }
    pending.subscribe().block();
    pending
        .get()
        .ok_or("the response was not ready after waiting for it")?
        .map_err(|()| "the response was already taken")?
        .map_err(|e| format!("the request failed: {e:?}"))
}

/// The whole body of `response`, refused when it holds more than `max_bytes`.
pub fn read_body(response: IncomingResponse, max_bytes: usize) -> Result<Vec<u8>, String> {
    let incoming = response.consume().map_err(|()| "the body was taken")?;
    let bytes = read_all(&incoming, max_bytes)?;
    // The stream is a child of the body: it was dropped in `read_all`, before the body.
    drop(incoming);
    Ok(bytes)
}

fn read_all(incoming: &IncomingBody, max_bytes: usize) -> Result<Vec<u8>, String> {
    let stream = incoming
        .stream()
        .map_err(|()| "the body stream was taken")?;
    let mut bytes = Vec::new();
    // One byte past the bound tells a body at the bound from a larger one.
    stream
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the body: {e}"))?;
    if bytes.len() > max_bytes {
        return Err(format!("the body is larger than {max_bytes} bytes"));
    }
    Ok(bytes)
}

/// Writes `bytes` into `body` and finishes it.
pub fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    // An empty body is only finished: a reader that knows it is empty (the bearer middleware
    // for a GET) may have closed the stream, and a flush would then fail.
    if !bytes.is_empty() {
        let mut stream = body.write().map_err(|()| "the body stream was taken")?;
        stream
            .write_all(bytes)
            .and_then(|()| Write::flush(&mut stream))
            .map_err(|e| format!("writing the body: {e}"))?;
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
