//! A fake Azure service (a key vault's data plane, say) on a loopback port, behind a real host or
//! proxy: it records every request, `Authorization` included, and answers each with the same
//! response, or with what a function of the request says (a resource that challenges a token).

use crate::acceptor::lock;
use crate::fake_server::FakeServer;
use crate::{FakeResponse, RecordedRequest, ThrowAwayCa};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// How a service answers each request it recorded.
pub type Answering = dyn Fn(&RecordedRequest) -> FakeResponse + Send + Sync;

/// A Key Vault "list secrets" answer with no secrets: what the fake vaults answer.
pub const UPSTREAM_BODY: &str = r#"{"value":[],"nextLink":null}"#;

pub struct FakeService {
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    server: FakeServer,
}

impl FakeService {
    /// HTTPS on `address` with a certificate for `dns_name` from `ca`: e.g. on 127.0.0.1:443
    /// inside a private network where `dns_name` resolves to 127.0.0.1.
    pub fn https(
        ca: &ThrowAwayCa,
        dns_name: &str,
        address: SocketAddr,
        answer: FakeResponse,
    ) -> FakeService {
        FakeService::start(address, Some(ca), dns_name, always(answer))
    }

    /// [`https`](FakeService::https), answering each request with `answer(request)`.
    pub fn https_answering(
        ca: &ThrowAwayCa,
        dns_name: &str,
        address: SocketAddr,
        answer: Arc<Answering>,
    ) -> FakeService {
        FakeService::start(address, Some(ca), dns_name, answer)
    }

    /// Plain http on an ephemeral port of 127.0.0.1: behind a proxy that adds the TLS (Envoy),
    /// or a host that reaches it only through a test-only reroute.
    pub fn http(answer: FakeResponse) -> FakeService {
        FakeService::http_answering(always(answer))
    }

    /// [`http`](FakeService::http), answering each request with `answer(request)`.
    pub fn http_answering(answer: Arc<Answering>) -> FakeService {
        FakeService::start(SocketAddr::from(([127, 0, 0, 1], 0)), None, "", answer)
    }

    fn start(
        address: SocketAddr,
        ca: Option<&ThrowAwayCa>,
        dns_name: &str,
        answer: Arc<Answering>,
    ) -> FakeService {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recording = requests.clone();
        let server = FakeServer::start(
            address,
            ca.map(|ca| ca.server_config(dns_name)),
            Arc::new(move |request| {
                let answer = answer(&request);
                lock(&recording).push(request);
                Some(answer)
            }),
        )
        .unwrap_or_else(|error| panic!("serving a fake service on {address}: {error}"));
        FakeService { requests, server }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Every request since the last call, which the service then forgets (a benchmark's many
    /// requests would otherwise be kept).
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut lock(&self.requests))
    }

    /// The `authorization` values of every request so far, in order.
    pub fn authorizations(&self) -> Vec<Vec<String>> {
        lock(&self.requests)
            .iter()
            .map(|request| {
                (request.header_values("authorization").into_iter())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }
}

/// The same answer to every request.
fn always(answer: FakeResponse) -> Arc<Answering> {
    Arc::new(move |_| answer.clone())
}
