//! The WASI 0.3 layer: `wasi:http/client` in and out, tokens from `azure:identity/credential`
//! (async). Every decision is in [`policy`](crate::policy), [`rules`](crate::rules),
//! [`replay`](crate::replay) and [`challenge`](crate::challenge); this moves requests, bodies and
//! tokens.
//!
//! A request that gets a token is rebuilt with the header: its body is pumped from the app's
//! stream to the new request's as the host takes it, a copy kept beside it (up to
//! [`REPLAY_BODY_BOUND`](crate::replay::REPLAY_BODY_BOUND)). A 401 with a claims challenge is
//! answered by sending the request once more with a token carrying the claims; any other
//! response goes back to the app untouched, its body streaming straight from the host.

mod send;

use crate::prelude::*;

use crate::kept_tokens::KeptTokens;
use crate::policy::{Decision, NoToken, RequestFacts, decide, no_token_message};
use crate::rules::{AZURE_BEARER_RULES, Rules};
use bindings::azure::identity::credential;
use bindings::azure::identity::types::{CredentialError, TokenRequestOptions};
use bindings::exports::wasi::http::client::Guest;
use bindings::wasi::clocks::system_clock;
use bindings::wasi::http::types::{ErrorCode, Request, Response, Scheme};
use p3_guest_runtime::InstanceState;

/// The code wit-bindgen generates. `export!` expands into `#[unsafe(export_name)]` functions whose
/// unsafe blocks lift the arguments out of linear memory; this module's code uses only the
/// bindings' safe API.
#[allow(unsafe_code)]
mod bindings {
    use super::Middleware;

    wit_bindgen::generate!({
        world: "azure:bearer/bearer-middleware@0.2.0",
        path: ["../../wit-p3", "wit-p3"],
        generate_all,
    });

    export!(Middleware);
}

struct Middleware;

/// The rules, read from the environment on the first request (it does not change under a running
/// component), and each scope's kept header value. Borrowed only between awaits.
static RULES: InstanceState<Option<Result<Rules, String>>> = InstanceState::new(None);
static KEPT: InstanceState<KeptTokens> = InstanceState::new(KeptTokens::new());

impl Guest for Middleware {
    async fn send(request: Request) -> Result<Response, ErrorCode> {
        let scope = match scope_for(&request)? {
            None => return bindings::wasi::http::client::send(request).await,
            Some(scope) => scope,
        };
        let authorization = authorization(&scope, None).await.map_err(internal)?;
        send::authorized(request, &scope, authorization).await
    }
}

/// The scope of the rule `request` matches, when it is to be authorized; `None` to forward it
/// as it is.
fn scope_for(request: &Request) -> Result<Option<String>, ErrorCode> {
    let mut rules = RULES.borrow_mut();
    let rules = rules.get_or_insert_with(|| {
        let environment = bindings::wasi::cli::environment::get_environment();
        let value = environment
            .iter()
            .find(|(name, _)| name == AZURE_BEARER_RULES)
            .map(|(_, value)| value.as_str());
        Rules::parse(value).map_err(|error| error.to_string())
    });
    let rules = rules
        .as_ref()
        .map_err(|message| internal(message.clone()))?;
    let authority = request.get_authority();
    // Most of a proxy's requests go to hosts no rule names: one look, then forward.
    if authority
        .as_deref()
        .and_then(|a| rules.scope_for(a))
        .is_none()
    {
        return Ok(None);
    }
    let scheme = request.get_scheme();
    let headers = request.get_headers();
    let facts = RequestFacts {
        scheme: scheme.as_ref().map(scheme_text),
        authority: authority.as_deref(),
        has_authorization: headers.has("authorization"),
        // The body is always the middleware's to pump: it is never left behind.
        body_is_empty: true,
    };
    match decide(rules, &facts, || false) {
        Decision::PassThrough => Ok(None),
        Decision::Refuse(message) => Err(internal(message)),
        Decision::Authorize { scope } => Ok(Some(scope.to_owned())),
    }
}

/// The header value for `scope`: the kept one until its token is due, else the credential's
/// token, kept in turn. With `claims` (a challenge's), always a new token, which replaces the
/// kept one.
async fn authorization(scope: &str, claims: Option<String>) -> Result<String, String> {
    let now = u64::try_from(system_clock::now().seconds).unwrap_or(0);
    if claims.is_none()
        && let Some(kept) = KEPT.borrow_mut().get(scope, now)
    {
        return Ok(kept.to_owned());
    }
    let options = TokenRequestOptions {
        claims,
        tenant_id: None,
        // The middleware answers claims challenges, so it may ask for CAE tokens.
        enable_cae: true,
    };
    let token = credential::get_token(vec![scope.to_owned()], options)
        .await
        .map_err(|error| describe(scope, error))?;
    let value = format!("{} {}", token.token_type, token.token);
    KEPT.borrow_mut()
        .keep(scope, value.clone(), token.expires_on, token.refresh_on);
    Ok(value)
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
