//! One linker set-up for every guest here: WASI 0.2 (sync) and wasi:http, nothing else.

use wasmtime::component::Linker;
use wasmtime::{Engine, Result};
use wasmtime_wasi::WasiView;
use wasmtime_wasi_http::WasiHttpView;

/// A linker with wasi:cli, wasi:clocks, wasi:filesystem, wasi:random, wasi:io, wasi:sockets and
/// wasi:http, for stores of `T` (e.g. [`WasiHost`](crate::WasiHost)).
pub fn wasi_http_linker<T: WasiView + WasiHttpView + 'static>(
    engine: &Engine,
) -> Result<Linker<T>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    Ok(linker)
}
