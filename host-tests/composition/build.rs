//! Builds the credential, the bearer middleware and the sample app, then composes them with
//! `wac plug` exactly as the middleware's README tells users to:
//!
//! ```sh
//! wac plug bearer_middleware.wasm --plug azure_workload_identity.wasm -o bearer.wasm
//! wac plug sample_app.wasm --plug bearer.wasm -o sample_app_with_bearer.wasm
//! ```
//!
//! wac-cli: see [`build_support::wac`].

#[path = "../build_support.rs"]
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
            "examples/bearer-middleware",
            "examples/sample-app",
            "examples/spin",
            "host-tests/build_support.rs",
        ],
    );
    let target_dir = build_support::target_dir(root);
    build_support::build_components(
        root,
        &target_dir,
        &[
            "azure-workload-identity",
            "bearer-middleware",
            "sample-app",
            "spin-key-vault",
        ],
    );
    let credential = build_support::publish(
        &target_dir,
        "azure_workload_identity.wasm",
        "AZURE_WORKLOAD_IDENTITY_COMPONENT",
    );
    let middleware =
        build_support::publish(&target_dir, "bearer_middleware.wasm", "BEARER_MIDDLEWARE");
    let app = build_support::publish(&target_dir, "sample_app.wasm", "SAMPLE_APP");
    let spin_app = build_support::publish(&target_dir, "spin_key_vault.wasm", "SPIN_KEY_VAULT");

    let wac = build_support::wac(&target_dir);
    let release = build_support::release_dir(&target_dir);
    let bearer = release.join("bearer.wasm");
    build_support::plug(&wac, &middleware, &credential, &bearer);
    let composed = release.join("sample_app_with_bearer.wasm");
    build_support::plug(&wac, &app, &bearer, &composed);
    // What Spin does with the credential as a component dependency of the app.
    let spin_composed = release.join("spin_key_vault_with_credential.wasm");
    build_support::plug(&wac, &spin_app, &credential, &spin_composed);
    println!(
        "cargo:rustc-env=SPIN_APP_COMPOSITION={}",
        spin_composed.display()
    );
    println!("cargo:rustc-env=BEARER_COMPOSITION={}", bearer.display());
    println!(
        "cargo:rustc-env=SAMPLE_APP_COMPOSITION={}",
        composed.display()
    );
    println!("cargo:rustc-env=WAC_PATH={}", wac.display());
}
