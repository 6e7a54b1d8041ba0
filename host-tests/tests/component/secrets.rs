//! Secrets never reach error text or the component's output, on any failure path.

use crate::*;
use host_tests::FakeResponse;

for_each_edition!(no_error_text_on_any_failure_path_contains_a_secret,);

/// An access token the fake authority issues and then echoes back in a later error.
const ISSUED: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.issued-access-token.sig";

/// One way to fail: what the pod has, what the authority answers, what the caller asks.
struct Scenario {
    env: &'static [(&'static str, &'static str)],
    token_file: Option<&'static str>,
    options: WorkloadIdentityOptions,
    answers: Vec<FakeResponse>,
    scopes: &'static [&'static str],
    request: TokenRequestOptions,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            env: &[],
            token_file: Some(ASSERTION),
            options: explicit_options(),
            answers: Vec::new(),
            scopes: &[VAULT],
            request: no_request_options(),
        }
    }
}

impl Scenario {
    /// Runs the scenario: a successful token first (a secret later errors could echo), then the
    /// failing call, then a call after close. Returns every error's Debug text and the output.
    fn run(self, edition: Edition) -> Vec<String> {
        let tokens = match self.token_file {
            Some(contents) => TokenDirectory::with_token(contents).unwrap(),
            None => TokenDirectory::new().unwrap(),
        };
        let mut pod = Pod::with_tokens(edition, tokens, self.env);
        pod.fake.enqueue(FakeResponse::json(
            200,
            &format!(r#"{{"expires_in":60,"access_token":"{ISSUED}"}}"#),
        ));
        for answer in self.answers {
            pod.fake.enqueue(answer);
        }
        let mut texts = Vec::new();
        match pod.instance.create(&self.options).unwrap() {
            Err(error) => texts.push(format!("{error:?}")),
            Ok(credential) => {
                let warm_up = &["https://warm-up/.default"];
                let _ = pod
                    .instance
                    .get_token(credential, warm_up, &no_request_options());
                let instance = &mut pod.instance;
                let mut call = |instance: &mut EditionInstance| {
                    if let Err(error) = instance
                        .get_token(credential, self.scopes, &self.request)
                        .unwrap()
                    {
                        texts.push(format!("{error:?}"));
                    }
                };
                call(instance);
                instance.close(credential).unwrap();
                call(instance);
            }
        }
        texts.push(pod.instance.output());
        texts
    }
}

/// Drives every failure path the component has, collects each error's text (message and Debug
/// form) and everything written to stdout/stderr, and checks that none holds a secret.
fn no_error_text_on_any_failure_path_contains_a_secret(edition: Edition) {
    let echo = format!("client_assertion={ASSERTION}&access_token={ISSUED}");
    let echo_json = format!(
        r#"{{"error":"invalid_client","error_description":"{echo}","error_codes":[70021],"trace_id":"{ASSERTION}","correlation_id":"{ISSUED}"}}"#
    );
    let expired = FakeResponse::json(400, r#"{"error":"invalid_client","error_codes":[700024]}"#);
    let retried = |response: FakeResponse| vec![response.with_header("Retry-After", "0"); 4];
    let scenarios = vec![
        Scenario {
            options: no_options(),
            ..Scenario::default()
        },
        Scenario {
            env: &AKS_ENV,
            options: WorkloadIdentityOptions {
                authority_host: Some("http://login.microsoftonline.com".into()),
                ..no_options()
            },
            ..Scenario::default()
        },
        Scenario {
            token_file: None,
            ..Scenario::default()
        },
        Scenario {
            token_file: Some("  \n"),
            ..Scenario::default()
        },
        Scenario {
            answers: vec![FakeResponse::json(400, &echo_json)],
            ..Scenario::default()
        },
        Scenario {
            answers: vec![expired.clone(), expired],
            ..Scenario::default()
        },
        Scenario {
            answers: retried(FakeResponse::html(502, &echo)),
            ..Scenario::default()
        },
        Scenario {
            answers: retried(FakeResponse::json(429, &echo_json)),
            ..Scenario::default()
        },
        Scenario {
            answers: vec![FakeResponse::json(200, &echo)],
            ..Scenario::default()
        },
        Scenario {
            answers: vec![FakeResponse::json(200, r#"{"expires_in":3600}"#)],
            ..Scenario::default()
        },
        Scenario {
            scopes: &[],
            ..Scenario::default()
        },
        Scenario {
            request: TokenRequestOptions {
                claims: Some("not json".into()),
                ..no_request_options()
            },
            ..Scenario::default()
        },
        Scenario {
            request: TokenRequestOptions {
                tenant_id: Some("a/b".into()),
                ..no_request_options()
            },
            ..Scenario::default()
        },
    ];
    let collected: Vec<String> = scenarios
        .into_iter()
        .flat_map(|scenario| scenario.run(edition))
        .collect();

    let errors = collected.iter().filter(|text| !text.is_empty()).count();
    assert!(
        errors >= 20,
        "only {errors} error texts were collected: {collected:#?}"
    );
    for text in &collected {
        for secret in [ASSERTION, ISSUED] {
            assert!(!text.contains(secret), "secret leaked in: {text}");
        }
    }
    let output: Vec<_> = collected
        .iter()
        .filter(|t| !t.starts_with("CredentialError"))
        .collect();
    assert!(
        output.iter().all(|t| t.is_empty()),
        "the component wrote: {output:?}"
    );
}
