//! Where the examples are, and the sample values their walkthroughs' variables get here.

use crate::envsubst;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root")
}

/// `examples/`.
pub fn examples_dir() -> PathBuf {
    repo_root().join("examples")
}

/// Where the workload identity webhook mounts its projected token volume (the directory that
/// holds the kubelet's `..data`), and the token file in it, by webhook version (its source,
/// `pkg/webhook/consts.go`).
pub const WEBHOOK_TOKEN_VOLUMES: [(&str, &str, &str); 2] = [
    (
        "v1.6",
        "/var/run/secrets/azure/wi",
        "/var/run/secrets/azure/wi/token/azure-identity-token",
    ),
    (
        "v1.5",
        "/var/run/secrets/azure/tokens",
        "/var/run/secrets/azure/tokens/azure-identity-token",
    ),
];

/// A value for every variable the walkthroughs export, shaped like a real one (ids, image
/// references with digests, the newest webhook's token paths).
pub const SAMPLE_ENV: &[(&str, &str)] = &[
    ("SERVICE_ACCOUNT_NAMESPACE", "apps"),
    ("SERVICE_ACCOUNT_NAME", "wasi-credential"),
    ("NAMESPACE", "key-vault-apps"),
    ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
    (
        "USER_ASSIGNED_CLIENT_ID",
        "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b",
    ),
    ("KEY_VAULT_NAME", "myvault"),
    ("APP_HOSTNAME", "secrets.example.com"),
    (
        "IMAGE",
        "myregistry.azurecr.io/azure-workload-identity-demo:0.1.0@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    ),
    ("BRIDGE_IMAGE", "myregistry.azurecr.io/token-bridge:0.1.0"),
    ("APP_IMAGE", "myregistry.azurecr.io/app:1.0.0"),
    (
        "ENVOY_IMAGE",
        "myregistry.azurecr.io/envoy-token-filter:0.1.0",
    ),
    // The bridge's secret as `openssl rand -hex 24` makes it.
    (
        "IDENTITY_HEADER",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c",
    ),
    ("AZURE_FEDERATED_TOKEN_FILE", WEBHOOK_TOKEN_VOLUMES[0].2),
    ("AZURE_TOKEN_VOLUME", WEBHOOK_TOKEN_VOLUMES[0].1),
];

/// `path` rendered as its walkthrough renders it (`envsubst`, or with `listed` its
/// SHELL-FORMAT), with [`SAMPLE_ENV`]; fails the test on a variable with no sample value.
pub fn render_sample(path: &Path, listed: Option<&[&str]>) -> String {
    let template = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let sample = |name: &str| {
        SAMPLE_ENV
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| value.to_string())
    };
    envsubst(&template, listed, sample).unwrap_or_else(|error| {
        panic!(
            "{}: {error}: a variable the walkthrough does not set, or a new one to add to SAMPLE_ENV",
            path.display()
        )
    })
}

/// Every `.yaml` and `.yml` file under `examples/`, relative to it and sorted; installed
/// packages and build outputs (`node_modules`, `target`) are not the examples'.
pub fn yaml_files_under_examples() -> Vec<String> {
    let root = examples_dir();
    let mut found = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() {
                if !matches!(name.as_ref(), "node_modules" | "target") && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                let relative = path.strip_prefix(&root).expect("under examples/");
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}
