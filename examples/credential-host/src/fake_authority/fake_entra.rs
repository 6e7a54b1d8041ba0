//! A fake Microsoft Entra token endpoint. It sees the request exactly as the component's
//! wasi:http call produced it, records it, checks it the way Entra does, and answers in kind.

use super::access_token::TokenClaims;
use crate::{ResponseFuture, SentResponse};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime_wasi_http::{RequestOptions, WasiBody};

/// Lifetime of the tokens the fake issues unless told otherwise
/// ([`FakeEntra::set_token_lifetime`]), as Entra's usual `expires_in`.
pub const FAKE_EXPIRES_IN: u64 = 3599;

/// A token request as it arrived.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// `scheme://authority/path`.
    pub url: String,
    /// Lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The decoded form, in order (empty unless the body is a form).
    pub form: Vec<(String, String)>,
    /// The body as text (lossy).
    pub body: String,
    /// The timeouts the component set on the request (wasi:http request-options).
    pub options: Option<RequestOptions>,
    /// The body's trailers, lowercase names, in order (empty when it had none).
    pub trailers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// Reads a request the way wasmtime-wasi-http hands it to a send hook.
    pub async fn read(
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> wasmtime_wasi_http::Result<RecordedRequest> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?;
        let trailers = body.trailers().map_or_else(Vec::new, pairs);
        Ok(RecordedRequest {
            trailers,
            ..RecordedRequest::head_of(&parts, options).with_body(&body.to_bytes())
        })
    }

    /// The request's method, URL, headers and options, without its body.
    fn head_of(parts: &http::request::Parts, options: Option<RequestOptions>) -> RecordedRequest {
        let headers = pairs(&parts.headers);
        RecordedRequest {
            options,
            ..RecordedRequest::from_parts(
                parts.method.as_str(),
                &parts.uri.to_string(),
                headers,
                b"",
            )
        }
    }

    fn with_body(self, body: &[u8]) -> RecordedRequest {
        RecordedRequest {
            form: form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
            ..self
        }
    }

    /// A request as a server of the test's own read it off a connection (a real host's client
    /// sent it): `url` is `scheme://authority/path`, `headers` have lowercase names.
    pub fn from_parts(
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> RecordedRequest {
        RecordedRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers,
            form: Vec::new(),
            body: String::new(),
            options: None,
            trailers: Vec::new(),
        }
        .with_body(body)
    }

    /// Every value of the header `name`, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `fields` as (lowercase name, value as text) pairs, in order.
fn pairs(fields: &http::HeaderMap) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An answer to give instead of the fake's own.
#[derive(Clone, Debug)]
pub struct FakeResponse {
    pub status: u16,
    pub content_type: String,
    /// Further headers, e.g. `Retry-After`.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl FakeResponse {
    pub fn json(status: u16, body: &str) -> FakeResponse {
        FakeResponse {
            status,
            content_type: "application/json; charset=utf-8".into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn html(status: u16, body: &str) -> FakeResponse {
        FakeResponse {
            content_type: "text/html".into(),
            ..FakeResponse::json(status, body)
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> FakeResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers `request` with this response at once, its body dropped unread, so the guest's
    /// writes of the body fail while the answer is there: a server that answers before it reads
    /// a body, or as soon as it has the declared length. Returns the request as recorded, without
    /// its body.
    pub fn before_the_body(
        self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> (RecordedRequest, ResponseFuture) {
        let (parts, body) = request.into_parts();
        drop(body);
        let recorded = RecordedRequest::head_of(&parts, options);
        (recorded, Box::new(async move { Ok(self.into_sent()) }))
    }

    /// The response as a send hook returns it, with a body that ends without error.
    pub fn into_sent(self) -> SentResponse {
        let mut response = http::Response::builder()
            .status(self.status)
            .header("content-type", self.content_type)
            .header("x-ms-request-id", "00000000-0000-0000-0000-0000000000aa");
        for (name, value) in &self.headers {
            response = response.header(name, value);
        }
        let response = response
            .body(
                Full::new(Bytes::from(self.body))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .expect("a valid fake response");
        (
            response,
            Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
        )
    }
}

/// What the fake does with the next request, when scripted.
enum Scripted {
    Respond(FakeResponse),
    /// The connection is refused: the component sees a transport error.
    Refuse,
    /// Answered as usual, but only after this long, whatever the request's timeouts: a host
    /// whose HTTP client ignores them.
    Late(std::time::Duration),
    /// Answered at once, the request's body dropped unread, so the component's writing of it
    /// fails: a server that answers and closes before, or as soon as, it has the body.
    BeforeTheBody(FakeResponse),
}

struct State {
    requests: Vec<RecordedRequest>,
    scripted: VecDeque<Scripted>,
    issued: Vec<String>,
    /// `expires_in` of the tokens issued from now on, seconds.
    lifetime: u64,
}

impl Default for State {
    fn default() -> State {
        State {
            requests: Vec::new(),
            scripted: VecDeque::new(),
            issued: Vec::new(),
            lifetime: FAKE_EXPIRES_IN,
        }
    }
}

/// Cloning shares the endpoint: the host hooks answer through one clone, the test reads another.
#[derive(Clone, Default)]
pub struct FakeEntra(Arc<Mutex<State>>);

impl FakeEntra {
    pub fn new() -> FakeEntra {
        FakeEntra::default()
    }

    /// Answers the next request with `response` instead of checking it and issuing a token.
    pub fn enqueue(&self, response: FakeResponse) {
        self.state().scripted.push_back(Scripted::Respond(response));
    }

    /// Refuses the next request's connection.
    pub fn enqueue_refusal(&self) {
        self.state().scripted.push_back(Scripted::Refuse);
    }

    /// Answers the next request as usual, but only after `delay`, ignoring every timeout the
    /// request sets (wasmtime's default client, for one, puts none on the TLS handshake).
    pub fn enqueue_late(&self, delay: std::time::Duration) {
        self.state().scripted.push_back(Scripted::Late(delay));
    }

    /// Tokens issued from now on live `seconds` (their `expires_in` and `exp`): short-lived
    /// tokens for refresh tests against hosts that run on the real clock.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state().lifetime = seconds;
    }

    /// Answers the next request with `response` at once, dropping its body unread: the
    /// component's write of the body then fails while the answer is already there.
    pub fn enqueue_before_the_body(&self, response: FakeResponse) {
        (self.state().scripted).push_back(Scripted::BeforeTheBody(response));
    }

    /// Every access token issued so far, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    /// The access token issued for the `n`th successful request (from 1); panics when fewer
    /// were issued.
    pub fn issued_token(&self, n: usize) -> String {
        let state = self.state();
        match n.checked_sub(1).and_then(|index| state.issued.get(index)) {
            Some(token) => token.clone(),
            None => panic!(
                "the fake authority issued {} tokens, not {n}",
                state.issued.len()
            ),
        }
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The form field `name` of every request so far, in order; panics at a request without it.
    pub fn form_fields(&self, name: &str) -> Vec<String> {
        self.state()
            .requests
            .iter()
            .map(|request| match request.field(name) {
                Some(value) => value.to_owned(),
                None => panic!(
                    "a request to the fake authority has no {name}: {}",
                    request.url
                ),
            })
            .collect()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request as Entra would, or as scripted: the wasi:http send hook's work.
    pub fn answer(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> ResponseFuture {
        if let Some(response) = self.take_before_the_body() {
            let (recorded, answer) = response.before_the_body(request, options);
            self.state().requests.push(recorded);
            return answer;
        }
        let fake = self.clone();
        Box::new(async move {
            let recorded = RecordedRequest::read(request, options).await?;
            let (answer, delay) = fake.answer_recorded(recorded);
            // Dropped with the guest's future-incoming-response: the sleep ends with it.
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            match answer {
                Some(answer) => Ok(answer.into_sent()),
                None => Err(wasmtime_wasi_http::Error::ConnectionRefused),
            }
        })
    }

    /// The next scripted answer when it is to come before the body.
    fn take_before_the_body(&self) -> Option<FakeResponse> {
        let mut state = self.state();
        let scripted = &mut state.scripted;
        let Some(Scripted::BeforeTheBody(_)) = scripted.front() else {
            return None;
        };
        match scripted.pop_front() {
            Some(Scripted::BeforeTheBody(response)) => Some(response),
            _ => None,
        }
    }

    /// The answer to `request` (`None` to refuse the connection), and how long to hold it back:
    /// for a server of the test's own that a real host's client calls, and for [`answer`].
    ///
    /// [`answer`]: FakeEntra::answer
    pub fn answer_recorded(
        &self,
        request: RecordedRequest,
    ) -> (Option<FakeResponse>, Option<std::time::Duration>) {
        let mut state = self.state();
        state.requests.push(request.clone());
        let delay = match state.scripted.pop_front() {
            Some(Scripted::Respond(response)) => return (Some(response), None),
            Some(Scripted::Refuse) => return (None, None),
            Some(Scripted::Late(delay)) => Some(delay),
            // Only a send hook can answer before the body; a server that read it answers.
            Some(Scripted::BeforeTheBody(response)) => return (Some(response), None),
            None => None,
        };
        (Some(state.issue(&request)), delay)
    }
}

impl State {
    /// What Entra answers to `request`: its refusal, or a new token.
    fn issue(&mut self, request: &RecordedRequest) -> FakeResponse {
        let tenant = match check_like_entra(request) {
            Ok(tenant) => tenant,
            Err(problem) => return problem,
        };
        let issued_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let token = TokenClaims {
            tenant,
            client_id: request.field("client_id").unwrap_or_default(),
            // Entra issues a token for one resource: the first scope's.
            scope: request
                .field("scope")
                .and_then(|scopes| scopes.split(' ').next())
                .unwrap_or_default(),
            issued_at,
            lifetime: self.lifetime,
            number: self.issued.len() as u64 + 1,
        }
        .to_jwt();
        self.issued.push(token.clone());
        let lifetime = self.lifetime;
        FakeResponse::json(
            200,
            &format!(
                r#"{{"token_type":"Bearer","expires_in":{lifetime},"ext_expires_in":{lifetime},"access_token":"{token}"}}"#
            ),
        )
    }
}

/// Entra's own checks of a client-credentials request with a client assertion, and its answers;
/// the tenant the request names when it passes.
fn check_like_entra(request: &RecordedRequest) -> Result<&str, FakeResponse> {
    let path = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path)
        .unwrap_or_default();
    // `/{tenant}/oauth2/v2.0/token`, after any prefix of an ADFS host or a token proxy.
    let segments: Vec<&str> = path.split('/').collect();
    let endpoint =
        segments.len() >= 4 && segments[segments.len() - 3..] == ["oauth2", "v2.0", "token"];
    if request.method != "POST" || !endpoint {
        return Err(entra_error(
            404,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests to /{tenant}/oauth2/v2.0/token.",
        ));
    }
    if request.header("content-type") != Some("application/x-www-form-urlencoded") {
        return Err(entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ));
    }
    for name in [
        "grant_type",
        "client_id",
        "client_assertion_type",
        "client_assertion",
        "scope",
    ] {
        if request.field(name).is_none_or(str::is_empty) {
            return Err(entra_error(
                400,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{name}'."),
            ));
        }
    }
    if request.field("grant_type") != Some("client_credentials") {
        return Err(entra_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ));
    }
    if request.field("client_assertion_type")
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return Err(entra_error(
            400,
            "invalid_request",
            50027,
            "Invalid JWT token.",
        ));
    }
    Ok(segments[segments.len() - 4])
}

fn entra_error(status: u16, error: &str, code: u32, description: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: {description} Trace ID: 11111111-0000-0000-0000-000000000000 Correlation ID: 22222222-0000-0000-0000-000000000000","error_codes":[{code}],"timestamp":"2026-11-28 00:00:00Z","trace_id":"11111111-0000-0000-0000-000000000000","correlation_id":"22222222-0000-0000-0000-000000000000"}}"#
        ),
    )
}
