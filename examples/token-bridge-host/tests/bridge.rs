//! The bridge over real sockets: the protocol's answers, one Entra call per token however many
//! requests and however concurrent, Entra's failures passed on, and the `token-bridge` command.

mod common;

use common::{
    SECRET, STORAGE, VAULT, VAULT_PATH, get, request, start_bridge, start_command,
    start_command_in, terminate,
};
use host_tests::{FakeResponse, TokenDirectory};
use std::process::Command;
use token_bridge_host::demo::{DEMO_ASSERTION, DEMO_CLIENT};
use token_bridge_host::{Authority, BridgeConfig, Limits, RunningBridge};

#[test]
fn a_token_answer_has_the_app_service_shape_and_entra_got_the_credentials_request() {
    let bridge = start_bridge();
    let (status, body) = get(bridge.address(), VAULT_PATH, SECRET);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let field = |name: &str| {
        answer[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {body}"))
    };
    assert_eq!(field("access_token"), bridge.entra.issued_tokens()[0]);
    assert_eq!(field("resource"), VAULT);
    assert_eq!(field("token_type"), "Bearer");
    assert_eq!(field("client_id"), DEMO_CLIENT);
    let expires_on: u64 = field("expires_on").parse().unwrap();
    let expires_in: u64 = field("expires_in").parse().unwrap();
    assert!(expires_on.abs_diff(now + expires_in) <= 2, "{body}");
    assert!((3500..=3600).contains(&expires_in), "{body}");

    let sent = &bridge.entra.requests()[0];
    assert_eq!(
        sent.field("scope"),
        Some("https://vault.azure.net/.default")
    );
    assert_eq!(sent.field("client_id"), Some(DEMO_CLIENT));
    assert_eq!(sent.field("client_assertion"), Some(DEMO_ASSERTION));
    assert_eq!(sent.field("grant_type"), Some("client_credentials"));
}

#[test]
fn concurrent_requests_for_a_resource_cost_one_entra_call() {
    let bridge = start_bridge();
    let address = bridge.address();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| get(address, VAULT_PATH, SECRET).0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap().iter().all(|&status| status == 200));
    }
    assert_eq!(bridge.running.requests_served(), 200);
    assert_eq!(bridge.running.entra_calls(), 1);
    assert_eq!(bridge.entra.requests().len(), 1);

    // Another resource is another token, and so one more call.
    let storage = "/msi/token?api-version=2019-08-01&resource=https://storage.azure.com/";
    for _ in 0..10 {
        assert_eq!(get(address, storage, SECRET).0, 200);
    }
    assert_eq!(bridge.running.entra_calls(), 2);
    // Asked as `…azure.com/`, allowed as `…azure.com`: the allow-list's spelling is the scope.
    assert_eq!(
        bridge.entra.requests()[1].field("scope"),
        Some(format!("{STORAGE}/.default").as_str())
    );
}

#[test]
fn refusals_over_the_wire() {
    let bridge = start_bridge();
    let address = bridge.address();
    // Header names ignore case; the value must match exactly.
    assert_eq!(
        request(address, "GET", VAULT_PATH, &[("x-identity-header", SECRET)]).0,
        200
    );
    let (status, body) = get(address, VAULT_PATH, &SECRET.to_uppercase());
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("does not match"), "{body}");
    assert!(!body.contains(SECRET), "{body}");
    assert_eq!(request(address, "GET", VAULT_PATH, &[]).0, 401);
    let (status, body) = get(
        address,
        "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com",
        SECRET,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not on the bridge's allow-list"), "{body}");
    let (status, body) = request(
        address,
        "POST",
        VAULT_PATH,
        &[("x-identity-header", SECRET)],
    );
    assert_eq!(status, 405, "{body}");
    assert_eq!(
        get(address, "/metadata/identity/oauth2/token", SECRET).0,
        404
    );
    assert_eq!(
        request(address, "GET", "/healthz", &[]),
        (200, r#"{"status":"ok"}"#.into())
    );
    // Refused requests never reach Entra.
    assert_eq!(bridge.running.entra_calls(), 1);
}

#[test]
fn entra_failures_are_passed_on_with_their_status_and_codes_and_not_kept() {
    let bridge = start_bridge();
    bridge.entra.enqueue(FakeResponse::json(
        400,
        r#"{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject.","error_codes":[700213],"correlation_id":"5c9f0b2e-0000-4000-8000-000000000001","trace_id":"7d1e2f3a-0000-4000-8000-000000000002"}"#,
    ));
    let (status, body) = get(bridge.address(), VAULT_PATH, SECRET);
    assert_eq!(status, 400, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"], "invalid_client");
    assert_eq!(answer["error_codes"], serde_json::json!([700213]));
    assert_eq!(
        answer["correlation_id"],
        "5c9f0b2e-0000-4000-8000-000000000001"
    );
    assert!(
        answer["message"].as_str().unwrap().contains("AADSTS700213"),
        "{body}"
    );
    assert!(!body.contains(DEMO_ASSERTION), "{body}");
    // Once the federation is fixed, the next request gets a token.
    assert_eq!(get(bridge.address(), VAULT_PATH, SECRET).0, 200);
    assert_eq!(bridge.running.entra_calls(), 2);
}

#[test]
fn a_long_lived_bridge_reads_the_token_rotated_under_webhook_1_6s_layout() {
    // The demo's volume has webhook v1.6's layout (`token/` a symlink into the timestamped
    // directory) and is granted as main.rs grants a pod's. The rotation deletes the directory
    // the first read went through; Entra then says the old assertion expired, which makes the
    // credential read the file again at once.
    let bridge = start_bridge();
    assert_eq!(get(bridge.address(), VAULT_PATH, SECRET).0, 200);
    bridge
        .rotate_token("rotated-service-account-token")
        .unwrap();
    bridge.entra.enqueue(FakeResponse::json(
        400,
        r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#,
    ));
    let (status, body) = get(
        bridge.address(),
        "/msi/token?api-version=2019-08-01&resource=https://storage.azure.com/",
        SECRET,
    );
    assert_eq!(status, 200, "{body}");
    let assertions = bridge.entra.form_fields("client_assertion");
    assert_eq!(
        assertions,
        [
            DEMO_ASSERTION,
            DEMO_ASSERTION,
            "rotated-service-account-token"
        ]
    );
}

#[test]
fn a_bridge_without_its_settings_does_not_start_and_says_what_to_set() {
    let error = RunningBridge::start(BridgeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        component: None,
        env: vec![("IDENTITY_HEADER".into(), "short".into())],
        preopens: Vec::new(),
        authority: Authority::Network(None),
        log: false,
        limits: Limits::default(),
    })
    .err()
    .unwrap();
    assert!(
        error.contains("IDENTITY_HEADER is 5 characters long"),
        "{error}"
    );
    assert!(
        error.contains("TOKEN_BRIDGE_RESOURCES is not set"),
        "{error}"
    );
    assert!(!error.contains("short"), "{error}");
}

/// The command as a sidecar runs it: started, asked, stopped by SIGTERM; its log has one line per
/// request and a summary, and never the secret, a token or the assertion.
#[test]
fn the_token_bridge_command_serves_logs_without_secrets_and_stops_on_sigterm() {
    let (bridge, mut log, first, address) = start_command(&[], &[("IDENTITY_HEADER", SECRET)]);
    let (status, body) = get(address, VAULT_PATH, SECRET);
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(address, VAULT_PATH, "wrong-secret-wrong-secret").0, 401);
    assert_eq!(get(address, VAULT_PATH, SECRET).0, 200);

    let exit = terminate(bridge);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut log, &mut rest).unwrap();
    let log = first + &rest;
    assert!(exit.success(), "{exit}: {log}");
    assert_eq!(log.matches(" -> 200 in ").count(), 2, "{log}");
    assert_eq!(log.matches(" -> 401 in ").count(), 1, "{log}");
    assert!(
        log.contains("requests served: 3; calls to Microsoft Entra ID: 1"),
        "{log}"
    );
    for secret in [SECRET, &token, DEMO_ASSERTION, "wrong-secret"] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

/// The binary carries its composition: copied alone into an empty directory, far from the build's
/// `target/`, and started there, it serves a token.
#[test]
fn the_command_copied_alone_into_an_empty_directory_serves_a_token() {
    let empty = TokenDirectory::new().unwrap();
    let alone = empty.path().join("token-bridge");
    std::fs::copy(env!("CARGO_BIN_EXE_token-bridge"), &alone).unwrap();
    let mut command = Command::new(&alone);
    command.current_dir(empty.path());
    let (bridge, _log, first, address) =
        start_command_in(command, &["--quiet"], &[("IDENTITY_HEADER", SECRET)]);
    assert!(
        first.contains("built-in fake Microsoft Entra ID"),
        "{first}"
    );
    let (status, body) = get(address, VAULT_PATH, SECRET);
    assert_eq!(status, 200, "{body}");
    assert!(terminate(bridge).success());
    let entries: Vec<_> = std::fs::read_dir(empty.path()).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "the bridge wrote beside itself: {entries:?}"
    );
}

/// A Kubernetes Secret mounted as a file, as `kubectl create secret --from-file` leaves it (with
/// a trailing newline), and the `--probe` an exec probe runs.
#[test]
fn the_secret_is_read_from_a_file_and_the_probe_sees_the_bridge_ready() {
    let dir = TokenDirectory::new().unwrap();
    dir.write_file("identity-header", &format!("{SECRET}\n"))
        .unwrap();
    let file = dir.path().join("identity-header");
    // The file wins over a variable left in the environment.
    let stale = "a-stale-secret-from-the-environment";
    let (bridge, _log, _, address) = start_command(
        &["--quiet", "--identity-header-file", file.to_str().unwrap()],
        &[("IDENTITY_HEADER", stale)],
    );
    // Had the newline been kept, the secret would be one character longer than what the SDK sends.
    assert_eq!(get(address, VAULT_PATH, SECRET).0, 200);
    assert_eq!(get(address, VAULT_PATH, stale).0, 401);
    let probe = |address: &str| {
        Command::new(env!("CARGO_BIN_EXE_token-bridge"))
            .args(["--probe", "--listen", address])
            .output()
            .unwrap()
    };
    assert!(probe(&address.to_string()).status.success());
    terminate(bridge);
    let refused = probe(&address.to_string());
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no bridge at"),
        "{refused:?}"
    );
}

/// A pod stops its bridge with SIGTERM: connections that wait for a client's next request (an
/// SDK's keep-alive pool) must not hold the stop for the 10 s grace of requests being answered.
#[test]
fn stopping_closes_idle_keep_alive_connections_at_once() {
    let bridge = start_bridge();
    let address = bridge.address();
    let mut kept = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(
        &mut kept,
        format!(
            "GET {VAULT_PATH} HTTP/1.1\r\nhost: {address}\r\nx-identity-header: {SECRET}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = [0; 12];
    std::io::Read::read_exact(&mut kept, &mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let _never_asks = std::net::TcpStream::connect(address).unwrap();
    let started = std::time::Instant::now();
    bridge.running.stop();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
}
