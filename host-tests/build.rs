//! Builds the credential component and the benchmark's floor for wasm32-wasip2 before the hosts
//! compile.

#[path = "build_support.rs"]
// This script builds components but composes none: the `wac` helpers are the other scripts'.
#[allow(dead_code)]
mod build_support;

fn main() {
    let root = &build_support::workspace_root(
        1,
        &[
            "src",
            "wit",
            "Cargo.toml",
            "Cargo.lock",
            "rust-toolchain.toml",
            "host-tests/floor",
            "host-tests/build_support.rs",
        ],
    );
    let target_dir = build_support::target_dir(root);
    build_support::build_components(
        root,
        &target_dir,
        &["azure-workload-identity", "bench-floor"],
    );
    build_support::publish(
        &target_dir,
        "azure_workload_identity.wasm",
        "AZURE_WORKLOAD_IDENTITY_COMPONENT",
    );
    // The benchmark's floor (`floor/`): the same WIT with the work removed.
    build_support::publish(&target_dir, "bench_floor.wasm", "BENCH_FLOOR_COMPONENT");
}
