//! The WASI 0.3 credential's world, `azure:identity@0.2.0/workload-identity` (wit-p3/), as
//! wasmtime's bindgen makes it.

wasmtime::component::bindgen!({
    path: "../wit-p3",
    world: "workload-identity",
    // The wasi:* imports are linked by wasmtime-wasi and wasmtime-wasi-http, whose state is Send.
    require_store_data_send: true,
    additional_derives: [PartialEq, Eq],
    // `async` on every export: a store whose linker holds async host functions (p3's are)
    // accepts only async calls. The WIT's `async func`s (get-token) are `async | store` by
    // default: they take an `Accessor`, so several can run at once inside `run_concurrent`.
    exports: { default: async },
    with: {
        "wasi": wasmtime_wasi::p3::bindings,
        "wasi:http": wasmtime_wasi_http::p3::bindings::http,
        // 0.2.0's `types` is 0.1.0's restated, and component types are structural, so the
        // WASI 0.2 world's Rust types serve both: tests and helpers take and return one type.
        "azure:identity/types": crate::embedding_p3::bindings::wasi_0_2_types,
    },
});

/// The WASI 0.2 world's `azure:identity/types`, which the 0.3 world's calls use.
pub mod wasi_0_2_types {
    pub use credential_host::{AccessToken, CredentialError, TokenRequestOptions};
}

pub use exports::azure::identity::credential::WorkloadIdentityOptions;

/// The 0.3 world restates the 0.2 world's options field by field: a test written with the 0.2
/// world's options configures either build.
impl From<&credential_host::WorkloadIdentityOptions> for WorkloadIdentityOptions {
    fn from(options: &credential_host::WorkloadIdentityOptions) -> WorkloadIdentityOptions {
        let credential_host::WorkloadIdentityOptions {
            tenant_id,
            client_id,
            token_file_path,
            authority_host,
            additionally_allowed_tenants,
        } = options.clone();
        WorkloadIdentityOptions {
            tenant_id,
            client_id,
            token_file_path,
            authority_host,
            additionally_allowed_tenants,
        }
    }
}
