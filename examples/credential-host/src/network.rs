//! Sending a guest's wasi:http request over the network, as a host without hooks would.

use wasmtime_wasi_http::{RequestOptions, WasiBody};

/// What a wasi:http send hook resolves to: the response, and a future reporting body errors.
pub type SentResponse = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
);

/// What a wasi:http send hook returns.
pub type ResponseFuture = Box<dyn Future<Output = wasmtime_wasi_http::Result<SentResponse>> + Send>;

/// Sends the request with wasmtime-wasi-http's own client (its TLS trusts the public roots).
pub fn send_over_network(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> ResponseFuture {
    Box::new(async move {
        use http_body_util::BodyExt;
        let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
        Ok((
            response.map(BodyExt::boxed_unsync),
            Box::new(io) as Box<dyn Future<Output = _> + Send>,
        ))
    })
}
