//! The host calls the filter makes, as Envoy answers them.

use crate::abi::{
    deserialize_map, hand_back, read, read_string, serialize_map, write_u32, write_u64,
};
use crate::{Callout, LogLevel, Progress, ROOT_CONTEXT, VmState};
use std::sync::atomic::Ordering;
use wasmtime::{Caller, Linker, Result};

/// proxy-wasm's status codes.
const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const BAD_ARGUMENT: u32 = 2;
const CAS_MISMATCH: u32 = 8;

/// proxy-wasm's map and buffer types.
const HTTP_REQUEST_HEADERS: u32 = 0;
const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
const HTTP_CALL_RESPONSE_BODY: u32 = 4;
const PLUGIN_CONFIGURATION: u32 = 7;

type Host<'a> = Caller<'a, VmState>;

/// The headers of `map` as the effective context sees them; `Err` is the status Envoy answers
/// for a map that is not there (BAD_ARGUMENT, e.g. a callout's headers when it had no answer).
fn map_of(state: &VmState, map: u32) -> Result<Vec<(String, String)>, u32> {
    match map {
        HTTP_REQUEST_HEADERS => state
            .streams
            .get(&state.effective_context)
            .map(|stream| stream.headers.clone())
            .ok_or(BAD_ARGUMENT),
        HTTP_CALL_RESPONSE_HEADERS => state
            .call_response
            .as_ref()
            .map(|(headers, _)| headers.clone())
            .ok_or(BAD_ARGUMENT),
        _ => Err(BAD_ARGUMENT),
    }
}

pub fn add_to_linker(linker: &mut Linker<VmState>) -> Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut host: Host, level: u32, ptr: u32, len: u32| {
            let message = read_string(&mut host, ptr, len)?;
            let level = LogLevel::from_abi(level)
                .ok_or_else(|| wasmtime::format_err!("proxy_log with level {level}"))?;
            host.data_mut().logs.push((level, message));
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut host: Host, at: u32| {
            let now = host.data().clock_nanos.load(Ordering::Relaxed);
            write_u64(&mut host, at, now)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut host: Host, ms: u32| {
            host.data_mut().tick_period_ms = ms;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut host: Host, buffer: u32, start: u32, max: u32, ptr_at: u32, size_at: u32| {
            let bytes = match buffer {
                PLUGIN_CONFIGURATION => host.data().plugin_configuration.clone(),
                HTTP_CALL_RESPONSE_BODY => match &host.data().call_response {
                    Some((_, body)) => body.clone(),
                    None => return Ok(NOT_FOUND),
                },
                _ => return Ok(NOT_FOUND),
            };
            let start = (start as usize).min(bytes.len());
            let end = start.saturating_add(max as usize).min(bytes.len());
            hand_back(&mut host, &bytes[start..end], ptr_at, size_at)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut host: Host, map: u32, key: u32, key_len: u32, ptr_at: u32, size_at: u32| {
            let key = read_string(&mut host, key, key_len)?;
            let headers = match map_of(host.data(), map) {
                Ok(headers) => headers,
                Err(status) => return Ok(status),
            };
            match headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&key))
            {
                Some((_, value)) => {
                    hand_back(&mut host, value.as_bytes(), ptr_at, size_at)?;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut host: Host, map: u32, ptr_at: u32, size_at: u32| {
            let headers = match map_of(host.data(), map) {
                Ok(headers) => headers,
                Err(status) => return Ok(status),
            };
            hand_back(&mut host, &serialize_map(&headers), ptr_at, size_at)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut host: Host, map: u32, key: u32, key_len: u32, value: u32, value_len: u32| {
            let (key, value) = (
                read_string(&mut host, key, key_len)?,
                read_string(&mut host, value, value_len)?,
            );
            let state = host.data_mut();
            let context = state.effective_context;
            match (map, state.streams.get_mut(&context)) {
                // As Envoy: every value of the name goes, one takes their place.
                (HTTP_REQUEST_HEADERS, Some(stream)) => {
                    stream
                        .headers
                        .retain(|(name, _)| !name.eq_ignore_ascii_case(&key));
                    stream.headers.push((key, value));
                    Ok(OK)
                }
                _ => Ok(BAD_ARGUMENT),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut host: Host, key: u32, key_len: u32, ptr_at: u32, size_at: u32, cas_at: u32| {
            let key = read_string(&mut host, key, key_len)?;
            let entry = host.data().shared.0.lock().unwrap().get(&key).cloned();
            match entry {
                Some((value, cas)) => {
                    hand_back(&mut host, &value, ptr_at, size_at)?;
                    write_u32(&mut host, cas_at, cas)?;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut host: Host, key: u32, key_len: u32, value: u32, value_len: u32, cas: u32| {
            let key = read_string(&mut host, key, key_len)?;
            let value = read(&mut host, value, value_len)?;
            let shared = host.data().shared.clone();
            let mut entries = shared.0.lock().unwrap();
            let current = entries.get(&key).map_or(0, |(_, cas)| *cas);
            // As Envoy: 0 writes unconditionally; versions start at 1.
            if cas != 0 && cas != current {
                return Ok(CAS_MISMATCH);
            }
            entries.insert(key, (value, current + 1));
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut host: Host,
         cluster: u32,
         cluster_len: u32,
         headers: u32,
         headers_len: u32,
         _body: u32,
         _body_len: u32,
         _trailers: u32,
         _trailers_len: u32,
         timeout_ms: u32,
         token_at: u32| {
            let cluster = read_string(&mut host, cluster, cluster_len)?;
            let headers = deserialize_map(&read(&mut host, headers, headers_len)?)?;
            let state = host.data_mut();
            // Envoy refuses a callout to a cluster it does not have.
            if !state.clusters.contains(&cluster) {
                return Ok(BAD_ARGUMENT);
            }
            state.next_token += 1;
            // Envoy makes every callout on the plugin's root context, whichever context asks:
            // it answers there, and a request that ends does not cancel it.
            let callout = Callout {
                token: state.next_token,
                asked_by: state.effective_context,
                cluster,
                headers,
                timeout_ms,
            };
            let token = callout.token;
            state.callouts.push(callout);
            write_u32(&mut host, token_at, token)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut host: Host, context: u32| {
            let state = host.data_mut();
            if context != ROOT_CONTEXT && !state.streams.contains_key(&context) {
                return Ok(BAD_ARGUMENT);
            }
            state.effective_context = context;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_continue_stream",
        |mut host: Host, _stream_type: u32| {
            let state = host.data_mut();
            let context = state.effective_context;
            match state.streams.get_mut(&context) {
                Some(stream) if stream.progress == Progress::Paused => {
                    stream.progress = Progress::Continued;
                    Ok(OK)
                }
                Some(_) => Ok(OK),
                None => Ok(BAD_ARGUMENT),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut host: Host,
         status: u32,
         _details: u32,
         _details_len: u32,
         body: u32,
         body_len: u32,
         _headers: u32,
         _headers_len: u32,
         _grpc_status: i32| {
            let body = read_string(&mut host, body, body_len)?;
            let state = host.data_mut();
            let context = state.effective_context;
            match state.streams.get_mut(&context) {
                Some(stream) => {
                    stream.progress = Progress::Answered { status, body };
                    Ok(OK)
                }
                None => Ok(BAD_ARGUMENT),
            }
        },
    )?;
    linker.func_wrap("env", "proxy_done", |_: Host| Ok(OK))?;
    Ok(())
}
