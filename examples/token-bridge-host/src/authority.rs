//! Where the credential's token requests go, counted: every outgoing request of the composition
//! is the credential's, since the bridge itself calls nothing.

use host_tests::{FakeEntra, ResponseFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

#[derive(Clone)]
pub enum Authority {
    /// Microsoft Entra ID (or `AZURE_AUTHORITY_HOST`), over the network.
    Network,
    /// A fake Microsoft Entra answering in-process: demos and tests, no Azure needed.
    Fake(FakeEntra),
}

pub(crate) struct CountingHooks {
    pub authority: Authority,
    pub calls: Arc<AtomicU64>,
}

impl WasiHttpHooks for CountingHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match &self.authority {
            Authority::Fake(fake) => fake.answer(request, options),
            Authority::Network => host_tests::send_over_network(request, options),
        }
    }
}
