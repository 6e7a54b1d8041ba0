//! The fake Microsoft Entra ID ([`FakeEntra`]: checks each token request as Entra does and issues
//! JWT-shaped tokens) served on a loopback port, for hosts whose own HTTP client calls it.

use host_tests::{FakeEntra, FakeServer, ThrowAwayCa};
use std::net::SocketAddr;
use std::sync::Arc;

/// A late answer the fake was told to give is held at most this long.
const MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(60);

pub struct EntraServer {
    fake: FakeEntra,
    server: FakeServer,
    authority_host: String,
}

impl EntraServer {
    /// HTTPS on 127.0.0.1 with a certificate for `localhost` from `ca`; the authority host is
    /// `https://localhost:<port>`.
    pub fn https(ca: &ThrowAwayCa) -> EntraServer {
        EntraServer::start(Some(ca), |address| {
            format!("https://localhost:{}", address.port())
        })
    }

    /// Plain http on 127.0.0.1, for a host that reaches it only through a test-only reroute (the
    /// credential refuses an http authority host).
    pub fn http() -> EntraServer {
        EntraServer::start(None, |address| format!("http://{address}"))
    }

    fn start(ca: Option<&ThrowAwayCa>, authority_host: fn(SocketAddr) -> String) -> EntraServer {
        let fake = FakeEntra::new();
        let answering = fake.clone();
        let server = FakeServer::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            ca.map(|ca| ca.server_config("localhost")),
            Arc::new(move |request| {
                let (answer, delay) = answering.answer_recorded(request);
                if let Some(delay) = delay {
                    // A scripted late answer: the host's client sees an authority that stalls.
                    std::thread::sleep(delay.min(MAX_DELAY));
                }
                answer
            }),
        )
        .expect("a loopback port for the fake Entra");
        let authority_host = authority_host(server.address());
        EntraServer {
            fake,
            server,
            authority_host,
        }
    }

    /// What it records and issues, and how it answers next.
    pub fn fake(&self) -> &FakeEntra {
        &self.fake
    }

    /// The URL to give the credential as `AZURE_AUTHORITY_HOST`.
    pub fn authority_host(&self) -> &str {
        &self.authority_host
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// How many token requests arrived so far.
    pub fn token_calls(&self) -> usize {
        self.fake.requests().len()
    }
}
