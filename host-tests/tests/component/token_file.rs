//! The token file: trimmed, re-read after ten minutes, re-read at once when Entra says it expired.

use crate::*;
use host_tests::{AKS_TOKEN_FILE_NAME, FakeResponse, token_file_grant};

for_each_edition!(
    whitespace_around_the_token_is_trimmed,
    token_file_is_reread_after_ten_minutes_not_before,
    expired_assertion_is_reread_and_retried_once,
    a_second_expired_assertion_is_reported_with_its_likely_cause,
    oversized_token_file_is_unavailable,
    webhook_1_5_layout_a_rotation_is_seen_by_a_long_lived_instance,
    webhook_1_6_layout_a_rotation_is_seen_by_a_long_lived_instance,
    the_token_file_is_read_through_a_read_only_grant_and_left_untouched,
    a_token_file_outside_the_granted_directories_names_the_grants,
    the_deepest_grant_holding_the_file_is_the_one_read,
);

const EXPIRED_ASSERTION: &str = r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-11-28T01:00:00Z, assertion valid from 2026-11-27T23:00:00Z, expiry time of assertion 2026-11-28T00:00:00Z.","error_codes":[700024],"trace_id":"t","correlation_id":"c"}"#;

fn whitespace_around_the_token_is_trimmed(edition: Edition) {
    let mut pod = Pod::with_tokens(
        edition,
        TokenDirectory::with_token(&format!("\n  {ASSERTION}\r\n\n")).unwrap(),
        &[],
    );
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(
        pod.fake.requests()[0].field("client_assertion"),
        Some(ASSERTION)
    );
}

fn token_file_is_reread_after_ten_minutes_not_before(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.write_token("rotated-service-account-token");
    pod.advance(599);
    pod.get_token(credential, &[STORAGE]).unwrap();
    pod.advance(1);
    pod.get_token(credential, &["https://management.azure.com/.default"])
        .unwrap();
    let assertions = pod.fake.form_fields("client_assertion");
    assert_eq!(
        assertions,
        [ASSERTION, ASSERTION, "rotated-service-account-token"]
    );
}

fn expired_assertion_is_reread_and_retried_once(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    pod.write_token("rotated-service-account-token");
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    let token = pod.get_token(credential, &[STORAGE]).unwrap();
    assert_eq!(token.token, pod.fake.issued_token(2));
    let requests = pod.fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].field("client_assertion"), Some(ASSERTION));
    assert_eq!(
        requests[2].field("client_assertion"),
        Some("rotated-service-account-token")
    );
}

fn a_second_expired_assertion_is_reported_with_its_likely_cause(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    pod.fake.enqueue(FakeResponse::json(400, EXPIRED_ASSERTION));
    let credential = pod.credential(&explicit_options());
    let Err(CredentialError::AuthenticationFailed(failure)) = pod.get_token(credential, &[VAULT])
    else {
        panic!("expected authentication-failed");
    };
    assert_eq!(failure.error_codes, vec![700024]);
    assert!(
        failure.message.contains("Likely cause (AADSTS700024)"),
        "{}",
        failure.message
    );
    assert_eq!(pod.fake.requests().len(), 2);
}

fn oversized_token_file_is_unavailable(edition: Edition) {
    let big = "x".repeat(64 * 1024 + 1);
    let mut pod = Pod::with_tokens(edition, TokenDirectory::with_token(&big).unwrap(), &[]);
    let credential = pod.credential(&explicit_options());
    assert!(unavailable(pod.get_token(credential, &[VAULT])).contains("larger than 64 KiB"));
    assert!(pod.fake.requests().is_empty());
}

/// One long-lived instance reads a kubelet-projected token whose path inside the volume is
/// `projected`, granted what `token_file_grant` grants, across a rotation that deletes the old
/// timestamped directory.
fn a_rotation_is_seen_through_the_hosts_grant(edition: Edition, projected: &str) {
    let tokens = TokenDirectory::new().unwrap();
    tokens
        .project_file(projected, &format!("{ASSERTION}\n"))
        .unwrap();
    let token_file = tokens.path().join(projected).to_string_lossy().into_owned();
    let (host_dir, guest_path) = token_file_grant(&token_file).unwrap();
    let mut pod = Pod::with_grants(edition, tokens, &[(host_dir, &guest_path)], &[]);
    let options = WorkloadIdentityOptions {
        token_file_path: Some(token_file),
        ..explicit_options()
    };
    let credential = pod.credential(&options);
    pod.get_token(credential, &[VAULT]).unwrap();
    let generations_before = timestamped_directories(&pod);
    pod.project_file(projected, "rotated-service-account-token\n");
    assert!(
        timestamped_directories(&pod)
            .iter()
            .all(|generation| !generations_before.contains(generation)),
        "the rotation removes the generation the instance first read from"
    );
    pod.advance(600);
    pod.get_token(credential, &[STORAGE])
        .unwrap_or_else(|error| panic!("after the rotation: {error:?}"));
    let requests = pod.fake.requests();
    assert_eq!(requests[0].field("client_assertion"), Some(ASSERTION));
    assert_eq!(
        requests[1].field("client_assertion"),
        Some("rotated-service-account-token")
    );
}

fn timestamped_directories(pod: &Pod) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(pod.tokens.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().starts_with("..2"))
        .collect()
}

fn webhook_1_5_layout_a_rotation_is_seen_by_a_long_lived_instance(edition: Edition) {
    // The token at the volume's root: `azure-identity-token -> ..data/azure-identity-token`.
    a_rotation_is_seen_through_the_hosts_grant(edition, AKS_TOKEN_FILE_NAME);
}

fn webhook_1_6_layout_a_rotation_is_seen_by_a_long_lived_instance(edition: Edition) {
    // `token -> ..data/token`: the file's own directory is a symlink into the generation that
    // the rotation deletes, so a grant of that directory would hold a deleted directory.
    a_rotation_is_seen_through_the_hosts_grant(edition, "token/azure-identity-token");
}

#[test]
fn the_grant_is_the_projected_volumes_root_or_else_the_files_directory() {
    let volume = TokenDirectory::new().unwrap();
    volume
        .project_file("token/azure-identity-token", ASSERTION)
        .unwrap();
    let file = volume.path().join("token/azure-identity-token");
    let (granted, guest_path) = token_file_grant(file.to_str().unwrap()).unwrap();
    assert_eq!(granted, volume.path());
    assert_eq!(guest_path, volume.path().to_string_lossy());

    let plain = TokenDirectory::with_token(ASSERTION).unwrap();
    let file = plain.path().join(AKS_TOKEN_FILE_NAME);
    let (granted, _) = token_file_grant(file.to_str().unwrap()).unwrap();
    assert_eq!(granted, plain.path());

    assert_eq!(token_file_grant("/nonexistent/azure-identity-token"), None);
}

fn the_token_file_is_read_through_a_read_only_grant_and_left_untouched(edition: Edition) {
    // Every pod's host grants the token directory read-only, so wasmtime refuses any open that
    // asks to write; this test says so, and checks the directory after the read.
    let mut pod = Pod::new(edition, &[]);
    let listing = |pod: &Pod| {
        let mut entries: Vec<_> = std::fs::read_dir(pod.tokens.path())
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let metadata = entry.metadata().unwrap();
                (
                    entry.file_name(),
                    metadata.len(),
                    metadata.modified().unwrap(),
                )
            })
            .collect();
        entries.sort();
        entries
    };
    let before = listing(&pod);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(listing(&pod), before);
}

fn a_token_file_outside_the_granted_directories_names_the_grants(edition: Edition) {
    let tokens = TokenDirectory::with_token(ASSERTION).unwrap();
    let granted = tokens.path().to_owned();
    let mut pod = Pod::with_grants(edition, tokens, &[(granted, "/data")], &[]);
    let credential = pod.credential(&explicit_options());
    let message = unavailable(pod.get_token(credential, &[VAULT]));
    assert!(
        message.contains(&format!(
            "cannot read the federated token file '{AKS_TOKEN_FILE}' (no directory the host \
             granted holds it; granted: '/data')"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("--dir {AKS_TOKEN_DIR}")),
        "{message}"
    );
    assert!(pod.fake.requests().is_empty());
}

fn the_deepest_grant_holding_the_file_is_the_one_read(edition: Edition) {
    let root = TokenDirectory::new().unwrap();
    let azure = TokenDirectory::new().unwrap();
    azure
        .write_file("tokens/azure-identity-token", ASSERTION)
        .unwrap();
    let grants = [
        (root.path().to_owned(), "/"),
        (azure.path().to_owned(), "/var/run/secrets/azure"),
    ];
    let mut pod = Pod::with_grants(edition, azure, &grants, &[]);
    let credential = pod.credential(&explicit_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(
        pod.fake.requests()[0].field("client_assertion"),
        Some(ASSERTION)
    );
}
