//! What came back for the callout to the bridge, and what it means.
//!
//! Envoy answers a callout itself when it cannot get the bridge's answer: a 503 when the
//! cluster cannot connect, a 504 when `timeout_ms` passes (plain text, Envoy's own words). Those
//! must not read as the bridge's refusals. The evidence is the bridge's contract: it answers
//! every request, token or error, with `content-type: application/json` (`token-bridge`'s
//! `respond`). An answer without it is not the bridge's, whatever its status. Envoy's words then
//! only name the cause more precisely; if a later Envoy words them differently, the filter still
//! says the answer was not the bridge's instead of blaming the bridge.

use crate::token::SharedToken;
use core::time::Duration;

/// A callout's answer as the proxy delivered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalloutAnswer<'a> {
    /// Headers came: the bridge's answer, or one Envoy made itself.
    Http {
        /// `None` when `:status` was missing or not a number.
        status: Option<u16>,
        content_type: Option<&'a [u8]>,
        body: &'a [u8],
    },
    /// No headers at all: Envoy's report of a reset in the middle of an answer.
    Reset,
}

/// Envoy's body for a callout whose connection failed or was reset before the answer's headers
/// (the reset reason follows it).
const ENVOY_RESET_BEFORE_HEADERS: &[u8] =
    b"upstream connect error or disconnect/reset before headers.";
/// Envoy's body for a callout that reached its `timeout_ms`.
const ENVOY_TIMEOUT: &[u8] = b"upstream request timeout";
/// Envoy's body for a cluster with no endpoint to send to.
const ENVOY_NO_HEALTHY_UPSTREAM: &[u8] = b"no healthy upstream";

/// Where the callout went, for the messages.
pub struct Bridge<'a> {
    pub cluster: &'a str,
    pub timeout: Duration,
}

impl Bridge<'_> {
    /// The token in `answer`, fetched at `now` (seconds since the Unix epoch); `Err` names the
    /// cause, never quoting a token or the bridge's secret.
    pub fn token_from(&self, answer: CalloutAnswer, now: u64) -> Result<SharedToken, String> {
        let cluster = self.cluster;
        let (status, content_type, body) = match answer {
            CalloutAnswer::Http {
                status,
                content_type,
                body,
            } => (status, content_type, body),
            CalloutAnswer::Reset => {
                return Err(format!(
                    "the token bridge at cluster '{cluster}' broke off its answer (the connection was reset)"
                ));
            }
        };
        if content_type.is_some_and(is_json) {
            return match status {
                Some(200) => SharedToken::from_bridge_answer(body, now),
                Some(status) => Err(bridge_refusal(cluster, status, body)),
                None => Err(format!(
                    "the token bridge at cluster '{cluster}' answered without a status"
                )),
            };
        }
        let body = body.trim_ascii();
        let unreachable = |why: &str| {
            format!("the token bridge at cluster '{cluster}' could not be reached: {why}")
        };
        match status {
            Some(504) if body == ENVOY_TIMEOUT => Err(format!(
                "the token bridge at cluster '{cluster}' did not answer within {} ms",
                self.timeout.as_millis()
            )),
            Some(503) if body.starts_with(ENVOY_RESET_BEFORE_HEADERS) => {
                Err(unreachable(reset_reason(body)))
            }
            Some(503) if body == ENVOY_NO_HEALTHY_UPSTREAM => {
                Err(unreachable("Envoy has no healthy endpoint in that cluster"))
            }
            Some(status) => Err(format!(
                "the token bridge at cluster '{cluster}' answered {status} without the bridge's JSON: is the cluster's address the bridge's?"
            )),
            None => Err(format!(
                "the token bridge at cluster '{cluster}' answered without a status or the bridge's JSON"
            )),
        }
    }
}

/// The content type the bridge always sends: `application/json`, parameters aside.
fn is_json(content_type: &[u8]) -> bool {
    let media_type = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default();
    media_type
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// The cause in Envoy's reset reason, in words of the filter's own: the reason is matched, not
/// quoted, so nothing a server at the bridge's address sends can reach the logs.
fn reset_reason(body: &[u8]) -> &'static str {
    let has = |what: &[u8]| {
        body.windows(what.len())
            .any(|window| window.eq_ignore_ascii_case(what))
    };
    // Envoy 1.40 says "remote connection failure" for a refused port, without the errno.
    if has(b"connection failure") || has(b"connection refused") {
        "the connection was refused or failed (is the bridge running, at the cluster's address?)"
    } else if has(b"connection timeout") {
        "the connection timed out"
    } else if has(b"overflow") {
        "Envoy's circuit breaker for that cluster is open (overflow)"
    } else if has(b"connection termination") || has(b"reset reason: remote reset") {
        "the connection was closed before an answer"
    } else {
        "the connection failed before an answer"
    }
}

/// The bridge's error, from its JSON `message` (which never holds a secret), or its status.
fn bridge_refusal(cluster: &str, status: u16, body: &[u8]) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|answer| answer["message"].as_str().map(str::to_owned));
    match said {
        Some(message) => format!("the token bridge answered {status}: {message}"),
        None => format!("the token bridge at cluster '{cluster}' answered {status}"),
    }
}

#[cfg(test)]
mod tests;
