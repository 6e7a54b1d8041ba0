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
    },
});

pub use exports::azure::identity::credential::WorkloadIdentityOptions;
pub use exports::azure::identity::types;
