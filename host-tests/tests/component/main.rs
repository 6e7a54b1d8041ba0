//! Host tests: the built component in wasmtime 48, against the fake Entra token endpoint.

// `CredentialError` is the WIT's error as bindgen generates it; the tests pass it on as is.
#![allow(clippy::result_large_err)]

/// Runs each test body named, `fn name(edition: Edition)`, against the WASI 0.2 and the WASI
/// 0.3 build, with the same assertions for both:
/// - `for_each_edition!(name, …)`: a module `name` with the tests `wasi_0_2` and `wasi_0_3`
///   (`cargo test wasi_0_3` runs one edition's);
/// - `for_each_edition!(at once: name, …)`, for bodies that spend their time waiting on the real
///   clock (a 60 s bound, backoffs): one test `name::wasi_0_2_and_wasi_0_3_at_once`, which runs
///   the two editions on two threads, so the wait is paid once;
/// - `for_each_edition!(wasi_0_3 ignored because "why": name, …)`: as the first form, with the
///   0.3 edition run only when asked (`-- --ignored`).
macro_rules! for_each_edition {
    (at once: $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn wasi_0_2_and_wasi_0_3_at_once() {
                    let wasi_0_3 = std::thread::Builder::new()
                        .name("wasi_0_3".into())
                        .spawn(|| super::$name(host_tests::Edition::Wasi0_3))
                        .expect("a thread for the WASI 0.3 edition");
                    super::$name(host_tests::Edition::Wasi0_2);
                    // Its panic, if any, was printed under the thread's name.
                    wasi_0_3.join().expect("the WASI 0.3 edition passes");
                }
            }
        )*
    };
    (wasi_0_3 ignored because $why:literal: $($name:ident),* $(,)?) => {
        $( for_each_edition!(@editions $name, #[ignore = $why]); )*
    };
    ($($name:ident),* $(,)?) => {
        $( for_each_edition!(@editions $name,); )*
    };
    (@editions $name:ident, $(#[$wasi_0_3:meta])*) => {
        mod $name {
            #[test]
            fn wasi_0_2() {
                super::$name(host_tests::Edition::Wasi0_2);
            }

            #[test]
            $(#[$wasi_0_3])*
            fn wasi_0_3() {
                super::$name(host_tests::Edition::Wasi0_3);
            }
        }
    };
}

mod configuration;
mod errors;
mod faults;
mod interface;
mod jco;
mod p3;
mod proxy;
mod refresh;
mod retries;
mod secrets;
mod shared_cache;
mod soak;
mod stalls;
mod token_file;
mod tokens;

use host_tests::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AccessToken, CredentialError, Edition, EditionInstance,
    FakeEntra, HostConfig, TestClock, TokenDirectory, TokenRequestOptions, Transport,
    WorkloadIdentityOptions,
};
use std::path::PathBuf;
use wasmtime::component::ResourceAny;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
/// A service-account token as Kubernetes projects it (shape only; nobody verifies it here).
pub const ASSERTION: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZha2UifQ.eyJpc3MiOiJodHRwczovL29pZGMuZXhhbXBsZSIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDpkZWZhdWx0Ondvcmtsb2FkIiwiYXVkIjpbImFwaTovL0F6dXJlQURUb2tlbkV4Y2hhbmdlIl19.c2lnbmF0dXJl";
pub const VAULT: &str = "https://vault.azure.net/.default";
pub const STORAGE: &str = "https://storage.azure.com/.default";
/// What the AKS webhook injects into a pod that uses workload identity.
pub const AKS_ENV: [(&str, &str); 3] = [
    ("AZURE_TENANT_ID", TENANT),
    ("AZURE_CLIENT_ID", CLIENT),
    ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
];

/// A pod: a token directory preopened where AKS mounts it, a fake Entra, host clocks the test
/// moves, one instance of either edition's build.
///
/// When a pod is dropped it checks that no error the component returned, and nothing it wrote
/// to stdout or stderr, contains the assertion, a token file's content or an issued token.
pub struct Pod {
    pub fake: FakeEntra,
    pub tokens: TokenDirectory,
    pub clock: TestClock,
    pub instance: EditionInstance,
    /// Token file contents written besides [`ASSERTION`].
    secrets: Vec<String>,
}

impl Pod {
    /// A pod whose token file holds [`ASSERTION`] followed by a newline, with `env` set.
    pub fn new(edition: Edition, env: &[(&str, &str)]) -> Pod {
        let tokens = TokenDirectory::with_token(&format!("{ASSERTION}\n")).unwrap();
        Pod::with_tokens(edition, tokens, env)
    }

    pub fn with_tokens(edition: Edition, tokens: TokenDirectory, env: &[(&str, &str)]) -> Pod {
        let grant = (tokens.path().to_owned(), AKS_TOKEN_DIR);
        Pod::with_grants(edition, tokens, &[grant], env)
    }

    /// A pod whose host grants (preopens, read-only) each host directory at its guest path.
    pub fn with_grants(
        edition: Edition,
        tokens: TokenDirectory,
        grants: &[(PathBuf, &str)],
        env: &[(&str, &str)],
    ) -> Pod {
        let fake = FakeEntra::new();
        let clock = TestClock::new();
        let mut config = HostConfig::new(Transport::Fake(fake.clone())).clock(&clock);
        for (host_dir, guest_path) in grants {
            config = config.preopen(host_dir, guest_path);
        }
        for (name, value) in env {
            config = config.env(name, value);
        }
        let instance = edition.instantiate(config).unwrap();
        Pod {
            fake,
            tokens,
            clock,
            instance,
            secrets: Vec::new(),
        }
    }

    /// Rotates the token file, as Kubernetes does.
    pub fn write_token(&mut self, contents: &str) {
        self.secrets.push(contents.trim().to_owned());
        self.tokens.write_token(contents).unwrap();
    }

    /// Rotates the token at `relative` in the volume the way the kubelet does, through the
    /// `..data` symlink.
    pub fn project_file(&mut self, relative: &str, contents: &str) {
        self.secrets.push(contents.trim().to_owned());
        self.tokens.project_file(relative, contents).unwrap();
    }

    pub fn advance(&self, seconds: u64) {
        self.clock.advance(std::time::Duration::from_secs(seconds));
    }

    /// Creates a credential, panicking with the component's error if it refuses.
    pub fn credential(&mut self, options: &WorkloadIdentityOptions) -> ResourceAny {
        self.instance
            .create(options)
            .expect("no trap")
            .unwrap_or_else(|error| panic!("create failed: {error:?}"))
    }

    pub fn get_token(
        &mut self,
        credential: ResourceAny,
        scopes: &[&str],
    ) -> Result<AccessToken, CredentialError> {
        self.instance
            .get_token(credential, scopes, &no_request_options())
            .expect("no trap")
    }
}

/// Every setting given as an option, none left to the environment.
pub fn explicit_options() -> WorkloadIdentityOptions {
    WorkloadIdentityOptions {
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT.into()),
        token_file_path: Some(AKS_TOKEN_FILE.into()),
        authority_host: None,
        additionally_allowed_tenants: Vec::new(),
    }
}

pub fn no_options() -> WorkloadIdentityOptions {
    WorkloadIdentityOptions {
        tenant_id: None,
        client_id: None,
        token_file_path: None,
        authority_host: None,
        additionally_allowed_tenants: Vec::new(),
    }
}

pub fn no_request_options() -> TokenRequestOptions {
    TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    }
}

pub fn unavailable(result: Result<impl std::fmt::Debug, CredentialError>) -> String {
    match result {
        Err(CredentialError::Unavailable(message)) => message,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

pub fn authentication_failure(
    result: Result<AccessToken, CredentialError>,
) -> host_tests::AuthenticationFailure {
    match result {
        Err(CredentialError::AuthenticationFailed(failure)) => failure,
        other => panic!("expected authentication-failed, got {other:?}"),
    }
}

pub fn invalid_argument(result: Result<impl std::fmt::Debug, CredentialError>) -> String {
    match result {
        Err(CredentialError::InvalidArgument(message)) => message,
        other => panic!("expected invalid-argument, got {other:?}"),
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        assert_no_secret_seen(
            &self.fake,
            &self.secrets,
            self.instance.errors_seen(),
            &self.instance.output(),
        );
    }
}

/// Checks that no error the component returned and nothing it wrote contains the assertion,
/// a token file's content written besides it (`written`) or a token `fake` issued (skipped
/// when the test is already failing).
pub fn assert_no_secret_seen(
    fake: &FakeEntra,
    written: &[String],
    errors: &[String],
    output: &str,
) {
    if std::thread::panicking() {
        return;
    }
    let mut secrets = vec![ASSERTION.to_owned()];
    secrets.extend(written.iter().filter(|s| !s.is_empty()).cloned());
    secrets.extend(fake.issued_tokens());
    for text in errors.iter().map(String::as_str).chain([output]) {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "secret {secret:?} leaked in: {text}"
            );
        }
    }
}
