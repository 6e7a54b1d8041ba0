//! Where the credential's token requests go.

use crate::network::{ResponseFuture, send_over_network};
use crate::token_proxy::TokenProxyTls;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// The Microsoft Entra ID a host's credential talks to.
#[derive(Clone)]
pub enum Authority {
    /// Microsoft Entra ID (or `AZURE_AUTHORITY_HOST`), over the network; requests to the AKS
    /// token proxy, when one is set, with its TLS settings ([`Authority::network_from_env`]).
    Network(Option<TokenProxyTls>),
    /// A fake Microsoft Entra ID answering in-process: demos and tests, no Azure needed.
    #[cfg(feature = "fake-authority")]
    Fake(crate::fake_authority::FakeEntra),
}

impl Authority {
    /// The network, with the AKS token proxy's TLS settings from the variables `env` looks up
    /// (those the credential is given). `Err` names the variable at fault.
    pub fn network_from_env(env: impl Fn(&str) -> Option<String>) -> Result<Authority, String> {
        TokenProxyTls::from_env(env).map(Authority::Network)
    }

    /// Sends, or answers, one of the guest's requests.
    pub fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> ResponseFuture {
        match self {
            Authority::Network(Some(proxy)) if proxy.serves(request.uri()) => {
                proxy.send(request, options)
            }
            Authority::Network(_) => send_over_network(request, options),
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
