//! Where the credential's token requests go.

use crate::network::{ResponseFuture, send_over_network};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// The Microsoft Entra ID a host's credential talks to.
#[derive(Clone)]
pub enum Authority {
    /// Microsoft Entra ID (or `AZURE_AUTHORITY_HOST`), over the network.
    Network,
    /// A fake Microsoft Entra ID answering in-process: demos and tests, no Azure needed.
    #[cfg(feature = "fake-authority")]
    Fake(crate::fake_authority::FakeEntra),
}

impl Authority {
    /// Sends, or answers, one of the guest's requests.
    pub fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> ResponseFuture {
        match self {
            Authority::Network => send_over_network(request, options),
            #[cfg(feature = "fake-authority")]
            Authority::Fake(fake) => fake.answer(request, options),
        }
    }
}

/// Every request the guest sends goes to the authority.
impl WasiHttpHooks for Authority {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        self.send(request, options)
    }
}
