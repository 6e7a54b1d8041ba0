//! The component in a host that is not wasmtime: transpiled by jco and run under Node.js with
//! preview2-shim, against an HTTPS fake Entra with a throw-away certificate authority
//! (`host-tests/jco`, whose README has the commands to run it by hand).

use host_tests::COMPONENT_PATH;
use std::path::Path;
use std::process::Command;

/// What package.json pins; `npm ci` runs when node_modules holds anything else.
const PINNED: [(&str, &str); 2] = [
    ("@bytecodealliance/jco", "1.35.0"),
    ("@bytecodealliance/preview2-shim", "0.26.1"),
];

#[test]
fn the_component_gets_tokens_under_node_through_jco_and_preview2_shim() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("jco");
    let node = run(Command::new("node").arg("--version"), "node --version");
    let major: u32 = node
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(major >= 20, "Node.js 20 or later is needed, found {node}");

    let installed = PINNED.iter().all(|(package, version)| {
        std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")))
    });
    if !installed {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir),
            "npm ci",
        );
    }
    let output = run(
        Command::new("node")
            .arg("run.mjs")
            .env("AZURE_WORKLOAD_IDENTITY_COMPONENT", COMPONENT_PATH)
            .current_dir(&dir),
        "node run.mjs",
    );
    println!("{output}");
    let count = |label: &str| -> u32 {
        output
            .lines()
            .find_map(|line| line.strip_prefix(&format!("ℹ {label} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` count in node's summary:\n{output}"))
    };
    assert_eq!(count("fail"), 0, "{output}");
    assert_eq!(count("pass"), 5, "{output}");
}

/// Runs `command`, failing the test with its output unless it succeeds; returns its stdout.
fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|error| {
        panic!("`{what}` could not start ({error}): is Node.js installed?")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{what}` failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
