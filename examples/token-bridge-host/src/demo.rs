//! The setup of `--fake-authority`, shared with the tests: a demo workload identity (the
//! variables the AKS webhook injects, a token file in a projected volume laid out as the kubelet
//! does for webhook v1.6, granted as a pod's bridge grants it) and a fake Microsoft Entra ID
//! in-process.

use crate::{Authority, BridgeConfig, Limits, RunningBridge};
use azure_workload_identity::{
    AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID,
};
use credential_host::fake_authority::{FakeEntra, TokenDirectory};
use credential_host::{AKS_WEBHOOK_1_6_TOKEN_PATH, token_file_grant};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, Command, Stdio};
use token_bridge::settings::{IDENTITY_HEADER, TOKEN_BRIDGE_RESOURCES};

pub use credential_host::fake_authority::{DEMO_ASSERTION, DEMO_CLIENT, DEMO_TENANT};

/// A bridge with the demo identity and a fake authority; `env` adds the bridge's own settings
/// (any `AZURE_*` in it is replaced by the demo's). Keep the directory while the bridge serves.
pub fn fake_authority_config(
    listen: SocketAddr,
    mut env: Vec<(String, String)>,
    fake: &FakeEntra,
) -> std::io::Result<(BridgeConfig, TokenDirectory)> {
    let tokens = TokenDirectory::new()?;
    tokens.project_file(AKS_WEBHOOK_1_6_TOKEN_PATH, DEMO_ASSERTION)?;
    let token_file = tokens.path().join(AKS_WEBHOOK_1_6_TOKEN_PATH);
    let token_file = token_file.to_string_lossy().into_owned();
    // What the bridge grants in a pod: the volume found from the file (main.rs does the same).
    let grant = token_file_grant(&token_file)
        .ok_or_else(|| std::io::Error::other("the demo token volume is not a directory"))?;
    env.retain(|(name, _)| !name.starts_with("AZURE_"));
    for (name, value) in [
        (AZURE_TENANT_ID, DEMO_TENANT),
        (AZURE_CLIENT_ID, DEMO_CLIENT),
        (AZURE_FEDERATED_TOKEN_FILE, &token_file),
        (AZURE_AUTHORITY_HOST, "https://login.microsoftonline.com"),
    ] {
        env.push((name.into(), value.into()));
    }
    let config = BridgeConfig {
        listen,
        component: None,
        env,
        preopens: vec![grant],
        authority: Authority::Fake(fake.clone()),
        log: false,
        limits: Limits::default(),
    };
    Ok((config, tokens))
}

/// A bridge serving on a free loopback port with the demo identity and a fake Entra: what the
/// tests, the benchmark and the Envoy filter's tests run.
pub struct FakeBridge {
    pub running: RunningBridge,
    pub entra: FakeEntra,
    tokens: TokenDirectory,
}

impl FakeBridge {
    /// Serves tokens for `resources` (as `TOKEN_BRIDGE_RESOURCES` lists them) to callers that
    /// send `secret`.
    pub fn start(secret: &str, resources: &str) -> Result<FakeBridge, String> {
        FakeBridge::start_with(secret, resources, Limits::default())
    }

    /// [`start`](Self::start), within `limits`.
    pub fn start_with(secret: &str, resources: &str, limits: Limits) -> Result<FakeBridge, String> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        FakeBridge::start_at(loopback, secret, resources, limits)
    }

    /// [`start_with`](Self::start_with), listening on `listen`: a bridge that comes back on the
    /// port its clients know.
    pub fn start_at(
        listen: SocketAddr,
        secret: &str,
        resources: &str,
        limits: Limits,
    ) -> Result<FakeBridge, String> {
        let entra = FakeEntra::new();
        let env = vec![
            (IDENTITY_HEADER.to_owned(), secret.to_owned()),
            (TOKEN_BRIDGE_RESOURCES.to_owned(), resources.to_owned()),
        ];
        let (mut config, tokens) = fake_authority_config(listen, env, &entra)
            .map_err(|error| format!("writing the demo token file: {error}"))?;
        config.limits = limits;
        Ok(FakeBridge {
            running: RunningBridge::start(config)?,
            entra,
            tokens,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.running.address()
    }

    /// Rotates the token as the kubelet does: a new timestamped directory, `..data` swapped to
    /// it, the old one deleted.
    pub fn rotate_token(&self, contents: &str) -> std::io::Result<()> {
        self.tokens
            .project_file(AKS_WEBHOOK_1_6_TOKEN_PATH, contents)
    }
}

/// A `token-bridge` command serving with the fake authority on a free loopback port.
pub struct StartedCommand {
    pub child: Child,
    /// Its stderr, after the first line.
    pub log: BufReader<ChildStderr>,
    /// The line it printed on starting, which names the address.
    pub first_line: String,
    pub address: SocketAddr,
}

/// Starts `command` (a `token-bridge`) with `--fake-authority --listen 127.0.0.1:0`, `args`, the
/// secret `secret` and the resources `resources`, and nothing else of this process's bridge
/// settings; returns once it names its address.
pub fn start_command(
    mut command: Command,
    args: &[&str],
    secret: &str,
    resources: &str,
) -> std::io::Result<StartedCommand> {
    command
        .args(["--fake-authority", "--listen", "127.0.0.1:0"])
        .args(args)
        .env(IDENTITY_HEADER, secret)
        .env(TOKEN_BRIDGE_RESOURCES, resources);
    start_serving(command)
}

/// Starts `command` (a `token-bridge` with its arguments and settings, listening on a free
/// port); returns once it names its address.
pub fn start_serving(mut command: Command) -> std::io::Result<StartedCommand> {
    command.stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let mut log = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut first_line = String::new();
    log.read_line(&mut first_line)?;
    let address = first_line
        .split("serving on ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|address| address.parse().ok());
    let Some(address) = address else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(format!(
            "token-bridge did not start: {first_line:?}"
        )));
    };
    Ok(StartedCommand {
        child,
        log,
        first_line,
        address,
    })
}
