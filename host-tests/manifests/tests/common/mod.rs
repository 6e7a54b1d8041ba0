//! The validators, from a venv under the target directory with `requirements.txt`'s pinned
//! versions: kubernetes-validate's strict schemas, Envoy 1.40's `--mode validate`, PyYAML; and
//! each test's scratch directory beside them.

// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;
use test_tools::{python_venv, run_within};

/// The Kubernetes versions every manifest is checked against, 1.28 to the newest
/// kubernetes-validate 1.37.0 carries. Native sidecars (an init container with
/// `restartPolicy: Always`) are on by default from 1.29; 1.28's schema has the field.
pub const KUBERNETES_VERSIONS: [&str; 10] = [
    "1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0",
    "1.37.0",
];

/// One validator run takes well under a second; this bounds a hung one.
const VALIDATOR_BOUND: Duration = Duration::from_secs(120);

/// The venv's `bin/`, installed on first use.
fn venv_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("manifests-check-venv");
        let python = python_venv(&venv, &manifest_dir.join("requirements.txt"));
        python.parent().expect("the venv's bin/").to_path_buf()
    })
}

fn run(command: &mut Command, what: &str) -> Output {
    run_within(command, what, VALIDATOR_BOUND)
}

/// `kubernetes-validate --strict` of `files` against Kubernetes `version`: fields a schema
/// does not know are errors, as `kubectl apply` (whose field validation is strict) makes them.
pub fn kubernetes_validate(version: &str, files: &[PathBuf]) -> Output {
    run(
        Command::new(venv_bin().join("kubernetes-validate"))
            .args(["--strict", "--quiet", "--kubernetes-version", version])
            .args(files),
        "kubernetes-validate",
    )
}

/// `envoy --mode validate -c config`: Envoy 1.40 loads the configuration as it would start,
/// the Wasm filter included (it instantiates the module and runs its configuration check), and
/// checks that every file it names exists, without opening a listener.
pub fn envoy_validate(config: &Path) -> Output {
    run(
        Command::new(venv_bin().join("envoy"))
            .args(["--mode", "validate", "--log-level", "warn", "-c"])
            .arg(config),
        "envoy --mode validate",
    )
}

/// Whether `path` is YAML that PyYAML loads (every document of it), with the error if not.
pub fn load_yaml(path: &Path) -> Result<(), String> {
    let output = run(
        Command::new(venv_bin().join("python"))
            .args([
                "-c",
                "import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))",
            ])
            .arg(path),
        "python -c yaml.safe_load_all",
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// `expression` (Python, over `doc`: the one document of the YAML file `path`), an iterable of
/// strings, one a line: to read a manifest's fields where no Rust YAML parser is at hand.
pub fn yaml_lines(path: &Path, expression: &str) -> Vec<String> {
    let script = format!(
        "import sys, yaml\ndoc = yaml.safe_load(open(sys.argv[1]))\nfor line in ({expression}):\n    print(line)"
    );
    let output = run(
        Command::new(venv_bin().join("python"))
            .args(["-c", &script])
            .arg(path),
        "python -c yaml.safe_load",
    );
    assert!(
        output.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `patch` merged into the one object of `base` the way `kubectl patch` merges a strategic
/// merge patch into a Deployment, written to `merged` (see `strategic_merge.py`).
pub fn strategic_merge(base: &Path, patch: &Path, merged: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("strategic_merge.py");
    let output = run(
        Command::new(venv_bin().join("python"))
            .arg(script)
            .args([base, patch, merged]),
        "strategic_merge.py",
    );
    assert!(
        output.status.success(),
        "merging {} into {}: {}",
        patch.display(),
        base.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `pod_policy.py`'s verdict on the pod templates of `files`: `Err` with every violation.
pub fn pod_policy(files: &[PathBuf]) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pod_policy.py");
    let output = run(
        Command::new(venv_bin().join("python"))
            .arg(script)
            .args(files),
        "pod_policy.py",
    );
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(report)
    } else {
        Err(format!(
            "{report}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A fresh directory for one test's files, beside the test binaries.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("manifests-check")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
    dir
}
