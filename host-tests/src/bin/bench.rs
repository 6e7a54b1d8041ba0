//! The performance table: `cargo run --release -p host-tests --bin bench`.
//!
//! Each figure of the credential component is measured beside its floor, measured in the same
//! run: the `bench-floor` component (`host-tests/floor/`), which has the same WIT, imports,
//! allocator and build settings but does no work. Machines are noisy; the ratio to the floor is
//! the figure that holds. `--quick` runs a few iterations (CI checks that the benchmark works;
//! its figures mean nothing in a debug build).

use host_tests::{
    AKS_TOKEN_DIR, AKS_TOKEN_FILE, AccessToken, CannedEndpoint, CredentialComponent,
    CredentialError, CredentialInstance, HostConfig, KEYVALUE_DRAFT2_PATH, KeyValueDraft,
    SharedKeyValue, TokenDirectory, TokenRequestOptions, Transport, WorkloadIdentityOptions,
};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceAny;
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Entra access tokens are 1.5–2.5 KB; both components return one this long.
const TOKEN_LENGTH: usize = 1_600;
const SCOPE: &str = "https://vault.azure.net/.default";
/// How long the slow endpoint takes to answer.
const SLOW_ANSWER: Duration = Duration::from_millis(200);

struct Plan {
    /// Samples of the cache-hit figure, each the mean of `hit_batch` calls.
    hit_samples: usize,
    hit_batch: usize,
    miss_samples: usize,
    instantiate_samples: usize,
    slow_calls: usize,
}

const FULL: Plan = Plan {
    hit_samples: 2_000,
    hit_batch: 100,
    miss_samples: 2_000,
    instantiate_samples: 2_000,
    slow_calls: 1_000,
};

const QUICK: Plan = Plan {
    hit_samples: 20,
    hit_batch: 10,
    miss_samples: 20,
    instantiate_samples: 20,
    slow_calls: 1_000,
};

fn main() -> wasmtime::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let plan = if quick { &QUICK } else { &FULL };
    let token: String = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."
        .chars()
        .chain(std::iter::repeat('x'))
        .take(TOKEN_LENGTH)
        .collect();
    let tokens = TokenDirectory::with_token(&format!("{}\n", "a".repeat(900)))?;
    let bench = Bench {
        token,
        tokens,
        credential: load(host_tests::COMPONENT_PATH)?,
        floor: load(guest_artifacts::BENCH_FLOOR)?,
        shared: CredentialComponent::load_variant(
            KEYVALUE_DRAFT2_PATH,
            KeyValueDraft::Draft2,
            &config(),
        )?,
    };

    // `--hits <credential|floor> <n>`: n cache hits on one component and nothing else, for
    // instruction counts: run under `BENCH_NO_POOLING=1 valgrind --tool=callgrind` with two values of n, and the
    // difference of the totals divided by the difference of n is the instructions of one hit.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--hits") {
        let component = match args.get(at + 1).map(String::as_str) {
            Some("floor") => &bench.floor,
            _ => &bench.credential,
        };
        let calls = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        bench.hits(component, calls)?;
        return Ok(());
    }
    // `--store-hits <n>`: the shared-store row alone, over n fresh instances, for profiling it
    // (`BENCH_PERF_MAP=1 perf record`).
    if let Some(at) = args.iter().position(|arg| arg == "--store-hits") {
        let samples = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        let plan = Plan {
            instantiate_samples: samples,
            ..QUICK
        };
        print_table(&[bench.shared_store_hit(&plan)?], false);
        return Ok(());
    }
    // `--hit-only`: just the cache-hit loops, for profiling them.
    if std::env::args().any(|arg| arg == "--hit-only") {
        print_table(&[bench.cache_hit(plan)?], quick);
        return Ok(());
    }
    let rows = [
        bench.cache_hit(plan)?,
        bench.cache_miss(plan)?,
        bench.size()?,
        bench.instantiation(plan)?,
        bench.shared_store_hit(plan)?,
        bench.memory()?,
        bench.slow_endpoint(plan)?,
        bench.compile_time(),
        Row::not_applicable(
            "bearer middleware per request",
            "cargo run --release -p composition-tests --bin bench-middleware",
        ),
    ];
    print_table(&rows, quick);
    Ok(())
}

/// Compiled with a pooling allocator, as edge hosts that instantiate per request do.
fn load(path: &str) -> wasmtime::Result<CredentialComponent> {
    CredentialComponent::load_with(path, &config())
}

fn config() -> Config {
    let mut config = Config::new();
    // `BENCH_PERF_MAP=1` names the compiled wasm functions for `perf record` (/tmp/perf-<pid>.map).
    if std::env::var_os("BENCH_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // Valgrind cannot reserve the pool's address space; the hit counts do not need it.
    if std::env::var_os("BENCH_NO_POOLING").is_none() {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(
            PoolingAllocationConfig::default(),
        ));
    }
    config
}

struct Bench {
    token: String,
    tokens: TokenDirectory,
    credential: CredentialComponent,
    floor: CredentialComponent,
    /// The wasi:keyvalue 0.2.0-draft2 variant (Spin's).
    shared: CredentialComponent,
}

fn options() -> TokenRequestOptions {
    TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    }
}

fn credential_options() -> WorkloadIdentityOptions {
    WorkloadIdentityOptions {
        tenant_id: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
        client_id: Some("5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b".into()),
        token_file_path: Some(AKS_TOKEN_FILE.into()),
        authority_host: None,
        additionally_allowed_tenants: Vec::new(),
    }
}

impl Bench {
    fn host(&self, endpoint: &CannedEndpoint) -> HostConfig {
        HostConfig::new(Transport::Canned(endpoint.clone()))
            .preopen(self.tokens.path(), AKS_TOKEN_DIR)
            .env("BENCH_TOKEN", &self.token)
            .env("BENCH_AUTHORITY", "login.microsoftonline.com")
    }

    fn endpoint(&self) -> CannedEndpoint {
        CannedEndpoint::new(&self.token, 3599)
    }

    fn instance(&self, component: &CredentialComponent) -> wasmtime::Result<CredentialInstance> {
        component.instantiate(self.host(&self.endpoint()))
    }

    fn cache_hit(&self, plan: &Plan) -> wasmtime::Result<Row> {
        let scopes = vec![SCOPE.to_owned()];
        let warmed = |component: &CredentialComponent| -> wasmtime::Result<_> {
            let mut instance = self.instance(component)?;
            let credential = created(instance.create(&credential_options())?)?;
            let first = instance.get_token_owned(credential, &scopes, &options())?;
            check_token(&first, &self.token)?;
            Ok((instance, credential))
        };
        let (mut ours, ours_credential) = warmed(&self.credential)?;
        let (mut floor, floor_credential) = warmed(&self.floor)?;
        let hit = |instance: &mut CredentialInstance, credential: ResourceAny| match instance
            .get_token_owned(credential, &scopes, &options())
        {
            Ok(Ok(_)) => None,
            other => Some(format!("{other:?}")),
        };
        let (mut ours_failure, mut floor_failure) = (None, None);
        // Batches of the two alternate, so that both see the machine in the same state.
        let (ours_stats, floor_stats) = Stats::batched_pair(
            plan.hit_samples,
            plan.hit_batch,
            || ours_failure = ours_failure.take().or(hit(&mut ours, ours_credential)),
            || floor_failure = floor_failure.take().or(hit(&mut floor, floor_credential)),
        );
        if let Some(failure) = ours_failure.or(floor_failure) {
            return Err(wasmtime::format_err!("a cache hit failed: {failure}"));
        }
        Ok(Row::timed(
            "get-token cache hit (resource method, median)",
            Duration::from_nanos(1_200),
            ours_stats,
            floor_stats,
        ))
    }

    fn hits(&self, component: &CredentialComponent, calls: usize) -> wasmtime::Result<()> {
        let scopes = vec![SCOPE.to_owned()];
        let mut instance = self.instance(component)?;
        let credential = created(instance.create(&credential_options())?)?;
        for _ in 0..=calls {
            check_token(
                &instance.get_token_owned(credential, &scopes, &options())?,
                &self.token,
            )?;
        }
        Ok(())
    }

    fn cache_miss(&self, plan: &Plan) -> wasmtime::Result<Row> {
        let scopes = [SCOPE];
        let endpoint = self.endpoint();
        let mut ours = self.credential.instantiate(self.host(&endpoint))?;
        let mut miss = || -> wasmtime::Result<()> {
            let credential = created(ours.create(&credential_options())?)?;
            check_token(
                &ours.get_token(credential, &scopes, &options())?,
                &self.token,
            )?;
            ours.drop_credential(credential)
        };
        let ours_stats = Stats::each(plan.miss_samples, &mut miss)?;
        if endpoint.requests() != plan.miss_samples + 1 {
            return Err(wasmtime::format_err!(
                "{} misses made {} requests",
                plan.miss_samples + 1,
                endpoint.requests()
            ));
        }
        let mut floor = self.instance(&self.floor)?;
        let mut bare_post = || -> wasmtime::Result<()> {
            let credential = created(floor.create(&credential_options())?)?;
            if let Err(error) = floor.get_token_from_environment(&scopes, &options())? {
                return Err(wasmtime::format_err!("the floor's POST failed: {error:?}"));
            }
            floor.drop_credential(credential)
        };
        let floor_stats = Stats::each(plan.miss_samples, &mut bare_post)?;
        Ok(Row::timed(
            "cache miss: create + get-token via wasi:http (median)",
            Duration::from_micros(250),
            ours_stats,
            floor_stats,
        ))
    }

    fn size(&self) -> wasmtime::Result<Row> {
        let bytes = |path: &str| std::fs::metadata(path).map(|m| m.len());
        let ours = bytes(host_tests::COMPONENT_PATH)?;
        let floor = bytes(guest_artifacts::BENCH_FLOOR)?;
        Ok(Row {
            figure: "component size (release)".into(),
            goal: "≤ 150,000 B".into(),
            measured: format!("{} B", thousands(ours)),
            p99: String::new(),
            floor: format!("{} B", thousands(floor)),
            ratio: format!("{:.2}", ours as f64 / floor as f64),
            iterations: String::new(),
            met: Some(ours <= 150_000),
        })
    }

    fn instantiation(&self, plan: &Plan) -> wasmtime::Result<Row> {
        let measure = |component: &CredentialComponent| -> wasmtime::Result<Stats> {
            let mut times = Vec::with_capacity(plan.instantiate_samples);
            for _ in 0..plan.instantiate_samples {
                let (instance, took) = component.instantiate_timed(self.host(&self.endpoint()))?;
                times.push(took);
                drop(instance);
            }
            Ok(Stats::from_times(times, 1))
        };
        let ours = measure(&self.credential)?;
        let floor = measure(&self.floor)?;
        Ok(Row::timed(
            "instantiate (InstancePre, pooling allocator, median)",
            Duration::from_micros(15),
            ours,
            floor,
        ))
    }

    /// What a host that instantiates per request pays for a token with the shared store: a fresh
    /// instance of the draft2 variant, whose free get-token finds the token another instance
    /// stored (the token file read, the key derived, the entry opened). Its floor, in the same
    /// run: a fresh instance, plus a hit in an instance that already holds the token (what one
    /// instance kept for every request would pay).
    fn shared_store_hit(&self, plan: &Plan) -> wasmtime::Result<Row> {
        let endpoint = self.endpoint();
        let store = SharedKeyValue::new();
        let host = || {
            self.host(&endpoint)
                .shared_store(&store)
                // As the per-request host `wasmtime serve` does: the token file is read on the
                // request's thread.
                .block_on_thread()
                .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
                .env("AZURE_CLIENT_ID", "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b")
                .env("AZURE_FEDERATED_TOKEN_FILE", AKS_TOKEN_FILE)
        };
        let scopes = [SCOPE];
        let mut warm = self.shared.instantiate(host())?;
        check_token(
            &warm.get_token_from_environment(&scopes, &options())?,
            &self.token,
        )?;
        // Both time the instantiation as the instantiate row does (the store and
        // `InstancePre::instantiate`, not the host's WASI context built before) and the call.
        let from_store = || -> wasmtime::Result<Duration> {
            let (mut fresh, instantiation) = self.shared.instantiate_timed(host())?;
            let started = Instant::now();
            let token = fresh.get_token_from_environment(&scopes, &options())?;
            let call = started.elapsed();
            check_token(&token, &self.token)?;
            Ok(instantiation + call)
        };
        let mut instantiate_and_hit = || -> wasmtime::Result<Duration> {
            let (fresh, instantiation) = self.shared.instantiate_timed(host())?;
            drop(fresh);
            let started = Instant::now();
            let token = warm.get_token_from_environment(&scopes, &options())?;
            let hit = started.elapsed();
            check_token(&token, &self.token)?;
            Ok(instantiation + hit)
        };
        // Warm-up, then alternating, so that both see the machine in the same state.
        for _ in 0..10 {
            from_store()?;
            instantiate_and_hit()?;
        }
        let (mut ours, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..plan.instantiate_samples {
            ours.push(from_store()?);
            floor.push(instantiate_and_hit()?);
        }
        if endpoint.requests() != 1 {
            return Err(wasmtime::format_err!(
                "{} fresh instances made {} token requests, not 1",
                plan.instantiate_samples + 10,
                endpoint.requests()
            ));
        }
        let (ours, floor) = (Stats::from_times(ours, 1), Stats::from_times(floor, 1));
        let ratio = ours.median.as_secs_f64() / floor.median.as_secs_f64();
        Ok(Row {
            goal: "≤ 2× floor".into(),
            met: Some(ratio <= 2.0),
            ..Row::timed(
                "fresh instance: token from the shared store (keyvalue draft2, median); floor: \
                 instantiate + in-instance hit",
                Duration::ZERO,
                ours,
                floor,
            )
        })
    }

    fn memory(&self) -> wasmtime::Result<Row> {
        let after_first_token = |component: &CredentialComponent| -> wasmtime::Result<usize> {
            let mut instance = self.instance(component)?;
            let credential = created(instance.create(&credential_options())?)?;
            check_token(
                &instance.get_token(credential, &[SCOPE], &options())?,
                &self.token,
            )?;
            Ok(instance.linear_memory_bytes())
        };
        let ours = after_first_token(&self.credential)?;
        let floor = after_first_token(&self.floor)?;
        Ok(Row {
            figure: "linear memory after the first token".into(),
            goal: "≤ 256 KiB".into(),
            measured: format!("{} KiB", ours / 1024),
            p99: String::new(),
            floor: format!("{} KiB", floor / 1024),
            ratio: format!("{:.2}", ours as f64 / floor as f64),
            iterations: String::new(),
            met: Some(ours <= 256 * 1024),
        })
    }

    fn slow_endpoint(&self, plan: &Plan) -> wasmtime::Result<Row> {
        let endpoint = self.endpoint().slow(SLOW_ANSWER);
        let mut instance = self.credential.instantiate(self.host(&endpoint))?;
        let credential = created(instance.create(&credential_options())?)?;
        let scopes = vec![SCOPE.to_owned()];
        for _ in 0..plan.slow_calls {
            check_token(
                &instance.get_token_owned(credential, &scopes, &options())?,
                &self.token,
            )?;
        }
        let requests = endpoint.requests();
        Ok(Row {
            figure: format!(
                "{} get-token calls, one key, endpoint {} ms slow",
                plan.slow_calls,
                SLOW_ANSWER.as_millis()
            ),
            goal: "1 request".into(),
            measured: format!("{requests} request{}", if requests == 1 { "" } else { "s" }),
            p99: String::new(),
            floor: String::new(),
            ratio: String::new(),
            iterations: plan.slow_calls.to_string(),
            met: Some(requests == 1),
        })
    }

    fn compile_time(&self) -> Row {
        let ours = self.credential.compile_time();
        let floor = self.floor.compile_time();
        Row {
            figure: "compile (Cranelift, Component::from_file)".into(),
            goal: String::new(),
            measured: duration(ours),
            p99: String::new(),
            floor: duration(floor),
            ratio: format!("{:.2}", ours.as_secs_f64() / floor.as_secs_f64()),
            iterations: "1".into(),
            met: None,
        }
    }
}

fn created(result: Result<ResourceAny, CredentialError>) -> wasmtime::Result<ResourceAny> {
    result.map_err(|error| wasmtime::format_err!("create failed: {error:?}"))
}

fn check_token(
    result: &Result<AccessToken, CredentialError>,
    expected: &str,
) -> wasmtime::Result<()> {
    match result {
        Ok(token) if token.token == expected => Ok(()),
        // The floor's free get-token returns the endpoint's body, not the token.
        Ok(token) if token.token.contains(expected) => Ok(()),
        Ok(_) => Err(wasmtime::format_err!("get-token returned another token")),
        Err(error) => Err(wasmtime::format_err!("get-token failed: {error:?}")),
    }
}

/// Median and 99th percentile of per-operation times.
struct Stats {
    median: Duration,
    p99: Duration,
    operations: usize,
}

impl Stats {
    /// `samples` timings of `batch` calls each, divided by `batch`: the clock is read once per
    /// batch, so its own cost (~25 ns) is spread thin.
    /// `samples` timings of `batch` calls each of `a`, then of `b`, alternating; each timing is
    /// divided by `batch`: the clock is read once per batch, so its own cost (~25 ns) is spread
    /// thin.
    fn batched_pair(
        samples: usize,
        batch: usize,
        mut a: impl FnMut(),
        mut b: impl FnMut(),
    ) -> (Stats, Stats) {
        let time = |operation: &mut dyn FnMut()| {
            let started = Instant::now();
            for _ in 0..batch {
                operation();
            }
            started.elapsed() / batch as u32
        };
        // Warm-up: caches, branch predictors, the allocators' free lists.
        for _ in 0..10 {
            time(&mut a);
            time(&mut b);
        }
        let (mut a_times, mut b_times) = (Vec::new(), Vec::new());
        for _ in 0..samples {
            a_times.push(time(&mut a));
            b_times.push(time(&mut b));
        }
        (
            Stats::from_times(a_times, batch),
            Stats::from_times(b_times, batch),
        )
    }

    fn each(
        samples: usize,
        operation: &mut impl FnMut() -> wasmtime::Result<()>,
    ) -> wasmtime::Result<Stats> {
        operation()?;
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            operation()?;
            times.push(started.elapsed());
        }
        Ok(Stats::from_times(times, 1))
    }

    fn from_times(mut times: Vec<Duration>, batch: usize) -> Stats {
        times.sort();
        let at = |fraction: f64| times[((times.len() - 1) as f64 * fraction).round() as usize];
        Stats {
            median: at(0.5),
            p99: at(0.99),
            operations: times.len() * batch,
        }
    }
}

struct Row {
    figure: String,
    goal: String,
    measured: String,
    p99: String,
    floor: String,
    ratio: String,
    iterations: String,
    /// `None` when the figure has no goal.
    met: Option<bool>,
}

impl Row {
    fn timed(figure: &str, goal: Duration, ours: Stats, floor: Stats) -> Row {
        Row {
            figure: figure.into(),
            goal: format!("≤ {}", duration(goal)),
            measured: duration(ours.median),
            p99: duration(ours.p99),
            floor: duration(floor.median),
            ratio: format!(
                "{:.2}",
                ours.median.as_secs_f64() / floor.median.as_secs_f64()
            ),
            iterations: thousands(ours.operations as u64),
            met: Some(ours.median <= goal),
        }
    }

    fn not_applicable(figure: &str, why: &str) -> Row {
        Row {
            figure: figure.into(),
            goal: String::new(),
            measured: why.into(),
            p99: String::new(),
            floor: String::new(),
            ratio: String::new(),
            iterations: String::new(),
            met: None,
        }
    }
}

fn duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 10_000 {
        format!("{:.2} µs", nanos as f64 / 1e3)
    } else if nanos < 10_000_000 {
        format!("{:.0} µs", nanos as f64 / 1e3)
    } else {
        format!("{:.0} ms", nanos as f64 / 1e6)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn print_table(rows: &[Row], quick: bool) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "azure-workload-identity benchmark: wasmtime 48, {cores} cores, {} build{}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if quick {
            ", --quick (figures not meaningful)"
        } else {
            ""
        }
    );
    println!();
    println!("| figure | goal | measured | p99 | floor | ratio | iterations | goal met |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.figure, row.goal, row.measured, row.p99, row.floor, row.ratio, row.iterations, met
        );
    }
    println!();
    println!(
        "floor: host-tests/floor, the same WIT with the work removed (hit: returns a stored token; \
         miss: one bare POST; size, instantiation and memory of a component that does nothing)"
    );
}
