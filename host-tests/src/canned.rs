//! The benchmark's in-process token endpoint: every request gets the same token response, at
//! once or after a set delay, and is counted. It does as little as it can, so that what is
//! measured is the component's work (the fake Entra checks every request, which costs more).

use bytes::Bytes;
use credential_host::ResponseFuture;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wasmtime_wasi_http::WasiBody;

#[derive(Clone)]
pub struct CannedEndpoint {
    body: Bytes,
    delay: Duration,
    requests: Arc<AtomicUsize>,
}

impl CannedEndpoint {
    /// Answers `{"token_type":"Bearer","expires_in":…,"access_token":token}`.
    pub fn new(token: &str, expires_in: u64) -> CannedEndpoint {
        let body = format!(
            r#"{{"token_type":"Bearer","expires_in":{expires_in},"ext_expires_in":{expires_in},"access_token":"{token}"}}"#
        );
        CannedEndpoint {
            body: Bytes::from(body),
            delay: Duration::ZERO,
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The same endpoint, answering each request `delay` late.
    pub fn slow(mut self, delay: Duration) -> CannedEndpoint {
        self.delay = delay;
        self
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn answer(&self, request: http::Request<WasiBody>) -> ResponseFuture {
        let endpoint = self.clone();
        Box::new(async move {
            // Read like a server would, so the component's body write completes.
            request.into_body().collect().await?;
            endpoint.requests.fetch_add(1, Ordering::SeqCst);
            if !endpoint.delay.is_zero() {
                std::thread::sleep(endpoint.delay);
            }
            let response = http::Response::builder()
                .status(200)
                .header("content-type", "application/json; charset=utf-8")
                .body(
                    Full::new(endpoint.body.clone())
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .expect("a valid canned response");
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
