//! The WASI layer: each outgoing request, rerouted by [`Reroutes`], is sent on by the host.

use crate::{REROUTE_VARIABLE, Reroutes};
use std::format;
use std::string::String;

wit_bindgen::generate!({
    world: "azure:test-reroute/reroute",
    path: ["../../../wit", "wit"],
    generate_all,
});

use exports::wasi::http::outgoing_handler::Guest;
use wasi::http::outgoing_handler::handle as send;
use wasi::http::types::{
    ErrorCode, FutureIncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};

struct Reroute;

impl Guest for Reroute {
    fn handle(
        request: OutgoingRequest,
        options: Option<RequestOptions>,
    ) -> Result<FutureIncomingResponse, ErrorCode> {
        let reroutes =
            Reroutes::parse(std::env::var(REROUTE_VARIABLE).ok().as_deref()).map_err(internal)?;
        let authority = request.authority().unwrap_or_default();
        let target = reroutes.target(&authority).ok_or_else(|| {
            internal(format!(
                "reroute-for-tests: {REROUTE_VARIABLE} names no address for '{authority}'"
            ))
        })?;
        // The request itself is sent on, its headers, body and timeouts as the caller made them:
        // only where it goes changes.
        let refused = |part: &str| internal(format!("reroute-for-tests: setting the {part}"));
        request
            .set_scheme(Some(&Scheme::Http))
            .map_err(|()| refused("scheme"))?;
        request
            .set_authority(Some(target))
            .map_err(|()| refused("authority"))?;
        send(request, options)
    }
}

fn internal(message: String) -> ErrorCode {
    ErrorCode::InternalError(Some(message))
}

export!(Reroute);
