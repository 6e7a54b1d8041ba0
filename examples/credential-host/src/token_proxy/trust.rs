//! Which certificates the token proxy's TLS trusts, and when a CA file is read again.

use azure_workload_identity::{AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_FILE};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A CA bundle is a few KiB; more is not a CA file, and reading it must stay bounded.
const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

pub(super) enum Trust {
    /// The public roots, or `AZURE_KUBERNETES_CA_DATA`: fixed for the life of the process.
    Fixed {
        config: Arc<ClientConfig>,
        source: &'static str,
    },
    /// `AZURE_KUBERNETES_CA_FILE`, which the kubelet rewrites when the CA rotates.
    File {
        path: PathBuf,
        in_use: Mutex<LoadedCa>,
    },
}

/// A CA file's contents and the TLS configuration made from them.
#[derive(Clone)]
pub(super) struct LoadedCa {
    pem: Vec<u8>,
    config: Arc<ClientConfig>,
}

impl Trust {
    pub fn public_roots() -> Trust {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        Trust::Fixed {
            config: client_config(roots),
            source: "the public roots",
        }
    }

    pub fn data(pem: &[u8]) -> Result<Trust, String> {
        let roots =
            parse_ca(pem).map_err(|problem| format!("{AZURE_KUBERNETES_CA_DATA} {problem}"))?;
        Ok(Trust::Fixed {
            config: client_config(roots),
            source: "the CA in AZURE_KUBERNETES_CA_DATA",
        })
    }

    /// Reads the file now: a CA file that cannot be used at the start is an error then.
    pub fn file(path: PathBuf) -> Result<Trust, String> {
        let loaded = read_ca_file(&path)
            .map_err(|error| error.to_string())
            .and_then(load)
            .map_err(|problem| file_problem(&path, &problem))?;
        Ok(Trust::File {
            path,
            in_use: Mutex::new(loaded),
        })
    }

    /// The TLS configuration for the next connection; a CA file is read again for it.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        match self {
            Trust::Fixed { config, .. } => Ok(config.clone()),
            Trust::File { path, in_use } => {
                let mut in_use = in_use
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                match reload(&in_use, read_ca_file(path)) {
                    Ok(Reload::Keep) => {}
                    Ok(Reload::Use(loaded)) => *in_use = loaded,
                    Err(problem) => return Err(file_problem(path, &problem)),
                }
                Ok(in_use.config.clone())
            }
        }
    }

    /// Where the trusted certificates come from, for messages.
    pub fn source(&self) -> String {
        match self {
            Trust::Fixed { source, .. } => (*source).to_owned(),
            Trust::File { path, .. } => {
                format!("the CA in {AZURE_KUBERNETES_CA_FILE} {}", path.display())
            }
        }
    }
}

/// What a read of the CA file means for the CA in use.
pub(super) enum Reload {
    Keep,
    Use(LoadedCa),
}

/// The reload rule: new contents replace the CA in use; the same contents keep it (no parse);
/// an empty file keeps it too (the kubelet mid-rotation); an unreadable file or contents that
/// hold no certificate are an error, as at the first read.
pub(super) fn reload(in_use: &LoadedCa, read: std::io::Result<Vec<u8>>) -> Result<Reload, String> {
    let pem = read.map_err(|error| error.to_string())?;
    if is_blank(&pem) || in_use.pem == pem {
        return Ok(Reload::Keep);
    }
    load(pem).map(Reload::Use)
}

/// The first read's rule: the file must hold a CA.
fn load(pem: Vec<u8>) -> Result<LoadedCa, String> {
    if is_blank(&pem) {
        return Err("is empty".into());
    }
    let roots = parse_ca(&pem)?;
    Ok(LoadedCa {
        pem,
        config: client_config(roots),
    })
}

fn is_blank(pem: &[u8]) -> bool {
    pem.iter().all(u8::is_ascii_whitespace)
}

fn read_ca_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut pem = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(std::io::Error::other("is over 1 MiB, not a CA bundle"));
    }
    Ok(pem)
}

fn file_problem(path: &std::path::Path, problem: &str) -> String {
    let separator = if problem.starts_with("is ") || problem.starts_with("holds ") {
        " "
    } else {
        ": "
    };
    format!(
        "{AZURE_KUBERNETES_CA_FILE} {}{separator}{problem}",
        path.display()
    )
}

/// Every certificate in a PEM bundle, as trust anchors.
fn parse_ca(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|error| format!("is not PEM: {error}"))?;
        roots
            .add(cert)
            .map_err(|error| format!("holds a certificate that does not parse: {error}"))?;
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(roots)
}

/// A client configuration that trusts `roots` only, with the ring provider wasmtime-wasi-http's
/// client uses (named, not the process default, which another crate could have set).
fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_A: &str = include_str!("test_ca_a.pem");
    const CA_B: &str = include_str!("test_ca_b.pem");

    fn used(reload: Result<Reload, String>) -> LoadedCa {
        match reload {
            Ok(Reload::Use(loaded)) => loaded,
            Ok(Reload::Keep) => panic!("kept the CA in use"),
            Err(problem) => panic!("{problem}"),
        }
    }

    fn first(pem: &str) -> LoadedCa {
        load(pem.into()).unwrap()
    }

    fn kept(reload: Result<Reload, String>) -> bool {
        matches!(reload, Ok(Reload::Keep))
    }

    #[test]
    fn the_first_read_loads_the_ca() {
        assert_eq!(first(CA_A).pem, CA_A.as_bytes());
    }

    #[test]
    fn new_contents_replace_the_ca_and_the_same_contents_keep_it() {
        let a = first(CA_A);
        assert!(kept(reload(&a, Ok(CA_A.into()))));
        let b = used(reload(&a, Ok(CA_B.into())));
        assert_eq!(b.pem, CA_B.as_bytes());
        assert!(!Arc::ptr_eq(&a.config, &b.config));
    }

    #[test]
    fn an_emptied_file_keeps_the_last_good_ca() {
        let a = first(CA_A);
        assert!(kept(reload(&a, Ok(Vec::new()))));
        assert!(kept(reload(&a, Ok(b" \n".to_vec()))));
    }

    #[test]
    fn an_empty_file_before_any_ca_is_an_error() {
        assert_eq!(load(Vec::new()).err().unwrap(), "is empty");
        assert_eq!(load(b"\n".to_vec()).err().unwrap(), "is empty");
    }

    #[test]
    fn a_file_without_a_certificate_or_unreadable_is_an_error_even_with_a_ca_in_use() {
        let a = first(CA_A);
        let garbage = reload(&a, Ok(b"not a certificate".to_vec())).err().unwrap();
        assert!(garbage.starts_with("holds no PEM certificate"), "{garbage}");
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let unreadable = reload(&a, Err(missing)).err().unwrap();
        assert_eq!(unreadable, "entity not found");
    }

    #[test]
    fn a_file_problem_names_the_variable_and_the_file_not_its_contents() {
        let path = std::path::Path::new("/var/run/secrets/azure/ca.crt");
        assert_eq!(
            file_problem(path, "is empty"),
            "AZURE_KUBERNETES_CA_FILE /var/run/secrets/azure/ca.crt is empty"
        );
        assert_eq!(
            file_problem(path, "entity not found"),
            "AZURE_KUBERNETES_CA_FILE /var/run/secrets/azure/ca.crt: entity not found"
        );
    }

    #[test]
    fn every_certificate_of_a_bundle_is_trusted() {
        assert_eq!(
            parse_ca(format!("{CA_A}{CA_B}").as_bytes()).unwrap().len(),
            2
        );
    }
}
