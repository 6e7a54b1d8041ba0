//! Builds the Envoy filter as Envoy loads it: a core module for wasm32-wasip1.

#[path = "../build_support.rs"]
// This script builds a core module, not components: most helpers are the other scripts'.
#[allow(dead_code)]
mod build_support;

const FILTER_TARGET: &str = "wasm32-wasip1";

fn main() {
    let root = &build_support::workspace_root(
        2,
        &[
            "Cargo.toml",
            "Cargo.lock",
            "rust-toolchain.toml",
            "examples/proxy-wasm-filter",
            "host-tests/build_support.rs",
        ],
    );
    let target_dir = build_support::target_dir(root);
    build_support::build_for_target(root, &target_dir, FILTER_TARGET, &["proxy-wasm-filter"]);
    build_support::publish_for_target(
        &target_dir,
        FILTER_TARGET,
        "proxy_wasm_filter.wasm",
        "PROXY_WASM_FILTER",
    );
}
