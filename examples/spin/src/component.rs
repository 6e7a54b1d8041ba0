//! The WASI layer: an incoming request in, one token and one outgoing request, a response out.

use crate::routes::{
    CredentialFailure, KEY_VAULT_NAME, KEY_VAULT_SCOPE, Route, credential_failure_status,
    list_secrets_url, route,
};

// The WASI types are wasip2's, which the shared blocking helpers take.
wasi_http_blocking::generate!(
    world: "azure:spin-example/key-vault-app",
    path: ["../../wit", "wit"],
);

use azure::identity::credential;
use azure::identity::types::{CredentialError, TokenRequestOptions};
use exports::wasi::http::incoming_handler::Guest;
use wasi_http_blocking::Deadline;
use wasi_http_blocking::wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingRequest, ResponseOutparam, Scheme,
};

/// Key Vault pages its lists well below this; more is not a list worth forwarding.
const MAX_UPSTREAM_BODY: usize = 1024 * 1024;
/// One upstream call, body included, ends within this whatever the host's HTTP client does.
const UPSTREAM_BOUND: std::time::Duration = std::time::Duration::from_secs(30);

struct App;

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, text: String) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.into_bytes(),
        }
    }
}

impl Guest for App {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_owned(),
            Method::Other(other) => other,
            other => format!("{other:?}").to_ascii_uppercase(),
        };
        let path = request.path_with_query().unwrap_or_default();
        drop(request);
        let answer = match route(&method, &path) {
            Route::ListSecrets => list_secrets(),
            Route::MethodNotAllowed => Answer::text(405, "only GET /secrets is served\n".into()),
            Route::NotFound => Answer::text(404, "GET /secrets lists the vault's secrets\n".into()),
        };
        respond(response_out, answer);
    }
}

fn list_secrets() -> Answer {
    let url = match list_secrets_url(std::env::var(KEY_VAULT_NAME).ok().as_deref()) {
        Ok(url) => url,
        Err(message) => return Answer::text(500, message + "\n"),
    };
    let options = TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    };
    // The free get-token keeps one credential, and its cache, for the life of the instance.
    let token = match credential::get_token(&[KEY_VAULT_SCOPE.to_owned()], &options) {
        Ok(token) => token,
        Err(error) => return credential_error(error),
    };
    match get(&url, &format!("{} {}", token.token_type, token.token)) {
        Ok((status, body)) => Answer {
            status,
            content_type: "application/json; charset=utf-8",
            body,
        },
        Err(message) => Answer::text(502, format!("{url}: {message}\n")),
    }
}

/// The credential's error, which never holds a secret, as the response.
fn credential_error(error: CredentialError) -> Answer {
    let (failure, message) = match error {
        CredentialError::Unavailable(message) => (CredentialFailure::Unavailable, message),
        CredentialError::InvalidArgument(message) => (CredentialFailure::InvalidArgument, message),
        CredentialError::AuthenticationFailed(failure) => (
            CredentialFailure::AuthenticationFailed,
            match failure.correlation_id {
                Some(id) => format!("{} (correlation id {id})", failure.message),
                None => failure.message,
            },
        ),
    };
    Answer::text(
        credential_failure_status(failure),
        format!("no token for {KEY_VAULT_SCOPE}: {message}\n"),
    )
}

/// GETs an https URL with the header; returns the status and at most [`MAX_UPSTREAM_BODY`].
fn get(url: &str, authorization: &str) -> Result<(u16, Vec<u8>), String> {
    let rest = url.strip_prefix("https://").ok_or("not an https URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let headers = Fields::new();
    headers
        .append("authorization", authorization.as_bytes())
        .map_err(|e| format!("{e:?}"))?;
    let request = OutgoingRequest::new(headers);
    request
        .set_scheme(Some(&Scheme::Https))
        .map_err(|()| "scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "authority")?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| "path")?;
    let deadline = Deadline::after(UPSTREAM_BOUND);
    let response = wasi_http_blocking::send(request, None, deadline)?;
    let status = response.status();
    let body = wasi_http_blocking::read_body(response, MAX_UPSTREAM_BODY, deadline)?;
    Ok((status, body))
}

fn respond(response_out: ResponseOutparam, answer: Answer) {
    let headers: &[(&str, &[u8])] = &[("content-type", answer.content_type.as_bytes())];
    wasi_http_blocking::respond(response_out, answer.status, headers, &answer.body);
}

export!(App);
