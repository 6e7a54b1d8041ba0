//! Which requests get the token: only those for the allowed hosts, and those whose
//! `Authorization` is absent or empty.

mod common;

use common::*;
use proxy_wasm_host::Progress;

#[test]
fn a_request_for_a_host_not_allowed_is_refused_with_403_and_never_gets_the_token() {
    let bridge = start_bridge();
    let envoy = envoy();
    let config = plugin_config(&bridge.running.address().to_string(), SECRET);
    let mut worker = envoy.worker(&config).unwrap();
    // A token is in shared data: the refusal is not for want of one.
    let vault = worker.request(&VAULT_REQUEST).unwrap();
    answer_from_bridge(&mut worker, &bridge);
    assert_eq!(worker.stream(vault).progress, Progress::Continued);

    for authority in [
        "attacker.example",
        "vault.azure.net",
        "myvault.vault.azure.net.evil.example",
    ] {
        for own in [None, Some("Bearer the-apps-own")] {
            let mut headers = VAULT_REQUEST.to_vec();
            headers[1].1 = authority;
            headers.extend(own.map(|value| ("authorization", value)));
            let request = worker.request(&headers).unwrap();
            let stream = worker.stream(request);
            assert_eq!(
                stream.progress,
                Progress::Answered {
                    status: 403,
                    body: format!(
                        "this proxy adds tokens for https://vault.azure.net only to requests for the hosts in its allowed_hosts, and '{authority}' is not one of them\n"
                    ),
                },
                "{authority} {own:?}"
            );
            assert_eq!(stream.header("authorization"), Vec::from_iter(own));
        }
    }
    // The listed host, in another case and with a port, is served.
    let mut headers = VAULT_REQUEST.to_vec();
    headers[1].1 = "MyVault.Vault.Azure.Net:443";
    let request = worker.request(&headers).unwrap();
    assert_eq!(worker.stream(request).progress, Progress::Continued);
    assert!(worker.take_callouts().is_empty());
    assert_eq!(bridge.running.requests_served(), 1);
}

#[test]
fn an_empty_authorization_is_replaced_by_the_token_not_kept_beside_it() {
    let bridge = start_bridge();
    let envoy = envoy();
    let config = plugin_config(&bridge.running.address().to_string(), SECRET);
    let mut worker = envoy.worker(&config).unwrap();
    let mut empty = VAULT_REQUEST.to_vec();
    empty.push(("authorization", ""));
    // Cold: the request waits for the fetch, then is resumed with the token.
    let waiting = worker.request(&empty).unwrap();
    answer_from_bridge(&mut worker, &bridge);
    let token = format!("Bearer {}", bridge.entra.issued_tokens()[0]);
    assert_eq!(worker.stream(waiting).progress, Progress::Continued);
    assert_eq!(
        worker.stream(waiting).header("authorization"),
        [token.as_str()]
    );
    // Warm: the token is set at once.
    let mut blank = VAULT_REQUEST.to_vec();
    blank.push(("Authorization", "  "));
    let warm = worker.request(&blank).unwrap();
    assert_eq!(worker.stream(warm).progress, Progress::Continued);
    assert_eq!(
        worker.stream(warm).header("authorization"),
        [token.as_str()]
    );
}
