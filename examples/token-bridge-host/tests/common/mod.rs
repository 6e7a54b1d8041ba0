//! A bridge with the demo identity and a fake Microsoft Entra ID, on a free loopback port, and
//! the requests the tests send it.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::BufReader;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use token_bridge_host::demo::FakeBridge;

pub const SECRET: &str = "9f2c41d7e8b05a63c1f4";
pub const VAULT: &str = "https://vault.azure.net";
pub const STORAGE: &str = "https://storage.azure.com";
pub const VAULT_PATH: &str =
    "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

pub type Bridge = FakeBridge;

/// Serves tokens for Key Vault and Storage, with [`SECRET`].
pub fn start_bridge() -> Bridge {
    FakeBridge::start(SECRET, &format!("{VAULT},{STORAGE}")).unwrap()
}

/// One request on a connection of its own; the status and the body.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let (status, body) =
        token_bridge_host::client::request(address, method, path, headers, Duration::from_secs(30))
            .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub fn get(address: SocketAddr, path: &str, secret: &str) -> (u16, String) {
    request(address, "GET", path, &[("X-IDENTITY-HEADER", secret)])
}

/// A started `token-bridge`: the process, its stderr, the first line it printed and the address
/// it serves on.
pub type Started = (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
    std::net::SocketAddr,
);

/// Starts the command with `args` and the bridge's settings in `env`; returns it with its stderr
/// and the address it printed.
pub fn start_command(args: &[&str], env: &[(&str, &str)]) -> Started {
    start_command_in(Command::new(env!("CARGO_BIN_EXE_token-bridge")), args, env)
}

/// [`start_command`] for `command`, a `token-bridge` wherever it is.
pub fn start_command_in(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Started {
    // The secret goes where the demo's command puts it; an empty one is no secret.
    let mut secret = "";
    for &(name, value) in env {
        match name {
            "IDENTITY_HEADER" => secret = value,
            _ => {
                command.env(name, value);
            }
        }
    }
    let started = token_bridge_host::demo::start_command(command, args, secret, VAULT).unwrap();
    (
        started.child,
        started.log,
        started.first_line,
        started.address,
    )
}

pub fn terminate(mut bridge: std::process::Child) -> std::process::ExitStatus {
    let terminated = Command::new("kill")
        .args(["-TERM", &bridge.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    bridge.wait().unwrap()
}
