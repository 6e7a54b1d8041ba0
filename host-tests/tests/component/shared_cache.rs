//! The wasi:keyvalue variants in a host that makes an instance per request, as Spin, `wash dev`
//! and `wasmtime serve` do: every request a fresh instance, every instance sharing one store.

use crate::*;
use host_tests::{
    CredentialComponent, KEYVALUE_DRAFT_PATH, KEYVALUE_DRAFT2_PATH, KeyValueDraft, SharedKeyValue,
};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

const DRAFTS: [KeyValueDraft; 2] = [KeyValueDraft::Draft2, KeyValueDraft::Draft];

/// The variant for `draft`, compiled once per process.
fn variant(draft: KeyValueDraft) -> &'static CredentialComponent {
    static DRAFT2: OnceLock<CredentialComponent> = OnceLock::new();
    static DRAFT: OnceLock<CredentialComponent> = OnceLock::new();
    let (cell, path) = match draft {
        KeyValueDraft::Draft2 => (&DRAFT2, KEYVALUE_DRAFT2_PATH),
        KeyValueDraft::Draft => (&DRAFT, KEYVALUE_DRAFT_PATH),
    };
    cell.get_or_init(|| {
        CredentialComponent::load_variant(path, draft, &wasmtime::Config::default())
            .unwrap_or_else(|error| panic!("loading {path}: {error:?}"))
    })
}

/// A host that serves each request with a fresh instance of a variant, all sharing `store`.
struct PerRequestHost {
    draft: KeyValueDraft,
    fake: FakeEntra,
    tokens: TokenDirectory,
    store: SharedKeyValue,
    /// The host's clocks, moved by the test; `None`: the real ones (the concurrent tests, whose
    /// waiting instances must see time pass).
    clock: Option<TestClock>,
    granted: bool,
}

impl PerRequestHost {
    fn new(draft: KeyValueDraft) -> PerRequestHost {
        PerRequestHost {
            draft,
            fake: FakeEntra::new(),
            tokens: TokenDirectory::with_token(&format!("{ASSERTION}\n")).unwrap(),
            store: SharedKeyValue::new(),
            clock: None,
            granted: true,
        }
    }

    fn config(&self) -> HostConfig {
        let mut config = HostConfig::new(Transport::Fake(self.fake.clone()))
            .preopen(self.tokens.path(), AKS_TOKEN_DIR);
        for (name, value) in AKS_ENV {
            config = config.env(name, value);
        }
        if let Some(clock) = &self.clock {
            config = config.clock(clock);
        }
        if self.granted {
            config = config.shared_store(&self.store);
        }
        config
    }

    /// One request: a fresh instance, the free get-token, the instance dropped.
    fn request(&self) -> AccessToken {
        self.request_result()
            .unwrap_or_else(|error| panic!("{:?}: {error:?}", self.draft))
    }

    /// [`request`](Self::request)'s answer, whatever it is; checks that the instance wrote
    /// nothing.
    fn request_result(&self) -> Result<AccessToken, CredentialError> {
        let mut instance = variant(self.draft).instantiate(self.config()).unwrap();
        let result = instance
            .get_token_from_environment(&[VAULT], &no_request_options())
            .expect("no trap");
        assert_eq!(instance.output(), "", "the component writes nothing");
        result
    }

    /// `total` requests, `at_once` at a time (threads taking the next request as they finish).
    fn requests(&self, total: usize, at_once: usize) -> Vec<AccessToken> {
        let next = AtomicUsize::new(0);
        let tokens = std::sync::Mutex::new(Vec::with_capacity(total));
        std::thread::scope(|scope| {
            for _ in 0..at_once {
                scope.spawn(|| {
                    while next.fetch_add(1, Ordering::SeqCst) < total {
                        let token = self.request();
                        tokens.lock().unwrap().push(token);
                    }
                });
            }
        });
        tokens.into_inner().unwrap()
    }

    fn entra_calls(&self) -> usize {
        self.fake.requests().len()
    }
}

#[test]
fn one_entra_call_for_1000_fresh_instances_in_sequence_and_16_at_a_time() {
    for draft in DRAFTS {
        for at_once in [1, 16] {
            let host = PerRequestHost::new(draft);
            // Entra takes 200 ms to answer the first request: the other instances arrive while
            // it is out, find its lease and wait for its token.
            host.fake
                .enqueue_late(std::time::Duration::from_millis(200));
            let tokens = host.requests(1000, at_once);
            assert_eq!(tokens.len(), 1000);
            assert_eq!(host.entra_calls(), 1, "{draft:?}, {at_once} at a time");
            let issued = host.fake.issued_token(1);
            // Compared, never printed: they are tokens.
            assert!(
                tokens.iter().all(|token| token.token == issued),
                "{draft:?}"
            );
            let first = &tokens[0];
            assert!(
                tokens
                    .iter()
                    .all(|t| (t.expires_on, t.refresh_on) == (first.expires_on, first.refresh_on))
            );
        }
    }
}

#[test]
fn the_store_holds_no_usable_token_and_another_identitys_file_cannot_open_it() {
    for draft in DRAFTS {
        let host = PerRequestHost::new(draft);
        host.requests(20, 4);
        let issued = host.fake.issued_token(1);
        let contents = host.store.contents();
        assert_eq!(
            contents.len(),
            1,
            "{draft:?}: one entry, no ticket left: {:?}",
            contents.keys()
        );
        for (name, value) in &contents {
            assert!(name.starts_with("azure-identity/v1/"), "{name}");
            for secret in [issued.as_bytes(), ASSERTION.as_bytes(), VAULT.as_bytes()] {
                assert!(
                    !value.windows(secret.len()).any(|w| w == secret) && !name.contains("vault"),
                    "{draft:?}: the entry holds something in the clear"
                );
            }
        }
        // A pod with another token file (another workload's identity, or this one's after a
        // rotation) shares the store: the entry does not open, so it asks Entra itself.
        let mut other = PerRequestHost::new(draft);
        other.store = host.store.clone();
        other
            .tokens
            .write_token("another-service-account-jwt")
            .unwrap();
        let token = other.request();
        assert_eq!(other.entra_calls(), 1, "{draft:?}");
        // Compared, never printed.
        assert!(token.token == other.fake.issued_token(1));
    }
}

#[test]
fn one_refresh_across_instances_when_the_token_is_due() {
    for draft in DRAFTS {
        let mut host = PerRequestHost::new(draft);
        let clock = TestClock::new();
        host.clock = Some(clock.clone());
        let first = host.request();
        let due_in = first.refresh_on.unwrap() - clock.now_seconds();
        clock.advance(std::time::Duration::from_secs(due_in - 1));
        assert_eq!(host.request(), first);
        clock.advance(std::time::Duration::from_secs(1));
        let renewed: Vec<AccessToken> = (0..50).map(|_| host.request()).collect();
        assert_eq!(host.entra_calls(), 2, "{draft:?}");
        assert!(renewed.iter().all(|t| t.token == host.fake.issued_token(2)));
    }
}

#[test]
fn without_a_store_or_with_a_failing_one_every_instance_still_gets_its_token() {
    for draft in DRAFTS {
        let mut ungranted = PerRequestHost::new(draft);
        ungranted.granted = false;
        ungranted.requests(5, 1);
        assert_eq!(
            ungranted.entra_calls(),
            5,
            "{draft:?}: as the base component"
        );

        let failing = PerRequestHost::new(draft);
        failing.store.fail(true);
        failing.requests(5, 1);
        assert_eq!(failing.entra_calls(), 5, "{draft:?}");
    }
}

#[test]
fn a_variant_imports_the_base_components_interfaces_and_its_drafts_store_and_atomics() {
    let (base, base_exports) = CredentialComponent::shared().interface_names();
    for (draft, version) in [
        (KeyValueDraft::Draft2, "0.2.0-draft2"),
        (KeyValueDraft::Draft, "0.2.0-draft"),
    ] {
        let (imports, exports) = variant(draft).interface_names();
        let mut expected = base.clone();
        expected.push(format!("wasi:keyvalue/store@{version}"));
        expected.push(format!("wasi:keyvalue/atomics@{version}"));
        let mut sorted = imports.clone();
        sorted.sort();
        expected.sort();
        assert_eq!(sorted, expected, "{draft:?}");
        assert_eq!(exports, base_exports);
    }
}

#[test]
fn a_refusal_with_a_store_names_neither_the_assertion_nor_a_token_nor_what_the_store_holds() {
    for draft in DRAFTS {
        let mut host = PerRequestHost::new(draft);
        let clock = TestClock::new();
        host.clock = Some(clock.clone());
        let stored = host.request();
        // The token is due: the next instance takes the lease and asks, and Entra refuses.
        host.fake.enqueue(host_tests::FakeResponse::json(
            400,
            r#"{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found.","error_codes":[700213]}"#,
        ));
        clock.advance(std::time::Duration::from_secs(3600));
        let error = format!("{:?}", host.request_result().expect_err("refused"));
        assert!(error.contains("AADSTS700213"), "{draft:?}: {error}");
        let mut secrets = vec![ASSERTION.to_owned(), stored.token.clone()];
        for (name, value) in host.store.contents() {
            secrets.push(name);
            // The sealed bytes, as any text they could show up as.
            secrets.push(String::from_utf8_lossy(&value).into_owned());
            secrets.push(value.iter().map(|byte| format!("{byte:02x}")).collect());
        }
        for secret in &secrets {
            // Checked, never printed: the message would then hold the secret.
            assert!(
                !error.contains(secret.as_str()),
                "{draft:?}: the error holds a secret"
            );
        }
    }
}

/// Two projected tokens of one service account, bound to two pods (the claim
/// `kubernetes.io.pod.uid`), as two replicas of a deployment get them.
const POD_A_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYXBpOi8vQXp1cmVBRFRva2VuRXhjaGFuZ2UiXSwia3ViZXJuZXRlcy5pbyI6eyJuYW1lc3BhY2UiOiJhcHBzIiwicG9kIjp7Im5hbWUiOiJ3b3JrbG9hZC02YTFlMCIsInVpZCI6IjZhMWUwYzUyLTExMTEtNGIyYy05ZDNlLWFhYWFhYWFhYWFhYSJ9LCJzZXJ2aWNlYWNjb3VudCI6eyJuYW1lIjoid29ya2xvYWQiLCJ1aWQiOiIwZDNjMmIxYSJ9fSwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmFwcHM6d29ya2xvYWQifQ.c2lnLTZhMWUwYzUyLTExMTEtNGIyYy05ZDNlLWFhYWFhYWFhYWFhYQ";
const POD_B_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYXBpOi8vQXp1cmVBRFRva2VuRXhjaGFuZ2UiXSwia3ViZXJuZXRlcy5pbyI6eyJuYW1lc3BhY2UiOiJhcHBzIiwicG9kIjp7Im5hbWUiOiJ3b3JrbG9hZC02YTFlMCIsInVpZCI6IjZhMWUwYzUyLTIyMjItNGIyYy05ZDNlLWJiYmJiYmJiYmJiYiJ9LCJzZXJ2aWNlYWNjb3VudCI6eyJuYW1lIjoid29ya2xvYWQiLCJ1aWQiOiIwZDNjMmIxYSJ9fSwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmFwcHM6d29ya2xvYWQifQ.c2lnLTZhMWUwYzUyLTIyMjItNGIyYy05ZDNlLWJiYmJiYmJiYmJiYg";

#[test]
fn pods_sharing_one_store_keep_an_entry_each_and_do_not_overwrite_each_others() {
    for draft in DRAFTS {
        let pod_a = PerRequestHost::new(draft);
        pod_a.tokens.write_token(POD_A_TOKEN).unwrap();
        let mut pod_b = PerRequestHost::new(draft);
        pod_b.tokens.write_token(POD_B_TOKEN).unwrap();
        pod_b.store = pod_a.store.clone();
        // Requests alternate between the replicas, as a load balancer sends them.
        for _ in 0..50 {
            pod_a.request();
            pod_b.request();
        }
        // Each pod seals with its own token, so it cannot open the other's entry: named alike,
        // they would overwrite each other on every request.
        assert_eq!(
            (pod_a.entra_calls(), pod_b.entra_calls()),
            (1, 1),
            "{draft:?}"
        );
        assert_eq!(
            pod_a.store.contents().len(),
            2,
            "{draft:?}: one entry per pod"
        );
    }
}
