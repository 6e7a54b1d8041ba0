//! Builds every guest the enabled features ask for, in release, with the cargo running this
//! script, then composes them with `wac plug` exactly as the READMEs tell users to:
//!
//! ```sh
//! wac plug bearer_middleware.wasm --plug azure_workload_identity.wasm -o bearer.wasm
//! wac plug sample_app.wasm --plug bearer.wasm -o sample_app_with_bearer.wasm
//! wac plug spin_key_vault.wasm --plug azure_workload_identity.wasm -o spin_key_vault_with_credential.wasm
//! wac plug spin_key_vault.wasm --plug azure_workload_identity_via_bridge.wasm -o spin_key_vault_via_bridge.wasm
//! wac plug token_bridge.wasm --plug azure_workload_identity.wasm -o token_bridge_with_credential.wasm
//! ```
//!
//! the credential's wasi:keyvalue variants (feature `shared-cache`), each a build of the root crate
//! with its feature, and the Spin app with each:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 --features keyvalue-draft2   # and keyvalue-draft
//! wac plug spin_key_vault.wasm --plug azure_workload_identity_keyvalue_draft2.wasm -o spin_key_vault_keyvalue_draft2.wasm
//! ```
//!
//! the WASI 0.3 builds (feature `wasi-p3`): the credential and, with `compositions`, the bearer
//! middleware (each package's feature `wasi-p3`) and the sample proxy composed with both:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 -p azure-workload-identity -p bearer-middleware --features wasi-p3
//! wac plug bearer_middleware_wasi_p3.wasm --plug azure_workload_identity_wasi_p3.wasm -o bearer_wasi_p3.wasm
//! wac plug sample_proxy.wasm --plug bearer_wasi_p3.wasm -o sample_proxy_with_bearer.wasm
//! ```
//!
//! and, for the `wasmtime serve` test only (feature `test-reroute`), the Spin composition with
//! the test-only reroute in front:
//!
//! ```sh
//! wac plug spin_key_vault_with_credential.wasm --plug reroute_for_tests.wasm -o spin_key_vault_rerouted_for_tests.wasm
//! wac plug spin_key_vault_via_bridge.wasm --plug reroute_for_tests.wasm -o spin_key_vault_via_bridge_rerouted_for_tests.wasm
//! ```
//!
//! and, with `wasi-p3` too, the reroute's WASI 0.3 edition (its feature `wasi-p3`, in the same
//! cargo run as the WASI 0.3 credential and middleware) in front of the sample proxy's composition:
//!
//! ```sh
//! wac plug sample_proxy_with_bearer.wasm --plug reroute_for_tests_wasi_p3.wasm -o sample_proxy_rerouted_for_tests.wasm
//! ```
//!
//! This is the one place guests are built; hosts and tests name the constants of `src/lib.rs`.

mod guests;
mod wac;

use guests::{
    Built, COMPONENT_TARGET, CREDENTIAL_FILE, CREDENTIAL_PACKAGE, FILTER_TARGET, Workspace,
};

fn main() {
    let floor = feature("FLOOR");
    let via_bridge = feature("VIA_BRIDGE");
    let compositions = feature("COMPOSITIONS");
    let token_bridge = feature("TOKEN_BRIDGE");
    let envoy_filter = feature("ENVOY_FILTER");
    // Implies `compositions` (Cargo.toml): it is composed onto the Spin composition.
    let test_reroute = feature("TEST_REROUTE");
    let shared_cache = feature("SHARED_CACHE");
    let wasi_p3 = feature("WASI_P3");

    let mut inputs = vec![
        "src",
        "wit",
        "wit-p3",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        // The secrets' `Debug` wrapper: the credential, the bridge and the filter all use it.
        "examples/redacted",
        "examples/guest-artifacts/build.rs",
        "examples/guest-artifacts/guests.rs",
        "examples/guest-artifacts/wac.rs",
    ];
    let mut components = vec![CREDENTIAL_PACKAGE];
    if floor {
        inputs.push("host-tests/floor");
        components.push("bench-floor");
    }
    if compositions || token_bridge {
        // The std guests' shared blocking wasi:http.
        inputs.push("examples/wasi-http-blocking");
    }
    if compositions {
        inputs.extend([
            "examples/bearer-middleware",
            "examples/sample-app",
            "examples/spin",
        ]);
        components.extend(["bearer-middleware", "sample-app", "spin-key-vault"]);
    }
    if compositions && wasi_p3 {
        inputs.extend(["examples/p3-guest-runtime", "examples/sample-proxy"]);
        components.push("sample-proxy");
    }
    if test_reroute {
        inputs.push("host-tests/real-hosts/reroute");
        components.push("reroute-for-tests");
    }
    if token_bridge {
        inputs.push("examples/token-bridge");
        components.push("token-bridge");
    }
    if envoy_filter {
        inputs.push("examples/proxy-wasm-filter");
    }
    let workspace = Workspace::locate(&inputs);

    // One cargo run for every component: the shared dependencies are built once.
    workspace.build(COMPONENT_TARGET, &components);
    let credential = workspace.publish(COMPONENT_TARGET, CREDENTIAL_FILE, "GUEST_CREDENTIAL");
    // The variant that takes tokens from the token bridge: a second cargo run of the credential.
    let via_bridge = via_bridge.then(|| {
        workspace.build_variant(
            "via-bridge",
            "azure_workload_identity_via_bridge.wasm",
            "GUEST_CREDENTIAL_VIA_BRIDGE",
        )
    });
    if wasi_p3 {
        let credential = Built {
            package: CREDENTIAL_PACKAGE,
            file: CREDENTIAL_FILE,
            published_name: "azure_workload_identity_wasi_p3.wasm",
            variable: "GUEST_CREDENTIAL_WASI_P3",
        };
        let middleware = Built {
            package: "bearer-middleware",
            file: "bearer_middleware.wasm",
            published_name: "bearer_middleware_wasi_p3.wasm",
            variable: "GUEST_BEARER_MIDDLEWARE_WASI_P3",
        };
        if compositions {
            let mut builds = vec![credential, middleware];
            if test_reroute {
                builds.push(Built {
                    package: "reroute-for-tests",
                    file: "reroute_for_tests.wasm",
                    published_name: "reroute_for_tests_wasi_p3.wasm",
                    variable: "GUEST_REROUTE_FOR_TESTS_WASI_P3",
                });
            }
            let built = workspace.build_variants("wasi-p3", &builds);
            let (credential, middleware) = (&built[0], &built[1]);
            let wac = wac::installed(&workspace);
            let composed = |name: &str| workspace.release_dir(COMPONENT_TARGET).join(name);
            let proxy =
                workspace.publish(COMPONENT_TARGET, "sample_proxy.wasm", "GUEST_SAMPLE_PROXY");
            let bearer = composed("bearer_wasi_p3.wasm");
            wac::plug(&wac, middleware, credential, &bearer);
            let proxy_with_bearer = composed("sample_proxy_with_bearer.wasm");
            wac::plug(&wac, &proxy, &bearer, &proxy_with_bearer);
            name("GUEST_BEARER_COMPOSITION_WASI_P3", &bearer);
            name("GUEST_SAMPLE_PROXY_COMPOSITION", &proxy_with_bearer);
            if let Some(reroute) = built.get(2) {
                let rerouted = composed("sample_proxy_rerouted_for_tests.wasm");
                wac::plug(&wac, &proxy_with_bearer, reroute, &rerouted);
                name("GUEST_SAMPLE_PROXY_REROUTED_FOR_TESTS", &rerouted);
            }
        } else {
            workspace.build_variants("wasi-p3", &[credential]);
        }
    }
    if floor {
        workspace.publish(COMPONENT_TARGET, "bench_floor.wasm", "GUEST_BENCH_FLOOR");
    }
    if compositions || token_bridge {
        let wac = wac::installed(&workspace);
        let composed = |name: &str| workspace.release_dir(COMPONENT_TARGET).join(name);
        if compositions {
            let middleware = workspace.publish(
                COMPONENT_TARGET,
                "bearer_middleware.wasm",
                "GUEST_BEARER_MIDDLEWARE",
            );
            let app = workspace.publish(COMPONENT_TARGET, "sample_app.wasm", "GUEST_SAMPLE_APP");
            let spin_app = workspace.publish(
                COMPONENT_TARGET,
                "spin_key_vault.wasm",
                "GUEST_SPIN_KEY_VAULT",
            );
            let bearer = composed("bearer.wasm");
            wac::plug(&wac, &middleware, &credential, &bearer);
            let app_with_bearer = composed("sample_app_with_bearer.wasm");
            wac::plug(&wac, &app, &bearer, &app_with_bearer);
            // What Spin does with the credential as a component dependency of the app.
            let spin_composed = composed("spin_key_vault_with_credential.wasm");
            wac::plug(&wac, &spin_app, &credential, &spin_composed);
            name("GUEST_BEARER_COMPOSITION", &bearer);
            name("GUEST_SAMPLE_APP_COMPOSITION", &app_with_bearer);
            name("GUEST_SPIN_APP_COMPOSITION", &spin_composed);
            let spin_via_bridge = via_bridge.as_ref().map(|via_bridge| {
                let spin_via_bridge = composed("spin_key_vault_via_bridge.wasm");
                wac::plug(&wac, &spin_app, via_bridge, &spin_via_bridge);
                name("GUEST_SPIN_APP_VIA_BRIDGE", &spin_via_bridge);
                spin_via_bridge
            });
            if test_reroute {
                let reroute = workspace.publish(
                    COMPONENT_TARGET,
                    "reroute_for_tests.wasm",
                    "GUEST_REROUTE_FOR_TESTS",
                );
                let rerouted = composed("spin_key_vault_rerouted_for_tests.wasm");
                wac::plug(&wac, &spin_composed, &reroute, &rerouted);
                name("GUEST_SPIN_APP_REROUTED_FOR_TESTS", &rerouted);
                if let Some(spin_via_bridge) = &spin_via_bridge {
                    let rerouted_via_bridge =
                        composed("spin_key_vault_via_bridge_rerouted_for_tests.wasm");
                    wac::plug(&wac, spin_via_bridge, &reroute, &rerouted_via_bridge);
                    name(
                        "GUEST_SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS",
                        &rerouted_via_bridge,
                    );
                }
            }
        }
        if token_bridge {
            let bridge =
                workspace.publish(COMPONENT_TARGET, "token_bridge.wasm", "GUEST_TOKEN_BRIDGE");
            let bridge_composed = composed("token_bridge_with_credential.wasm");
            wac::plug(&wac, &bridge, &credential, &bridge_composed);
            name("GUEST_TOKEN_BRIDGE_COMPOSITION", &bridge_composed);
        }
    }
    if shared_cache {
        // Each variant builds in a target dir of its own (`build_variant`).
        let draft2 = workspace.build_variant(
            "keyvalue-draft2",
            "azure_workload_identity_keyvalue_draft2.wasm",
            "GUEST_CREDENTIAL_KEYVALUE_DRAFT2",
        );
        let draft = workspace.build_variant(
            "keyvalue-draft",
            "azure_workload_identity_keyvalue_draft.wasm",
            "GUEST_CREDENTIAL_KEYVALUE_DRAFT",
        );
        if compositions {
            let wac = wac::installed(&workspace);
            let spin_app = workspace
                .release_dir(COMPONENT_TARGET)
                .join("spin_key_vault.wasm");
            for (variant, file, variable) in [
                (
                    &draft2,
                    "spin_key_vault_keyvalue_draft2.wasm",
                    "GUEST_SPIN_APP_KEYVALUE_DRAFT2",
                ),
                (
                    &draft,
                    "spin_key_vault_keyvalue_draft.wasm",
                    "GUEST_SPIN_APP_KEYVALUE_DRAFT",
                ),
            ] {
                let composed = workspace.release_dir(COMPONENT_TARGET).join(file);
                wac::plug(&wac, &spin_app, variant, &composed);
                name(variable, &composed);
            }
        }
    }
    if envoy_filter {
        workspace.build(FILTER_TARGET, &["proxy-wasm-filter"]);
        workspace.publish(
            FILTER_TARGET,
            "proxy_wasm_filter.wasm",
            "GUEST_ENVOY_FILTER",
        );
    }
}

/// Whether this crate's feature `name` (upper case, `_` for `-`) is on.
fn feature(name: &str) -> bool {
    std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some()
}

/// Hands `path` to the crate as the environment variable `variable`.
fn name(variable: &str, path: &std::path::Path) {
    println!("cargo:rustc-env={variable}={}", path.display());
}
