//! The proxy-wasm layer: Envoy's callbacks into the [`Worker`], and the [`Host`] it needs as
//! proxy-wasm host calls.

use crate::callout::CalloutAnswer;
use crate::config::Config;
use crate::worker::{Host, RequestAction, RequestHeaders, Worker};
use core::cell::RefCell;
use core::time::Duration;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, Status};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(Root { context_id, worker: None })
    });
}}

/// One per plugin configuration and worker thread; its HTTP contexts share its [`Worker`].
struct Root {
    context_id: u32,
    worker: Option<Rc<RefCell<Worker>>>,
}

/// The host calls, made on behalf of the context Envoy called into.
struct ProxyHost {
    current_context: u32,
}

impl ProxyHost {
    /// Acting for another (paused) request, then back to the current one. A request that has
    /// ended in the meantime is no longer there to act for.
    fn for_context(&self, context_id: u32, act: impl FnOnce() -> Result<(), Status>) {
        if hostcalls::set_effective_context(context_id).is_ok() {
            let _ = act();
        }
        let _ = hostcalls::set_effective_context(self.current_context);
    }
}

impl Host for ProxyHost {
    fn now_nanos(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|now| now.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            })
    }

    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }

    fn dispatch(
        &mut self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, String> {
        hostcalls::dispatch_http_call(cluster, headers.to_vec(), None, Vec::new(), timeout)
            .map_err(|status| format!("{status:?}"))
    }

    fn resume_with(&mut self, context_id: u32, authorization: &str) {
        self.for_context(context_id, || {
            set_authorization(authorization)?;
            hostcalls::resume_http_request()
        });
    }

    fn refuse(&mut self, context_id: u32, message: &str) {
        self.for_context(context_id, || answer_locally(503, message));
    }

    fn warn(&mut self, message: &str) {
        let _ = hostcalls::log(LogLevel::Warn, message);
    }
}

/// Replaces, not adds: a request may carry an empty `Authorization`, which the token takes the
/// place of (two headers would leave the upstream to pick one).
fn set_authorization(authorization: &str) -> Result<(), Status> {
    hostcalls::set_map_value(
        MapType::HttpRequestHeaders,
        "authorization",
        Some(authorization),
    )
}

/// Answers the current request with `status` and `message` as its body.
fn answer_locally(status: u32, message: &str) -> Result<(), Status> {
    let body = format!("{message}\n");
    hostcalls::send_http_response(
        status,
        vec![("content-type", "text/plain; charset=utf-8")],
        Some(body.as_bytes()),
    )
}

/// A request header as bytes: the SDK's text getter traps on a value that is not UTF-8, which
/// any client may send.
fn request_header(name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
}

/// The answer of the callout `token_id`, from whichever context made it, to the worker. With no
/// headers there was no answer (Envoy reports a reset so), and then there is no header map to
/// read: asking for one would fail with a status the SDK turns into a trap.
fn fetch_answered(
    worker: &RefCell<Worker>,
    current_context: u32,
    token_id: u32,
    header_count: usize,
    body_size: usize,
) {
    let mut host = ProxyHost { current_context };
    if header_count == 0 {
        worker
            .borrow_mut()
            .on_fetch_answer(&mut host, token_id, CalloutAnswer::Reset);
        return;
    }
    let header = |name| {
        hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name)
            .ok()
            .flatten()
    };
    let status =
        header(":status").and_then(|status| core::str::from_utf8(&status).ok()?.parse().ok());
    let content_type = header("content-type");
    let body = hostcalls::get_buffer(
        proxy_wasm::types::BufferType::HttpCallResponseBody,
        0,
        body_size,
    )
    .ok()
    .flatten()
    .unwrap_or_default();
    let answer = CalloutAnswer::Http {
        status,
        content_type: content_type.as_deref(),
        body: &body,
    };
    worker
        .borrow_mut()
        .on_fetch_answer(&mut host, token_id, answer);
}

impl Context for Root {
    fn on_http_call_response(&mut self, token_id: u32, headers: usize, body: usize, _: usize) {
        if let Some(worker) = &self.worker {
            fetch_answered(worker, self.context_id, token_id, headers, body);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _: usize) -> bool {
        let configuration = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&configuration) {
            Ok(config) => {
                let tick = config.tick;
                let worker = Worker::new(config);
                worker.on_configure(&mut ProxyHost {
                    current_context: self.context_id,
                });
                self.worker = Some(Rc::new(RefCell::new(worker)));
                self.set_tick_period(tick);
                true
            }
            Err(problem) => {
                // Envoy refuses the configuration and logs this.
                let _ = hostcalls::log(LogLevel::Error, &problem);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(worker) = &self.worker {
            let mut host = ProxyHost {
                current_context: self.context_id,
            };
            worker.borrow_mut().on_tick(&mut host);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let worker = self.worker.clone()?;
        Some(Box::new(Request { context_id, worker }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Request {
    context_id: u32,
    worker: Rc<RefCell<Worker>>,
}

impl Context for Request {
    fn on_http_call_response(&mut self, token_id: u32, headers: usize, body: usize, _: usize) {
        fetch_answered(&self.worker, self.context_id, token_id, headers, body);
    }

    fn on_done(&mut self) -> bool {
        // Busy means this runs inside the worker's own resume or refusal of this request, which
        // has already taken it off the waiting list.
        if let Ok(mut worker) = self.worker.try_borrow_mut() {
            worker.on_request_done(self.context_id);
        }
        true
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let authority = request_header(":authority");
        let authorization = request_header("authorization");
        let request = RequestHeaders {
            authority: authority.as_deref(),
            authorization: authorization.as_deref(),
        };
        let mut host = ProxyHost {
            current_context: self.context_id,
        };
        let action = self
            .worker
            .borrow_mut()
            .on_request(&mut host, self.context_id, request);
        match action {
            RequestAction::Continue => Action::Continue,
            RequestAction::Authorize(authorization) => {
                let _ = set_authorization(authorization.expose());
                Action::Continue
            }
            RequestAction::Wait => Action::Pause,
            RequestAction::Refuse(message) => {
                let _ = answer_locally(503, &message);
                Action::Pause
            }
            RequestAction::Forbid(message) => {
                let _ = answer_locally(403, &message);
                Action::Pause
            }
        }
    }
}
