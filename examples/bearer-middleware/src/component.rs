//! The WASI layer: wasi:http requests in and out, tokens from `azure:identity/credential`.
//! Every decision is in [`policy`](crate::policy), [`rules`](crate::rules) and
//! [`challenge`](crate::challenge).

use crate::prelude::*;

use crate::challenge::claims_challenge;
use crate::kept_tokens::KeptTokens;
use crate::policy::{Decision, NoToken, RequestFacts, body_is_empty, decide, no_token_message};
use crate::rules::{AZURE_BEARER_RULES, Rules};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({
    world: "azure:bearer/bearer-middleware",
    path: ["../../wit", "wit"],
    generate_all,
});

use azure::identity::credential;
use azure::identity::types::{CredentialError, TokenRequestOptions};
use exports::azure::bearer::bearer;
use exports::wasi::http::outgoing_handler;
use wasi::http::outgoing_handler::handle as send;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};

struct Middleware;

std::thread_local! {
    /// Read once per instance: the environment does not change under a running component.
    static RULES: Result<Rules, String> =
        Rules::parse(std::env::var(AZURE_BEARER_RULES).ok().as_deref()).map_err(|e| e.to_string());
    static KEPT: RefCell<KeptTokens> = RefCell::default();
}

impl outgoing_handler::Guest for Middleware {
    fn handle(
        request: OutgoingRequest,
        options: Option<RequestOptions>,
    ) -> Result<FutureIncomingResponse, ErrorCode> {
        RULES.with(|rules| {
            let rules = rules
                .as_ref()
                .map_err(|message| internal(message.clone()))?;
            let authority = request.authority();
            // Most of a proxy's requests go to hosts no rule names: one look, then forward.
            if authority
                .as_deref()
                .and_then(|a| rules.scope_for(a))
                .is_none()
            {
                return send(request, options);
            }
            let scheme = request.scheme();
            let method = request.method();
            let headers = request.headers();
            let content_length = headers.get("content-length");
            let content_length = content_length.first().map(|v| String::from_utf8_lossy(v));
            let facts = RequestFacts {
                scheme: scheme.as_ref().map(scheme_text),
                authority: authority.as_deref(),
                has_authorization: !headers.get("authorization").is_empty(),
                body_is_empty: body_is_empty(content_length.as_deref()),
            };
            // Taking the body only tells whether the app took it first: the request is rebuilt.
            match decide(rules, &facts, || request.body().is_err()) {
                Decision::PassThrough => {
                    drop(headers);
                    send(request, options)
                }
                Decision::Refuse(message) => Err(internal(message)),
                Decision::Authorize { scope } => {
                    let value = authorization(scope).map_err(internal)?;
                    let copy = OutgoingRequest::new(with_header(&headers, &value)?);
                    let refused = |part: &str| {
                        internal(format!("bearer-middleware: copying the request's {part}"))
                    };
                    copy.set_method(&method).map_err(|()| refused("method"))?;
                    // Decided for https: a request that named no scheme goes out over https,
                    // whatever the host's default (wasmtime lets a host default to http).
                    copy.set_scheme(Some(scheme.as_ref().unwrap_or(&Scheme::Https)))
                        .map_err(|()| refused("scheme"))?;
                    copy.set_authority(authority.as_deref())
                        .map_err(|()| refused("authority"))?;
                    copy.set_path_with_query(request.path_with_query().as_deref())
                        .map_err(|()| refused("path"))?;
                    // The original's headers are a child of it: dropped first.
                    drop(headers);
                    drop(request);
                    send(copy, options)
                }
            }
        })
    }
}

impl bearer::Guest for Middleware {
    fn authorization_for(authority: String) -> Result<Option<String>, String> {
        RULES.with(|rules| match rules.as_ref()?.scope_for(&authority) {
            Some(scope) => authorization(scope).map(Some),
            None => Ok(None),
        })
    }

    fn answer_challenge(authority: String, www_authenticate: String) -> Result<bool, String> {
        RULES.with(|rules| {
            let Some(scope) = rules.as_ref()?.scope_for(&authority) else {
                return Ok(false);
            };
            let Some(claims) = claims_challenge(&www_authenticate)? else {
                return Ok(false);
            };
            keep(scope, token(scope, Some(claims))?);
            Ok(true)
        })
    }
}

/// The header value for `scope`: the kept one until its token is due, else the credential's
/// token (from its cache on all but the first request), kept in turn.
fn authorization(scope: &str) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(kept) = KEPT.with_borrow_mut(|kept| kept.get(scope, now).map(str::to_owned)) {
        return Ok(kept);
    }
    Ok(keep(scope, token(scope, None)?))
}

/// Keeps `token` as `scope`'s header value until it is due for refresh; returns the value.
fn keep(scope: &str, token: credential::AccessToken) -> String {
    let value = format!("{} {}", token.token_type, token.token);
    KEPT.with_borrow_mut(|kept| {
        kept.keep(scope, value.clone(), token.expires_on, token.refresh_on)
    });
    value
}

fn token(scope: &str, claims: Option<String>) -> Result<credential::AccessToken, String> {
    let options = TokenRequestOptions {
        claims,
        tenant_id: None,
        // The middleware answers claims challenges, so it may ask for CAE tokens.
        enable_cae: true,
    };
    credential::get_token(&[scope.to_owned()], &options).map_err(|error| describe(scope, error))
}

/// The credential's error as the one line a request gets.
fn describe(scope: &str, error: CredentialError) -> String {
    let why = match &error {
        CredentialError::Unavailable(message) => NoToken::Unavailable(message),
        CredentialError::InvalidArgument(message) => NoToken::InvalidArgument(message),
        CredentialError::AuthenticationFailed(failure) => NoToken::AuthenticationFailed {
            message: &failure.message,
            correlation_id: failure.correlation_id.as_deref(),
        },
    };
    no_token_message(scope, why)
}

/// A mutable copy of `headers` with `authorization` added: a request's own are immutable.
fn with_header(headers: &Fields, value: &str) -> Result<Fields, ErrorCode> {
    let copy = headers.clone();
    copy.append("authorization", value.as_bytes())
        .map_err(|error| internal(format!("bearer-middleware: adding the header: {error:?}")))?;
    Ok(copy)
}

fn scheme_text(scheme: &Scheme) -> &str {
    match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
        Scheme::Other(other) => other,
    }
}

fn internal(message: String) -> ErrorCode {
    ErrorCode::InternalError(Some(message))
}

export!(Middleware);
