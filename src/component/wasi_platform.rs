//! [`Platform`] over wasi:clocks, wasi:random and wasi:http, and [`FilePlatform`] over
//! wasi:filesystem (not in the token bridge's variant, whose world has no filesystem).
//! The timeouts and the deadline come from the core; this layer only applies them. Every wait on
//! the host (the response, each body chunk, each write) is a poll together with a timer at the
//! deadline: the host's HTTP client may ignore the timeouts, the deadline still holds.

use crate::prelude::*;

use super::http_common::{
    describe_http_error, refuse_declared_length, request_fields, request_options, response_headers,
    set_target, too_large,
};
use super::wasi::clocks::{monotonic_clock, wall_clock};
#[cfg(not(feature = "via-bridge"))]
use super::wasi::filesystem::preopens;
#[cfg(not(feature = "via-bridge"))]
use super::wasi::filesystem::types::{
    DescriptorFlags, ErrorCode as FileErrorCode, OpenFlags, PathFlags,
};
use super::wasi::http::outgoing_handler;
use super::wasi::http::types::{
    HeaderError, IncomingBody, IncomingResponse, OutgoingBody, OutgoingRequest,
};
use super::wasi::io::poll::{Pollable, poll};
use super::wasi::io::streams::{OutputStream, StreamError};
use super::wasi::random::random;
#[cfg(not(feature = "via-bridge"))]
use crate::platform::{FilePlatform, FileReadError};
use crate::platform::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY_BYTES, Platform};
#[cfg(not(feature = "via-bridge"))]
use crate::preopens::locate;
use crate::text::Seconds;

/// `blocking-write-and-flush` accepts at most 4096 bytes a call.
const WRITE_CHUNK_BYTES: usize = 4096;
const READ_CHUNK_BYTES: u64 = 64 * 1024;

pub struct WasiPlatform;

impl Platform for WasiPlatform {
    // A WASI 0.2 export takes the instance for the whole call.
    const CALLS_OVERLAP: bool = false;

    fn now(&mut self) -> u64 {
        wall_clock::now().seconds
    }

    fn monotonic_nanos(&mut self) -> u64 {
        monotonic_clock::now()
    }

    async fn sleep(&mut self, nanos: u64) {
        monotonic_clock::subscribe_duration(nanos).block();
    }

    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0; 16];
        let random = random::get_random_bytes(16);
        // A host that returns fewer bytes than asked gets a less random request id, not a trap.
        let len = random.len().min(bytes.len());
        bytes[..len].copy_from_slice(&random[..len]);
        bytes
    }

    async fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let bound = Bound {
            deadline: request.deadline,
            nanos: request.deadline.saturating_sub(monotonic_clock::now()),
        };
        let response = send_request(request, bound)?;
        read_response(response, bound)
    }
}

#[cfg(not(feature = "via-bridge"))]
impl FilePlatform for WasiPlatform {
    async fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FileReadError> {
        let preopens = preopens::get_directories();
        let Some(located) = locate(path, preopens.iter().map(|(_, name)| name.as_str())) else {
            let granted = preopens.into_iter().map(|(_, name)| name).collect();
            return Err(FileReadError::NotPreopened(granted));
        };
        let directory = &preopens[located.preopen].0;
        // Read-only: the component asks for nothing else, so a host may grant no more.
        let file = directory
            .open_at(
                PathFlags::SYMLINK_FOLLOW,
                &located.relative,
                OpenFlags::empty(),
                DescriptorFlags::READ,
            )
            .map_err(file_error)?;
        let mut bytes = Vec::new();
        // Never asks for more than one byte past the limit; an empty read ends the loop even
        // from a host that never says end-of-file.
        while bytes.len() <= limit {
            let wanted = READ_CHUNK_BYTES.min((limit + 1 - bytes.len()) as u64);
            let (chunk, end) = file.read(wanted, bytes.len() as u64).map_err(file_error)?;
            bytes.extend_from_slice(&chunk);
            if end || chunk.is_empty() {
                break;
            }
        }
        Ok(bytes)
    }
}

/// The monotonic time by which the exchange must be over, and how long that was from its start
/// (for the message).
#[derive(Clone, Copy)]
struct Bound {
    deadline: u64,
    nanos: u64,
}

impl Bound {
    /// Waits until `pollable` is ready or the deadline passes; `false` when time ran out. The
    /// clock is read first, so that a host reporting ready with nothing to read or write cannot
    /// keep a loop spinning past the deadline.
    fn ready(&self, pollable: &Pollable) -> bool {
        if monotonic_clock::now() >= self.deadline {
            return false;
        }
        let timer = monotonic_clock::subscribe_instant(self.deadline);
        poll(&[pollable, &timer]).contains(&0)
    }

    /// What to report when time ran out: `what` happened within the bound.
    fn stalled(&self, what: &str) -> String {
        format!(
            "{what} within {} s; the request was dropped (the host's HTTP client had not \
             ended it)",
            Seconds(self.nanos)
        )
    }
}

fn send_request(request: &HttpRequest, bound: Bound) -> Result<IncomingResponse, String> {
    let outgoing = OutgoingRequest::new(request_fields(request, header_error)?);
    set_target(&outgoing, request)?;
    let body = outgoing
        .body()
        .map_err(|()| "the host refused the request body".to_owned())?;
    let options = request_options(request);

    // Sent before the body is written: the host consumes the body while it sends.
    let future_response = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|error| describe_http_error(&error))?;
    // A GET's body is empty: written as nothing and finished, as the token bridge takes it.
    let sent = write_body(body, &request.body, bound);
    // Dropping the future (on return) drops the request: a stalled one ends here.
    let arrived = bound.ready(&future_response.subscribe());
    // When sending failed (e.g. the connection was refused), the response says why; the body
    // stream only knows it was closed.
    match future_response.get() {
        // The server's answer counts even when the body's write or finish failed: a server that
        // answers and closes once it has the declared length (or before reading the body at all)
        // can leave the host's end of the body failing, and asking again would cost another
        // token request (seen under `wasmtime serve`).
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(error))) => Err(describe_http_error(&error)),
        Some(Err(())) => Err("the host lost the response".into()),
        None => Err(match sent {
            Err(stalled_writing) => stalled_writing,
            Ok(()) if !arrived => bound.stalled("no response came"),
            Ok(()) => "the host reported no response after the wait".into(),
        }),
    }
}

fn write_body(body: OutgoingBody, bytes: &[u8], bound: Bound) -> Result<(), String> {
    {
        let stream = body
            .write()
            .map_err(|()| "the host refused the request body stream".to_owned())?;
        write_all(&stream, bytes, bound)?;
    }
    OutgoingBody::finish(body, None).map_err(|error| describe_http_error(&error))
}

/// Writes `bytes` and waits for the flush, each wait bounded: a host that never takes the body
/// (a connection stuck before TLS completes) must not hold the call.
fn write_all(stream: &OutputStream, bytes: &[u8], bound: Bound) -> Result<(), String> {
    let failed = |error| format!("sending the request body failed: {}", stream_error(error));
    let writable = stream.subscribe();
    let mut rest = bytes;
    let mut flushing = false;
    loop {
        let permitted = match stream.check_write() {
            Ok(permitted) => permitted,
            // The host closes the stream once it has the declared content-length: all sent.
            Err(StreamError::Closed) if rest.is_empty() => return Ok(()),
            Err(error) => return Err(failed(error)),
        };
        if permitted > 0 && rest.is_empty() && flushing {
            return Ok(());
        }
        if permitted > 0 && !rest.is_empty() {
            let length = rest.len().min(WRITE_CHUNK_BYTES).min(permitted as usize);
            stream.write(&rest[..length]).map_err(failed)?;
            rest = &rest[length..];
        } else if permitted > 0 {
            stream.flush().map_err(failed)?;
            flushing = true;
        } else if !bound.ready(&writable) {
            return Err(bound.stalled("the host took no more of the request body"));
        }
    }
}

/// Reads the whole response, refusing bodies over the size limit and giving up at the deadline,
/// so a body dripping in under the between-bytes timeout, or not at all, still ends.
fn read_response(response: IncomingResponse, bound: Bound) -> Result<HttpResponse, String> {
    let status = response.status();
    let headers = response_headers(response.headers().entries());
    refuse_declared_length(status, &headers)?;
    let incoming = response
        .consume()
        .map_err(|()| "the host refused the response body".to_owned())?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| "the host refused the response body stream".to_owned())?;
        let readable = stream.subscribe();
        loop {
            // Never asks for more than one byte past the limit, so the buffer stays bounded.
            let wanted = READ_CHUNK_BYTES.min((MAX_RESPONSE_BODY_BYTES + 1 - body.len()) as u64);
            match stream.read(wanted) {
                Ok(chunk) if chunk.is_empty() => {
                    if !bound.ready(&readable) {
                        let what = format!("the response body (HTTP {status}) did not end");
                        return Err(bound.stalled(&what));
                    }
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(error) => {
                    return Err(format!(
                        "reading the response body failed: {}",
                        stream_error(error)
                    ));
                }
            }
            if body.len() > MAX_RESPONSE_BODY_BYTES {
                return Err(too_large(status));
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn stream_error(error: StreamError) -> String {
    match error {
        StreamError::Closed => "the stream closed early".to_owned(),
        StreamError::LastOperationFailed(error) => error.to_debug_string(),
    }
}

#[cfg(not(feature = "via-bridge"))]
fn file_error(error: FileErrorCode) -> FileReadError {
    match error {
        FileErrorCode::NoEntry => FileReadError::NotFound,
        FileErrorCode::Access | FileErrorCode::NotPermitted | FileErrorCode::ReadOnly => {
            FileReadError::PermissionDenied
        }
        FileErrorCode::IsDirectory => FileReadError::Other("it is a directory".into()),
        // The WIT case name: wit-bindgen's `Debug` prints the case's doc comment too, and brought
        // str escaping and the formatter's struct machinery (with the header error's, 6.3 KB).
        other => FileReadError::Other(other.name().into()),
    }
}

/// The case name in wasi:http's WIT, written out for the reason given at `words::wit_name`.
fn header_error(error: &HeaderError) -> &'static str {
    match error {
        HeaderError::InvalidSyntax => "invalid-syntax",
        HeaderError::Forbidden => "forbidden",
        HeaderError::Immutable => "immutable",
    }
}
