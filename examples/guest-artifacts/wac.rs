//! wac-cli, which composes components: found or installed, then run as `wac plug`.

use crate::guests::{Workspace, cargo};
use std::path::{Path, PathBuf};
use std::process::Command;

const WAC_VERSION: &str = "0.12.0";

/// A wac-cli of the pinned version: `$WAC`, the one on `PATH`, or one installed into
/// `target/tools` (about 3 minutes on 2 cores), so `cargo test --workspace` needs nothing
/// installed beforehand.
pub fn installed(workspace: &Workspace) -> PathBuf {
    println!("cargo:rerun-if-env-changed=WAC");
    if let Some(wac) = std::env::var_os("WAC") {
        return PathBuf::from(wac);
    }
    if is_pinned(Path::new("wac")) {
        return PathBuf::from("wac");
    }
    let tools = workspace.target_dir().join("tools");
    let installed = tools.join("bin").join("wac");
    // Cargo may run this script for two target dirs' builds at once (a clippy and a test run):
    // the second waits for the first's install instead of racing it in the same directories.
    std::fs::create_dir_all(&tools).expect("creating target/tools");
    let lock = std::fs::File::create(tools.join("wac-install.lock"))
        .expect("creating target/tools/wac-install.lock");
    lock.lock().expect("locking target/tools/wac-install.lock");
    if is_pinned(&installed) {
        return installed;
    }
    let status = cargo()
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

/// `wac plug <socket> --plug <plug> -o <output>`: the plug's exports fill the socket's imports.
pub fn plug(wac: &Path, socket: &Path, plug: &Path, output: &Path) {
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

fn is_pinned(wac: &Path) -> bool {
    Command::new(wac)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout).trim() == format!("wac-cli {WAC_VERSION}")
        })
}
