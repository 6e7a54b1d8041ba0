//! The component in a host that is not wasmtime: transpiled by jco and run under Node.js with
//! preview2-shim, against an HTTPS fake Entra with a throw-away certificate authority
//! (`host-tests/jco`, whose README has the commands to run it by hand).

use host_tests::{COMPONENT_PATH, npm_ci_unless_installed, run_to_success};
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
    let node = run_to_success(Command::new("node").arg("--version"), "node --version");
    let major: u32 = node
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(major >= 20, "Node.js 20 or later is needed, found {node}");

    npm_ci_unless_installed(&dir, &PINNED);
    let output = run_to_success(
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
