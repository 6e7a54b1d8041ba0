//! Where the compositions' requests go: the fake Entra for the authority host, a real service
//! that a test reaches, and the fake upstream (an Azure service) for every other host. The WASI
//! 0.2 and 0.3 embeddings share it: wasmtime-wasi-http hands both editions' outgoing requests to
//! the same `WasiHttpHooks::send_request`.

use crate::AUTHORITY;
use credential_host::TokenProxyTls;
use host_tests::{FakeEntra, FakeResponse, RecordedRequest, ResponseFuture};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// The longest an answer is held for [`FakeUpstream::answer_together`].
pub const HOLD_BOUND: Duration = Duration::from_secs(5);
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// An Azure service as the middleware's requests reach it: it records each request and answers
/// 200 with a short text, unless its token is challenged or a response was scripted.
#[derive(Clone, Default)]
pub struct FakeUpstream(Arc<Mutex<UpstreamState>>);

/// Which requests the upstream answers with a claims challenge.
#[derive(Clone, Debug)]
pub enum Challenged {
    /// Those carrying `Authorization: Bearer <this token>`: a resource that revoked one token
    /// (a CAE event) and takes the next.
    Token(String),
    /// Every request with a bearer token: a resource that rejects every token it is given.
    EveryToken,
}

#[derive(Default)]
struct UpstreamState {
    requests: Vec<RecordedRequest>,
    /// How many requests have arrived so far, for answers held until enough are in flight.
    arrivals: Option<watch::Sender<usize>>,
    /// Answers wait until this many requests have arrived.
    answer_together: usize,
    challenges: Vec<(Challenged, String)>,
    scripted: VecDeque<FakeResponse>,
    before_the_body: VecDeque<FakeResponse>,
}

impl FakeUpstream {
    pub fn enqueue(&self, response: FakeResponse) {
        self.state().scripted.push_back(response);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Answers the next request with `response` at once, its body dropped unread: a service
    /// that answers before it reads a body (or once it has the declared length) and closes.
    pub fn enqueue_before_the_body(&self, response: FakeResponse) {
        self.state().before_the_body.push_back(response);
    }

    /// From now on answers the requests `which` names with 401 and `WWW-Authenticate:
    /// www_authenticate` (after reading their body), before any scripted response.
    pub fn challenge(&self, which: Challenged, www_authenticate: &str) {
        (self.state().challenges).push((which, www_authenticate.to_owned()));
    }

    /// From now on holds every answer until `n` requests have arrived (counting from the first
    /// request this upstream saw), at most [`HOLD_BOUND`]: requests that are not in flight
    /// together then fail instead of being answered.
    pub fn answer_together(&self, n: usize) {
        self.state().answer_together = n;
    }

    fn state(&self) -> MutexGuard<'_, UpstreamState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn answer(&self, request: http::Request<WasiBody>) -> ResponseFuture {
        let before_the_body = self.state().before_the_body.pop_front();
        if let Some(response) = before_the_body {
            let (recorded, answer) = response.before_the_body(request, None);
            self.state().requests.push(recorded);
            return answer;
        }
        let upstream = self.clone();
        let (mut arrivals, together) = self.state().arrive();
        Box::new(async move {
            // Only a held answer arms a timer: the benchmarks' answers come at once.
            if *arrivals.borrow_and_update() < together {
                let enough = arrivals.wait_for(|arrived| *arrived >= together);
                match tokio::time::timeout(HOLD_BOUND, enough).await {
                    Ok(Ok(_)) => {}
                    _ => return Err(wasmtime_wasi_http::Error::ConnectionTimeout),
                }
            }
            let request = RecordedRequest::read(request, None).await?;
            let answer = {
                let mut state = upstream.state();
                let answer = state
                    .challenge_for(&request)
                    .or_else(|| state.scripted.pop_front())
                    .unwrap_or_else(|| {
                        let mut ok =
                            FakeResponse::json(200, &format!("hello from {}", request.url));
                        ok.content_type = "text/plain".into();
                        ok
                    });
                state.requests.push(request);
                answer
            };
            Ok(answer.into_sent())
        })
    }
}

impl UpstreamState {
    /// Counts a request in; how to watch the count, and how many to wait for.
    fn arrive(&mut self) -> (watch::Receiver<usize>, usize) {
        let arrivals = self.arrivals.get_or_insert_with(|| watch::channel(0).0);
        arrivals.send_modify(|arrived| *arrived += 1);
        (arrivals.subscribe(), self.answer_together)
    }

    /// The 401 with a claims challenge that `request`'s token gets, if it is challenged.
    fn challenge_for(&self, request: &RecordedRequest) -> Option<FakeResponse> {
        let token = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))?;
        let (_, www_authenticate) = self.challenges.iter().find(|(which, _)| match which {
            Challenged::Token(challenged) => challenged == token,
            Challenged::EveryToken => true,
        })?;
        Some(
            FakeResponse::json(
                401,
                r#"{"error":{"code":"Unauthorized","message":"The token's claims are insufficient."}}"#,
            )
            .with_header("www-authenticate", www_authenticate),
        )
    }
}

/// Sends each request to the fake Entra or the fake upstream by its host, or over the network to
/// a real service on this machine that a test reaches ([`Composition::instantiate_reaching`]).
///
/// [`Composition::instantiate_reaching`]: crate::Composition::instantiate_reaching
pub(crate) struct Router {
    pub(crate) entra: FakeEntra,
    pub(crate) upstream: FakeUpstream,
    /// A real service over HTTPS with a certificate from a test's own CA: the AKS token proxy's
    /// TLS settings (one origin, one CA) are what such a service needs too.
    pub(crate) service: Option<TokenProxyTls>,
}

impl WasiHttpHooks for Router {
    /// A host whose default is plain http, as wasmtime lets a host choose: a request that names
    /// no scheme must not reach a service in clear text with a token.
    fn default_scheme(&mut self) -> Option<http::uri::Scheme> {
        Some(http::uri::Scheme::HTTP)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        if request.uri().host() == Some(AUTHORITY) {
            self.entra.answer(request, options)
        } else if let Some(service) = self.service.as_ref().filter(|s| s.serves(request.uri())) {
            service.send(request, options)
        } else {
            self.upstream.answer(request)
        }
    }
}
