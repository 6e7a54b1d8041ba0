//! The WASI layer: bindings for `wit/`, the `Platform` made of WASI calls, and the
//! `azure:identity` exports. It moves bytes and time; every decision is in the core.

mod conversions;
#[cfg(not(feature = "wasi-p3"))]
mod guest;
#[cfg(feature = "wasi-p3")]
mod p3;
// What std would provide (allocator, panic handler, `cabi_realloc`) hands out raw memory and
// exports C symbols, which takes unsafe code.
mod http_common;
#[allow(unsafe_code)]
mod runtime;
#[cfg(not(feature = "wasi-p3"))]
mod wasi_platform;
#[cfg(any(feature = "keyvalue-draft2", feature = "keyvalue-draft"))]
mod wasi_store;

#[cfg(any(
    all(feature = "keyvalue-draft2", feature = "keyvalue-draft"),
    all(feature = "via-bridge", feature = "keyvalue-draft2"),
    all(feature = "via-bridge", feature = "keyvalue-draft"),
    all(
        feature = "wasi-p3",
        any(
            feature = "via-bridge",
            feature = "keyvalue-draft2",
            feature = "keyvalue-draft"
        )
    ),
))]
compile_error!(
    "build one variant at a time: via-bridge, keyvalue-draft2 (Spin), keyvalue-draft (wasmCloud) \
     or wasi-p3 (WASI 0.3)"
);

#[cfg(not(feature = "wasi-p3"))]
use bindings::{exports, wasi};
// The WASI 0.3 build's bindings, at the paths the WASI 0.2 build's have, so that `conversions`
// and `http_common` serve both.
#[cfg(feature = "wasi-p3")]
use p3::bindings;

/// The code wit-bindgen generates. `export!` expands here into `#[unsafe(export_name)]`
/// functions whose unsafe blocks lift the arguments out of linear memory, which the lint flags
/// (it does not look into `generate!`'s own output, an external macro's). The modules above use
/// only the bindings' safe API.
#[cfg(not(feature = "wasi-p3"))]
#[allow(unsafe_code)]
mod bindings {
    use super::guest::Component;

    // One world per variant: the base's, the token bridge's (no filesystem, so none of its
    // bindings, nor the code that reads the token file, exist in that component), and the two
    // wasi:keyvalue variants' (the base's imports and a store).
    #[cfg(not(any(
        feature = "via-bridge",
        feature = "keyvalue-draft2",
        feature = "keyvalue-draft"
    )))]
    wit_bindgen::generate!({
        world: "workload-identity",
        path: "wit",
        generate_all,
    });
    #[cfg(feature = "via-bridge")]
    wit_bindgen::generate!({
        world: "workload-identity-via-bridge",
        path: "wit",
        generate_all,
    });
    #[cfg(feature = "keyvalue-draft2")]
    wit_bindgen::generate!({
        world: "workload-identity-keyvalue-draft2",
        path: "wit",
        generate_all,
    });
    #[cfg(feature = "keyvalue-draft")]
    wit_bindgen::generate!({
        world: "workload-identity-keyvalue-draft",
        path: "wit",
        generate_all,
    });

    export!(Component);
}
