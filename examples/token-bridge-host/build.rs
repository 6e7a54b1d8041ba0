//! Builds the credential and the token bridge, and composes them as the bridge's README says:
//!
//! ```sh
//! wac plug token_bridge.wasm --plug azure_workload_identity.wasm -o token_bridge_with_credential.wasm
//! ```

#[path = "../../host-tests/build_support.rs"]
mod build_support;

fn main() {
    let root = &build_support::workspace_root(
        2,
        &[
            "src",
            "wit",
            "Cargo.toml",
            "Cargo.lock",
            "rust-toolchain.toml",
            "examples/token-bridge",
            "host-tests/build_support.rs",
        ],
    );
    let target_dir = build_support::target_dir(root);
    build_support::build_components(
        root,
        &target_dir,
        &["azure-workload-identity", "token-bridge"],
    );
    let credential = build_support::publish(
        &target_dir,
        "azure_workload_identity.wasm",
        "AZURE_WORKLOAD_IDENTITY_COMPONENT",
    );
    let bridge = build_support::publish(&target_dir, "token_bridge.wasm", "TOKEN_BRIDGE");
    let composed =
        build_support::release_dir(&target_dir).join("token_bridge_with_credential.wasm");
    build_support::plug(
        &build_support::wac(&target_dir),
        &bridge,
        &credential,
        &composed,
    );
    println!(
        "cargo:rustc-env=TOKEN_BRIDGE_COMPOSITION={}",
        composed.display()
    );
}
