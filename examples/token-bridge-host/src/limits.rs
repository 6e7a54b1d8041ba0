//! What a process on the pod's loopback, with or without the secret, may take of the bridge:
//! connections, time and memory.

use std::time::Duration;

/// The bounds the bridge serves within; [`Limits::default`] is what `token-bridge` runs with.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once. One more closes an open connection that is not waiting for a
    /// token: the oldest that never sent the secret, else the oldest idle one that did. A
    /// connection waiting for a token is never closed for another; when every connection is, the
    /// new one is closed at once.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, counted from the connection's start or
    /// from its previous answer: so also how long a keep-alive connection may stay idle.
    pub header_read_timeout: Duration,
    /// The worker is reported stuck once it has spent longer than this on one request: `/healthz`
    /// answers 503, and token requests, those waiting included, are answered 503 at once.
    pub stuck_after: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Far more than an app keeps open to its sidecar, more than the requests that can
            // wait for the worker (QUEUE_LENGTH), and small enough that all of them with full
            // header buffers stay within the pod's memory limit (README, "Limits").
            max_connections: 512,
            // A client on loopback sends its headers in one write. As an idle timeout it is
            // longer than the 5 s after which Node's default agent drops idle sockets, so that
            // such a client closes first rather than reuse a connection the bridge is closing.
            header_read_timeout: Duration::from_secs(10),
            // The credential bounds a get-token at 60 s, so a worker past 70 s is waiting on
            // something that will not return.
            stuck_after: Duration::from_secs(70),
        }
    }
}

/// A request's line and headers larger than this are answered 431 and the connection closed.
/// SDK requests are under 1 KiB; hyper's default (~400 KiB) let 1,000 unfinished requests hold
/// 380 MB.
pub(crate) const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;
/// More headers than this are answered 431. SDKs send about ten, Envoy's callouts about twenty.
pub(crate) const MAX_HEADERS: usize = 64;
/// Token requests waiting for the worker beyond this are refused at once with 503: a bridge
/// that is that far behind (Entra slow, every waiting request on the same token) should not
/// queue more.
pub(crate) const QUEUE_LENGTH: usize = 256;
/// Longer than the worker's bound on one request; a request queued behind others may still meet
/// it, and is then answered 504 (and skipped by the worker).
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
