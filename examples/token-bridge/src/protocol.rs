//! Each request's answer, decided without I/O.

use crate::answer::{self, EntraFailure, IssuedToken};
use crate::query;
use crate::secret::constant_time_eq;
use crate::settings::Settings;
use redacted::Redacted;

/// The path of the token endpoint: `IDENTITY_ENDPOINT` is `http://127.0.0.1:<port>/msi/token`.
pub const TOKEN_PATH: &str = "/msi/token";
/// Answers 200 when the bridge is configured, for the pod's readiness probe. Needs no secret and
/// tells nothing but that.
pub const HEALTH_PATH: &str = "/healthz";
/// The only version of the protocol served: the one every current SDK sends.
pub const API_VERSION: &str = "2019-08-01";
/// The header carrying the secret, as the SDKs send it (HTTP header names ignore case).
pub const SECRET_HEADER: &str = "x-identity-header";

/// What the bridge needs of a request.
pub struct Request<'a> {
    pub method: &'a str,
    pub path_with_query: &'a str,
    /// The `X-IDENTITY-HEADER` values sent, usually one.
    pub secret_headers: &'a [Vec<u8>],
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ask the credential for `scope`, answer for `resource`.
    Token {
        resource: String,
        scope: String,
    },
    Reply(Reply),
}

#[derive(PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Always JSON.
    pub body: String,
}

// By hand: a 200's body holds the token, which must never be printed; any other body is an
// error answer, shown as it is.
impl core::fmt::Debug for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let body: &dyn core::fmt::Debug = if self.status == 200 {
            &Redacted::new(&self.body)
        } else {
            &self.body
        };
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("body", body)
            .finish()
    }
}

impl Reply {
    fn error(status: u16, error: &str, description: &str) -> Reply {
        Reply {
            status,
            body: answer::error_body(status, error, description),
        }
    }
}

pub fn decide(request: &Request, settings: Result<&Settings, &str>) -> Outcome {
    let (path, query) = request
        .path_with_query
        .split_once('?')
        .unwrap_or((request.path_with_query, ""));
    if path == HEALTH_PATH {
        return Outcome::Reply(match settings {
            Ok(_) => Reply {
                status: 200,
                body: r#"{"status":"ok"}"#.to_owned(),
            },
            Err(problem) => Reply::error(503, "misconfigured", problem),
        });
    }
    if path != TOKEN_PATH {
        return Outcome::Reply(Reply::error(
            404,
            "not_found",
            &format!("the token endpoint is {TOKEN_PATH}"),
        ));
    }
    let settings = match settings {
        Ok(settings) => settings,
        Err(problem) => {
            return Outcome::Reply(Reply::error(
                500,
                "misconfigured",
                &format!("the token bridge is misconfigured: {problem}"),
            ));
        }
    };
    // The secret first, so that a caller without it learns nothing else.
    if let Err(refused) = check_secret(request.secret_headers, settings) {
        return Outcome::Reply(refused);
    }
    if request.method != "GET" {
        return Outcome::Reply(Reply::error(
            405,
            "method_not_allowed",
            &format!("{TOKEN_PATH} answers GET only"),
        ));
    }
    match token_parameters(query, settings) {
        Ok((resource, scope)) => Outcome::Token { resource, scope },
        Err(description) => Outcome::Reply(Reply::error(400, "invalid_request", &description)),
    }
}

/// Whether `secret_headers` (the `X-IDENTITY-HEADER` values of a request) are the secret, sent
/// once; `Err` is the 401 answer. The host asks this too, to tell its callers apart.
pub fn check_secret(secret_headers: &[Vec<u8>], settings: &Settings) -> Result<(), Reply> {
    let [given] = secret_headers else {
        return Err(Reply::error(
            401,
            "unauthorized",
            "send the X-IDENTITY-HEADER header once, with the value of IDENTITY_HEADER",
        ));
    };
    if !constant_time_eq(given, settings.secret().as_bytes()) {
        return Err(Reply::error(
            401,
            "unauthorized",
            "the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER",
        ));
    }
    Ok(())
}

/// The headers of an answer with `status`: its JSON type; `no-store`, since a token must not be
/// kept by anything between the bridge and the app; and for a 405, the one method served.
pub fn reply_headers(status: u16) -> &'static [(&'static str, &'static str)] {
    const CONTENT_TYPE: (&str, &str) = ("content-type", "application/json; charset=utf-8");
    const NO_STORE: (&str, &str) = ("cache-control", "no-store");
    const ALLOW: (&str, &str) = ("allow", "GET");
    if status == 405 {
        &[CONTENT_TYPE, NO_STORE, ALLOW]
    } else {
        &[CONTENT_TYPE, NO_STORE]
    }
}

/// The resource and the scope to request, from the query; `Err` says what to fix.
fn token_parameters(query: &str, settings: &Settings) -> Result<(String, String), String> {
    let pairs = query::parse(query)?;
    let single = |name: &str| -> Result<Option<&str>, String> {
        let mut values = pairs.iter().filter(|(key, _)| key == name);
        let first = values.next().map(|(_, value)| value.as_str());
        match values.next() {
            Some(_) => Err(format!("'{name}' is given more than once")),
            None => Ok(first),
        }
    };
    match single("api-version")? {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "api-version '{other}' is not served; this bridge speaks {API_VERSION} (set \
                 IDENTITY_ENDPOINT and IDENTITY_HEADER, not MSI_ENDPOINT and MSI_SECRET)"
            ));
        }
        None => return Err(format!("api-version is missing; send {API_VERSION}")),
    }
    for other_identity in ["mi_res_id", "msi_res_id", "object_id", "principal_id"] {
        if single(other_identity)?.is_some() {
            return Err(format!(
                "'{other_identity}' selects another identity; this bridge serves only its \
                 workload identity{}",
                served_identity(settings)
            ));
        }
    }
    if let Some(requested) = single("client_id")?
        && settings.client_id() != Some(requested)
    {
        return Err(format!(
            "client_id '{requested}' is not this bridge's identity{}",
            served_identity(settings)
        ));
    }
    let resource = single("resource")?
        .filter(|resource| !resource.is_empty())
        .ok_or("resource is missing; send the resource to get a token for, e.g. https://vault.azure.net")?;
    let Some(allowed) = settings.allowed(resource) else {
        return Err(format!(
            "resource '{resource}' is not on the bridge's allow-list ({}); add it to \
             TOKEN_BRIDGE_RESOURCES if the app should have tokens for it",
            settings.resources().join(", ")
        ));
    };
    // The answer names the resource as asked (SDKs key their caches by it); the scope is the
    // allow-list's spelling.
    Ok((resource.to_owned(), format!("{allowed}/.default")))
}

fn served_identity(settings: &Settings) -> String {
    settings
        .client_id()
        .map(|id| format!(" (client id {id})"))
        .unwrap_or_default()
}

/// Why the credential gave no token, as the bridge needs it.
pub enum Failure<'a> {
    /// Settings, token file or platform: the bridge's host must fix it.
    Unavailable(&'a str),
    /// The scope or options were refused before any request.
    InvalidArgument(&'a str),
    /// Microsoft Entra ID, or the way to it, refused: `status` is Entra's, if it answered.
    AuthenticationFailed {
        status: Option<u16>,
        failure: EntraFailure<'a>,
    },
}

/// The answer for a token the credential returned.
pub fn token_reply(token: &IssuedToken, resource: &str, settings: &Settings, now: u64) -> Reply {
    Reply {
        status: 200,
        body: answer::token_body(token, resource, settings.client_id(), now),
    }
}

/// The answer for a credential failure: Entra's own status and codes when it answered, so that
/// SDKs retry what Entra says is transient (429, 5xx) and not what is not.
pub fn failure_reply(failure: &Failure) -> Reply {
    match failure {
        Failure::Unavailable(message) => Reply::error(500, "unavailable", message),
        Failure::InvalidArgument(message) => Reply::error(400, "invalid_request", message),
        Failure::AuthenticationFailed { status, failure } => {
            // No answer from Entra at all (refused, timed out): the bridge is a gateway.
            let status = status
                .filter(|code| (400..=599).contains(code))
                .unwrap_or(502);
            Reply {
                status,
                body: answer::entra_failure_body(status, failure),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{AZURE_CLIENT_ID, IDENTITY_HEADER, TOKEN_BRIDGE_RESOURCES};

    const SECRET: &str = "0123456789abcdef0123";
    const CLIENT_ID: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";

    fn settings() -> Settings {
        Settings::from_lookup(|name| match name {
            IDENTITY_HEADER => Some(SECRET.into()),
            TOKEN_BRIDGE_RESOURCES => {
                Some("https://vault.azure.net,https://management.azure.com/".into())
            }
            AZURE_CLIENT_ID => Some(CLIENT_ID.into()),
            _ => None,
        })
        .unwrap()
    }

    fn ask(method: &str, path_with_query: &str, secret: Option<&str>) -> Outcome {
        let headers: Vec<Vec<u8>> = secret.map(|s| s.as_bytes().to_vec()).into_iter().collect();
        let request = Request {
            method,
            path_with_query,
            secret_headers: &headers,
        };
        decide(&request, Ok(&settings()))
    }

    fn reply(outcome: Outcome) -> Reply {
        match outcome {
            Outcome::Reply(reply) => reply,
            token => panic!("expected a reply, got {token:?}"),
        }
    }

    const VAULT: &str = "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

    #[test]
    fn an_sdk_request_asks_for_the_resource_default_scope() {
        assert_eq!(
            ask("GET", VAULT, Some(SECRET)),
            Outcome::Token {
                resource: "https://vault.azure.net".into(),
                scope: "https://vault.azure.net/.default".into(),
            }
        );
        // A user-assigned identity's SDK names its client id; the bridge's own is accepted.
        assert_eq!(
            ask(
                "GET",
                &format!("{VAULT}&client_id={CLIENT_ID}"),
                Some(SECRET)
            ),
            Outcome::Token {
                resource: "https://vault.azure.net".into(),
                scope: "https://vault.azure.net/.default".into(),
            }
        );
        // The answer names the resource as asked; the scope is spelled as the allow-list has it.
        assert_eq!(
            ask(
                "GET",
                "/msi/token?resource=https://Management.azure.com&api-version=2019-08-01",
                Some(SECRET)
            ),
            Outcome::Token {
                resource: "https://Management.azure.com".into(),
                scope: "https://management.azure.com//.default".into(),
            }
        );
    }

    #[test]
    fn a_missing_or_wrong_secret_is_refused_before_anything_else() {
        for secret in [None, Some("0123456789abcdef0124"), Some(""), Some("0123")] {
            let refused = reply(ask("POST", "/msi/token?api-version=1", secret));
            assert_eq!(refused.status, 401, "{secret:?}");
            assert!(refused.body.contains("unauthorized"), "{}", refused.body);
            assert!(!refused.body.contains(SECRET));
        }
        let twice = vec![SECRET.as_bytes().to_vec(), SECRET.as_bytes().to_vec()];
        let request = Request {
            method: "GET",
            path_with_query: VAULT,
            secret_headers: &twice,
        };
        assert_eq!(reply(decide(&request, Ok(&settings()))).status, 401);
        assert_eq!(check_secret(&twice, &settings()).unwrap_err().status, 401);
        assert!(check_secret(&twice[..1], &settings()).is_ok());
    }

    #[test]
    fn bad_requests_get_400_saying_what_to_fix() {
        let cases = [
            (
                "/msi/token?resource=https%3A%2F%2Fvault.azure.net",
                "api-version is missing",
            ),
            (
                "/msi/token?api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net",
                "api-version '2017-09-01' is not served",
            ),
            ("/msi/token?api-version=2019-08-01", "resource is missing"),
            (
                "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fstorage.azure.com",
                "not on the bridge's allow-list (https://vault.azure.net, https://management.azure.com/)",
            ),
            (
                "/msi/token?api-version=2019-08-01&resource=a&resource=b",
                "'resource' is given more than once",
            ),
            (
                &format!("{VAULT}&client_id=someone-else"),
                "client_id 'someone-else' is not this bridge's identity (client id 5b0a9b3e",
            ),
            (
                &format!("{VAULT}&mi_res_id=%2Fsubscriptions%2Fx"),
                "'mi_res_id' selects another identity",
            ),
            (&format!("{VAULT}&x=%zz"), "two hex digits"),
        ];
        for (path, expected) in cases {
            let refused = reply(ask("GET", path, Some(SECRET)));
            assert_eq!(refused.status, 400, "{path}");
            assert!(refused.body.contains(expected), "{path}: {}", refused.body);
            assert!(refused.body.contains(r#""error":"invalid_request""#));
        }
    }

    #[test]
    fn other_paths_and_methods() {
        assert_eq!(
            reply(ask("GET", "/metadata/identity/oauth2/token", Some(SECRET))).status,
            404
        );
        assert_eq!(reply(ask("POST", VAULT, Some(SECRET))).status, 405);
        let health = reply(ask("GET", HEALTH_PATH, None));
        assert_eq!(
            (health.status, health.body.as_str()),
            (200, r#"{"status":"ok"}"#)
        );
    }

    #[test]
    fn every_answer_is_json_never_stored_and_a_405_names_get() {
        let names = |status| -> Vec<&str> {
            reply_headers(status)
                .iter()
                .map(|&(name, _)| name)
                .collect()
        };
        assert_eq!(names(200), ["content-type", "cache-control"]);
        assert_eq!(names(401), ["content-type", "cache-control"]);
        assert_eq!(names(405), ["content-type", "cache-control", "allow"]);
        assert!(reply_headers(200).contains(&("cache-control", "no-store")));
        assert!(reply_headers(405).contains(&("allow", "GET")));
    }

    #[test]
    fn a_misconfigured_bridge_says_so_and_fails_its_readiness_probe() {
        let request = Request {
            method: "GET",
            path_with_query: VAULT,
            secret_headers: &[],
        };
        let refused = reply(decide(&request, Err("IDENTITY_HEADER is not set")));
        assert_eq!(refused.status, 500);
        assert!(
            refused
                .body
                .contains("misconfigured: IDENTITY_HEADER is not set")
        );
        let probe = Request {
            path_with_query: HEALTH_PATH,
            ..request
        };
        assert_eq!(reply(decide(&probe, Err("x"))).status, 503);
    }

    #[test]
    fn credential_failures_keep_entra_status_and_codes() {
        let failure = |status| Failure::AuthenticationFailed {
            status,
            failure: EntraFailure {
                error: Some("invalid_client"),
                message: "AADSTS700213: No matching federated identity record found",
                error_codes: &[700213],
                correlation_id: Some("corr"),
                trace_id: Some("trace"),
            },
        };
        let entra = failure_reply(&failure(Some(401)));
        assert_eq!(entra.status, 401);
        assert!(
            entra.body.contains(r#""error_codes":[700213]"#),
            "{}",
            entra.body
        );
        assert!(entra.body.contains(r#""correlation_id":"corr""#));
        assert_eq!(failure_reply(&failure(Some(429))).status, 429);
        assert_eq!(failure_reply(&failure(None)).status, 502);
        assert_eq!(failure_reply(&failure(Some(200))).status, 502);
        assert_eq!(
            failure_reply(&Failure::Unavailable("no token file")).status,
            500
        );
        assert_eq!(
            failure_reply(&Failure::InvalidArgument("bad scope")).status,
            400
        );
    }

    #[test]
    fn debug_output_of_a_token_reply_never_holds_the_token() {
        let token = IssuedToken {
            access_token: "eyJ0.secret-token",
            token_type: "Bearer",
            expires_on: 200,
            refresh_on: None,
        };
        let debug = format!("{:?}", token_reply(&token, "r", &settings(), 100));
        assert!(!debug.contains("eyJ0"), "{debug}");
        let refused = format!(
            "{:?}",
            failure_reply(&Failure::Unavailable("no token file"))
        );
        assert!(refused.contains("no token file"), "{refused}");
    }

    #[test]
    fn the_token_reply_names_the_served_client_id() {
        let token = IssuedToken {
            access_token: "tok",
            token_type: "Bearer",
            expires_on: 200,
            refresh_on: None,
        };
        let ok = token_reply(&token, "https://vault.azure.net", &settings(), 100);
        assert_eq!(ok.status, 200);
        assert!(ok.body.contains(&format!(r#""client_id":"{CLIENT_ID}""#)));
        assert!(ok.body.contains(r#""expires_in":"100""#));
    }
}
