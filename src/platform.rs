//! What the credential needs from its host, as plain data: the WASI layer implements
//! [`Platform`] with wasi:clocks, wasi:random, wasi:filesystem and wasi:http; unit tests with
//! scripted values.

use crate::prelude::*;

use crate::authority::TokenEndpoint;
use core::fmt;
use redacted::Redacted;

/// Largest token file accepted: service-account tokens are ~1–2 KiB, so anything this big is the
/// wrong file.
pub const MAX_TOKEN_FILE_BYTES: usize = 64 * 1024;

/// Largest response body read from the token endpoint; Entra's answers are a few KiB.
pub const MAX_RESPONSE_BODY_BYTES: usize = 1024 * 1024;

/// Bounds on one exchange, in nanoseconds, passed to wasi:http's request options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Until the connection is established.
    pub connect: u64,
    /// Until the response's first byte arrives.
    pub first_byte: u64,
    /// Between two chunks of the response body.
    pub between_bytes: u64,
}

/// The methods the credential sends: POST to Microsoft Entra ID, GET to the token bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A token request of the OAuth client-credentials flow (a form body).
    Post,
    /// A token request of the App Service protocol (no body).
    // Only the token bridge's variant sends it; the base component compiles it in no request.
    #[cfg_attr(
        all(target_arch = "wasm32", not(feature = "via-bridge")),
        allow(dead_code)
    )]
    Get,
}

/// A token request to its endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// POST, or GET with an empty body.
    pub method: Method,
    /// Where the request goes: the scheme, the host (with optional port) and the path.
    pub endpoint: TokenEndpoint,
    /// Names (lowercase) and values, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The url-encoded form, which holds the client assertion; empty for a GET.
    pub body: Vec<u8>,
    /// The bounds the host's HTTP client applies to this exchange.
    pub timeouts: Timeouts,
    /// Monotonic time (nanoseconds) by which the whole response, head and body, must have
    /// arrived. The platform gives up then, whatever its host does with the timeouts: it drops
    /// the request and reports the stall.
    pub deadline: u64,
}

// By hand, to show the URL rather than its parts. The body, which holds the assertion, is shown
// as `Redacted` but stays plain bytes in the struct: the HTTP client writes it as it is.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.endpoint.url())
            .field("headers", &Headers(&self.headers))
            .field("body", &Redacted::new(&self.body))
            .field("timeouts", &self.timeouts)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Names of headers whose values are secrets: the token bridge's.
const SECRET_HEADERS: [&str; 1] = ["x-identity-header"];

/// Headers for `Debug`, secret values as `Redacted`.
struct Headers<'a>(&'a [(String, String)]);

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            if SECRET_HEADERS.contains(&name.as_str()) {
                list.entry(&(name, Redacted::new(value)));
            } else {
                list.entry(&(name, value));
            }
        }
        list.finish()
    }
}

/// The token endpoint's answer, body read in full (at most 1 MiB, `MAX_RESPONSE_BODY_BYTES`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Names and values as received (values decoded lossily as UTF-8); look names up ignoring
    /// case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Why a token file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileReadError {
    /// The file, or a directory on its path, does not exist.
    NotFound,
    /// The host or the file system refused to open the file for reading.
    PermissionDenied,
    /// No directory the host granted holds the file; these are the ones it granted.
    NotPreopened(Vec<String>),
    /// Anything else, described by the platform.
    Other(String),
}

/// The host services every credential uses. Every call is bounded by the implementation.
///
/// The waits (`sleep`, `send`, `read_file`) are `async`: the WASI 0.3 build awaits its host's
/// async functions there, so that other get-token calls on the instance go on meanwhile. The WASI
/// 0.2 build's calls block, and its futures are ready when first polled (`ready::run`).
// No `Send` bound is wanted on the futures: a component instance runs on one thread.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// Whether get-token calls can overlap on one instance (WASI 0.3), so that one may find
    /// another requesting its token (`flights`). WASI 0.2 runs a call at a time: there the
    /// flights' code is left out of the component (about 2 KB).
    const CALLS_OVERLAP: bool;
    /// Wall-clock time, in seconds since the Unix epoch: token expiry is stated in it.
    fn now(&mut self) -> u64;
    /// Monotonic time in nanoseconds: what waits, budgets and re-read periods are measured in.
    fn monotonic_nanos(&mut self) -> u64;
    /// Waits `nanos` nanoseconds.
    async fn sleep(&mut self, nanos: u64);
    /// 16 random bytes, for request ids.
    fn random_bytes(&mut self) -> [u8; 16];
    /// Sends the request and reads the response by its deadline; `Err` describes a transport
    /// failure or the stall.
    async fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// What the workload identity credential needs besides: the token file. Apart from
/// [`Platform`] so that a variant without wasi:filesystem (the token bridge's) implements
/// neither it nor any file code.
#[allow(async_fn_in_trait)]
pub trait FilePlatform: Platform {
    /// Reads at most `limit` bytes of the file at `path` (more than that is reported as `limit`
    /// bytes plus one, so the caller can tell the file is too big).
    async fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FileReadError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Scheme;

    #[test]
    fn request_debug_hides_the_body() {
        let request = HttpRequest {
            method: Method::Post,
            endpoint: TokenEndpoint {
                scheme: Scheme::Https,
                host: "login.example".into(),
                path: "/t/oauth2/v2.0/token".into(),
            },
            headers: vec![("accept".into(), "application/json".into())],
            body: b"client_assertion=very-secret".to_vec(),
            timeouts: Timeouts {
                connect: 1,
                first_byte: 2,
                between_bytes: 3,
            },
            deadline: 4,
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(
            debug.contains(r#"("accept", "application/json")"#),
            "{debug}"
        );
        assert!(
            debug.contains("https://login.example/t/oauth2/v2.0/token"),
            "{debug}"
        );
    }

    #[test]
    fn request_debug_hides_the_bridge_secret_header() {
        let request = HttpRequest {
            method: Method::Get,
            endpoint: TokenEndpoint {
                scheme: Scheme::Http,
                host: "127.0.0.1:8080".into(),
                path: "/msi/token?api-version=2019-08-01".into(),
            },
            headers: vec![("x-identity-header".into(), "bridge-secret".into())],
            body: Vec::new(),
            timeouts: Timeouts {
                connect: 1,
                first_byte: 2,
                between_bytes: 3,
            },
            deadline: 4,
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("bridge-secret"), "{debug}");
        assert!(debug.contains("x-identity-header"), "{debug}");
        assert!(
            debug.contains("http://127.0.0.1:8080/msi/token?"),
            "{debug}"
        );
    }
}
