//! The WASI layer: wasi:http requests in and out, tokens from `azure:identity/credential`.
//! Every decision is in [`policy`](crate::policy), [`rules`](crate::rules) and
//! [`challenge`](crate::challenge).

use crate::challenge::claims_challenge;
use crate::challenged::ChallengedTokens;
use crate::policy::{Decision, RequestFacts, decide};
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
    ErrorCode, FutureIncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};

struct Middleware;

thread_local! {
    /// Read once per instance: the environment does not change under a running component.
    static RULES: Result<Rules, String> =
        Rules::parse(std::env::var(AZURE_BEARER_RULES).ok().as_deref()).map_err(|e| e.to_string());
    static CHALLENGED: RefCell<ChallengedTokens> = RefCell::default();
}

impl outgoing_handler::Guest for Middleware {
    fn handle(
        request: OutgoingRequest,
        options: Option<RequestOptions>,
    ) -> Result<FutureIncomingResponse, ErrorCode> {
        let scheme = request.scheme().map(scheme_name);
        let authority = request.authority();
        let headers = request.headers();
        let has_authorization = !headers.get("authorization").is_empty();
        drop(headers);
        let authorization = RULES.with(|rules| {
            let rules = rules
                .as_ref()
                .map_err(|message| internal(message.clone()))?;
            let facts = RequestFacts {
                scheme: scheme.as_deref(),
                authority: authority.as_deref(),
                has_authorization,
            };
            // Taking the body only tells whether the app took it first: the request is rebuilt.
            match decide(rules, &facts, || request.body().is_err()) {
                Decision::PassThrough => Ok(None),
                Decision::Refuse(message) => Err(internal(message)),
                Decision::Authorize { scope } => authorization(scope).map(Some).map_err(internal),
            }
        })?;
        match authorization {
            None => send(request, options),
            Some(value) => send(with_authorization(request, &value)?, options),
        }
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
            let token = token(scope, Some(claims))?;
            let value = format!("{} {}", token.token_type, token.token);
            CHALLENGED.with_borrow_mut(|kept| {
                kept.keep(scope, value, token.expires_on, token.refresh_on)
            });
            Ok(true)
        })
    }
}

/// The header value for `scope`: a token kept from a claims challenge, else the credential's
/// (cached for its lifetime, so this is a lookup on all but the first request).
fn authorization(scope: &str) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(kept) = CHALLENGED.with_borrow_mut(|kept| kept.get(scope, now).map(str::to_owned)) {
        return Ok(kept);
    }
    let token = token(scope, None)?;
    Ok(format!("{} {}", token.token_type, token.token))
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

/// The credential's error as one line; its messages never hold a secret.
fn describe(scope: &str, error: CredentialError) -> String {
    let what = match error {
        CredentialError::Unavailable(message) => {
            format!("the credential is unavailable: {message}")
        }
        CredentialError::InvalidArgument(message) => format!("the request was refused: {message}"),
        CredentialError::AuthenticationFailed(failure) => {
            let mut text = format!("authentication failed: {}", failure.message);
            if let Some(correlation_id) = failure.correlation_id {
                text.push_str(&format!(" (correlation id {correlation_id})"));
            }
            text
        }
    };
    format!("bearer-middleware: no token for {scope}: {what}")
}

/// A copy of `request` with the header added: the original's headers are immutable.
fn with_authorization(request: OutgoingRequest, value: &str) -> Result<OutgoingRequest, ErrorCode> {
    let headers = request.headers().clone();
    headers
        .append("authorization", value.as_bytes())
        .map_err(|error| internal(format!("bearer-middleware: adding the header: {error:?}")))?;
    let copy = OutgoingRequest::new(headers);
    let refused = |part: &str| internal(format!("bearer-middleware: copying the request's {part}"));
    copy.set_method(&request.method())
        .map_err(|()| refused("method"))?;
    copy.set_scheme(request.scheme().as_ref())
        .map_err(|()| refused("scheme"))?;
    copy.set_authority(request.authority().as_deref())
        .map_err(|()| refused("authority"))?;
    copy.set_path_with_query(request.path_with_query().as_deref())
        .map_err(|()| refused("path"))?;
    Ok(copy)
}

fn scheme_name(scheme: Scheme) -> String {
    match scheme {
        Scheme::Http => "http".into(),
        Scheme::Https => "https".into(),
        Scheme::Other(other) => other,
    }
}

fn internal(message: String) -> ErrorCode {
    ErrorCode::InternalError(Some(message))
}

export!(Middleware);
