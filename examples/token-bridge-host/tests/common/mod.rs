//! A bridge with the demo identity and a fake Microsoft Entra ID, on a free loopback port, and a
//! plain HTTP/1.1 client to ask it.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use host_tests::{FakeEntra, TokenDirectory};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use token_bridge::settings::{IDENTITY_HEADER, TOKEN_BRIDGE_RESOURCES};
use token_bridge_host::RunningBridge;
use token_bridge_host::demo::fake_authority_config;

pub const SECRET: &str = "9f2c41d7e8b05a63c1f4";
pub const VAULT: &str = "https://vault.azure.net";
pub const STORAGE: &str = "https://storage.azure.com";
pub const VAULT_PATH: &str =
    "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";

pub struct Bridge {
    pub running: RunningBridge,
    pub entra: FakeEntra,
    _tokens: TokenDirectory,
}

/// Serves tokens for Key Vault and Storage, with [`SECRET`].
pub fn start_bridge() -> Bridge {
    let entra = FakeEntra::new();
    let env = vec![
        (IDENTITY_HEADER.to_owned(), SECRET.to_owned()),
        (
            TOKEN_BRIDGE_RESOURCES.to_owned(),
            format!("{VAULT},{STORAGE}"),
        ),
    ];
    let (config, tokens) =
        fake_authority_config("127.0.0.1:0".parse().unwrap(), env, &entra).unwrap();
    let running = RunningBridge::start(config).unwrap();
    Bridge {
        running,
        entra,
        _tokens: tokens,
    }
}

impl Bridge {
    pub fn address(&self) -> SocketAddr {
        self.running.address()
    }
}

/// One request on a connection of its own; the status and the body.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn get(address: SocketAddr, path: &str, secret: &str) -> (u16, String) {
    request(address, "GET", path, &[("X-IDENTITY-HEADER", secret)])
}
