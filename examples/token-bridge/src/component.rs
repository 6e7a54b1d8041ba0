//! The WASI layer: a request's method, path and secret header in, one `get-token` call, the
//! JSON answer out.

use crate::answer::{EntraFailure, IssuedToken};
use crate::protocol::{
    Failure, Outcome, Reply, Request, SECRET_HEADER, decide, failure_reply, reply_headers,
    token_reply,
};
use crate::settings::Settings;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

// The WASI types are wasip2's, which the shared blocking helpers take.
wasi_http_blocking::generate!(
    world: "azure:token-bridge/token-bridge",
    path: ["../../wit", "wit"],
);

use azure::identity::credential;
use azure::identity::types::{CredentialError, TokenRequestOptions};
use exports::wasi::http::incoming_handler::Guest;
use wasi_http_blocking::wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

struct Bridge;

/// The environment does not change for an instance's life, and the host keeps one instance
/// (and so the credential's cache) for many requests.
fn settings() -> Result<&'static Settings, &'static str> {
    static SETTINGS: OnceLock<Result<Settings, String>> = OnceLock::new();
    SETTINGS
        .get_or_init(|| Settings::from_lookup(|name| std::env::var(name).ok()))
        .as_ref()
        .map_err(String::as_str)
}

impl Guest for Bridge {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_owned(),
            Method::Other(other) => other,
            other => format!("{other:?}").to_ascii_uppercase(),
        };
        let path_with_query = request.path_with_query().unwrap_or_default();
        let secret_headers = request.headers().get(SECRET_HEADER);
        drop(request);
        let asked = Request {
            method: &method,
            path_with_query: &path_with_query,
            secret_headers: &secret_headers,
        };
        let reply = match decide(&asked, settings()) {
            Outcome::Reply(reply) => reply,
            Outcome::Token { resource, scope } => token(&resource, scope),
        };
        respond(response_out, reply);
    }
}

fn token(resource: &str, scope: String) -> Reply {
    let options = TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    };
    // The free get-token keeps one credential, and its cache, for the life of the instance.
    match credential::get_token(&[scope], &options) {
        Ok(token) => {
            let issued = IssuedToken {
                access_token: &token.token,
                token_type: &token.token_type,
                expires_on: token.expires_on,
                refresh_on: token.refresh_on,
            };
            let settings = settings().expect("decide() answered a misconfigured bridge itself");
            token_reply(&issued, resource, settings, unix_now())
        }
        Err(CredentialError::Unavailable(message)) => {
            failure_reply(&Failure::Unavailable(&message))
        }
        Err(CredentialError::InvalidArgument(message)) => {
            failure_reply(&Failure::InvalidArgument(&message))
        }
        Err(CredentialError::AuthenticationFailed(failure)) => {
            failure_reply(&Failure::AuthenticationFailed {
                status: failure.status,
                failure: EntraFailure {
                    error: failure.error.as_deref(),
                    message: &failure.message,
                    error_codes: &failure.error_codes,
                    correlation_id: failure.correlation_id.as_deref(),
                    trace_id: failure.trace_id.as_deref(),
                },
            })
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn respond(response_out: ResponseOutparam, reply: Reply) {
    let headers: Vec<(&str, &[u8])> = reply_headers(reply.status)
        .iter()
        .map(|&(name, value)| (name, value.as_bytes()))
        .collect();
    wasi_http_blocking::respond(response_out, reply.status, &headers, reply.body.as_bytes());
}

export!(Bridge);
