//! The WASI 0.3 layer: each request sent through `wasi:http/client`, rerouted by [`Reroutes`], is
//! sent on by the host's `wasi:http/client`.

use crate::{REROUTE_VARIABLE, Reroutes};
use alloc::format;
use alloc::string::String;
use p3_guest_runtime as _;

#[allow(unsafe_code)]
mod bindings {
    use super::Reroute;

    wit_bindgen::generate!({
        world: "azure:test-reroute/reroute@0.2.0",
        path: ["../../../wit-p3", "wit-p3"],
        generate_all,
    });

    export!(Reroute);
}

use bindings::exports::wasi::http::client::Guest;
use bindings::wasi::http::client;
use bindings::wasi::http::types::{ErrorCode, Request, Response, Scheme};

struct Reroute;

impl Guest for Reroute {
    async fn send(request: Request) -> Result<Response, ErrorCode> {
        let environment = bindings::wasi::cli::environment::get_environment();
        let value = environment
            .iter()
            .find(|(name, _)| name == REROUTE_VARIABLE)
            .map(|(_, value)| value.as_str());
        let reroutes = Reroutes::parse(value).map_err(internal)?;
        let authority = request.get_authority().unwrap_or_default();
        let target = reroutes.target(&authority).ok_or_else(|| {
            internal(format!(
                "reroute-for-tests: {REROUTE_VARIABLE} names no address for '{authority}'"
            ))
        })?;
        // The request itself is sent on, its headers, body and options as the caller made them:
        // only where it goes changes.
        let refused = |part: &str| internal(format!("reroute-for-tests: setting the {part}"));
        request
            .set_scheme(Some(&Scheme::Http))
            .map_err(|()| refused("scheme"))?;
        request
            .set_authority(Some(target))
            .map_err(|()| refused("authority"))?;
        client::send(request).await
    }
}

fn internal(message: String) -> ErrorCode {
    ErrorCode::InternalError(Some(message))
}
