//! `token-bridge`: serves the App Service managed-identity protocol on loopback with workload
//! identity tokens, for Azure SDKs (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`) and Envoy filters.

use azure_workload_identity::AZURE_FEDERATED_TOKEN_FILE;
use credential_host::token_file_grant;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use token_bridge::settings::{IDENTITY_HEADER, TOKEN_BRIDGE_RESOURCES};
use token_bridge_host::client::request;
use token_bridge_host::{Authority, BridgeConfig, Limits, RunningBridge};

const USAGE: &str = "usage: token-bridge [--listen ADDR] [--component FILE]
                    [--identity-header-file FILE] [--fake-authority] [--quiet]
       token-bridge --probe [--listen ADDR]

Serves GET /msi/token?api-version=2019-08-01&resource=R (the App Service managed-identity
protocol) with tokens for the pod's workload identity, and GET /healthz for probes.

  --listen ADDR               where to listen (default 127.0.0.1:8181; keep it on loopback)
  --component FILE            the composed bridge to serve (default: the one built into
                              this binary)
  --identity-header-file FILE read the secret from FILE instead of IDENTITY_HEADER
  --fake-authority            a built-in fake Microsoft Entra ID and a demo token file
                              (only in a build with the cargo feature fake-authority)
  --quiet                     no line per request on stderr
  --probe                     ask a running bridge's /healthz and exit 0 if it is ready
                              (a pod's exec probe: kubelet's own probes cannot reach loopback)

Environment: IDENTITY_HEADER (the secret callers send as X-IDENTITY-HEADER, at least 16
characters), TOKEN_BRIDGE_RESOURCES (the resources tokens may be had for), and the
credential's AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE,
AZURE_AUTHORITY_HOST (an AKS pod with workload identity has them), and for AKS identity binding
AZURE_KUBERNETES_TOKEN_PROXY with AZURE_KUBERNETES_SNI_NAME and AZURE_KUBERNETES_CA_FILE or
AZURE_KUBERNETES_CA_DATA (the bridge's own TLS to the proxy trusts that CA and sends that name).";

const DEFAULT_LISTEN: &str = "127.0.0.1:8181";
struct Args {
    listen: SocketAddr,
    component: Option<PathBuf>,
    identity_header_file: Option<PathBuf>,
    fake_authority: bool,
    log: bool,
    probe: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("token-bridge: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.probe {
        return probe(args.listen);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("token-bridge: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        listen: DEFAULT_LISTEN.parse().expect("a socket address"),
        component: None,
        identity_header_file: None,
        fake_authority: false,
        log: true,
        probe: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let listen = value("--listen")?;
                parsed.listen = listen
                    .parse()
                    .map_err(|_| format!("--listen '{listen}' is not an IP address and port"))?;
            }
            "--component" => parsed.component = Some(value("--component")?.into()),
            "--identity-header-file" => {
                parsed.identity_header_file = Some(value("--identity-header-file")?.into());
            }
            "--fake-authority" => parsed.fake_authority = true,
            "--quiet" => parsed.log = false,
            "--probe" => parsed.probe = true,
            "-h" | "--help" => return Err("serves workload identity tokens on loopback".into()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(parsed)
}

fn run(args: Args) -> Result<(), String> {
    // The bridge's settings and the credential's, and nothing else of this process's environment.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("AZURE_") || name == TOKEN_BRIDGE_RESOURCES || name == IDENTITY_HEADER
        })
        .collect();
    if let Some(file) = &args.identity_header_file {
        let secret = std::fs::read_to_string(file).map_err(|error| {
            format!("reading --identity-header-file {}: {error}", file.display())
        })?;
        // The file wins over the variable (a guest's getenv would find the first of two).
        env.retain(|(name, _)| name != IDENTITY_HEADER);
        // Secret files written by `echo` or kubectl often end with a newline.
        env.push((
            IDENTITY_HEADER.into(),
            secret.trim_end_matches(['\r', '\n']).into(),
        ));
    }
    // Kept while serving: the demo token file lives in it.
    let _demo_tokens;
    let config = if args.fake_authority {
        let (config, tokens) = fake_authority(&args, env)?;
        _demo_tokens = tokens;
        config
    } else {
        // Requests to the AKS token proxy with its CA and SNI name, from the bridge's env.
        let authority = Authority::network_from_env(|name| {
            env.iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })?;
        // Read-only, as every grant of the bridge's.
        let preopens = std::env::var(AZURE_FEDERATED_TOKEN_FILE)
            .ok()
            .and_then(|file| token_file_grant(&file))
            .into_iter()
            .collect();
        BridgeConfig {
            listen: args.listen,
            component: args.component,
            env,
            preopens,
            authority,
            log: args.log,
            limits: Limits::default(),
        }
    };
    let bridge = RunningBridge::start(config)?;
    eprintln!(
        "token-bridge: serving on {} ({}); set IDENTITY_ENDPOINT={} in the app",
        bridge.address(),
        if args.fake_authority {
            "built-in fake Microsoft Entra ID"
        } else {
            "Microsoft Entra ID"
        },
        bridge.identity_endpoint()
    );
    wait_for_shutdown_signal()?;
    let (requests, calls) = (bridge.requests_served(), bridge.entra_calls());
    bridge.stop();
    eprintln!(
        "token-bridge: stopped; requests served: {requests}; calls to Microsoft Entra ID: {calls}"
    );
    Ok(())
}

/// The bridge with the demo identity and an in-process fake Microsoft Entra ID, and the directory
/// holding its demo token file.
#[cfg(feature = "fake-authority")]
fn fake_authority(
    args: &Args,
    env: Vec<(String, String)>,
) -> Result<(BridgeConfig, impl Sized), String> {
    use credential_host::fake_authority::FakeEntra;
    let (mut config, tokens) =
        token_bridge_host::demo::fake_authority_config(args.listen, env, &FakeEntra::new())
            .map_err(|error| format!("writing the demo token file: {error}"))?;
    config.component = args.component.clone();
    config.log = args.log;
    Ok((config, tokens))
}

/// A shipped build has no fake authority: a bridge that answered with demo tokens in a pod would
/// hide a broken identity behind working-looking answers.
#[cfg(not(feature = "fake-authority"))]
fn fake_authority(
    _args: &Args,
    _env: Vec<(String, String)>,
) -> Result<(BridgeConfig, std::convert::Infallible), String> {
    Err(
        "--fake-authority is not in this build: it talks only to Microsoft Entra ID \
         (for the demo, build with `cargo build -p token-bridge-host --features fake-authority`)"
            .into(),
    )
}

/// `GET /healthz` on the bridge at `address`: ready when it answers 200 within two seconds.
fn probe(address: SocketAddr) -> ExitCode {
    let health = token_bridge::protocol::HEALTH_PATH;
    match request(address, "GET", health, &[], Duration::from_secs(2)) {
        Ok((200, _)) => ExitCode::SUCCESS,
        Ok((status, body)) => {
            let body = String::from_utf8_lossy(&body);
            eprintln!("token-bridge: not ready ({status}): {body}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("token-bridge: no bridge at {address}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
fn wait_for_shutdown_signal() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|error| error.to_string())?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_args;

    fn parse(args: &[&str]) -> Result<super::Args, String> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_listen_on_loopback() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.listen.to_string(), "127.0.0.1:8181");
        assert!(args.log && !args.fake_authority && args.identity_header_file.is_none());
        assert!(!args.probe);
    }

    #[test]
    fn flags_are_read_and_mistakes_named() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--identity-header-file",
            "/secrets/h",
            "--fake-authority",
            "--quiet",
            "--probe",
        ])
        .unwrap();
        assert!(args.probe);
        assert_eq!(args.listen.port(), 0);
        assert!(args.fake_authority && !args.log);
        assert_eq!(
            args.identity_header_file.unwrap().to_str(),
            Some("/secrets/h")
        );
        assert!(
            parse(&["--listen", "localhost"])
                .err()
                .unwrap()
                .contains("not an IP address")
        );
        assert!(
            parse(&["--listen"])
                .err()
                .unwrap()
                .contains("needs a value")
        );
        assert!(
            parse(&["--bogus"])
                .err()
                .unwrap()
                .contains("unknown argument")
        );
    }
}
