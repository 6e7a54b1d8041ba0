//! The pod both editions' composition tests run in: AKS workload identity's environment, its
//! token file, `AZURE_BEARER_RULES`, and a Key Vault claims challenge.

// Each test file uses its own part.
#![allow(dead_code)]

use composition_tests::{FakeUpstream, Pod};
use host_tests::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, FakeEntra, TokenDirectory};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
pub const ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwOmFwcCJ9.c2lnbmF0dXJl";
pub const VAULT: &str = "https://vault.azure.net/.default";
pub const STORAGE: &str = "https://storage.azure.com/.default";
pub const RULES: &str = "*.vault.azure.net=https://vault.azure.net/.default; *.blob.core.windows.net=https://storage.azure.com/.default";
/// A Key Vault claims challenge; its `claims` decodes to
/// `{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}`.
pub const CHALLENGE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ==""#;
/// What the challenge's claims ask for, as the token request must carry it.
pub const CHALLENGE_CLAIM: &str = r#""nbf":{"essential":true,"value":"1726077595"}"#;

/// One pod's token directory and fakes; each instance made from [`pod`](AksPod::pod) shares them.
pub struct AksPod {
    pub entra: FakeEntra,
    pub upstream: FakeUpstream,
    tokens: TokenDirectory,
}

impl AksPod {
    pub fn new() -> AksPod {
        AksPod {
            entra: FakeEntra::new(),
            upstream: FakeUpstream::default(),
            tokens: TokenDirectory::with_token(ASSERTION).unwrap(),
        }
    }

    /// The AKS environment with `rules` as AZURE_BEARER_RULES (unset when `None`) and `more`.
    pub fn pod(&self, rules: Option<&str>, more: &[(&str, &str)]) -> Pod {
        let env: Vec<(String, String)> = [
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
        ]
        .iter()
        .chain(rules.map(|rules| ("AZURE_BEARER_RULES", rules)).iter())
        .chain(more)
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        Pod {
            env,
            preopens: vec![(self.tokens.path().to_owned(), AKS_TOKEN_DIR.to_owned())],
            entra: self.entra.clone(),
            upstream: self.upstream.clone(),
        }
    }

    /// Fails when `text` holds the assertion or a token the fake Entra issued.
    pub fn assert_no_secret(&self, text: &str) {
        composition_tests::assert_no_secret(text, ASSERTION, &self.entra);
    }

    /// `Bearer` and the `n`th token the fake Entra issued (from 1).
    pub fn bearer(&self, n: usize) -> String {
        format!("Bearer {}", self.entra.issued_token(n))
    }

    /// The `authorization` headers of each request the upstream received.
    pub fn authorizations(&self) -> Vec<Vec<String>> {
        self.upstream
            .requests()
            .iter()
            .map(|r| {
                r.header_values("authorization")
                    .iter()
                    .map(|v| v.to_string())
                    .collect()
            })
            .collect()
    }
}
