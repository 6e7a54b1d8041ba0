//! What the build scripts of host-tests and host-tests/composition share: building guest
//! components for wasm32-wasip2 with the cargo that runs them, the way wasmtime's test-programs
//! build their guests, so `cargo test` and `cargo run` are the whole story.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// The workspace root, `levels` folders above the package running the script, after telling
/// cargo to run the script again when any of `inputs` (paths from the root) changes.
pub fn workspace_root(levels: usize, inputs: &[&str]) -> PathBuf {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .ancestors()
        .nth(levels)
        .expect("the package sits inside the workspace")
        .to_path_buf();
    for input in inputs {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    root
}

/// The workspace's target directory, as the cargo running the script uses it.
pub fn target_dir(root: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    if target_dir.is_relative() {
        root.join(target_dir)
    } else {
        target_dir
    }
}

/// Where guests are built: a target dir of their own, since the cargo running the script holds
/// the lock on `target/<profile>`, which the guests' host tools (wit-bindgen's macro) would need
/// too when that profile is release. Both scripts share it, so each guest is built once.
pub fn build_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("component-build")
}

/// Builds the packages' release components into [`build_dir`].
pub fn build_components(root: &Path, target_dir: &Path, packages: &[&str]) {
    build_for_target(root, target_dir, TARGET, packages);
}

/// Builds the packages in release for `target` into [`build_dir`].
pub fn build_for_target(root: &Path, target_dir: &Path, target: &str, packages: &[&str]) {
    ensure_target_installed(target);
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["build", "--release", "--target", target]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .arg("--target-dir")
        .arg(build_dir(target_dir))
        .status()
        .expect("running cargo to build the components");
    assert!(status.success(), "building {packages:?} failed: {status}");
}

/// The cargo running the script, without the settings that describe that host build.
pub fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env_remove("CARGO_TARGET_DIR")
        // Under `cargo clippy` these would lint the guests instead of building them.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    command
}

/// The built component `file`, copied to `target/wasm32-wasip2/release/` where the README's
/// commands look for it, and handed to the crate as the environment variable `variable`.
pub fn publish(target_dir: &Path, file: &str, variable: &str) -> PathBuf {
    publish_for_target(target_dir, TARGET, file, variable)
}

/// [`publish`] for a build of `target`, copied to `target/<target>/release/`.
pub fn publish_for_target(target_dir: &Path, target: &str, file: &str, variable: &str) -> PathBuf {
    let built = build_dir(target_dir)
        .join(target)
        .join("release")
        .join(file);
    let release = target_dir.join(target).join("release");
    let copy = release.join(file);
    // Several build scripts publish the credential, and another may be reading it (`wac plug`):
    // a copy beside it, renamed over it, replaces it whole.
    let partial = release.join(format!("{file}.{}.partial", std::process::id()));
    std::fs::create_dir_all(&release)
        .and_then(|()| std::fs::copy(&built, &partial))
        .and_then(|_| std::fs::rename(&partial, &copy))
        .unwrap_or_else(|error| {
            panic!("copying {} to {}: {error}", built.display(), copy.display())
        });
    println!("cargo:rustc-env={variable}={}", copy.display());
    copy
}

pub fn release_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(TARGET).join("release")
}

/// Cargo does not add a missing target by itself; rustup does, in a few seconds.
fn ensure_target_installed(target: &str) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::is_dir) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", target]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup
        .status()
        .unwrap_or_else(|error| panic!("running `rustup target add {target}` failed: {error}"));
    assert!(
        status.success(),
        "`rustup target add {target}` failed: {status}"
    );
}

pub const WAC_VERSION: &str = "0.12.0";

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

/// A wac-cli of the pinned version: `$WAC`, the one on `PATH`, or one installed into
/// `target/tools` (about 3 minutes on 2 cores), so `cargo test --workspace` needs nothing
/// installed beforehand.
pub fn wac(target_dir: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=WAC");
    if let Some(wac) = std::env::var_os("WAC") {
        return PathBuf::from(wac);
    }
    let tools = target_dir.join("tools");
    let installed = tools.join("bin").join("wac");
    if is_pinned_wac(Path::new("wac")) {
        return PathBuf::from("wac");
    }
    // Two build scripts (the compositions', the token bridge's) may want it at once: the second
    // waits for the first's install instead of racing it in the same directories.
    std::fs::create_dir_all(&tools).expect("creating target/tools");
    let lock = std::fs::File::create(tools.join("wac-install.lock"))
        .expect("creating target/tools/wac-install.lock");
    lock.lock().expect("locking target/tools/wac-install.lock");
    if is_pinned_wac(&installed) {
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

fn is_pinned_wac(wac: &Path) -> bool {
    Command::new(wac)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout).trim() == format!("wac-cli {WAC_VERSION}")
        })
}
