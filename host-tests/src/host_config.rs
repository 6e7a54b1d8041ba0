//! What one instance's host grants, shared by the WASI 0.2 and 0.3 embeddings: environment,
//! read-only preopens, the test clocks, and where wasi:http requests go. wasmtime-wasi-http
//! hands both editions' outgoing requests to the same `WasiHttpHooks::send_request`, so one
//! transport answers both.

use crate::canned::CannedEndpoint;
use crate::shared_keyvalue::SharedKeyValue;
use crate::test_clock::TestClock;
use credential_host::fake_authority::FakeEntra;
use credential_host::{ResponseFuture, WasiHost, grant_read_only, send_over_network};
use std::path::PathBuf;
use wasmtime::Result;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// Where the component's wasi:http requests go.
#[derive(Clone)]
pub enum Transport {
    /// Answered in-process by a fake token endpoint, whatever the URL.
    Fake(FakeEntra),
    /// Sent over the network by wasmtime-wasi-http's default client.
    Network,
    /// Sent by that same client, as plain HTTP, to this address on the machine (a test server):
    /// only the scheme and authority of the URL change.
    Local(std::net::SocketAddr),
    /// Answered in-process with one fixed token response (the benchmark's endpoint).
    Canned(CannedEndpoint),
}

/// What one instance's host grants: environment, preopened directories (read-only) and HTTP.
#[derive(Clone)]
pub struct HostConfig {
    pub env: Vec<(String, String)>,
    /// `(host directory, guest path)`.
    pub preopens: Vec<(PathBuf, String)>,
    pub transport: Transport,
    /// The host's clocks when set, else the real ones.
    pub clock: Option<TestClock>,
    /// The wasi:keyvalue store a variant opens, shared with other instances; none: `open` fails
    /// with `no-such-store`.
    pub keyvalue: Option<SharedKeyValue>,
    /// WASI's blocking calls (the file reads) run on the calling thread rather than a pool's, as
    /// the wasmtime CLI (`run`, `serve`) configures them.
    pub block_on_thread: bool,
}

impl HostConfig {
    pub fn new(transport: Transport) -> HostConfig {
        HostConfig {
            env: Vec::new(),
            preopens: Vec::new(),
            transport,
            clock: None,
            keyvalue: None,
            block_on_thread: false,
        }
    }

    /// Runs WASI's blocking calls on the calling thread, as the wasmtime CLI does.
    pub fn block_on_thread(mut self) -> HostConfig {
        self.block_on_thread = true;
        self
    }

    /// Grants a variant the shared store `keyvalue` (as "default").
    pub fn shared_store(mut self, keyvalue: &SharedKeyValue) -> HostConfig {
        self.keyvalue = Some(keyvalue.clone());
        self
    }

    pub fn clock(mut self, clock: &TestClock) -> HostConfig {
        self.clock = Some(clock.clone());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> HostConfig {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Grants the component `host_dir` at `guest_path`, read-only (the component needs no more).
    pub fn preopen(mut self, host_dir: impl Into<PathBuf>, guest_path: &str) -> HostConfig {
        self.preopens.push((host_dir.into(), guest_path.to_owned()));
        self
    }
}

/// The store data of every instance the harness makes.
pub(crate) type HostState = WasiHost<TransportHooks>;

pub(crate) struct TransportHooks {
    transport: Transport,
    pub(crate) keyvalue: Option<SharedKeyValue>,
}

impl WasiHttpHooks for TransportHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        match &self.transport {
            Transport::Fake(fake) => fake.answer(request, options),
            Transport::Network => send_over_network(request, options),
            Transport::Canned(endpoint) => endpoint.answer(request),
            Transport::Local(address) => {
                let mut request = request;
                let path = request
                    .uri()
                    .path_and_query()
                    .map_or("/".to_owned(), ToString::to_string);
                *request.uri_mut() = format!("http://{address}{path}")
                    .parse()
                    .expect("a local URL is valid");
                send_over_network(request, options)
            }
        }
    }
}

impl HostConfig {
    /// The store data these grants make, and the pipe that collects the instance's stdout and
    /// stderr.
    pub(crate) fn into_state(self) -> Result<(HostState, MemoryOutputPipe)> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.env);
        wasi.allow_blocking_current_thread(self.block_on_thread);
        grant_read_only(&mut wasi, &self.preopens)?;
        if let Some(clock) = &self.clock {
            wasi.wall_clock(clock.wall())
                .monotonic_clock(clock.monotonic());
        }
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        wasi.stdout(output.clone()).stderr(output.clone());
        let hooks = TransportHooks {
            transport: self.transport,
            keyvalue: self.keyvalue,
        };
        Ok((HostState::new(wasi.build(), hooks), output))
    }
}

/// Enough for any diagnostics; the component is expected to write nothing.
const OUTPUT_CAPACITY: usize = 1024 * 1024;
