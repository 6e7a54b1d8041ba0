//! What answering a claims challenge costs per request, through the WASI 0.2 and the WASI 0.3
//! compositions, each beside the same app alone:
//!
//! ```sh
//! cargo run --release -p composition-tests --bin bench-challenge
//! ```
//!
//! The round trip: the upstream answers 401 with a CAE claims challenge, a token carrying the
//! claims is asked of the fake Entra (in-process, at once) through the credential, the request
//! is sent again and the upstream answers 200. In WASI 0.2 the sample app does it
//! (`bearer.answer-challenge`, then it sends again); in WASI 0.3 the middleware does it by itself
//! and the host's client sees only the 200. Six instances, in alternating batches so that all
//! see the machine in the same state:
//! - per edition, the app alone, a GET answered 200: the floor (the 0.2 sample app with its
//!   `azure:bearer/bearer` import answered by the host; the 0.3 sample proxy, its
//!   `wasi:http/client` the host's);
//! - per edition, the composition, a GET with the kept token, answered 200;
//! - per edition, the composition, the challenge round trip.
//!
//! `--quick` runs a few batches (a smoke run, figures meaningless).

use composition_tests::{
    AppInstance, Composition, FakeUpstream, P3Composition, P3Instance, P3Request, Pod,
};
use host_tests::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, FakeEntra, FakeResponse, TokenDirectory};
use host_tests::{micros, percentile};
use std::time::{Duration, Instant};
use wasmtime::{Result, format_err};

const RULES: &str = "*.vault.azure.net=https://vault.azure.net/.default";
const VAULT_ORIGIN: &str = "https://myvault.vault.azure.net";
const PATH: &str = "/secrets/db";
/// A Key Vault claims challenge (its claims: an `nbf` the token must postdate).
const CHALLENGE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ==""#;

/// One instance and what it is asked.
enum Instance {
    /// The 0.2 sample app's `fetch`, expecting this many attempts.
    App(AppInstance, u8),
    /// A GET served by a 0.3 component.
    Proxy(P3Instance),
}

struct Variant {
    name: &'static str,
    /// The row this one is measured against.
    floor: usize,
    instance: Instance,
    /// Where a challenge is scripted before each request, for the round trips.
    challenged: Option<FakeUpstream>,
    samples: Vec<Duration>,
}

impl Variant {
    fn request(&mut self) -> Result<Duration> {
        if let Some(upstream) = &self.challenged {
            upstream.enqueue(
                FakeResponse::json(401, r#"{"error":{"code":"Unauthorized"}}"#)
                    .with_header("www-authenticate", CHALLENGE),
            );
        }
        let started = Instant::now();
        match &mut self.instance {
            Instance::App(app, attempts) => {
                let url = format!("{VAULT_ORIGIN}{PATH}");
                let fetched = app
                    .fetch(&url, &[], None)?
                    .map_err(|error| format_err!("{}: {error}", self.name))?;
                let elapsed = started.elapsed();
                if (fetched.status, fetched.attempts) != (200, *attempts) {
                    return Err(format_err!(
                        "{}: {} after {} attempts",
                        self.name,
                        fetched.status,
                        fetched.attempts
                    ));
                }
                Ok(elapsed)
            }
            Instance::Proxy(proxy) => {
                let served = proxy
                    .serve(P3Request::get(PATH))?
                    .map_err(|error| format_err!("{}: {error:?}", self.name))?;
                let elapsed = started.elapsed();
                if served.status != 200 {
                    return Err(format_err!("{}: {}", self.name, served.status));
                }
                Ok(elapsed)
            }
        }
    }
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, batch) = if quick { (2, 10) } else { (40, 100) };
    let tokens = TokenDirectory::with_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln")?;
    let upstreams: Vec<FakeUpstream> = (0..6).map(|_| FakeUpstream::default()).collect();
    let pod = |n: usize| Pod {
        env: [
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
            ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
            ("AZURE_BEARER_RULES", RULES),
            ("SAMPLE_PROXY_UPSTREAM", VAULT_ORIGIN),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect(),
        preopens: vec![(tokens.path().to_owned(), AKS_TOKEN_DIR.to_owned())],
        entra: FakeEntra::new(),
        upstream: upstreams[n].clone(),
    };
    let app_alone = Composition::app_alone()?;
    let app_composed = Composition::shared();
    let proxy_alone = P3Composition::proxy_alone()?;
    let proxy_composed = P3Composition::shared();
    let challenged = |n: usize| Some(upstreams[n].clone());
    let mut variants = [
        (
            "0.2 app alone, 200",
            0,
            Instance::App(app_alone.instantiate(pod(0))?, 1),
            None,
        ),
        (
            "0.2 composition, kept token, 200",
            0,
            Instance::App(app_composed.instantiate(pod(1))?, 1),
            None,
        ),
        (
            "0.2 composition, challenge round trip (app answers)",
            0,
            Instance::App(app_composed.instantiate(pod(2))?, 2),
            challenged(2),
        ),
        (
            "0.3 proxy alone, 200",
            3,
            Instance::Proxy(proxy_alone.instantiate(pod(3))?),
            None,
        ),
        (
            "0.3 composition, kept token, 200",
            3,
            Instance::Proxy(proxy_composed.instantiate(pod(4))?),
            None,
        ),
        (
            "0.3 composition, challenge round trip (middleware answers)",
            3,
            Instance::Proxy(proxy_composed.instantiate(pod(5))?),
            challenged(5),
        ),
    ]
    .map(|(name, floor, instance, challenged)| Variant {
        name,
        floor,
        instance,
        challenged,
        samples: Vec::with_capacity(rounds * batch),
    });
    // Warm-up: the first token of each composition, and the engines' first calls.
    for variant in &mut variants {
        for _ in 0..batch {
            variant.request()?;
        }
    }
    for _ in 0..rounds {
        for variant in &mut variants {
            for _ in 0..batch {
                let elapsed = variant.request()?;
                variant.samples.push(elapsed);
            }
        }
    }
    // Every round trip really went out twice: 401, then 200.
    for n in [2, 5] {
        let sent = upstreams[n].requests().len();
        let expected = 2 * batch * (rounds + 1);
        if sent != expected {
            return Err(format_err!(
                "{}: {sent} requests upstream, not {expected}",
                variants[n].name
            ));
        }
    }

    let build = if cfg!(debug_assertions) {
        "debug (figures mean nothing)"
    } else {
        "release"
    };
    println!(
        "claims challenge round trip, per request ({build} build, {} cores):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| request | median | p99 | over its floor (median) | ratio to its floor | iterations |"
    );
    println!("|---|---|---|---|---|---|");
    let floors: Vec<Duration> = (variants.iter_mut())
        .map(|variant| percentile(&mut variant.samples, 50))
        .collect();
    for variant in &mut variants {
        let median = percentile(&mut variant.samples, 50);
        let p99 = percentile(&mut variant.samples, 99);
        let floor = floors[variant.floor];
        println!(
            "| {} | {} | {} | {} | {:.2} | {} |",
            variant.name,
            micros(median),
            micros(p99),
            micros(median.saturating_sub(floor)),
            median.as_secs_f64() / floor.as_secs_f64(),
            variant.samples.len()
        );
    }
    Ok(())
}
