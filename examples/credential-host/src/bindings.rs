//! The credential's world, `azure:identity/workload-identity`, as wasmtime's bindgen makes it.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "workload-identity",
    // The wasi:* imports are linked by wasmtime-wasi and wasmtime-wasi-http, whose state is Send.
    require_store_data_send: true,
    additional_derives: [PartialEq, Eq],
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

pub use exports::azure::identity::credential::WorkloadIdentityOptions;
pub use exports::azure::identity::types;
