//! What the bearer middleware adds to each request an app sends, measured against the same app
//! sending straight to the host:
//!
//! ```sh
//! cargo run --release -p composition-tests --bin bench-middleware
//! ```
//!
//! Four instances fetch from an in-process upstream that answers at once, in alternating
//! batches so all three see the machine in the same state:
//! - the sample app alone (its `azure:bearer/bearer` import answered by the host);
//! - the sample app alone, sending the header the middleware would add (what carrying the
//!   header costs, whoever adds it);
//! - the composition, to a host no rule matches (the middleware forwards the request as it is);
//! - the composition, to a Key Vault host (a token from the credential's cache, the request
//!   rebuilt with the header).
//!
//! The first token request is made before timing, so every timed authorized request is a cache
//! hit: the steady state of a proxy.

use composition_tests::{AppInstance, Composition, FakeUpstream, Pod};
use credential_host::fake_authority::{FAKE_EXPIRES_IN, TokenClaims};
use host_tests::{AKS_TOKEN_DIR, AKS_TOKEN_FILE, FakeEntra, TokenDirectory, micros, percentile};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RULES: &str = "*.vault.azure.net=https://vault.azure.net/.default";
const UNMATCHED: &str = "https://example.com/items/1";
const MATCHED: &str = "https://myvault.vault.azure.net/secrets/db";
const NO_HEADERS: &[(&str, &str)] = &[];
struct Variant<'a> {
    name: &'static str,
    url: &'static str,
    headers: &'a [(&'a str, &'a str)],
    instance: AppInstance,
    samples: Vec<Duration>,
}

fn main() -> wasmtime::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--calls K N`: only variant K (0-3), N requests after a warm-up, untimed: for callgrind,
    // whose instruction counts do not depend on what else the machine is doing.
    let calls = match args.iter().position(|a| a == "--calls") {
        Some(i) => {
            let number = |j: usize| args.get(i + j).and_then(|v| v.parse::<usize>().ok());
            Some((number(1), number(2)))
        }
        None => None,
    };
    let (rounds, batch) = if quick { (2, 20) } else { (40, 250) };
    let tokens = TokenDirectory::with_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln")?;
    let pod = || Pod {
        env: [
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b"),
            ("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE),
            ("AZURE_BEARER_RULES", RULES),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect(),
        preopens: vec![(tokens.path().to_owned(), AKS_TOKEN_DIR.to_owned())],
        entra: FakeEntra::new(),
        upstream: FakeUpstream::default(),
    };
    // What the middleware adds, for the app to send itself: a token of the fake Entra's shape
    // and length (the same claims; only the digits of the times differ).
    let same_token = TokenClaims {
        tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        client_id: "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b",
        scope: "https://vault.azure.net/.default",
        issued_at: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        lifetime: FAKE_EXPIRES_IN,
        number: 1,
    }
    .to_jwt();
    let same_header = [("authorization", format!("Bearer {same_token}"))];
    let same_header: &[(&str, &str)] = &[(same_header[0].0, same_header[0].1.as_str())];
    let alone = Composition::app_alone()?;
    let composed = Composition::shared();
    let mut variants = [
        (
            "app alone, straight to the host",
            UNMATCHED,
            NO_HEADERS,
            alone.instantiate(pod())?,
        ),
        (
            "app alone, sending the same header itself",
            MATCHED,
            same_header,
            alone.instantiate(pod())?,
        ),
        (
            "with the middleware, host matches no rule",
            UNMATCHED,
            NO_HEADERS,
            composed.instantiate(pod())?,
        ),
        (
            "with the middleware, bearer header added",
            MATCHED,
            NO_HEADERS,
            composed.instantiate(pod())?,
        ),
    ]
    .map(|(name, url, headers, instance)| Variant {
        name,
        url,
        headers,
        instance,
        samples: Vec::with_capacity(rounds * batch),
    });
    if let Some(only) = calls {
        let (Some(k), Some(n)) = only else {
            return Err(wasmtime::format_err!("usage: bench-middleware --calls K N"));
        };
        let variant = variants
            .get_mut(k)
            .ok_or_else(|| wasmtime::format_err!("variant {k} does not exist"))?;
        for _ in 0..100 + n {
            fetch(variant)?;
        }
        println!("{}: {} requests", variant.name, 100 + n);
        return Ok(());
    }
    for variant in &mut variants {
        for _ in 0..batch {
            fetch(variant)?;
        }
    }
    for _ in 0..rounds {
        for variant in &mut variants {
            for _ in 0..batch {
                let started = Instant::now();
                fetch(variant)?;
                variant.samples.push(started.elapsed());
            }
        }
    }

    let build = if cfg!(debug_assertions) {
        "debug (figures mean nothing)"
    } else {
        "release"
    };
    println!(
        "bearer middleware, per request ({build} build, {} cores):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| request | median | p99 | over the app alone (median) | iterations |");
    println!("|---|---|---|---|---|");
    let baseline = percentile(&mut variants[0].samples, 50);
    for variant in &mut variants {
        let median = percentile(&mut variant.samples, 50);
        let p99 = percentile(&mut variant.samples, 99);
        println!(
            "| {} | {} | {} | {} | {} |",
            variant.name,
            micros(median),
            micros(p99),
            micros(median.saturating_sub(baseline)),
            variant.samples.len()
        );
    }
    Ok(())
}

fn fetch(variant: &mut Variant) -> wasmtime::Result<()> {
    let fetched = variant
        .instance
        .fetch(variant.url, variant.headers, None)?
        .map_err(|error| wasmtime::format_err!("{}: {error}", variant.name))?;
    assert_eq!(fetched.status, 200, "{}", variant.name);
    Ok(())
}
