//! The guest artifacts of this repository, built by this crate's build script for their wasm
//! targets (release, in `target/component-build`), copied to `target/<target>/release/` where
//! the READMEs' commands look for them, and named here. Hosts and tests name a constant; nobody
//! runs a build step by hand (the model is wasmtime's `test-programs` artifacts crate).
//!
//! Each feature adds the guests one kind of host needs; the credential is always there.

/// The credential component, `azure_workload_identity.wasm`.
pub const CREDENTIAL: &str = env!("GUEST_CREDENTIAL");

/// The credential sharing its tokens through wasi:keyvalue 0.2.0-draft2 (Spin's stores):
/// `cargo build --features keyvalue-draft2`.
#[cfg(feature = "shared-cache")]
pub const CREDENTIAL_KEYVALUE_DRAFT2: &str = env!("GUEST_CREDENTIAL_KEYVALUE_DRAFT2");

/// The same through wasi:keyvalue 0.2.0-draft (wasmCloud's): `--features keyvalue-draft`.
#[cfg(feature = "shared-cache")]
pub const CREDENTIAL_KEYVALUE_DRAFT: &str = env!("GUEST_CREDENTIAL_KEYVALUE_DRAFT");

/// `wac plug spin_key_vault.wasm --plug azure_workload_identity_keyvalue_draft2.wasm`: the Spin
/// app with the credential whose cache Spin's key-value store shares.
#[cfg(all(feature = "shared-cache", feature = "compositions"))]
pub const SPIN_APP_KEYVALUE_DRAFT2: &str = env!("GUEST_SPIN_APP_KEYVALUE_DRAFT2");

/// `wac plug spin_key_vault.wasm --plug azure_workload_identity_keyvalue_draft.wasm`: the same
/// app for wasmCloud's key-value store.
#[cfg(all(feature = "shared-cache", feature = "compositions"))]
pub const SPIN_APP_KEYVALUE_DRAFT: &str = env!("GUEST_SPIN_APP_KEYVALUE_DRAFT");

/// The credential's variant that takes tokens from the token bridge (feature `via-bridge`,
/// world `workload-identity-via-bridge`), `azure_workload_identity_via_bridge.wasm`.
#[cfg(feature = "via-bridge")]
pub const CREDENTIAL_VIA_BRIDGE: &str = env!("GUEST_CREDENTIAL_VIA_BRIDGE");

/// The credential's WASI 0.3 build (feature `wasi-p3`, world `workload-identity` of
/// `azure:identity@0.2.0`, get-token async), `azure_workload_identity_wasi_p3.wasm`.
#[cfg(feature = "wasi-p3")]
pub const CREDENTIAL_WASI_P3: &str = env!("GUEST_CREDENTIAL_WASI_P3");

/// The bearer middleware's WASI 0.3 build (its feature `wasi-p3`, `azure:bearer@0.2.0`),
/// `bearer_middleware_wasi_p3.wasm`.
#[cfg(all(feature = "wasi-p3", feature = "compositions"))]
pub const BEARER_MIDDLEWARE_WASI_P3: &str = env!("GUEST_BEARER_MIDDLEWARE_WASI_P3");

/// `wac plug bearer_middleware_wasi_p3.wasm --plug azure_workload_identity_wasi_p3.wasm`.
#[cfg(all(feature = "wasi-p3", feature = "compositions"))]
pub const BEARER_COMPOSITION_WASI_P3: &str = env!("GUEST_BEARER_COMPOSITION_WASI_P3");

/// The WASI 0.3 sample proxy alone (examples/sample-proxy), `sample_proxy.wasm`.
#[cfg(all(feature = "wasi-p3", feature = "compositions"))]
pub const SAMPLE_PROXY: &str = env!("GUEST_SAMPLE_PROXY");

/// `wac plug sample_proxy.wasm --plug bearer_wasi_p3.wasm`: the proxy with the WASI 0.3 bearer
/// middleware and credential in front of its outgoing HTTP.
#[cfg(all(feature = "wasi-p3", feature = "compositions"))]
pub const SAMPLE_PROXY_COMPOSITION: &str = env!("GUEST_SAMPLE_PROXY_COMPOSITION");

/// TEST ONLY: `wac plug sample_proxy_with_bearer.wasm --plug reroute_for_tests_wasi_p3.wasm`, the
/// WASI 0.3 sample proxy's composition whose outgoing requests (the proxy's, through the
/// middleware, and the credential's) go to the loopback addresses `TEST_ONLY_HTTP_REROUTE` names,
/// over plain http. For the `wasmtime serve` tests; never shipped.
#[cfg(all(feature = "test-reroute", feature = "wasi-p3"))]
pub const SAMPLE_PROXY_REROUTED_FOR_TESTS: &str = env!("GUEST_SAMPLE_PROXY_REROUTED_FOR_TESTS");

/// The benchmark's floor: the credential's WIT with the work removed.
#[cfg(feature = "floor")]
pub const BENCH_FLOOR: &str = env!("GUEST_BENCH_FLOOR");

/// The sample app alone, as built.
#[cfg(feature = "compositions")]
pub const SAMPLE_APP: &str = env!("GUEST_SAMPLE_APP");

/// `wac plug bearer_middleware.wasm --plug azure_workload_identity.wasm -o bearer.wasm`.
#[cfg(feature = "compositions")]
pub const BEARER_COMPOSITION: &str = env!("GUEST_BEARER_COMPOSITION");

/// `wac plug sample_app.wasm --plug bearer.wasm -o sample_app_with_bearer.wasm`.
#[cfg(feature = "compositions")]
pub const SAMPLE_APP_COMPOSITION: &str = env!("GUEST_SAMPLE_APP_COMPOSITION");

/// The Spin app alone, as built: what `wash dev` links the credential into itself.
#[cfg(feature = "compositions")]
pub const SPIN_APP: &str = env!("GUEST_SPIN_KEY_VAULT");

/// `wac plug spin_key_vault.wasm --plug azure_workload_identity.wasm`: what Spin makes of the
/// example app and its component dependency.
#[cfg(feature = "compositions")]
pub const SPIN_APP_COMPOSITION: &str = env!("GUEST_SPIN_APP_COMPOSITION");

/// `wac plug spin_key_vault.wasm --plug azure_workload_identity_via_bridge.wasm`: the Spin app
/// with the variant that takes tokens from the token bridge.
#[cfg(all(feature = "compositions", feature = "via-bridge"))]
pub const SPIN_APP_VIA_BRIDGE: &str = env!("GUEST_SPIN_APP_VIA_BRIDGE");

/// TEST ONLY: `wac plug spin_key_vault_via_bridge.wasm --plug reroute_for_tests.wasm`, for the
/// `wasmtime serve` test of the bridge variant (only the vault's requests are rerouted; the bridge
/// is plain http on loopback already). Never shipped.
#[cfg(all(feature = "test-reroute", feature = "via-bridge"))]
pub const SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS: &str =
    env!("GUEST_SPIN_APP_VIA_BRIDGE_REROUTED_FOR_TESTS");

/// TEST ONLY: `wac plug spin_key_vault_with_credential.wasm --plug reroute_for_tests.wasm`, the
/// Spin composition whose outgoing requests go to the loopback addresses
/// `TEST_ONLY_HTTP_REROUTE` names, over plain http. For the `wasmtime serve` test; never shipped.
#[cfg(feature = "test-reroute")]
pub const SPIN_APP_REROUTED_FOR_TESTS: &str = env!("GUEST_SPIN_APP_REROUTED_FOR_TESTS");

/// `wac plug token_bridge.wasm --plug azure_workload_identity.wasm -o
/// token_bridge_with_credential.wasm`, as a path.
#[cfg(feature = "token-bridge")]
pub const TOKEN_BRIDGE_COMPOSITION: &str = env!("GUEST_TOKEN_BRIDGE_COMPOSITION");

/// The same composition's bytes, so that a binary carrying them runs from any directory.
#[cfg(feature = "token-bridge")]
pub static TOKEN_BRIDGE_COMPOSITION_BYTES: &[u8] =
    include_bytes!(env!("GUEST_TOKEN_BRIDGE_COMPOSITION"));

/// The Envoy filter as Envoy loads it: a core module for wasm32-wasip1.
#[cfg(feature = "envoy-filter")]
pub const ENVOY_FILTER: &str = env!("GUEST_ENVOY_FILTER");
