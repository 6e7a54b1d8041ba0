//! A small WASI 0.2 app that fetches URLs through `wasi:http/outgoing-handler`, written the way
//! an app behind the bearer middleware should be: it knows nothing of tokens for its GETs, asks
//! `authorization-for` for requests with a body, and hands a 401's challenge to
//! `answer-challenge`, sending the request once more when told to.

#![cfg(target_arch = "wasm32")]

// The WASI types are wasip2's, which the shared blocking helpers take.
wasi_http_blocking::generate!(
    world: "azure:bearer/sample-app",
    path: ["../../wit", "../bearer-middleware/wit"],
);

use azure::bearer::bearer;
use exports::azure::bearer::app::{Fetched, Guest};
use wasi_http_blocking::Deadline;
use wasi_http_blocking::wasip2::http::types::{
    Fields, IncomingResponse, Method, OutgoingRequest, Scheme,
};

/// Responses past this are refused: the app reports on them, it does not store them.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// One call to the service, response body included, ends within this whatever the host's HTTP
/// client does (the middleware in front may first get a token, itself bounded at 60 s).
const EXCHANGE_BOUND: std::time::Duration = std::time::Duration::from_secs(90);

struct App;

impl Guest for App {
    fn fetch(
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) -> Result<Fetched, String> {
        let target = Target::parse(&url)?;
        let send = || send(&target, &headers, body.as_deref());
        let first = send()?;
        if first.status == 401
            && let Some(challenge) = &first.www_authenticate
            && bearer::answer_challenge(&target.authority, challenge)?
        {
            let second = send()?;
            return Ok(second.fetched(2));
        }
        Ok(first.fetched(1))
    }
}

struct Target {
    /// `None` for a network-path URL (`//host/path`): the scheme is left to the host, as some
    /// clients leave it.
    scheme: Option<Scheme>,
    authority: String,
    path_with_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url
            .split_once("//")
            .ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
        let scheme = match scheme {
            "" => None,
            "https:" => Some(Scheme::Https),
            "http:" => Some(Scheme::Http),
            other => Some(Scheme::Other(
                other
                    .strip_suffix(':')
                    .ok_or_else(|| format!("`{url}` is not an absolute URL"))?
                    .to_owned(),
            )),
        };
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        Ok(Target {
            scheme,
            authority: authority.to_owned(),
            path_with_query: path.to_owned(),
        })
    }
}

struct Response {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
}

impl Response {
    fn fetched(self, attempts: u8) -> Fetched {
        Fetched {
            status: self.status,
            body: self.body,
            attempts,
        }
    }
}

fn send(
    target: &Target,
    extra_headers: &[(String, String)],
    body: Option<&str>,
) -> Result<Response, String> {
    let headers = Fields::new();
    for (name, value) in extra_headers {
        append(&headers, name, value)?;
    }
    // Tests' ways to see the middleware refuse: a body without asking for the header, and a GET
    // whose body the app writes without declaring its length.
    let knob = |wanted: &str| {
        extra_headers
            .iter()
            .any(|(name, value)| name == "x-sample-app" && value == wanted)
    };
    let skip_authorization_for = knob("skip-authorization-for");
    let undeclared_get_body = knob("get-with-undeclared-body");
    let content = body.filter(|body| !body.is_empty());
    if let Some(content) = content
        && !undeclared_get_body
    {
        // The middleware cannot rebuild a request with a body, so the app authorizes it itself.
        let has_authorization = !headers.get("authorization").is_empty();
        if !has_authorization
            && !skip_authorization_for
            && let Some(authorization) = bearer::authorization_for(&target.authority)?
        {
            append(&headers, "authorization", &authorization)?;
        }
        append(&headers, "content-type", "text/plain")?;
        append(&headers, "content-length", &content.len().to_string())?;
    } else if body.is_some() && !undeclared_get_body {
        // An empty body makes a GET whose body is still taken and finished, as many clients do;
        // declaring it empty lets the middleware authorize it.
        append(&headers, "content-length", "0")?;
    }
    let request = OutgoingRequest::new(headers);
    // A test's way to create things with an empty body (an Azure Storage container: PUT with
    // `content-length: 0`): `x-sample-app-method: PUT`.
    let method = match extra_headers
        .iter()
        .find(|(name, _)| name == "x-sample-app-method")
    {
        Some((_, method)) => match method.as_str() {
            "GET" => Method::Get,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_owned()),
        },
        None if content.is_some() && !undeclared_get_body => Method::Put,
        None => Method::Get,
    };
    request.set_method(&method).map_err(|()| "bad method")?;
    request
        .set_scheme(target.scheme.as_ref())
        .map_err(|()| "bad scheme")?;
    request
        .set_authority(Some(&target.authority))
        .map_err(|()| "bad authority")?;
    request
        .set_path_with_query(Some(&target.path_with_query))
        .map_err(|()| "bad path")?;
    let deadline = Deadline::after(EXCHANGE_BOUND);
    let response = wasi_http_blocking::send(request, body.map(str::as_bytes), deadline)?;
    read_response(response, deadline)
}

fn append(headers: &Fields, name: &str, value: &str) -> Result<(), String> {
    headers
        .append(name, value.as_bytes())
        .map_err(|e| format!("header {name}: {e:?}"))
}

fn read_response(response: IncomingResponse, deadline: Deadline) -> Result<Response, String> {
    let status = response.status();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .first()
        .map(|value| String::from_utf8_lossy(value).into_owned());
    let body = wasi_http_blocking::read_body(response, MAX_BODY_BYTES, deadline)?;
    Ok(Response {
        status,
        www_authenticate,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

export!(App);
