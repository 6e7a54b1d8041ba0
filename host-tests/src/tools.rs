//! Running the other programs some tests need (Node.js, npm, Python, cargo), with failures that
//! show what the program said.

use std::path::Path;
use std::process::Command;

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
    let installed = pinned.iter().all(|(package, version)| {
        std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")))
    });
    if !installed {
        run_to_success(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir),
            "npm ci",
        );
    }
}
