//! The Envoy filter as built for Envoy (wasm32-wasip1), run by the minimal proxy-wasm host, its
//! callouts answered by the real token bridge (with its fake Entra) or by the test.

mod common;

use common::*;
use proxy_wasm_host::{Progress, Upstream};
use std::time::Duration;

#[test]
fn requests_get_the_bridges_token_and_only_the_first_waits_for_it() {
    let bridge = start_bridge();
    let envoy = envoy();
    let authority = bridge.running.address().to_string();
    let mut worker = envoy.worker(&plugin_config(&authority, SECRET)).unwrap();
    assert_eq!(worker.tick_period(), Duration::from_millis(200));

    let first = worker.request(&VAULT_REQUEST).unwrap();
    assert_eq!(worker.stream(first).progress, Progress::Paused);
    let callouts = worker.take_callouts();
    assert_eq!(callouts.len(), 1);
    let callout = &callouts[0];
    assert_eq!(callout.header(":authority"), Some(authority.as_str()));
    assert_eq!(
        callout.header(":path"),
        Some("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net")
    );
    assert_eq!(callout.header("x-identity-header"), Some(SECRET));
    assert_eq!(callout.timeout_ms, 5000);
    worker
        .answer(callout, &forward(callout, bridge.running.address()))
        .unwrap();

    let token = format!("Bearer {}", bridge.entra.issued_tokens()[0]);
    assert_eq!(worker.stream(first).progress, Progress::Continued);
    assert_eq!(
        worker.stream(first).header("authorization"),
        [token.as_str()]
    );
    worker.end(first).unwrap();

    for _ in 0..100 {
        let next = worker.request(&VAULT_REQUEST).unwrap();
        assert_eq!(worker.stream(next).progress, Progress::Continued);
        assert_eq!(
            worker.stream(next).header("authorization"),
            [token.as_str()]
        );
        worker.end(next).unwrap();
    }
    assert!(worker.take_callouts().is_empty());

    // A request with its own Authorization keeps it, alone.
    let mut own = VAULT_REQUEST.to_vec();
    own.push(("authorization", "Bearer the-apps-own"));
    let own = worker.request(&own).unwrap();
    assert_eq!(
        worker.stream(own).header("authorization"),
        ["Bearer the-apps-own"]
    );
    assert_eq!(bridge.running.requests_served(), 1);
    assert_eq!(bridge.running.entra_calls(), 1);
    assert!(worker.logs().is_empty(), "{:?}", worker.logs());
}

#[test]
fn workers_share_one_fetch_and_one_refresh_when_the_bridge_says() {
    let bridge = start_bridge();
    let envoy = envoy();
    let config = plugin_config(&bridge.running.address().to_string(), SECRET);
    let mut first = envoy.worker(&config).unwrap();
    let mut second = envoy.worker(&config).unwrap();

    let waiting_first = first.request(&VAULT_REQUEST).unwrap();
    let waiting_second = second.request(&VAULT_REQUEST).unwrap();
    second.tick().unwrap();
    assert!(
        second.take_callouts().is_empty(),
        "the first worker holds the lease"
    );
    answer_from_bridge(&mut first, &bridge);
    assert_eq!(first.stream(waiting_first).progress, Progress::Continued);
    assert_eq!(second.stream(waiting_second).progress, Progress::Paused);
    // The second worker's next tick finds the shared token.
    envoy.advance(Duration::from_millis(200));
    second.tick().unwrap();
    assert_eq!(second.stream(waiting_second).progress, Progress::Continued);
    let token = format!("Bearer {}", bridge.entra.issued_tokens()[0]);
    assert_eq!(
        second.stream(waiting_second).header("authorization"),
        [token.as_str()]
    );

    // The bridge's refresh_in is its credential's refresh time, 5 minutes before the fake's
    // 3599 s tokens expire: not before it (the 80% fallback would have come at 2879 s)...
    envoy.advance(Duration::from_secs(3290));
    first.tick().unwrap();
    second.tick().unwrap();
    assert!(first.take_callouts().is_empty() && second.take_callouts().is_empty());
    // ...but at it, one worker refreshes; requests meanwhile keep the old token.
    envoy.advance(Duration::from_secs(10));
    first.tick().unwrap();
    second.tick().unwrap();
    let refreshes = first.take_callouts();
    assert_eq!(refreshes.len(), 1);
    assert!(second.take_callouts().is_empty());
    let during = second.request(&VAULT_REQUEST).unwrap();
    assert_eq!(
        second.stream(during).header("authorization"),
        [token.as_str()]
    );
    let fresh = bridge_token(&envoy, "refreshed-token", 3600);
    first.answer(&refreshes[0], &fresh).unwrap();
    let after = second.request(&VAULT_REQUEST).unwrap();
    assert_eq!(
        second.stream(after).header("authorization"),
        ["Bearer refreshed-token"]
    );
    assert!(first.take_callouts().is_empty() && second.take_callouts().is_empty());
}

#[test]
fn a_wrong_secret_gets_the_bridges_refusal_as_a_503_without_the_secret() {
    let bridge = start_bridge();
    let envoy = envoy();
    let wrong = "0000000000wrong-secret";
    let mut worker = envoy
        .worker(&plugin_config(&bridge.running.address().to_string(), wrong))
        .unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    answer_from_bridge(&mut worker, &bridge);
    match &worker.stream(request).progress {
        Progress::Answered { status: 503, body } => {
            assert!(
                body.contains(
                    "the token bridge answered 401: the X-IDENTITY-HEADER header does not match"
                ),
                "{body}"
            );
            assert!(!body.contains(wrong), "{body}");
        }
        other => panic!("expected a 503, got {other:?}"),
    }
    // During the backoff the next request is refused at once, without a callout.
    let next = worker.request(&VAULT_REQUEST).unwrap();
    assert!(matches!(
        worker.stream(next).progress,
        Progress::Answered { status: 503, .. }
    ));
    assert!(worker.take_callouts().is_empty());
    assert_eq!(bridge.running.entra_calls(), 0);
    let warnings = warnings(&worker);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .contains("the token bridge answered 401: the X-IDENTITY-HEADER header does not match"),
        "{warnings:?}"
    );
    assert!(!warnings[0].contains(wrong), "{warnings:?}");
}

#[test]
fn callouts_that_fail_or_cannot_start_end_the_wait_with_a_503() {
    let envoy = envoy();
    let mut worker = envoy
        .worker(&plugin_config("127.0.0.1:8181", SECRET))
        .unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    let callout = worker.take_callouts().pop().unwrap();
    worker.answer(&callout, &Upstream::ResetMidAnswer).unwrap();
    assert_eq!(
        worker.stream(request).progress,
        Progress::Answered {
            status: 503,
            body: "the token bridge at cluster 'token_bridge' broke off its answer (the connection was reset)\n".into()
        }
    );

    let unknown = plugin_config("127.0.0.1:8181", SECRET).replace(CLUSTER, "no_such_cluster");
    let mut worker = envoy.worker(&unknown).unwrap();
    let request = worker.request(&VAULT_REQUEST).unwrap();
    assert_eq!(
        worker.stream(request).progress,
        Progress::Answered {
            status: 503,
            body: "the callout to cluster 'no_such_cluster' could not start: BadArgument\n".into()
        }
    );
}

#[test]
fn a_request_that_goes_away_before_the_answer_leaves_the_next_fetch_to_a_tick() {
    let envoy = envoy();
    let mut worker = envoy
        .worker(&plugin_config("127.0.0.1:8181", SECRET))
        .unwrap();
    let gone = worker.request(&VAULT_REQUEST).unwrap();
    let waiting = worker.request(&VAULT_REQUEST).unwrap();
    let lost = worker.take_callouts().pop().unwrap();
    assert_eq!(lost.asked_by, gone);
    worker.end(gone).unwrap();
    // Envoy still delivers the answer; the SDK drops it, its context being gone.
    let late = bridge_token(&envoy, "lost-token", 3600);
    worker.answer(&lost, &late).unwrap();
    assert_eq!(worker.stream(waiting).progress, Progress::Paused);
    // The lost callout's lease runs out (its timeout and a second), then a tick asks again.
    worker.tick().unwrap();
    assert!(worker.take_callouts().is_empty());
    envoy.advance(Duration::from_secs(6));
    worker.tick().unwrap();
    let callout = worker
        .take_callouts()
        .pop()
        .expect("a callout from the tick");
    assert_eq!(callout.asked_by, 1, "the plugin's root context");
    let answer = bridge_token(&envoy, "tok-2", 3600);
    worker.answer(&callout, &answer).unwrap();
    assert_eq!(worker.stream(waiting).progress, Progress::Continued);
    assert_eq!(
        worker.stream(waiting).header("authorization"),
        ["Bearer tok-2"]
    );
}

#[test]
fn a_bad_configuration_is_refused_with_every_problem_named_and_no_secret() {
    let envoy = envoy();
    let error = envoy
        .worker(r#"{"resource":"https://vault.azure.net/.default","identity_header":"has a space 9f2c41d7","allowed_hosts":["https://myvault.vault.azure.net"]}"#)
        .err()
        .unwrap()
        .to_string();
    for expected in [
        "\"cluster\" is missing",
        "\"authority\" is missing",
        "is a scope",
        "printable ASCII",
        "\"allowed_hosts\" entry 'https://myvault.vault.azure.net' is not a host name: give the name alone",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    assert!(!error.contains("9f2c41d7"), "{error}");
}
