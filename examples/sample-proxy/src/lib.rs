//! The sample proxy (wit/world.wit): each incoming request is rebuilt for the upstream origin and
//! sent through `wasi:http/client`; the upstream's response is returned as it came, its body
//! streaming through. The request's body streams too: the incoming stream is the outgoing one.
#![no_std]

extern crate alloc;
// Natively (the workspace's builds) std gives what p3-guest-runtime gives the component.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use p3_guest_runtime as _;

/// The upstream origin, `https://host[:port]`.
const SAMPLE_PROXY_UPSTREAM: &str = "SAMPLE_PROXY_UPSTREAM";

#[allow(unsafe_code)]
mod bindings {
    use super::Proxy;

    wit_bindgen::generate!({
        world: "azure:sample-proxy/sample-proxy",
        path: ["../../wit-p3", "wit"],
        generate_all,
    });

    export!(Proxy);
}

use bindings::exports::wasi::http::handler::Guest;
use bindings::wasi::http::client;
use bindings::wasi::http::types::{ErrorCode, Request, Response, Scheme};
use bindings::wit_future;

struct Proxy;

impl Guest for Proxy {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let (scheme, authority) = upstream().map_err(internal)?;
        let method = request.get_method();
        let path = request.get_path_with_query();
        let headers = request.get_headers().clone();
        let options = request.get_options().map(|options| options.clone());
        let (taken, body_taken) = wit_future::new(|| Ok(()));
        let (body, trailers) = Request::consume_body(request, body_taken);
        let (outgoing, _transmitted) = Request::new(headers, Some(body), trailers, options);
        let refused = |part: &str| internal(format!("sample-proxy: setting the request's {part}"));
        outgoing
            .set_method(&method)
            .map_err(|()| refused("method"))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| refused("scheme"))?;
        outgoing
            .set_authority(Some(&authority))
            .map_err(|()| refused("authority"))?;
        outgoing
            .set_path_with_query(path.as_deref())
            .map_err(|()| refused("path"))?;
        let response = client::send(outgoing).await;
        drop(taken);
        response
    }
}

/// SAMPLE_PROXY_UPSTREAM's scheme and authority.
fn upstream() -> Result<(Scheme, String), String> {
    let environment = bindings::wasi::cli::environment::get_environment();
    let value = environment
        .iter()
        .find(|(name, _)| name == SAMPLE_PROXY_UPSTREAM)
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| {
            format!(
                "sample-proxy: set {SAMPLE_PROXY_UPSTREAM}, e.g. https://myvault.vault.azure.net"
            )
        })?;
    let (scheme, authority) = if let Some(rest) = value.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err(format!(
            "sample-proxy: {SAMPLE_PROXY_UPSTREAM} '{value}' is not an http(s) origin"
        ));
    };
    Ok((scheme, authority.trim_end_matches('/').to_owned()))
}

fn internal(message: String) -> ErrorCode {
    ErrorCode::InternalError(Some(message))
}
