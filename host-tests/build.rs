//! Builds the credential component for wasm32-wasip2 before the hosts compile, the way wasmtime's
//! test-programs build their guests: `cargo test` and `cargo run` are the whole story.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const COMPONENT_FILE: &str = "azure_workload_identity.wasm";
/// The benchmark's floor (`floor/`): the same WIT with the work removed.
const FLOOR_FILE: &str = "bench_floor.wasm";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host-tests sits in the workspace root");
    for input in [
        "src",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "host-tests/floor",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target_dir = if target_dir.is_relative() {
        root.join(target_dir)
    } else {
        target_dir
    };
    ensure_target_installed();
    // A target dir of its own: the cargo running this script holds the lock on
    // `target/<profile>`, which the component build's host tools (wit-bindgen's macro) would
    // need too when that profile is release.
    let build_dir = target_dir.join("component-build");
    build_component(root, &build_dir);

    for (file, variable) in [
        (COMPONENT_FILE, "AZURE_WORKLOAD_IDENTITY_COMPONENT"),
        (FLOOR_FILE, "BENCH_FLOOR_COMPONENT"),
    ] {
        let built = build_dir.join(TARGET).join("release").join(file);
        let copy = target_dir.join(TARGET).join("release").join(file);
        std::fs::create_dir_all(copy.parent().expect("a file path has a parent"))
            .and_then(|()| std::fs::copy(&built, &copy))
            .unwrap_or_else(|error| {
                panic!("copying {} to {}: {error}", built.display(), copy.display())
            });
        println!("cargo:rustc-env={variable}={}", copy.display());
    }
}

/// Cargo does not add a missing target by itself; rustup does, in a few seconds.
fn ensure_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::is_dir) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup
        .status()
        .unwrap_or_else(|error| panic!("running `rustup target add {TARGET}` failed: {error}"));
    assert!(
        status.success(),
        "`rustup target add {TARGET}` failed: {status}"
    );
}

fn build_component(root: &Path, build_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            "azure-workload-identity",
            "-p",
            "bench-floor",
        ])
        .arg("--target-dir")
        .arg(build_dir)
        // These describe the host build that runs this script, not the component's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        // Under `cargo clippy` these would lint the component instead of building it.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR")
        .status()
        .expect("running cargo to build the component");
    assert!(status.success(), "building the component failed: {status}");
}
