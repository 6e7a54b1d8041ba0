//! A bridge that is down, hangs or drops the connection: Envoy answers the callout itself, and
//! the filter must say so, not blame the bridge for Envoy's 503 or 504. Real sockets, and
//! Envoy's own answers as the host models them.

mod common;

use common::*;
use proxy_wasm_host::{Progress, Upstream};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A loopback address where nothing listens: a port the system gave out, then closed.
fn refused_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The 503 the filter answered `context` with.
fn refusal(worker: &proxy_wasm_host::Worker, context: u32) -> String {
    match &worker.stream(context).progress {
        Progress::Answered { status: 503, body } => body.clone(),
        other => panic!("expected a 503, got {other:?}"),
    }
}

#[test]
fn a_bridge_that_is_down_is_reported_unreachable_not_as_a_503_from_the_bridge() {
    let envoy = envoy();
    let address = refused_address();
    let mut worker = envoy
        .worker(&plugin_config(&address.to_string(), SECRET))
        .unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    let callout = worker.take_callouts().pop().unwrap();
    let upstream = forward(&callout, address);
    assert_eq!(upstream, Upstream::Refused);
    worker.answer(&callout, &upstream).unwrap();
    let expected = "the token bridge at cluster 'token_bridge' could not be reached: the connection was refused or failed (is the bridge running, at the cluster's address?)";
    assert_eq!(refusal(&worker, request), format!("{expected}\n"));
    assert_eq!(
        warnings(&worker),
        [format!(
            "no token for https://vault.azure.net: {expected}; the next fetch is in 2000 ms at the earliest"
        )]
    );
}

#[test]
fn a_bridge_that_hangs_is_reported_as_not_answering_within_the_timeout() {
    let envoy = envoy();
    // Accepts connections (the backlog does) and never answers.
    let hanging = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = hanging.local_addr().unwrap();
    let config = plugin_config_with(&address.to_string(), SECRET, r#""timeout_ms":300,"#);
    let mut worker = envoy.worker(&config).unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    let callout = worker.take_callouts().pop().unwrap();
    assert_eq!(callout.timeout_ms, 300);
    let upstream = forward(&callout, address);
    assert_eq!(upstream, Upstream::TimedOut);
    worker.answer(&callout, &upstream).unwrap();
    assert_eq!(
        refusal(&worker, request),
        "the token bridge at cluster 'token_bridge' did not answer within 300 ms\n"
    );
    assert_eq!(warnings(&worker).len(), 1);
}

#[test]
fn a_bridge_that_closes_the_connection_unanswered_is_reported_so() {
    let envoy = envoy();
    let closing = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closing.local_addr().unwrap();
    let mut worker = envoy
        .worker(&plugin_config(&address.to_string(), SECRET))
        .unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    let callout = worker.take_callouts().pop().unwrap();
    let closer = std::thread::spawn(move || drop(closing.accept().unwrap()));
    let upstream = forward(&callout, address);
    closer.join().unwrap();
    assert_eq!(upstream, Upstream::Closed);
    worker.answer(&callout, &upstream).unwrap();
    assert_eq!(
        refusal(&worker, request),
        "the token bridge at cluster 'token_bridge' could not be reached: the connection was closed before an answer\n"
    );
}

#[test]
fn each_failed_fetch_is_logged_once_and_nothing_while_every_worker_backs_off() {
    let envoy = envoy();
    let address = refused_address();
    let config = plugin_config(&address.to_string(), SECRET);
    let mut first = envoy.worker(&config).unwrap();
    let mut second = envoy.worker(&config).unwrap();
    first.request(&VAULT_REQUEST).unwrap();
    let callout = first.take_callouts().pop().unwrap();
    first.answer(&callout, &forward(&callout, address)).unwrap();
    assert_eq!(warnings(&first).len(), 1);

    // Within the 2 s backoff: requests on both workers are refused at once, ticks run, and no
    // worker asks the bridge or logs again.
    for _ in 0..5 {
        for worker in [&mut first, &mut second] {
            let request = worker.request(&VAULT_REQUEST).unwrap();
            assert!(matches!(
                worker.stream(request).progress,
                Progress::Answered { status: 503, .. }
            ));
            worker.tick().unwrap();
        }
        envoy.advance(Duration::from_millis(300));
    }
    assert!(first.take_callouts().is_empty() && second.take_callouts().is_empty());
    assert_eq!(warnings(&first).len(), 1);
    assert!(second.logs().is_empty(), "{:?}", second.logs());

    // After it, the next request fetches again; its failure is the next warning.
    envoy.advance(Duration::from_millis(500));
    second.request(&VAULT_REQUEST).unwrap();
    let callout = second.take_callouts().pop().unwrap();
    second
        .answer(&callout, &forward(&callout, address))
        .unwrap();
    assert_eq!(warnings(&second).len(), 1);
    assert_eq!(warnings(&first).len(), 1);
    for (_, line) in first.logs().iter().chain(&second.logs()) {
        assert!(!line.contains(SECRET), "{line}");
    }
}
