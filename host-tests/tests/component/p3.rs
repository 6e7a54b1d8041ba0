//! What only the WASI 0.3 build of the credential (world `azure:identity@0.2.0/workload-identity`,
//! wit-p3/) has, in wasmtime 48's p3 host: its imports, and get-token as an `async func` whose
//! calls overlap on one instance. The behaviour both builds share is tested on both by the other
//! files' `for_each_edition!`.

use crate::{AKS_ENV, Pod, TENANT, VAULT, no_options, no_request_options};
use host_tests::{
    AccessToken, CredentialError, Edition, P3CredentialComponent, P3CredentialInstance, TokenCall,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `expires_in` of the fake authority's tokens.
const FAKE_EXPIRES_IN: u64 = 3599;

/// The component under test, compiled once per process.
fn component() -> &'static P3CredentialComponent {
    P3CredentialComponent::shared(guest_artifacts::CREDENTIAL_WASI_P3)
}

/// A pod of the WASI 0.3 build in the AKS environment, and its instance for calls at once.
fn p3_pod() -> Pod {
    Pod::new(Edition::Wasi0_3, &AKS_ENV)
}

fn p3(pod: &mut Pod) -> &mut P3CredentialInstance {
    pod.instance.wasi_0_3().expect("a WASI 0.3 pod")
}

fn tokens(answers: Vec<Result<AccessToken, CredentialError>>) -> Vec<AccessToken> {
    answers
        .into_iter()
        .map(|answer| answer.unwrap_or_else(|error| panic!("get-token failed: {error:?}")))
        .collect()
}

#[test]
fn imports_exactly_the_wasi_0_3_interfaces_it_calls() {
    let (imports, exports) = component().interface_names();
    let imports: BTreeSet<&str> = imports.iter().map(String::as_str).collect();
    let expected = BTreeSet::from([
        "wasi:cli/environment@0.3.0",
        "wasi:clocks/types@0.3.0",
        "wasi:clocks/system-clock@0.3.0",
        "wasi:clocks/monotonic-clock@0.3.0",
        "wasi:random/random@0.3.0",
        "wasi:filesystem/types@0.3.0",
        "wasi:filesystem/preopens@0.3.0",
        "wasi:http/types@0.3.0",
        "wasi:http/client@0.3.0",
    ]);
    assert_eq!(imports, expected);
    assert_eq!(
        exports,
        [
            "azure:identity/types@0.2.0",
            "azure:identity/credential@0.2.0"
        ]
    );
}

/// A hundred calls for one token at once, on a credential (`Some`) or the free get-token
/// (`None`), while Entra takes half a second to answer: one request, one token for all.
fn hundred_calls_for_one_token_share_one_request(on_a_credential: bool) {
    let mut pod = p3_pod();
    pod.advance(1000);
    pod.fake.enqueue_late(Duration::from_millis(500));
    let credential = on_a_credential.then(|| pod.credential(&no_options()));
    let answers = p3(&mut pod)
        .get_tokens_at_once(credential, 100, &[VAULT], &no_request_options())
        .expect("no trap");
    let tokens = tokens(answers);
    assert_eq!(pod.fake.requests().len(), 1);
    let issued = pod.fake.issued_token(1);
    for token in &tokens {
        assert_eq!(token.token, issued);
        // The p3 system-clock is the host's wall clock: the test clock.
        assert_eq!(token.expires_on, pod.clock.now_seconds() + FAKE_EXPIRES_IN);
    }
    assert_eq!(tokens.len(), 100);
    let request = &pod.fake.requests()[0];
    assert_eq!(
        request.url,
        format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(request.field("scope"), Some(VAULT));
}

#[test]
fn hundred_calls_on_a_credential_for_one_token_at_once_make_one_request() {
    hundred_calls_for_one_token_share_one_request(true);
}

#[test]
fn hundred_free_get_tokens_for_one_token_at_once_make_one_request() {
    hundred_calls_for_one_token_share_one_request(false);
}

#[test]
fn calls_for_different_tokens_on_one_instance_are_requested_at_the_same_time() {
    const SCOPES: usize = 10;
    const CALLS_PER_SCOPE: usize = 5;
    const LATE: Duration = Duration::from_secs(1);
    let mut pod = p3_pod();
    for _ in 0..SCOPES {
        pod.fake.enqueue_late(LATE);
    }
    let credential = pod.credential(&no_options());
    let scopes: Vec<String> = (0..SCOPES)
        .map(|n| format!("api://app-{n}/.default"))
        .collect();
    let calls: Vec<TokenCall> = (0..SCOPES * CALLS_PER_SCOPE)
        .map(|n| {
            let scope = scopes[n % SCOPES].as_str();
            TokenCall::new(Some(credential), &[scope], &no_request_options())
        })
        .collect();
    let started = Instant::now();
    let answers = p3(&mut pod)
        .get_tokens_concurrently(calls)
        .expect("no trap");
    let elapsed = started.elapsed();
    let tokens = tokens(answers);
    // One request per scope, all in flight together: one after another they take 10 s.
    assert_eq!(pod.fake.requests().len(), SCOPES);
    assert!(
        elapsed < LATE * 5,
        "{SCOPES} late answers took {elapsed:?}: the requests did not overlap"
    );
    let requested: BTreeSet<String> = pod.fake.form_fields("scope").into_iter().collect();
    assert_eq!(requested, scopes.iter().cloned().collect());
    for (n, token) in tokens.iter().enumerate() {
        assert_eq!(token.token, tokens[n % SCOPES].token, "call {n}");
    }
    let distinct: BTreeSet<&str> = tokens.iter().map(|t| t.token.as_str()).collect();
    assert_eq!(distinct.len(), SCOPES);
}
