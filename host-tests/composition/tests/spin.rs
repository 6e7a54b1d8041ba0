//! The Spin example app with the credential plugged into its `azure:identity/credential` import,
//! as Spin composes a component dependency, served as a wasi:http proxy in wasmtime (Spin itself
//! cannot be installed here). The app's environment and files are what the README's `spin up
//! --env …` and spin.toml's `files` give it, and with `dependencies_inherit_configuration` the
//! credential sees the same.

use composition_tests::{AUTHORITY, FakeUpstream, Pod, ProxyComposition, Served};
use host_tests::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, FakeEntra, FakeResponse, TokenDirectory};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
const ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c3BpbjpzcGluIn0.c2lnbmF0dXJl";
const SECRET_LIST: &str = r#"{"value":[{"id":"https://myvault.vault.azure.net/secrets/db","attributes":{"enabled":true}}],"nextLink":null}"#;

struct SpinPod {
    entra: FakeEntra,
    upstream: FakeUpstream,
    tokens: TokenDirectory,
}

impl SpinPod {
    fn new() -> SpinPod {
        SpinPod {
            entra: FakeEntra::new(),
            upstream: FakeUpstream::default(),
            tokens: TokenDirectory::with_token(ASSERTION).unwrap(),
        }
    }

    /// Serves one request with spin.toml's `files` mount of the token directory.
    fn serve(&self, env: &[(&str, &str)], method: &str, path: &str) -> Served {
        let grant = (self.tokens.path().to_owned(), AKS_TOKEN_DIR.to_owned());
        self.serve_with_grants(vec![grant], env, method, path)
    }

    fn serve_with_grants(
        &self,
        preopens: Vec<(std::path::PathBuf, String)>,
        env: &[(&str, &str)],
        method: &str,
        path: &str,
    ) -> Served {
        let pod = Pod {
            env: env
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            preopens,
            entra: self.entra.clone(),
            upstream: self.upstream.clone(),
        };
        let served = ProxyComposition::spin_app()
            .serve(pod, method, path)
            .expect("the app does not trap");
        for secret in [vec![ASSERTION.to_owned()], self.entra.issued_tokens()].concat() {
            assert!(
                !served.body.contains(&secret),
                "a secret in the response: {}",
                served.body
            );
        }
        served
    }
}

/// What `spin up --env` passes on: the variables the AKS webhook injected into Spin's pod.
const SPIN_ENV: [(&str, &str); 4] = [
    ("AZURE_TENANT_ID", TENANT),
    ("AZURE_CLIENT_ID", CLIENT),
    ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
    ("KEY_VAULT_NAME", "myvault"),
];

#[test]
fn get_secrets_lists_the_vault_with_a_workload_identity_token() {
    let pod = SpinPod::new();
    pod.upstream.enqueue(FakeResponse::json(200, SECRET_LIST));
    let served = pod.serve(&SPIN_ENV, "GET", "/secrets");
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.body, SECRET_LIST);
    assert_eq!(
        served.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );

    let upstream = pod.upstream.requests();
    assert_eq!(upstream.len(), 1);
    assert_eq!(
        upstream[0].url,
        "https://myvault.vault.azure.net/secrets?api-version=7.5"
    );
    assert_eq!(
        upstream[0].header_values("authorization"),
        [format!("Bearer {}", pod.entra.issued_token(1))]
    );
    let token_requests = pod.entra.requests();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        token_requests[0].url,
        format!("https://{AUTHORITY}/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(
        token_requests[0].field("scope"),
        Some("https://vault.azure.net/.default")
    );
    assert_eq!(token_requests[0].field("client_assertion"), Some(ASSERTION));
}

#[test]
fn entras_refusal_is_a_502_with_the_aadsts_reason() {
    let pod = SpinPod::new();
    pod.entra.enqueue(FakeResponse::json(
        400,
        r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion.","error_codes":[70021],"correlation_id":"5e0c2f1a-0000-4000-8000-000000000002"}"#,
    ));
    let served = pod.serve(&SPIN_ENV, "GET", "/secrets");
    assert_eq!(served.status, 502, "{}", served.body);
    assert!(served.body.contains("AADSTS70021"), "{}", served.body);
    assert!(
        served.body.contains("5e0c2f1a-0000-4000-8000-000000000002"),
        "{}",
        served.body
    );
    assert!(pod.upstream.requests().is_empty());
}

#[test]
fn without_the_token_files_grant_the_answer_says_how_to_give_it() {
    let pod = SpinPod::new();
    // spin.toml without its `files` mount.
    let served = pod.serve_with_grants(Vec::new(), &SPIN_ENV, "GET", "/secrets");
    assert_eq!(served.status, 500, "{}", served.body);
    assert!(
        served.body.contains("a Spin `files` mount"),
        "{}",
        served.body
    );
    assert!(pod.entra.requests().is_empty());
}

#[test]
fn a_missing_or_malformed_vault_name_and_unknown_routes_are_answered_plainly() {
    let pod = SpinPod::new();
    let served = pod.serve(&SPIN_ENV[..3], "GET", "/secrets");
    assert_eq!(served.status, 500);
    assert!(
        served.body.contains("KEY_VAULT_NAME is not set"),
        "{}",
        served.body
    );
    let mut env = SPIN_ENV;
    env[3] = ("KEY_VAULT_NAME", "evil.example.com/x");
    assert_eq!(pod.serve(&env, "GET", "/secrets").status, 500);
    assert_eq!(pod.serve(&SPIN_ENV, "GET", "/").status, 404);
    assert_eq!(pod.serve(&SPIN_ENV, "DELETE", "/secrets").status, 405);
    assert!(pod.upstream.requests().is_empty());
    assert!(pod.entra.requests().is_empty());
}
