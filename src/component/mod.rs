//! The WASI layer: bindings for `wit/`, the [`Platform`](crate::platform::Platform) made of WASI
//! calls, and the `azure:identity` exports. It moves bytes and time; every decision is in the core.

mod guest;
mod runtime;

use guest::Component;
mod wasi_platform;

wit_bindgen::generate!({
    world: "workload-identity",
    path: "wit",
    generate_all,
});

export!(Component);
