//! Calling a guest's `wasi:http/incoming-handler` as a `wasi:http/proxy` host does: the
//! token bridge and the composition tests' Spin app are served this way.

use crate::WasiHost;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use std::sync::{Arc, Mutex};
use wasmtime::{Result, Store};
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::sync::Proxy;
use wasmtime_wasi_http::{WasiHttpHooks, WasiHttpView};

/// Hands `request` to the guest's `handle` and returns its response with the body, which the
/// guest must have finished before returning (at most `max_body` bytes).
pub fn handle_request<H: WasiHttpHooks + Send + 'static>(
    store: &mut Store<WasiHost<H>>,
    proxy: &Proxy,
    request: http::Request<BoxBody<Bytes, ErrorCode>>,
    max_body: usize,
) -> Result<(http::response::Parts, Bytes)> {
    let request = store
        .data_mut()
        .http()
        .new_incoming_request::<BoxBody<Bytes, ErrorCode>>(Scheme::Http, request)?;
    let answered = Arc::new(Mutex::new(None));
    let slot = answered.clone();
    let out = store
        .data_mut()
        .http()
        .new_response_outparam_from_callback(move |response| {
            *slot.lock().unwrap() = Some(response);
        })?;
    proxy
        .wasi_http_incoming_handler()
        .call_handle(&mut *store, request, out)?;
    let response = answered
        .lock()
        .unwrap()
        .take()
        .ok_or_else(|| wasmtime::format_err!("the guest set no response"))?
        .map_err(|error| wasmtime::format_err!("the guest answered an error: {error:?}"))?;
    let (parts, body) = response.into_parts();
    let body = wasmtime_wasi::runtime::in_tokio(Limited::new(body, max_body).collect())
        .map_err(|error| wasmtime::format_err!("reading the guest's response body: {error}"))?
        .to_bytes();
    Ok((parts, body))
}
