//! A fake Microsoft Entra token endpoint. It sees the request exactly as the component's
//! wasi:http call produced it, records it, checks it the way Entra does, and answers in kind.

use crate::{ResponseFuture, SentResponse};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use wasmtime_wasi_http::{RequestOptions, WasiBody};

/// Lifetime of the tokens the fake issues, as Entra's usual `expires_in`.
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
}

impl RecordedRequest {
    /// Reads a request the way wasmtime-wasi-http hands it to a send hook.
    pub async fn read(
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> wasmtime_wasi_http::Result<RecordedRequest> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(RecordedRequest {
            method: parts.method.to_string(),
            url: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            form: form_urlencoded::parse(&body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            options,
        })
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
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    scripted: VecDeque<Scripted>,
    issued: u64,
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

    /// Every access token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        (1..=self.state().issued)
            .map(FakeEntra::issued_token)
            .collect()
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

    /// The access token the fake issues for its `n`th successful request (from 1).
    pub fn issued_token(n: u64) -> String {
        format!("fake-access-token-{n}")
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
        let fake = self.clone();
        Box::new(async move {
            let recorded = RecordedRequest::read(request, options).await?;
            let (answer, delay) = fake.respond(recorded);
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

    /// The answer to `request` (`None` to refuse the connection), and how long to hold it.
    fn respond(
        &self,
        request: RecordedRequest,
    ) -> (Option<FakeResponse>, Option<std::time::Duration>) {
        let mut state = self.state();
        state.requests.push(request.clone());
        let delay = match state.scripted.pop_front() {
            Some(Scripted::Respond(response)) => return (Some(response), None),
            Some(Scripted::Refuse) => return (None, None),
            Some(Scripted::Late(delay)) => Some(delay),
            None => None,
        };
        (Some(state.issue(&request)), delay)
    }
}

impl State {
    /// What Entra answers to `request`: its refusal, or a new token.
    fn issue(&mut self, request: &RecordedRequest) -> FakeResponse {
        if let Err(problem) = check_like_entra(request) {
            return problem;
        }
        self.issued += 1;
        FakeResponse::json(
            200,
            &format!(
                r#"{{"token_type":"Bearer","expires_in":{FAKE_EXPIRES_IN},"ext_expires_in":{FAKE_EXPIRES_IN},"access_token":"{}"}}"#,
                FakeEntra::issued_token(self.issued)
            ),
        )
    }
}

/// Entra's own checks of a client-credentials request with a client assertion, and its answers.
fn check_like_entra(request: &RecordedRequest) -> Result<(), FakeResponse> {
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
    Ok(())
}

fn entra_error(status: u16, error: &str, code: u32, description: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: {description} Trace ID: 11111111-0000-0000-0000-000000000000 Correlation ID: 22222222-0000-0000-0000-000000000000","error_codes":[{code}],"timestamp":"2026-11-28 00:00:00Z","trace_id":"11111111-0000-0000-0000-000000000000","correlation_id":"22222222-0000-0000-0000-000000000000"}}"#
        ),
    )
}
