//! What one Envoy worker does on each request, tick and callout answer, against a [`Host`] that
//! the proxy-wasm layer implements (and the tests fake, with several workers sharing one store).

use crate::callout::{Bridge, CalloutAnswer};
use crate::config::Config;
use crate::lease;
use crate::token::SharedToken;
use core::time::Duration;
use redacted::Redacted;

/// After a failed fetch, nobody asks the bridge again for this long, and requests without a
/// usable token are refused at once with the failure, rather than each waiting for its own.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(2);

/// The proxy's side of the filter: shared data, callouts and the paused requests.
pub trait Host {
    fn now_nanos(&self) -> u64;
    /// The value and its compare-and-swap version; `(None, None)` when absent.
    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Writes when `cas` is `None` or still the entry's version; `false` when another worker
    /// wrote first.
    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
    /// Starts the callout; its answer comes to [`Worker::on_fetch_answer`] with the returned id.
    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, String>;
    /// Sets `authorization` on the paused request (replacing an empty one) and lets it go on.
    fn resume_with(&mut self, context_id: u32, authorization: &str);
    /// Answers the paused request with 503 and `message`.
    fn refuse(&mut self, context_id: u32, message: &str);
    /// Logs `message` as a warning in the proxy's log.
    fn warn(&mut self, message: &str);
}

/// What the filter looks at in a request: both as the client sent them, bytes (not always
/// UTF-8), `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHeaders<'a> {
    pub authority: Option<&'a [u8]>,
    pub authorization: Option<&'a [u8]>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RequestAction {
    /// It has its own `Authorization`: left as it is.
    Continue,
    /// Set `Authorization` to this value (replacing an empty one) and go on.
    Authorize(Redacted<String>),
    /// Paused until a token comes (or the wait ends with a 503).
    Wait,
    /// Answer 503 with this message: the last fetch failed moments ago.
    Refuse(String),
    /// Answer 403 with this message: the request's host is not in `allowed_hosts`.
    Forbid(String),
}

struct Waiter {
    context_id: u32,
    since_nanos: u64,
}

struct InFlight {
    token_id: u32,
    /// The request whose context made the callout; `None` for the root context (a tick).
    context_id: Option<u32>,
    until_nanos: u64,
}

pub struct Worker {
    config: Config,
    waiting: Vec<Waiter>,
    in_flight: Option<InFlight>,
}

const NANOS: u64 = 1_000_000_000;

impl Worker {
    pub fn new(config: Config) -> Worker {
        Worker {
            config,
            waiting: Vec::new(),
            in_flight: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Creates the lease entry if no worker has yet.
    pub fn on_configure(&self, host: &mut dyn Host) {
        self.lease_entry(host);
    }

    /// Until when the lease is held, and the entry's version. The entry is created (free) if no
    /// worker has yet, then read again: taking the lease must be a compare-and-swap, and an
    /// absent entry has no version to compare.
    fn lease_entry(&self, host: &mut dyn Host) -> Option<(u64, u32)> {
        let key = self.config.shared_key("lease");
        let (mut value, mut version) = host.shared_get(&key);
        if version.is_none() {
            host.shared_set(&key, &lease::encode(0), None);
            (value, version) = host.shared_get(&key);
        }
        Some((lease::decode(value.as_deref()), version?))
    }

    /// A fetch holds the lease for its timeout and a second more.
    fn lease_nanos(&self) -> u64 {
        nanos(self.config.timeout) + NANOS
    }

    /// A request waits at most for a fetch by another worker whose answer never came, then one
    /// of its own.
    fn wait_limit_nanos(&self) -> u64 {
        2 * self.lease_nanos()
    }

    /// A request for a host not in `allowed_hosts` is refused whatever it carries: a misrouted
    /// request fails visibly here rather than going on without a token. A request with its own
    /// `Authorization` keeps it; an empty one (nothing but whitespace) is no credential, and
    /// gets the token in its place.
    pub fn on_request(
        &mut self,
        host: &mut dyn Host,
        context_id: u32,
        request: RequestHeaders,
    ) -> RequestAction {
        if !self.config.allowed_hosts.allow(request.authority) {
            return RequestAction::Forbid(format!(
                "this proxy adds tokens for {} only to requests for the hosts in its \
                 allowed_hosts, and {} is not one of them",
                self.config.resource,
                describe_authority(request.authority)
            ));
        }
        if request
            .authorization
            .is_some_and(|value| !value.trim_ascii().is_empty())
        {
            return RequestAction::Continue;
        }
        let now = host.now_nanos();
        if let Some(token) = self.shared_token(host).filter(|t| t.usable(now / NANOS)) {
            return RequestAction::Authorize(token.authorization);
        }
        if let Some(message) = self.recent_failure(host, now) {
            return RequestAction::Refuse(message);
        }
        self.waiting.push(Waiter {
            context_id,
            since_nanos: now,
        });
        self.fetch_if_free(host, now, Some(context_id));
        RequestAction::Wait
    }

    /// A request that ended (its client went away) no longer waits. If its context made the
    /// callout in flight, the answer will not reach the filter: Envoy keeps the callout going
    /// (callouts belong to the plugin's root context) but the SDK drops the answer of a context it
    /// has deleted. The lease is left to run out, so the callout still counts as the one in
    /// flight; then the next tick asks again, from the root context.
    pub fn on_request_done(&mut self, context_id: u32) {
        self.waiting
            .retain(|waiter| waiter.context_id != context_id);
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.context_id == Some(context_id))
        {
            self.in_flight = None;
        }
    }

    pub fn on_tick(&mut self, host: &mut dyn Host) {
        let now = host.now_nanos();
        // The context that made the callout went away before its answer, which then never comes.
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.until_nanos <= now)
        {
            self.in_flight = None;
        }
        match self.shared_token(host).filter(|t| t.usable(now / NANOS)) {
            Some(token) => {
                // Another worker's fetch, or a tick's refresh, brought it.
                self.resume_all(host, token.authorization.expose());
                if token.refresh_due(now / NANOS) {
                    self.fetch_if_free(host, now, None);
                }
            }
            None if !self.waiting.is_empty() => match self.recent_failure(host, now) {
                Some(message) => self.refuse_all(host, &message),
                None => self.fetch_if_free(host, now, None),
            },
            None => {}
        }
        let limit = self.wait_limit_nanos();
        let (expired, waiting): (Vec<Waiter>, Vec<Waiter>) = self
            .waiting
            .drain(..)
            .partition(|waiter| now.saturating_sub(waiter.since_nanos) >= limit);
        self.waiting = waiting;
        for waiter in expired {
            host.refuse(
                waiter.context_id,
                &format!(
                    "no token for {} from the token bridge within {} ms",
                    self.config.resource,
                    limit / 1_000_000
                ),
            );
        }
    }

    /// The answer to callout `token_id`: the bridge's, or Envoy's own when it could not get one.
    pub fn on_fetch_answer(&mut self, host: &mut dyn Host, token_id: u32, answer: CalloutAnswer) {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.token_id == token_id)
        {
            self.in_flight = None;
        }
        let now = host.now_nanos();
        let bridge = Bridge {
            cluster: &self.config.cluster,
            timeout: self.config.timeout,
        };
        let fetched = bridge.token_from(answer, now / NANOS);
        match fetched {
            Ok(token) => {
                host.shared_set(&self.config.shared_key("token"), &token.encode(), None);
                host.shared_set(&self.config.shared_key("failure"), b"", None);
                host.shared_set(&self.config.shared_key("lease"), &lease::encode(0), None);
                self.resume_all(host, token.authorization.expose());
            }
            Err(message) => self.failed(host, now, &message),
        }
    }

    /// Takes the lease and makes the callout, from the request `context_id` or the root.
    fn fetch_if_free(&mut self, host: &mut dyn Host, now: u64, context_id: Option<u32>) {
        if self.in_flight.is_some() {
            return;
        }
        let Some((held_until, version)) = self.lease_entry(host) else {
            return;
        };
        if !lease::is_free(held_until, now) {
            return;
        }
        let until = now + self.lease_nanos();
        let key = self.config.shared_key("lease");
        if !host.shared_set(&key, &lease::encode(until), Some(version)) {
            return;
        }
        let path = self.config.token_path();
        let headers = [
            (":method", "GET"),
            (":path", path.as_str()),
            (":authority", self.config.authority.as_str()),
            (
                "x-identity-header",
                self.config.identity_header.expose().as_str(),
            ),
        ];
        match host.dispatch(&self.config.cluster, &headers, self.config.timeout) {
            Ok(token_id) => {
                self.in_flight = Some(InFlight {
                    token_id,
                    context_id,
                    until_nanos: until,
                })
            }
            Err(error) => {
                let message = format!(
                    "the callout to cluster '{}' could not start: {error}",
                    self.config.cluster
                );
                self.failed(host, now, &message);
            }
        }
    }

    /// Holds the lease, and records the failure, for [`RETRY_BACKOFF`]; refuses the waiting
    /// requests unless a token fetched earlier is still good (a refresh failed, not the first
    /// fetch). Logs one warning: this runs once per failed fetch, and the lease keeps every
    /// worker from fetching (so from warning again) until the backoff is over.
    fn failed(&mut self, host: &mut dyn Host, now: u64, message: &str) {
        host.warn(&format!(
            "no token for {}: {message}; the next fetch is in {} ms at the earliest",
            self.config.resource,
            RETRY_BACKOFF.as_millis()
        ));
        let until = now + nanos(RETRY_BACKOFF);
        host.shared_set(
            &self.config.shared_key("lease"),
            &lease::encode(until),
            None,
        );
        let mut failure = lease::encode(until).to_vec();
        failure.extend_from_slice(message.as_bytes());
        host.shared_set(&self.config.shared_key("failure"), &failure, None);
        match self.shared_token(host).filter(|t| t.usable(now / NANOS)) {
            Some(token) => self.resume_all(host, token.authorization.expose()),
            None => self.refuse_all(host, message),
        }
    }

    /// The failure recorded by any worker, while its backoff lasts.
    fn recent_failure(&self, host: &dyn Host, now: u64) -> Option<String> {
        let value = host.shared_get(&self.config.shared_key("failure")).0?;
        let (until, message) = value.split_at_checked(8)?;
        if lease::is_free(lease::decode(Some(until)), now) {
            return None;
        }
        Some(String::from_utf8_lossy(message).into_owned())
    }

    fn shared_token(&self, host: &dyn Host) -> Option<SharedToken> {
        let value = host.shared_get(&self.config.shared_key("token")).0?;
        SharedToken::decode(&value)
    }

    fn resume_all(&mut self, host: &mut dyn Host, authorization: &str) {
        for waiter in self.waiting.drain(..) {
            host.resume_with(waiter.context_id, authorization);
        }
    }

    fn refuse_all(&mut self, host: &mut dyn Host, message: &str) {
        for waiter in self.waiting.drain(..) {
            host.refuse(waiter.context_id, message);
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The request's `:authority` for a message: quoted when it is a plain printable name, else
/// only described (it is the client's text, and goes into the answer and maybe logs).
fn describe_authority(authority: Option<&[u8]>) -> String {
    match authority {
        None => "a request without :authority".into(),
        Some(bytes) if bytes.len() <= 255 && bytes.iter().all(u8::is_ascii_graphic) => {
            format!("'{}'", String::from_utf8_lossy(bytes))
        }
        Some(_) => "an :authority that is not a printable host name".into(),
    }
}

#[cfg(test)]
mod tests;
