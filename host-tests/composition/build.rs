//! Builds the credential, the bearer middleware and the sample app, then composes them with
//! `wac plug` exactly as the middleware's README tells users to:
//!
//! ```sh
//! wac plug bearer_middleware.wasm --plug azure_workload_identity.wasm -o bearer.wasm
//! wac plug sample_app.wasm --plug bearer.wasm -o sample_app_with_bearer.wasm
//! ```
//!
//! wac-cli is taken from `$WAC`, else `PATH`, else installed once into `target/tools` (about
//! 3 minutes on 2 cores), so `cargo test --workspace` needs nothing installed beforehand.

#[path = "../build_support.rs"]
mod build_support;

use std::path::{Path, PathBuf};
use std::process::Command;

const WAC_VERSION: &str = "0.12.0";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("host-tests/composition sits two levels below the workspace root");
    for input in [
        "src",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "examples/bearer-middleware",
        "examples/sample-app",
        "examples/spin",
        "host-tests/build_support.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=WAC");
    let target_dir = build_support::target_dir(root);
    build_support::build_components(
        root,
        &target_dir,
        &[
            "azure-workload-identity",
            "bearer-middleware",
            "sample-app",
            "spin-key-vault",
        ],
    );
    let credential = build_support::publish(
        &target_dir,
        "azure_workload_identity.wasm",
        "AZURE_WORKLOAD_IDENTITY_COMPONENT",
    );
    let middleware =
        build_support::publish(&target_dir, "bearer_middleware.wasm", "BEARER_MIDDLEWARE");
    let app = build_support::publish(&target_dir, "sample_app.wasm", "SAMPLE_APP");
    let spin_app = build_support::publish(&target_dir, "spin_key_vault.wasm", "SPIN_KEY_VAULT");

    let wac = wac(&target_dir);
    let release = build_support::release_dir(&target_dir);
    let bearer = release.join("bearer.wasm");
    plug(&wac, &middleware, &credential, &bearer);
    let composed = release.join("sample_app_with_bearer.wasm");
    plug(&wac, &app, &bearer, &composed);
    // What Spin does with the credential as a component dependency of the app.
    let spin_composed = release.join("spin_key_vault_with_credential.wasm");
    plug(&wac, &spin_app, &credential, &spin_composed);
    println!(
        "cargo:rustc-env=SPIN_APP_COMPOSITION={}",
        spin_composed.display()
    );
    println!("cargo:rustc-env=BEARER_COMPOSITION={}", bearer.display());
    println!(
        "cargo:rustc-env=SAMPLE_APP_COMPOSITION={}",
        composed.display()
    );
    println!("cargo:rustc-env=WAC_PATH={}", wac.display());
}

fn plug(wac: &Path, socket: &Path, plug: &Path, output: &Path) {
    let status = Command::new(wac)
        .arg("plug")
        .arg(socket)
        .arg("--plug")
        .arg(plug)
        .arg("-o")
        .arg(output)
        .status()
        .unwrap_or_else(|error| panic!("running {}: {error}", wac.display()));
    assert!(
        status.success(),
        "`wac plug {} --plug {}` failed: {status}",
        socket.display(),
        plug.display()
    );
}

/// A wac-cli of the pinned version: `$WAC`, the one on `PATH`, or one installed into
/// `target/tools`.
fn wac(target_dir: &Path) -> PathBuf {
    if let Some(wac) = std::env::var_os("WAC") {
        return PathBuf::from(wac);
    }
    let tools = target_dir.join("tools");
    let installed = tools.join("bin").join("wac");
    for candidate in [installed.clone(), PathBuf::from("wac")] {
        if is_pinned_wac(&candidate) {
            return candidate;
        }
    }
    let status = build_support::cargo()
        .args(["install", "wac-cli", "--locked", "--no-default-features"])
        .args(["--version", WAC_VERSION])
        .arg("--root")
        .arg(&tools)
        .arg("--target-dir")
        .arg(tools.join("build"))
        .status()
        .expect("running cargo install wac-cli");
    assert!(
        status.success(),
        "installing wac-cli {WAC_VERSION} failed: {status}"
    );
    installed
}

fn is_pinned_wac(wac: &Path) -> bool {
    Command::new(wac)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout).trim() == format!("wac-cli {WAC_VERSION}")
        })
}
