//! Several workers, one shared store and one clock: Envoy's threading, without Envoy.

use super::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

const SECRET: &str = "9f2c41d7e8b05a63c1f4";
const START: u64 = 1_800_000_000;

#[derive(Default)]
struct Proxy {
    /// key → (value, version)
    shared: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    now_nanos: Cell<u64>,
}

impl Proxy {
    fn new() -> Rc<Proxy> {
        let proxy = Proxy::default();
        proxy.now_nanos.set(START * NANOS);
        Rc::new(proxy)
    }

    fn advance(&self, by: Duration) {
        self.now_nanos.set(self.now_nanos.get() + nanos(by));
    }

    fn now(&self) -> u64 {
        self.now_nanos.get() / NANOS
    }
}

/// One worker thread's view: the shared proxy, and what it did.
struct FakeHost {
    proxy: Rc<Proxy>,
    next_token: u32,
    dispatched: Vec<(u32, Vec<(String, String)>)>,
    resumed: Vec<(u32, String)>,
    refused: Vec<(u32, String)>,
    warnings: Vec<String>,
    refuse_dispatch: bool,
}

impl FakeHost {
    fn new(proxy: &Rc<Proxy>, first_token: u32) -> FakeHost {
        FakeHost {
            proxy: proxy.clone(),
            next_token: first_token,
            dispatched: Vec::new(),
            resumed: Vec::new(),
            refused: Vec::new(),
            warnings: Vec::new(),
            refuse_dispatch: false,
        }
    }
}

impl Host for FakeHost {
    fn now_nanos(&self) -> u64 {
        self.proxy.now_nanos.get()
    }

    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        match self.proxy.shared.borrow().get(key) {
            Some((value, version)) => (Some(value.clone()), Some(*version)),
            None => (None, None),
        }
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let mut shared = self.proxy.shared.borrow_mut();
        let version = shared.get(key).map_or(0, |(_, version)| *version);
        if cas.is_some_and(|cas| cas != version) {
            return false;
        }
        shared.insert(key.to_owned(), (value.to_vec(), version + 1));
        true
    }

    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, String> {
        assert_eq!(cluster, "token_bridge");
        assert_eq!(timeout, Duration::from_secs(5));
        if self.refuse_dispatch {
            return Err("BadArgument".into());
        }
        self.next_token += 1;
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.dispatched.push((self.next_token, headers));
        Ok(self.next_token)
    }

    fn resume_with(&mut self, context_id: u32, authorization: &str) {
        self.resumed.push((context_id, authorization.to_owned()));
    }

    fn refuse(&mut self, context_id: u32, message: &str) {
        self.refused.push((context_id, message.to_owned()));
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }
}

fn config() -> Config {
    Config::parse(
        format!(
            r#"{{"cluster":"token_bridge","authority":"127.0.0.1:8181","resource":"https://vault.azure.net","identity_header":"{SECRET}","allowed_hosts":["myvault.vault.azure.net"]}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

fn worker(proxy: &Rc<Proxy>, first_token: u32) -> (Worker, FakeHost) {
    let worker = Worker::new(config());
    let mut host = FakeHost::new(proxy, first_token);
    worker.on_configure(&mut host);
    (worker, host)
}

/// A request for the allowed vault, without `Authorization`.
const VAULT: RequestHeaders = RequestHeaders {
    authority: Some(b"myvault.vault.azure.net"),
    authorization: None,
};

/// An answer with the bridge's content type.
fn json(status: u16, body: &[u8]) -> CalloutAnswer<'_> {
    CalloutAnswer::Http {
        status: Some(status),
        content_type: Some(b"application/json; charset=utf-8"),
        body,
    }
}

fn bridge_answer(proxy: &Proxy, token: &str, lifetime: u64) -> Vec<u8> {
    format!(
        r#"{{"access_token":"{token}","expires_on":"{}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#,
        proxy.now() + lifetime
    )
    .into_bytes()
}

#[test]
fn a_cold_request_waits_for_one_callout_and_later_requests_reuse_its_token() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    assert_eq!(worker.on_request(&mut host, 10, VAULT), RequestAction::Wait);
    assert_eq!(worker.on_request(&mut host, 11, VAULT), RequestAction::Wait);
    assert_eq!(host.dispatched.len(), 1, "one callout for both");
    let (token_id, headers) = host.dispatched[0].clone();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header(":method"), Some("GET"));
    assert_eq!(
        header(":path"),
        Some("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net")
    );
    assert_eq!(header(":authority"), Some("127.0.0.1:8181"));
    assert_eq!(header("x-identity-header"), Some(SECRET));

    let answer = bridge_answer(&proxy, "tok-1", 3600);
    worker.on_fetch_answer(&mut host, token_id, json(200, &answer));
    assert_eq!(
        host.resumed,
        vec![(10, "Bearer tok-1".into()), (11, "Bearer tok-1".into())]
    );
    assert_eq!(
        worker.on_request(&mut host, 12, VAULT),
        RequestAction::Authorize(Redacted::new("Bearer tok-1".into()))
    );
    assert_eq!(host.dispatched.len(), 1);
}

#[test]
fn a_request_with_its_own_authorization_is_left_alone() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    let own = RequestHeaders {
        authorization: Some(b"Bearer the-apps-own"),
        ..VAULT
    };
    assert_eq!(
        worker.on_request(&mut host, 10, own),
        RequestAction::Continue
    );
    assert!(host.dispatched.is_empty());
}

#[test]
fn an_empty_authorization_is_no_credential_and_gets_the_token() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    worker.on_request(&mut host, 1, VAULT);
    let answer = bridge_answer(&proxy, "tok-1", 3600);
    worker.on_fetch_answer(&mut host, 1, json(200, &answer));
    for empty in [&b""[..], b" ", b"\t "] {
        let request = RequestHeaders {
            authorization: Some(empty),
            ..VAULT
        };
        assert_eq!(
            worker.on_request(&mut host, 2, request),
            RequestAction::Authorize(Redacted::new("Bearer tok-1".into())),
            "{empty:?}"
        );
    }
}

#[test]
fn a_host_not_allowed_is_forbidden_without_a_fetch_even_with_its_own_authorization() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    let expected = |what: &str| {
        RequestAction::Forbid(format!(
            "this proxy adds tokens for https://vault.azure.net only to requests for the hosts in its allowed_hosts, and {what} is not one of them"
        ))
    };
    let evil = RequestHeaders {
        authority: Some(b"evil.example:10000"),
        authorization: None,
    };
    assert_eq!(
        worker.on_request(&mut host, 1, evil),
        expected("'evil.example:10000'")
    );
    let with_own = RequestHeaders {
        authorization: Some(b"Bearer the-apps-own"),
        ..evil
    };
    assert_eq!(
        worker.on_request(&mut host, 2, with_own),
        expected("'evil.example:10000'")
    );
    let none = RequestHeaders::default();
    assert_eq!(
        worker.on_request(&mut host, 3, none),
        expected("a request without :authority")
    );
    let unprintable = RequestHeaders {
        authority: Some(b"evil\r\nx: 1"),
        authorization: None,
    };
    assert_eq!(
        worker.on_request(&mut host, 4, unprintable),
        expected("an :authority that is not a printable host name")
    );
    assert!(host.dispatched.is_empty() && host.warnings.is_empty());
    // The same request for the listed host, in another case and with a port, is served.
    let listed = RequestHeaders {
        authority: Some(b"MyVault.Vault.Azure.Net:443"),
        authorization: None,
    };
    assert_eq!(worker.on_request(&mut host, 5, listed), RequestAction::Wait);
    assert_eq!(host.dispatched.len(), 1);
}

#[test]
fn each_failed_fetch_logs_one_warning_and_the_backoff_none() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    first.on_request(&mut first_host, 1, VAULT);
    first.on_request(&mut first_host, 2, VAULT);
    let timeout = CalloutAnswer::Http {
        status: Some(504),
        content_type: Some(b"text/plain"),
        body: b"upstream request timeout",
    };
    first.on_fetch_answer(&mut first_host, 1, timeout);
    assert_eq!(
        first_host.warnings,
        [
            "no token for https://vault.azure.net: the token bridge at cluster 'token_bridge' did not answer within 5000 ms; the next fetch is in 2000 ms at the earliest"
        ]
    );
    // Requests and ticks on every worker during the backoff: refused, not logged again.
    for context in 3..10 {
        for (worker, host, context) in [
            (&mut first, &mut first_host, context),
            (&mut second, &mut second_host, context + 100),
        ] {
            assert!(matches!(
                worker.on_request(host, context, VAULT),
                RequestAction::Refuse(_)
            ));
            worker.on_tick(host);
        }
    }
    assert_eq!(first_host.warnings.len(), 1);
    assert!(second_host.warnings.is_empty());
    // After it, the next failed fetch logs once more, on the worker that made it.
    proxy.advance(RETRY_BACKOFF);
    second.on_request(&mut second_host, 200, VAULT);
    let token_id = second_host.dispatched[0].0;
    second.on_fetch_answer(&mut second_host, token_id, CalloutAnswer::Reset);
    assert_eq!(second_host.warnings.len(), 1);
    assert!(second_host.warnings[0].contains("broke off its answer"));
    for warning in first_host.warnings.iter().chain(&second_host.warnings) {
        assert!(!warning.contains(SECRET), "{warning}");
    }
}

#[test]
fn other_workers_wait_for_the_lease_holders_callout_and_take_its_token_on_their_tick() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    assert_eq!(
        first.on_request(&mut first_host, 1, VAULT),
        RequestAction::Wait
    );
    assert_eq!(
        second.on_request(&mut second_host, 2, VAULT),
        RequestAction::Wait
    );
    second.on_tick(&mut second_host);
    assert_eq!(first_host.dispatched.len(), 1);
    assert!(second_host.dispatched.is_empty(), "the lease is held");

    let token_id = first_host.dispatched[0].0;
    let answer = bridge_answer(&proxy, "tok-1", 3600);
    first.on_fetch_answer(&mut first_host, token_id, json(200, &answer));
    assert_eq!(first_host.resumed, vec![(1, "Bearer tok-1".into())]);
    assert!(second_host.resumed.is_empty());
    proxy.advance(Duration::from_millis(200));
    second.on_tick(&mut second_host);
    assert_eq!(second_host.resumed, vec![(2, "Bearer tok-1".into())]);
    assert!(second_host.dispatched.is_empty());
}

#[test]
fn one_worker_refreshes_at_80_percent_while_requests_keep_the_old_token() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    first.on_request(&mut first_host, 1, VAULT);
    let answer = bridge_answer(&proxy, "tok-1", 3600);
    first.on_fetch_answer(&mut first_host, 1, json(200, &answer));

    proxy.advance(Duration::from_secs(2879));
    first.on_tick(&mut first_host);
    second.on_tick(&mut second_host);
    assert_eq!(first_host.dispatched.len(), 1, "not yet due");

    proxy.advance(Duration::from_secs(1));
    second.on_tick(&mut second_host);
    first.on_tick(&mut first_host);
    assert_eq!(
        second_host.dispatched.len(),
        1,
        "due: the first tick takes the lease"
    );
    assert_eq!(first_host.dispatched.len(), 1, "the lease is held");
    assert_eq!(
        first.on_request(&mut first_host, 2, VAULT),
        RequestAction::Authorize(Redacted::new("Bearer tok-1".into()))
    );
    let answer = bridge_answer(&proxy, "tok-2", 3600);
    let token_id = second_host.dispatched[0].0;
    second.on_fetch_answer(&mut second_host, token_id, json(200, &answer));
    assert_eq!(
        first.on_request(&mut first_host, 3, VAULT),
        RequestAction::Authorize(Redacted::new("Bearer tok-2".into()))
    );
    // The new token is not due before 80% of its own life.
    proxy.advance(Duration::from_secs(60));
    first.on_tick(&mut first_host);
    second.on_tick(&mut second_host);
    assert_eq!(
        first_host.dispatched.len() + second_host.dispatched.len(),
        2
    );
}

#[test]
fn a_refusal_fails_the_waiting_requests_at_once_and_backs_off_for_everyone() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    first.on_request(&mut first_host, 1, VAULT);
    let refusal = br#"{"error":"unauthorized","error_description":"the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER","statusCode":401,"message":"the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER"}"#;
    first.on_fetch_answer(&mut first_host, 1, json(401, refusal));
    let expected = "the token bridge answered 401: the X-IDENTITY-HEADER header does not match the bridge's IDENTITY_HEADER";
    assert_eq!(first_host.refused, vec![(1, expected.to_owned())]);
    assert!(!first_host.refused[0].1.contains(SECRET));

    // During the backoff every worker refuses at once, without asking the bridge.
    assert_eq!(
        second.on_request(&mut second_host, 2, VAULT),
        RequestAction::Refuse(expected.to_owned())
    );
    assert!(second_host.dispatched.is_empty());

    // After it, the next request asks again.
    proxy.advance(RETRY_BACKOFF);
    assert_eq!(
        second.on_request(&mut second_host, 3, VAULT),
        RequestAction::Wait
    );
    assert_eq!(second_host.dispatched.len(), 1);
}

#[test]
fn a_failed_refresh_keeps_the_token_that_is_still_good() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    worker.on_request(&mut host, 1, VAULT);
    let answer = bridge_answer(&proxy, "tok-1", 3600);
    worker.on_fetch_answer(&mut host, 1, json(200, &answer));
    proxy.advance(Duration::from_secs(2900));
    worker.on_tick(&mut host);
    assert_eq!(host.dispatched.len(), 2);
    worker.on_fetch_answer(&mut host, 2, CalloutAnswer::Reset);
    assert!(host.refused.is_empty());
    assert_eq!(
        worker.on_request(&mut host, 2, VAULT),
        RequestAction::Authorize(Redacted::new("Bearer tok-1".into()))
    );
    // No retry during the backoff; one after it.
    worker.on_tick(&mut host);
    assert_eq!(host.dispatched.len(), 2);
    proxy.advance(RETRY_BACKOFF);
    worker.on_tick(&mut host);
    assert_eq!(host.dispatched.len(), 3);
}

#[test]
fn a_request_that_goes_away_loses_its_answer_and_the_lease_runs_out_before_the_next_fetch() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    first.on_request(&mut first_host, 1, VAULT);
    first.on_request(&mut first_host, 2, VAULT);
    second.on_request(&mut second_host, 3, VAULT);
    assert_eq!(first_host.dispatched.len(), 1);
    // The request that made the callout goes away: its answer will not reach the filter, but the
    // callout goes on, so it still holds the lease.
    first.on_request_done(1);
    first.on_tick(&mut first_host);
    second.on_tick(&mut second_host);
    assert_eq!(
        first_host.dispatched.len() + second_host.dispatched.len(),
        1
    );
    proxy.advance(Duration::from_secs(6));
    first.on_tick(&mut first_host);
    second.on_tick(&mut second_host);
    assert_eq!(
        first_host.dispatched.len(),
        2,
        "the lease ran out: the first tick asks"
    );
    assert!(second_host.dispatched.is_empty());
    let answer = bridge_answer(&proxy, "tok-1", 3600);
    let token_id = first_host.dispatched[1].0;
    first.on_fetch_answer(&mut first_host, token_id, json(200, &answer));
    assert_eq!(first_host.resumed, vec![(2, "Bearer tok-1".into())]);
    second.on_tick(&mut second_host);
    assert_eq!(second_host.resumed, vec![(3, "Bearer tok-1".into())]);
}

#[test]
fn debug_output_of_an_action_never_holds_the_token() {
    let debug = format!(
        "{:?}",
        RequestAction::Authorize(Redacted::new("Bearer eyJ0.secret".into()))
    );
    assert_eq!(debug, "Authorize(***)");
}

#[test]
fn an_answer_that_never_comes_frees_the_lease_and_waits_end_with_503() {
    let proxy = Proxy::new();
    let (mut first, mut first_host) = worker(&proxy, 0);
    let (mut second, mut second_host) = worker(&proxy, 100);
    first.on_request(&mut first_host, 1, VAULT);
    second.on_request(&mut second_host, 2, VAULT);
    proxy.advance(Duration::from_secs(5));
    second.on_tick(&mut second_host);
    assert!(
        second_host.dispatched.is_empty(),
        "the lease still holds for 6 s"
    );
    proxy.advance(Duration::from_secs(1));
    second.on_tick(&mut second_host);
    assert_eq!(
        second_host.dispatched.len(),
        1,
        "the lease expired: this worker asks"
    );
    // Its answer does not come either: the request gives up after twice the lease.
    proxy.advance(Duration::from_secs(6));
    second.on_tick(&mut second_host);
    assert_eq!(second_host.refused.len(), 1);
    assert!(
        second_host.refused[0].1.contains("within 12000 ms"),
        "{:?}",
        second_host.refused
    );
    assert!(first_host.refused.is_empty() && first_host.resumed.is_empty());
}

#[test]
fn bad_answers_and_failed_callouts_are_refusals_that_name_the_cause() {
    let proxy = Proxy::new();
    let (mut worker, mut host) = worker(&proxy, 0);
    host.refuse_dispatch = true;
    assert_eq!(worker.on_request(&mut host, 1, VAULT), RequestAction::Wait);
    assert_eq!(
        host.refused,
        vec![(
            1,
            "the callout to cluster 'token_bridge' could not start: BadArgument".into()
        )]
    );
    proxy.advance(RETRY_BACKOFF);
    host.refuse_dispatch = false;
    worker.on_request(&mut host, 2, VAULT);
    worker.on_fetch_answer(&mut host, 1, json(200, b"<html>"));
    assert_eq!(
        host.refused[1],
        (2, "the bridge's answer is not JSON".into())
    );
    proxy.advance(RETRY_BACKOFF);
    worker.on_request(&mut host, 3, VAULT);
    worker.on_fetch_answer(&mut host, 2, json(502, b"bad gateway"));
    assert_eq!(
        host.refused[2],
        (
            3,
            "the token bridge at cluster 'token_bridge' answered 502".into()
        )
    );
    assert_eq!(host.warnings.len(), 3, "one per failed fetch");
}

#[test]
fn a_lease_entry_missing_at_the_first_fetch_is_created_before_it_is_taken() {
    let proxy = Proxy::new();
    // No on_configure: the entry is absent.
    let mut worker = Worker::new(config());
    let mut host = FakeHost::new(&proxy, 0);
    assert_eq!(worker.on_request(&mut host, 1, VAULT), RequestAction::Wait);
    assert_eq!(host.dispatched.len(), 1);
    let lease = host.shared_get(&worker.config().shared_key("lease")).0;
    assert!(lease::decode(lease.as_deref()) > proxy.now_nanos.get());
}
