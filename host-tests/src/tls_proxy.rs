//! An AKS token proxy stand-in for the identity-binding tests: HTTPS on 127.0.0.1 with a
//! certificate from a throw-away CA (made with the openssl CLI), recording the TLS server name
//! (SNI) each connection asked for and the request it sent, answering every request with a token.
//!
//! Every thread it starts ends when the proxy is dropped, or after
//! [`MAX_LIFETIME`](crate::acceptor::MAX_LIFETIME) at the latest.

use crate::acceptor::{Acceptor, lock};
use crate::local_server::{read_request, write_head};
use crate::run_to_success;
use credential_host::fake_authority::TokenDirectory;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token every answer carries, numbered by answer.
pub const PROXY_ACCESS_TOKEN_PREFIX: &str = "proxy-access-token-";

/// A certificate authority of its own, in a temporary directory removed on drop.
pub struct ThrowAwayCa {
    dir: TokenDirectory,
}

impl ThrowAwayCa {
    /// A new CA (P-256, valid for a day). Fails the test when openssl is missing.
    pub fn generate() -> ThrowAwayCa {
        // Each CA its own name, so that a certificate from another is an unknown issuer.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("/CN=throw-away-ca-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = TokenDirectory::new().expect("a temporary directory");
        run_to_success(
            openssl_req(&dir)
                .args(["-x509", "-days", "1", "-subj", &name])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign"])
                .args(["-keyout", "ca.key", "-out", "ca.crt"]),
            "openssl req -x509 (the throw-away CA)",
        );
        ThrowAwayCa { dir }
    }

    /// The CA's certificate, PEM.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(self.cert_path()).expect("the CA's certificate")
    }

    /// A server certificate for `dns_name` signed by this CA, and its key, as PEM files (for a
    /// server that reads them, e.g. Azurite's `--cert` and `--key`), kept with the CA.
    pub fn issue_files(&self, dns_name: &str) -> (PathBuf, PathBuf) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let leaf = format!("leaf-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let file = |extension: &str| format!("{leaf}.{extension}");
        run_to_success(
            openssl_req(&self.dir)
                .args(["-new", "-subj", &format!("/CN={dns_name}")])
                .args(["-keyout", &file("key"), "-out", &file("csr")]),
            "openssl req -new (the proxy's key)",
        );
        self.dir
            .write_file(
                &file("ext"),
                &format!(
                    "subjectAltName=DNS:{dns_name}\nbasicConstraints=CA:FALSE\n\
                     extendedKeyUsage=serverAuth\n"
                ),
            )
            .expect("the certificate's extensions");
        run_to_success(
            Command::new("openssl")
                .current_dir(self.dir.path())
                .args(["x509", "-req", "-days", "1", "-in", &file("csr")])
                .args(["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"])
                .args(["-extfile", &file("ext"), "-out", &file("crt")]),
            "openssl x509 -req (the proxy's certificate)",
        );
        let path = |extension: &str| self.dir.path().join(file(extension));
        (path("crt"), path("key"))
    }

    /// A rustls server configuration presenting a new certificate for `dns_name` from this CA.
    pub fn server_config(&self, dns_name: &str) -> Arc<ServerConfig> {
        let (chain, key) = self.issue(dns_name);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the certificate and key match");
        Arc::new(config)
    }

    /// A server certificate for `dns_name` signed by this CA, and its key.
    fn issue(&self, dns_name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let (certificate, key) = self.issue_files(dns_name);
        let read = |path: PathBuf| std::fs::read(path).expect("openssl wrote it");
        let chain = CertificateDer::pem_slice_iter(&read(certificate))
            .collect::<Result<Vec<_>, _>>()
            .expect("a PEM certificate");
        let key = PrivateKeyDer::from_pem_slice(&read(key)).expect("a PEM key");
        (chain, key)
    }
}

/// `openssl req` in `dir`, making a new P-256 key without a passphrase.
fn openssl_req(dir: &TokenDirectory) -> Command {
    let mut command = Command::new("openssl");
    command.current_dir(dir.path()).args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ]);
    command
}

/// One connection the proxy accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConnection {
    /// The server name the client's TLS hello named (SNI); `None` when it named none.
    pub sni: Option<String>,
    /// `METHOD /path HTTP/1.1`; `None` when the TLS handshake failed (the client refused the
    /// certificate).
    pub request_line: Option<String>,
}

pub struct TlsProxy {
    acceptor: Acceptor,
    certificate: Arc<Mutex<Arc<ServerConfig>>>,
    connections: Arc<Mutex<Vec<ProxyConnection>>>,
}

impl TlsProxy {
    /// Listens on an ephemeral port of 127.0.0.1 with a certificate for `dns_name` from `ca`.
    pub fn start(ca: &ThrowAwayCa, dns_name: &str) -> TlsProxy {
        let certificate = Arc::new(Mutex::new(ca.server_config(dns_name)));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (certificate, connections) = (certificate.clone(), connections.clone());
            Acceptor::start(move |tcp, _| {
                let (config, connections) = (lock(&certificate).clone(), connections.clone());
                std::thread::spawn(move || {
                    let _ = serve(tcp, config, &connections);
                });
            })
            .expect("a loopback port")
        };
        TlsProxy {
            acceptor,
            certificate,
            connections,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    /// From the next connection on, a certificate for `dns_name` from `ca` (a re-issued one).
    pub fn present(&self, ca: &ThrowAwayCa, dns_name: &str) {
        *lock(&self.certificate) = ca.server_config(dns_name);
    }

    /// Every connection so far, in order.
    pub fn connections(&self) -> Vec<ProxyConnection> {
        lock(&self.connections).clone()
    }
}

fn serve(
    mut tcp: TcpStream,
    config: Arc<ServerConfig>,
    connections: &Mutex<Vec<ProxyConnection>>,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let handshake = handshake(&mut tls, &mut tcp);
    let sni = tls.server_name().map(str::to_owned);
    let request_line = match handshake {
        Ok(()) => Some(read_request(&mut rustls::Stream::new(&mut tls, &mut tcp))?),
        _ => None,
    };
    let answered = request_line.is_some();
    let number = {
        let mut connections = lock(connections);
        connections.push(ProxyConnection { sni, request_line });
        connections.len()
    };
    if !answered {
        return Ok(());
    }
    let body = format!(
        r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"{PROXY_ACCESS_TOKEN_PREFIX}{number}"}}"#
    );
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    write_head(
        &mut stream,
        200,
        &[("content-type".into(), "application/json".into())],
        body.len(),
    )?;
    stream.write_all(body.as_bytes())?;
    stream.flush()?;
    tls.send_close_notify();
    tls.complete_io(&mut tcp).map(|_| ())
}

/// Completes the server side of a TLS handshake on `tcp`, whose read timeout bounds each round;
/// `Err` when it fails or is still not done after 20 rounds.
pub(crate) fn handshake(
    tls: &mut rustls::ServerConnection,
    tcp: &mut TcpStream,
) -> std::io::Result<()> {
    for _ in 0..20 {
        if !tls.is_handshaking() {
            return Ok(());
        }
        tls.complete_io(tcp)?;
    }
    if tls.is_handshaking() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the TLS handshake did not finish in 20 rounds",
        ));
    }
    Ok(())
}
