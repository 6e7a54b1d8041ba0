//! What Envoy delivers to `proxy_on_http_call_response` for what the callout's cluster did:
//! the upstream's answer, or Envoy's own when it got none. Envoy 1.40 (the `envoy.yaml` of the
//! filter, V8), seen from the filter, delivered these header maps and bodies:
//!
//! | the cluster's endpoint | headers | body |
//! |---|---|---|
//! | a port nothing listens on | `:status: 503`, `content-length: 98`, `content-type: text/plain` | `upstream connect error or disconnect/reset before headers. reset reason: remote connection failure` |
//! | accepts, never answers (`timeout_ms` passes) | `:status: 504`, `content-length: 24`, `content-type: text/plain` | `upstream request timeout` |
//! | accepts, closes without answering | `:status: 503`, `content-length: 95`, `content-type: text/plain` | `… reset reason: connection termination` |
//! | answers | the answer's own, then `x-envoy-upstream-service-time` | the answer's |
//! | resets in the middle of the body | none (header count 0) | none |

use crate::Headers;
use std::io::ErrorKind;

/// An upstream's HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// In the order the upstream sent them, names lower-case.
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// What happened to a callout at its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Answered(HttpAnswer),
    /// Nothing accepted the connection.
    Refused,
    /// The connection was accepted and closed before an answer.
    Closed,
    /// No answer within the callout's `timeout_ms`.
    TimedOut,
    /// The answer's headers came, then the connection was reset.
    ResetMidAnswer,
}

impl Upstream {
    /// What a client's attempt says about the upstream: refused, timed out (a read or connect
    /// bound passed), or otherwise closed before an answer came.
    pub fn from_attempt(attempt: std::io::Result<HttpAnswer>) -> Upstream {
        match attempt {
            Ok(answer) => Upstream::Answered(answer),
            Err(error) => match error.kind() {
                ErrorKind::ConnectionRefused => Upstream::Refused,
                ErrorKind::TimedOut | ErrorKind::WouldBlock => Upstream::TimedOut,
                _ => Upstream::Closed,
            },
        }
    }

    /// The header map and body Envoy hands the filter; `None` when it hands no headers at all.
    pub(crate) fn delivered(&self) -> Option<(Headers, Vec<u8>)> {
        let (status, body) = match self {
            Upstream::Answered(answer) => {
                let mut headers = vec![(":status".to_owned(), answer.status.to_string())];
                headers.extend(answer.headers.iter().cloned());
                // Envoy's router adds it to every upstream answer (never to its own); the
                // milliseconds are made up.
                headers.push(("x-envoy-upstream-service-time".into(), "1".into()));
                return Some((headers, answer.body.clone()));
            }
            Upstream::ResetMidAnswer => return None,
            Upstream::Refused => (503, RESET_BEFORE_HEADERS_REMOTE_CONNECTION_FAILURE),
            Upstream::Closed => (503, RESET_BEFORE_HEADERS_CONNECTION_TERMINATION),
            Upstream::TimedOut => (504, TIMEOUT),
        };
        let headers = vec![
            (":status".to_owned(), status.to_string()),
            ("content-length".to_owned(), body.len().to_string()),
            ("content-type".to_owned(), "text/plain".to_owned()),
        ];
        Some((headers, body.as_bytes().to_vec()))
    }
}

const RESET_BEFORE_HEADERS_REMOTE_CONNECTION_FAILURE: &str = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
const RESET_BEFORE_HEADERS_CONNECTION_TERMINATION: &str = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
const TIMEOUT: &str = "upstream request timeout";
