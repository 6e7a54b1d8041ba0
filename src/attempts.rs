//! One token request's attempts, whatever the token source: each attempt bounded in time, failed
//! ones retried by the rules of `retry`, the whole within 60 s. The source says what an attempt
//! sends and what its answer means; this is the one place the bounds and the schedule are kept.

use crate::prelude::*;

use crate::error::{AccessToken, CredentialError};
use crate::platform::{Platform, Timeouts};
use crate::request_id::uuid_v4;
use crate::retry::{GET_TOKEN_BUDGET_NANOS, MAX_RETRIES, NANOS_PER_SECOND, backoff};
use crate::text::Seconds;

const CONNECT_TIMEOUT_NANOS: u64 = 10 * NANOS_PER_SECOND;
const FIRST_BYTE_TIMEOUT_NANOS: u64 = 30 * NANOS_PER_SECOND;
const BETWEEN_BYTES_TIMEOUT_NANOS: u64 = 30 * NANOS_PER_SECOND;
/// One attempt's bound, whatever the host does with the timeouts above: connecting, the first
/// byte, and 5 s for a body of a few KiB. A host that ignores them (wasmtime's default client
/// puts none on the TLS handshake) still gets the request dropped then, leaving time in the 60 s
/// bound for one more attempt.
pub const ATTEMPT_BOUND_NANOS: u64 =
    CONNECT_TIMEOUT_NANOS + FIRST_BYTE_TIMEOUT_NANOS + 5 * NANOS_PER_SECOND;
/// One attempt's bound with a valid token in hand: that token serves the caller if the source is
/// slow, and a well source answers token requests in well under a second.
pub const REFRESH_ATTEMPT_BOUND_NANOS: u64 = 5 * NANOS_PER_SECOND;

/// The host's timeouts end this much before the attempt's deadline, so that a host that applies
/// them reports the failure in its own words before the platform's fallback drops the request.
const TIMEOUT_GRACE_NANOS: u64 = NANOS_PER_SECOND / 2;

/// What an attempt is given: its request id and its bounds.
pub struct Attempt {
    /// A fresh UUID (from the platform's random bytes), for `x-ms-client-request-id`.
    pub request_id: String,
    /// The host's timeouts for this request, none outliving `deadline`.
    pub timeouts: Timeouts,
    /// Monotonic nanoseconds by which the platform drops the request.
    pub deadline: u64,
    /// Wall-clock seconds when the request is sent: a token's lifetime counts from then.
    pub requested_at: u64,
}

/// What one attempt came to.
pub enum Outcome {
    /// A token.
    Token(AccessToken),
    /// A failure that asking again cannot fix (a refusal), or that the source already retried.
    Final(CredentialError),
    /// A failure worth retrying (no answer, throttling, a server fault), after the wait the
    /// server asked for (nanoseconds) if it named one.
    Retryable(CredentialError, Option<u64>),
    /// Ask again at once, not counted as a retry: the source fixed what failed (the workload
    /// identity credential re-read its expired assertion). A source returns it at most once.
    AgainAtOnce,
}

/// Runs `attempt` until it yields a token or a final failure: up to 3 retries, after the
/// server's wait or the backoff, and never a wait past the 60 s bound, counted from `started`
/// (monotonic nanoseconds). Each attempt ends within
/// 45 s; with a valid token in hand (`valid_token_in_hand`) there is one attempt of 5 s at most,
/// no retries: that token serves the caller sooner than a wait would.
pub async fn with_retries<P: Platform>(
    platform: &mut P,
    started: u64,
    valid_token_in_hand: bool,
    mut attempt: impl AsyncFnMut(&mut P, &Attempt) -> Outcome,
) -> Result<AccessToken, CredentialError> {
    let deadline = started.saturating_add(GET_TOKEN_BUDGET_NANOS);
    let mut attempts = 0u32;
    let mut uncounted = 0u32;
    loop {
        attempts += 1;
        let random = platform.random_bytes();
        let now = platform.monotonic_nanos();
        let attempt_bound = if valid_token_in_hand {
            REFRESH_ATTEMPT_BOUND_NANOS
        } else {
            ATTEMPT_BOUND_NANOS
        };
        let attempt_deadline = deadline.min(now.saturating_add(attempt_bound));
        let bounds = Attempt {
            request_id: uuid_v4(random),
            timeouts: timeouts_within(attempt_deadline.saturating_sub(now)),
            deadline: attempt_deadline,
            requested_at: platform.now(),
        };
        let (error, requested_delay) = match attempt(platform, &bounds).await {
            Outcome::Token(token) => return Ok(token),
            Outcome::Final(error) => return Err(error),
            Outcome::AgainAtOnce => {
                uncounted += 1;
                continue;
            }
            Outcome::Retryable(error, delay) => (error, delay),
        };
        let retries = attempts - 1 - uncounted;
        if valid_token_in_hand {
            return Err(error);
        }
        if retries >= MAX_RETRIES {
            let elapsed = platform.monotonic_nanos().saturating_sub(started);
            return Err(with_note(
                error,
                &gave_up(attempts, elapsed, "no retries left"),
            ));
        }
        let jitter = u32::from_le_bytes([random[0], random[1], random[2], random[3]]);
        let delay = requested_delay.unwrap_or_else(|| backoff(retries, jitter));
        let now = platform.monotonic_nanos();
        if now.saturating_add(delay) >= deadline {
            let reason = format!(
                "waiting {} s more would pass the {} s bound of a get-token",
                Seconds(delay),
                GET_TOKEN_BUDGET_NANOS / NANOS_PER_SECOND
            );
            return Err(with_note(
                error,
                &gave_up(attempts, now.saturating_sub(started), &reason),
            ));
        }
        platform.sleep(delay).await;
    }
}

/// The per-request timeouts, shortened so that none outlives the attempt's bound.
fn timeouts_within(remaining: u64) -> Timeouts {
    let remaining = remaining.saturating_sub(TIMEOUT_GRACE_NANOS);
    Timeouts {
        connect: CONNECT_TIMEOUT_NANOS.min(remaining),
        first_byte: FIRST_BYTE_TIMEOUT_NANOS.min(remaining),
        between_bytes: BETWEEN_BYTES_TIMEOUT_NANOS.min(remaining),
    }
}

fn gave_up(attempts: u32, elapsed_nanos: u64, reason: &str) -> String {
    format!(
        "gave up after {attempts} attempts in {} s: {reason}",
        Seconds(elapsed_nanos)
    )
}

fn with_note(error: CredentialError, note: &str) -> CredentialError {
    match error {
        CredentialError::AuthenticationFailed(mut failure) => {
            failure.message = format!("{} ({note})", failure.message);
            CredentialError::AuthenticationFailed(failure)
        }
        other => other,
    }
}
