//! The WASI 0.3 build (feature `wasi-p3`): world `workload-identity` of `azure:identity@0.2.0`
//! (`wit-p3/`), whose get-token is an `async func`. The same core as the WASI 0.2 build; only the
//! platform (`platform`) and the exports' glue (`guest`) differ. Calls overlap on an instance:
//! each runs as its own task, and the core's flights make one token request per token.

mod guest;
mod platform;
mod within;

/// The code wit-bindgen generates, for the reason given at the WASI 0.2 build's `bindings`.
#[allow(unsafe_code)]
pub(super) mod bindings {
    use super::guest::Component;

    wit_bindgen::generate!({
        world: "workload-identity",
        path: "wit-p3",
        generate_all,
    });

    export!(Component);
}
