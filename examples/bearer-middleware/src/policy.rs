//! What the middleware does with one outgoing request, decided from its parts alone.

use crate::prelude::*;

use crate::rules::Rules;

/// The parts of an outgoing request the decision depends on.
pub struct RequestFacts<'a> {
    /// `https`, `http`, or another scheme; `None` when the app set none (the middleware then
    /// sends the request over https itself: a host's default may be http).
    pub scheme: Option<&'a str>,
    pub authority: Option<&'a str>,
    pub has_authorization: bool,
    /// The request's body is empty whatever the app does with it: `content-length: 0`. Many
    /// clients take the body of every request and finish it empty; declared so, such a request
    /// can be copied without one.
    pub body_is_empty: bool,
}

/// Whether a request with this `content-length` (if any) has an empty body. Only a declared
/// length says so: a GET or HEAD whose body the app took may still be written to (RFC 9110 gives
/// such a body no meaning, but some APIs read one), and a copy would send it without.
pub fn body_is_empty(content_length: Option<&str>) -> bool {
    content_length.is_some_and(|length| length.trim() == "0")
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Forward the request as it is.
    PassThrough,
    /// Forward a copy with `Authorization: Bearer` for this scope.
    Authorize { scope: &'r str },
    /// Fail the request with this message: sending it would leak a token or lose the body.
    Refuse(String),
}

/// `app_holds_body` tells whether the app took the request's body, so may write one the
/// middleware can never reach; it is asked last, only of a request that would be authorized and
/// whose body is not known to be empty.
pub fn decide<'r>(
    rules: &'r Rules,
    request: &RequestFacts<'_>,
    app_holds_body: impl FnOnce() -> bool,
) -> Decision<'r> {
    let Some(authority) = request.authority else {
        return Decision::PassThrough;
    };
    let Some(scope) = rules.scope_for(authority) else {
        return Decision::PassThrough;
    };
    // The app authorized this request itself (e.g. through `authorization-for`): never overwrite.
    if request.has_authorization {
        return Decision::PassThrough;
    }
    let scheme = request.scheme.unwrap_or("https");
    if !scheme.eq_ignore_ascii_case("https") {
        return Decision::Refuse(format!(
            "bearer-middleware: refusing to send a bearer token for {scope} to {authority} over \
             {scheme}; use https"
        ));
    }
    if !request.body_is_empty && app_holds_body() {
        return Decision::Refuse(format!(
            "bearer-middleware: cannot authorize a request with a body to {authority}: WASI 0.2 \
             request headers are immutable and the body stays with the app; set the \
             Authorization header yourself from azure:bearer/bearer.authorization-for (a request \
             without a body: leave its body untaken, or send `content-length: 0`)"
        ));
    }
    Decision::Authorize { scope }
}

/// Why the credential gave no token, as its `credential-error` says (the same in both WIT
/// editions, whose types differ).
pub enum NoToken<'a> {
    Unavailable(&'a str),
    InvalidArgument(&'a str),
    AuthenticationFailed {
        message: &'a str,
        correlation_id: Option<&'a str>,
    },
}

/// The error a request gets when the credential gave no token for `scope`: one line; the
/// credential's messages never hold a secret.
pub fn no_token_message(scope: &str, why: NoToken<'_>) -> String {
    let what = match why {
        NoToken::Unavailable(message) => format!("the credential is unavailable: {message}"),
        NoToken::InvalidArgument(message) => format!("the request was refused: {message}"),
        NoToken::AuthenticationFailed {
            message,
            correlation_id,
        } => match correlation_id {
            Some(id) => format!("authentication failed: {message} (correlation id {id})"),
            None => format!("authentication failed: {message}"),
        },
    };
    format!("bearer-middleware: no token for {scope}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_token_says_why_with_the_correlation_id() {
        let failed = NoToken::AuthenticationFailed {
            message: "AADSTS70021: no matching federated identity record",
            correlation_id: Some("c-1"),
        };
        assert_eq!(
            no_token_message("s", failed),
            "bearer-middleware: no token for s: authentication failed: AADSTS70021: no matching \
             federated identity record (correlation id c-1)"
        );
        assert_eq!(
            no_token_message("s", NoToken::Unavailable("no file")),
            "bearer-middleware: no token for s: the credential is unavailable: no file"
        );
        assert_eq!(
            no_token_message("s", NoToken::InvalidArgument("bad scope")),
            "bearer-middleware: no token for s: the request was refused: bad scope"
        );
    }

    fn rules() -> Rules {
        Rules::parse(Some("*.vault.azure.net=https://vault.azure.net/.default")).unwrap()
    }

    fn facts(authority: &str) -> RequestFacts<'_> {
        RequestFacts {
            scheme: Some("https"),
            authority: Some(authority),
            has_authorization: false,
            body_is_empty: false,
        }
    }

    #[test]
    fn a_matching_https_request_without_a_body_is_authorized() {
        let rules = rules();
        let decision = decide(&rules, &facts("kv.vault.azure.net"), || false);
        assert_eq!(
            decision,
            Decision::Authorize {
                scope: "https://vault.azure.net/.default"
            }
        );
        let no_scheme = RequestFacts {
            scheme: None,
            ..facts("kv.vault.azure.net")
        };
        assert!(matches!(
            decide(&rules, &no_scheme, || false),
            Decision::Authorize { .. }
        ));
    }

    #[test]
    fn other_hosts_and_requests_already_authorized_pass_untouched() {
        let rules = rules();
        let body_unasked = || panic!("the body is asked about only for a request to authorize");
        assert_eq!(
            decide(&rules, &facts("example.com"), body_unasked),
            Decision::PassThrough
        );
        let authorized = RequestFacts {
            has_authorization: true,
            // Not even refused: the app chose its own header and transport.
            scheme: Some("http"),
            ..facts("kv.vault.azure.net")
        };
        assert_eq!(
            decide(&rules, &authorized, body_unasked),
            Decision::PassThrough
        );
        let no_authority = RequestFacts {
            authority: None,
            ..facts("")
        };
        assert_eq!(
            decide(&rules, &no_authority, body_unasked),
            Decision::PassThrough
        );
    }

    #[test]
    fn a_token_is_never_sent_in_clear_text() {
        let plain = RequestFacts {
            scheme: Some("http"),
            ..facts("kv.vault.azure.net")
        };
        let Decision::Refuse(message) = decide(&rules(), &plain, || false) else {
            panic!("plain http was not refused")
        };
        assert!(message.contains("over http; use https"), "{message}");
    }

    #[test]
    fn a_taken_body_that_is_known_to_be_empty_does_not_stop_the_header() {
        let empty = RequestFacts {
            body_is_empty: true,
            ..facts("kv.vault.azure.net")
        };
        let body_unasked = || panic!("an empty body needs no look");
        assert!(matches!(
            decide(&rules(), &empty, body_unasked),
            Decision::Authorize { .. }
        ));
    }

    #[test]
    fn only_a_declared_zero_length_tells_an_empty_body() {
        assert!(body_is_empty(Some("0")));
        assert!(body_is_empty(Some(" 0 ")));
        assert!(!body_is_empty(Some("12")));
        // A GET or HEAD without a length may carry a body the app writes after `handle`.
        assert!(!body_is_empty(None));
    }

    #[test]
    fn a_request_with_a_body_is_refused_with_the_way_out() {
        let Decision::Refuse(message) = decide(&rules(), &facts("kv.vault.azure.net"), || true)
        else {
            panic!("a body the middleware cannot forward was not refused")
        };
        assert!(message.contains("authorization-for"), "{message}");
        assert!(message.contains("`content-length: 0`"), "{message}");
    }
}
