//! [`Platform`] and [`FilePlatform`] over WASI 0.3: wasi:clocks, wasi:random, wasi:filesystem and
//! wasi:http/client, every wait on the host raced against the deadline (`within`). The waits are
//! awaits: while one call waits for Entra, the instance runs the others.

use crate::prelude::*;

use super::bindings::wasi::clocks::{monotonic_clock, system_clock};
use super::bindings::wasi::filesystem::preopens;
use super::bindings::wasi::filesystem::types::{
    DescriptorFlags, ErrorCode as FileErrorCode, OpenFlags, PathFlags,
};
use super::bindings::wasi::http::client;
use super::bindings::wasi::http::types::{HeaderError, Request, Response};
use super::bindings::wasi::random::random;
use super::bindings::{wit_future, wit_stream};
use super::within::{by_deadline, while_writing};
use crate::component::http_common::{
    describe_http_error, refuse_declared_length, request_fields, request_options, response_headers,
    set_target, too_large,
};
use crate::platform::{
    FilePlatform, FileReadError, HttpRequest, HttpResponse, MAX_RESPONSE_BODY_BYTES, Platform,
};
use crate::preopens::locate;
use crate::retry::NANOS_PER_SECOND;
use crate::text::Seconds;
use core::cell::Cell;
use wit_bindgen::StreamResult;

const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How long reading the token file may take: a local file of a few KiB is read in microseconds;
/// a host that takes longer is stuck, and the call must still end.
const FILE_READ_BOUND_NANOS: u64 = 10 * NANOS_PER_SECOND;

pub struct WasiPlatform;

impl Platform for WasiPlatform {
    // Each call of an `async func` export is a task of its own: they overlap.
    const CALLS_OVERLAP: bool = true;

    fn now(&mut self) -> u64 {
        // Before 1970 only on a broken clock; then as at the epoch.
        u64::try_from(system_clock::now().seconds).unwrap_or(0)
    }

    fn monotonic_nanos(&mut self) -> u64 {
        monotonic_clock::now()
    }

    async fn sleep(&mut self, nanos: u64) {
        monotonic_clock::wait_for(nanos).await;
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
        let bound_nanos = request.deadline.saturating_sub(monotonic_clock::now());
        // What was awaited when the deadline came, for the message.
        let waiting_for = Cell::new(Waiting::Response);
        let exchange = async {
            let response = send_request(request, &waiting_for).await?;
            read_response(response, &waiting_for).await
        };
        by_deadline(request.deadline, exchange)
            .await
            .unwrap_or_else(|| {
                let what = match waiting_for.get() {
                    Waiting::Response => "no response came".to_owned(),
                    Waiting::ResponseAfterPartOfTheBody => {
                        "the host took no more of the request body".to_owned()
                    }
                    Waiting::Body(status) => {
                        format!("the response body (HTTP {status}) did not end")
                    }
                };
                Err(format!(
                    "{what} within {} s; the request was dropped (the host's HTTP client had \
                     not ended it)",
                    Seconds(bound_nanos)
                ))
            })
    }
}

impl FilePlatform for WasiPlatform {
    async fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FileReadError> {
        let preopens = preopens::get_directories();
        let Some(located) = locate(path, preopens.iter().map(|(_, name)| name.as_str())) else {
            let granted = preopens.into_iter().map(|(_, name)| name).collect();
            return Err(FileReadError::NotPreopened(granted));
        };
        let directory = &preopens[located.preopen].0;
        let read = async {
            // Read-only: the component asks for nothing else, so a host may grant no more.
            let file = directory
                .open_at(
                    PathFlags::SYMLINK_FOLLOW,
                    located.relative.clone(),
                    OpenFlags::empty(),
                    DescriptorFlags::READ,
                )
                .await
                .map_err(file_error)?;
            let (mut contents, _ended) = file.read_via_stream(0);
            let mut bytes = Vec::new();
            // Never asks for more than one byte past the limit; the stream's end (or a host
            // that gives nothing) ends the loop.
            while bytes.len() <= limit {
                let wanted = READ_CHUNK_BYTES.min(limit + 1 - bytes.len());
                let (result, chunk) = contents.read(Vec::with_capacity(wanted)).await;
                bytes.extend_from_slice(&chunk);
                match result {
                    StreamResult::Complete(read) if read > 0 => {}
                    _ => break,
                }
            }
            Ok(bytes)
        };
        let deadline = monotonic_clock::now().saturating_add(FILE_READ_BOUND_NANOS);
        by_deadline(deadline, read).await.unwrap_or_else(|| {
            Err(FileReadError::Other(format!(
                "the host did not finish reading it within {} s",
                Seconds(FILE_READ_BOUND_NANOS)
            )))
        })
    }
}

/// What an exchange waits for, to say which part did not come by the deadline.
#[derive(Clone, Copy)]
enum Waiting {
    Response,
    /// The response, once the host stopped taking the request body before its end.
    ResponseAfterPartOfTheBody,
    /// The end of the body of a response of this status.
    Body(u16),
}

/// Sends the request, writing its body while the host takes it, and returns the response head.
async fn send_request(
    request: &HttpRequest,
    waiting_for: &Cell<Waiting>,
) -> Result<Response, String> {
    let headers = request_fields(request, header_error)?;
    let options = request_options(request);
    // No trailers: the writer's default, sent when it is dropped.
    let (trailers, no_trailers) = wit_future::new(|| Ok(None));
    drop(trailers);
    let (mut body, contents) = wit_stream::new::<u8>();
    let has_body = !request.body.is_empty();
    let (outgoing, _transmitted) = Request::new(
        headers,
        has_body.then_some(contents),
        no_trailers,
        Some(options),
    );
    set_target(&outgoing, request)?;
    let write = async {
        if has_body {
            let unsent = body.write_all(request.body.clone()).await;
            if !unsent.is_empty() {
                waiting_for.set(Waiting::ResponseAfterPartOfTheBody);
            }
        }
        // Dropping the writer ends the body.
        drop(body);
    };
    // The server's answer counts even when the body was not all taken: a server that answers
    // before reading the body (or once it has the declared length) can leave the write unfinished,
    // and asking again would cost another token request.
    let (response, _written) = while_writing(client::send(outgoing), write).await;
    response.map_err(|error| describe_http_error(&error))
}

/// Reads the whole response, refusing bodies over the size limit.
async fn read_response(
    response: Response,
    waiting_for: &Cell<Waiting>,
) -> Result<HttpResponse, String> {
    let status = response.get_status_code();
    let headers = response_headers(response.get_headers().copy_all());
    refuse_declared_length(status, &headers)?;
    waiting_for.set(Waiting::Body(status));
    let (done, read_done) = wit_future::new(|| Ok(()));
    let (mut contents, trailers) = Response::consume_body(response, read_done);
    let mut body = Vec::new();
    loop {
        // Never asks for more than one byte past the limit, so the buffer stays bounded.
        let wanted = READ_CHUNK_BYTES.min(MAX_RESPONSE_BODY_BYTES + 1 - body.len());
        let (result, chunk) = contents.read(Vec::with_capacity(wanted)).await;
        body.extend_from_slice(&chunk);
        if body.len() > MAX_RESPONSE_BODY_BYTES {
            return Err(too_large(status));
        }
        match result {
            StreamResult::Complete(_) => {}
            StreamResult::Dropped | StreamResult::Cancelled => break,
        }
    }
    // The stream ends the same whether the body was whole or cut off; the trailers' future says
    // which.
    if let Err(error) = trailers.await {
        return Err(format!(
            "reading the response body failed: {}",
            describe_http_error(&error)
        ));
    }
    drop(done);
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn file_error(error: FileErrorCode) -> FileReadError {
    match error {
        FileErrorCode::NoEntry => FileReadError::NotFound,
        FileErrorCode::Access | FileErrorCode::NotPermitted | FileErrorCode::ReadOnly => {
            FileReadError::PermissionDenied
        }
        FileErrorCode::IsDirectory => FileReadError::Other("it is a directory".into()),
        FileErrorCode::Other(Some(detail)) => FileReadError::Other(detail),
        // By the case's WIT name where it is one users meet; wit-bindgen's `Debug` would bring
        // string escaping into the component.
        FileErrorCode::Loop => FileReadError::Other("loop".into()),
        FileErrorCode::NameTooLong => FileReadError::Other("name-too-long".into()),
        FileErrorCode::NotDirectory => FileReadError::Other("not-directory".into()),
        FileErrorCode::Io => FileReadError::Other("io".into()),
        _ => FileReadError::Other("wasi:filesystem error".into()),
    }
}

/// The case name in wasi:http's WIT, written out for the reason given at `words::wit_name`.
fn header_error(error: &HeaderError) -> &'static str {
    match error {
        HeaderError::InvalidSyntax => "invalid-syntax",
        HeaderError::Forbidden => "forbidden",
        HeaderError::Immutable => "immutable",
        HeaderError::SizeExceeded => "size-exceeded",
        HeaderError::Other(_) => "other",
    }
}
