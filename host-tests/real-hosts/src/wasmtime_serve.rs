//! The wasmtime CLI's `wasmtime serve` (48.0.8, the version CI builds): a wasi:http server for one
//! component, configured by its command line.

use crate::ServingHost;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use test_tools::{Background, run_within};

/// `wasmtime serve` compiles the component before it listens: a few seconds for a debug CLI.
const READY_BOUND: Duration = Duration::from_secs(120);
/// A debug build of the CLI from source: about 8 minutes on 2 cores, more on a busy machine.
const INSTALL_BOUND: Duration = Duration::from_secs(40 * 60);

/// The wasmtime CLI with `serve`, in `<target_dir>/tools/bin`, installed by
/// `.ci/install-wasmtime-cli` (the one install command, which CI's `wasmtime-cli-check` runs too)
/// when it is missing. Needs the package registry the first time.
pub fn installed(target_dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/install-wasmtime-cli");
    let output = run_within(
        Command::new("bash")
            .arg(&script)
            .env("CARGO_TARGET_DIR", target_dir),
        "bash .ci/install-wasmtime-cli",
        INSTALL_BOUND,
    );
    assert!(
        output.status.success(),
        "`bash .ci/install-wasmtime-cli` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir.join("tools").join("bin").join("wasmtime")
}

/// `wasmtime serve -Scli --addr 127.0.0.1:0 [--dir <host>::<guest>] --env NAME=VALUE…
/// <extra> <component>`; returns once it serves, on the port it printed, or fails the test
/// with its output. `dir` is `None` for a component that reads no file (the token bridge's
/// variant of the credential).
pub fn start(
    wasmtime: &Path,
    component: &Path,
    dir: Option<(&Path, &str)>,
    environment: &[(&str, String)],
    extra: &[&str],
) -> ServingHost {
    let mut command = Command::new(wasmtime);
    command.args(["serve", "-Scli", "--addr", "127.0.0.1:0"]);
    if let Some((host, guest)) = dir {
        command
            .arg("--dir")
            .arg(format!("{}::{guest}", host.display()));
    }
    for (name, value) in environment {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    let mut process = Background::start(command.args(extra).arg(component), "wasmtime serve");
    let mut address = None;
    let ready = process.wait_until(READY_BOUND, "\"Serving HTTP on\"", |process| {
        address = serving_address(&process.output());
        address.is_some()
    });
    if let Err(output) = ready {
        panic!("{output}");
    }
    let address = address.expect("ready means the address was printed");
    ServingHost::new(process, address, None)
}

/// The address of `Serving HTTP on http://127.0.0.1:PORT/`.
fn serving_address(output: &str) -> Option<SocketAddr> {
    let rest = output.split("Serving HTTP on http://").nth(1)?;
    rest.split('/').next()?.parse().ok()
}
