//! The WASI 0.3 build of the credential (world `azure:identity@0.2.0/workload-identity`,
//! wit-p3/) in wasmtime 48's p3 host, with the same fake Entra, token directory and test clocks:
//! get-token is an `async func`, and calls overlap on one instance.

use crate::{AKS_ENV, ASSERTION, TENANT, VAULT, assert_no_secret_seen, no_request_options};
use host_tests::{
    AKS_TOKEN_DIR, AccessToken, CredentialError, FakeEntra, HostConfig, P3CredentialComponent,
    P3CredentialInstance, P3WorkloadIdentityOptions, TestClock, TokenCall, TokenDirectory,
    Transport,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `expires_in` of the fake authority's tokens.
const FAKE_EXPIRES_IN: u64 = 3599;

/// The component under test, compiled once per process.
fn component() -> &'static P3CredentialComponent {
    P3CredentialComponent::shared(guest_artifacts::CREDENTIAL_WASI_P3)
}

/// A pod of the WASI 0.3 credential: the AKS environment, the token directory preopened where
/// AKS mounts it, a fake Entra, host clocks the test moves, one instance. When dropped it
/// checks that no error and no output holds the assertion or an issued token.
struct P3Pod {
    fake: FakeEntra,
    clock: TestClock,
    instance: P3CredentialInstance,
    _tokens: TokenDirectory,
}

impl P3Pod {
    fn new() -> P3Pod {
        let tokens = TokenDirectory::with_token(&format!("{ASSERTION}\n")).unwrap();
        let fake = FakeEntra::new();
        let clock = TestClock::new();
        let mut config = HostConfig::new(Transport::Fake(fake.clone()))
            .clock(&clock)
            .preopen(tokens.path(), AKS_TOKEN_DIR);
        for (name, value) in AKS_ENV {
            config = config.env(name, value);
        }
        let instance = component().instantiate(config).unwrap();
        P3Pod {
            fake,
            clock,
            instance,
            _tokens: tokens,
        }
    }

    /// A credential configured from the environment alone.
    fn credential(&mut self) -> wasmtime::component::ResourceAny {
        let options = P3WorkloadIdentityOptions {
            tenant_id: None,
            client_id: None,
            token_file_path: None,
            authority_host: None,
            additionally_allowed_tenants: Vec::new(),
        };
        self.instance
            .create(&options)
            .expect("no trap")
            .unwrap_or_else(|error| panic!("create failed: {error:?}"))
    }
}

impl Drop for P3Pod {
    fn drop(&mut self) {
        assert_no_secret_seen(
            &self.fake,
            &[],
            self.instance.errors_seen(),
            &self.instance.output(),
        );
    }
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
    let mut pod = P3Pod::new();
    pod.clock.advance(Duration::from_secs(1000));
    pod.fake.enqueue_late(Duration::from_millis(500));
    let credential = on_a_credential.then(|| pod.credential());
    let answers = pod
        .instance
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
    let mut pod = P3Pod::new();
    for _ in 0..SCOPES {
        pod.fake.enqueue_late(LATE);
    }
    let credential = pod.credential();
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
    let answers = pod
        .instance
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

#[test]
fn a_single_call_gets_a_token_and_the_next_is_served_from_the_cache() {
    let mut pod = P3Pod::new();
    let credential = pod.credential();
    let first = pod
        .instance
        .get_token(credential, &[VAULT], &no_request_options())
        .expect("no trap")
        .unwrap();
    let again = pod
        .instance
        .get_token(credential, &[VAULT], &no_request_options())
        .expect("no trap")
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(pod.fake.requests().len(), 1);
    pod.instance.drop_credential(credential).unwrap();
}
