//! The store's data for a WASI 0.2 guest with wasi:http.

use wasmtime::component::ResourceTable;
use wasmtime::{Result, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// A store's data for a WASI 0.2 guest with wasi:http: its contexts and resources, where its
/// requests go (`hooks`, e.g. an [`Authority`](crate::Authority)), and how large its memory grew.
pub struct WasiHost<H> {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: H,
    memory: MemoryWatch,
}

impl<H> WasiHost<H> {
    /// A guest's state with the WASI context `wasi`, its HTTP requests handed to `hooks`.
    pub fn new(wasi: WasiCtx, hooks: H) -> WasiHost<H> {
        WasiHost {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            memory: MemoryWatch::default(),
        }
    }

    /// The resource table and the hooks together, for hosts of further interfaces whose state
    /// lives in the hooks (the tests' shared wasi:keyvalue store).
    pub fn table_and_hooks(&mut self) -> (&mut ResourceTable, &mut H) {
        (&mut self.table, &mut self.hooks)
    }

    /// Makes `store` record how large its linear memories grow.
    pub fn watch_memory(store: &mut Store<WasiHost<H>>) {
        store.limiter(|state| &mut state.memory);
    }

    /// The size of the largest linear memory the guest ever grew to, in bytes (0 unless
    /// [`watch_memory`](Self::watch_memory) was called).
    pub fn largest_memory_bytes(&self) -> usize {
        self.memory.largest_bytes
    }
}

/// Allows every growth and remembers the largest linear memory asked for.
#[derive(Default)]
struct MemoryWatch {
    largest_bytes: usize,
}

impl wasmtime::ResourceLimiter for MemoryWatch {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        self.largest_bytes = self.largest_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        Ok(true)
    }
}

impl<H: Send + 'static> WasiView for WasiHost<H> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl<H: WasiHttpHooks + 'static> WasiHttpView for WasiHost<H> {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
