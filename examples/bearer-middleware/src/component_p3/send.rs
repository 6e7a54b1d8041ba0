//! Sending a request that gets a token: rebuilt with the header, its body pumped through with a
//! copy kept, and a claims challenge answered by sending it once more.

use crate::prelude::*;

use super::bindings::wasi::clocks::monotonic_clock;
use super::bindings::wasi::http::client;
use super::bindings::wasi::http::types::{
    ErrorCode, Fields, Method, Request, RequestOptions, Response, Scheme, Trailers,
};
use super::bindings::{wit_future, wit_stream};
use super::{authorization, internal};
use crate::replay::{Answer, BodyCopy, NOT_ANSWERED_HEADER, answer};
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use wit_bindgen::{FutureReader, FutureWriter, StreamReader, StreamResult, StreamWriter};

/// How long, once a challenge came, the middleware waits for the app to finish writing the body it
/// is to send again. An app writes its body as the host takes it; one that has not finished after
/// this is not coming back soon, and its 401 is returned.
const BODY_END_BOUND_NANOS: u64 = 10_000_000_000;

/// Each read of the app's body asks for at most this much.
const CHUNK_BYTES: usize = 16 * 1024;

type Pump = Pin<Box<dyn Future<Output = ()>>>;
type TrailersFuture = FutureReader<Result<Option<Trailers>, ErrorCode>>;

/// Sends `request` with `authorization`; a claims challenge for `scope` is answered once.
pub async fn authorized(
    request: Request,
    scope: &str,
    authorization_value: String,
) -> Result<Response, ErrorCode> {
    let parts = Parts::of(&request);
    // Reports to the app how the body went: the default (`Ok`) when the pump drops it.
    let (body_taken, taken) = wit_future::new(|| Ok(()));
    let (app_body, app_trailers) = Request::consume_body(request, taken);
    let copy = Rc::new(RefCell::new(BodyCopy::default()));
    let (to_host, host_body) = wit_stream::new::<u8>();
    // A pump dropped before the app's body ended leaves the host a body that did not end well.
    let (trailers_to_host, host_trailers) = wit_future::new(|| {
        Err(ErrorCode::InternalError(Some(
            "bearer-middleware: the request body was not finished".to_owned(),
        )))
    });
    let from_app = AppBody {
        contents: app_body,
        trailers: app_trailers,
    };
    let to_host = HostBody {
        contents: to_host,
        trailers: trailers_to_host,
    };
    let kept_trailers = Rc::new(RefCell::new(None));
    let kept = Kept {
        body: copy.clone(),
        trailers: kept_trailers.clone(),
    };
    let pump: Pump = Box::pin(pump(from_app, to_host, kept, body_taken));
    let first = parts.request(&authorization_value, host_body, host_trailers)?;
    let (response, pump) = send_while(client::send(first), Some(pump)).await;
    let response = response?;
    let claims = match answer(
        response.get_status_code(),
        &www_authenticate(&response),
        false,
    ) {
        Answer::Return => return Ok(finish_later(response, pump)),
        Answer::ReturnUnanswered(reason) => {
            return unanswered(finish_later(response, pump), &reason);
        }
        Answer::SendAgain { claims } => claims,
    };
    // The rest of the body, for the copy: the resource may have answered before reading it.
    if let Some(pump) = pump {
        let deadline = monotonic_clock::now().saturating_add(BODY_END_BOUND_NANOS);
        let _ = by_deadline(deadline, pump).await;
    }
    let body = match copy.borrow().whole() {
        Ok(body) => body.to_vec(),
        Err(reason) => return unanswered(response, reason),
    };
    let answering = match authorization(scope, Some(claims)).await {
        Ok(value) => value,
        Err(message) => return unanswered(response, &message),
    };
    drop(response);
    let (mut to_host, host_body) = wit_stream::new::<u8>();
    let (to_host_trailers, trailers) = wit_future::new(|| Ok(None));
    let second = parts.request(&answering, host_body, trailers)?;
    let trailers = kept_trailers.borrow_mut().take();
    let write: Pump = Box::pin(async move {
        to_host.write_all(body).await;
        drop(to_host);
        let _ = to_host_trailers.write(Ok(trailers)).await;
    });
    let (response, write) = send_while(client::send(second), Some(write)).await;
    let response = finish_later(response?, write);
    match answer(
        response.get_status_code(),
        &www_authenticate(&response),
        true,
    ) {
        Answer::ReturnUnanswered(reason) => unanswered(response, &reason),
        Answer::Return | Answer::SendAgain { .. } => Ok(response),
    }
}

/// What a request is made of besides its body, kept to build it (twice, for a challenge).
struct Parts {
    method: Method,
    scheme: Option<Scheme>,
    authority: Option<String>,
    path: Option<String>,
    headers: Fields,
    options: Option<RequestOptions>,
}

impl Parts {
    fn of(request: &Request) -> Parts {
        // The headers and options are children of the request: copied, then dropped (here)
        // before the request is consumed.
        Parts {
            method: request.get_method(),
            scheme: request.get_scheme(),
            authority: request.get_authority(),
            path: request.get_path_with_query(),
            headers: request.get_headers().clone(),
            options: request.get_options().map(|options| options.clone()),
        }
    }

    /// The request with `authorization` set, its body `body`.
    fn request(
        &self,
        authorization: &str,
        body: StreamReader<u8>,
        trailers: TrailersFuture,
    ) -> Result<Request, ErrorCode> {
        let headers = self.headers.clone();
        headers
            .set("authorization", &[authorization.as_bytes().to_vec()])
            .map_err(|_| internal("bearer-middleware: adding the header".to_owned()))?;
        let options = self.options.as_ref().map(|options| options.clone());
        let (request, _transmitted) = Request::new(headers, Some(body), trailers, options);
        let refused =
            |part: &str| internal(format!("bearer-middleware: copying the request's {part}"));
        request
            .set_method(&self.method)
            .map_err(|()| refused("method"))?;
        // Decided for https: a request that named no scheme goes out over https, whatever the
        // host's default.
        request
            .set_scheme(Some(self.scheme.as_ref().unwrap_or(&Scheme::Https)))
            .map_err(|()| refused("scheme"))?;
        request
            .set_authority(self.authority.as_deref())
            .map_err(|()| refused("authority"))?;
        request
            .set_path_with_query(self.path.as_deref())
            .map_err(|()| refused("path"))?;
        Ok(request)
    }
}

/// The body of the app's request, as `consume-body` hands it over.
struct AppBody {
    contents: StreamReader<u8>,
    /// How the body ended: its trailers, or the error that cut it off.
    trailers: TrailersFuture,
}

/// What the pump keeps of the app's body to send it again.
struct Kept {
    body: Rc<RefCell<BodyCopy>>,
    /// A copy of the body's trailers, once it ended with some.
    trailers: Rc<RefCell<Option<Trailers>>>,
}

/// The body of the request to the host.
struct HostBody {
    contents: StreamWriter<u8>,
    trailers: FutureWriter<Result<Option<Trailers>, ErrorCode>>,
}

/// Moves the app's body to the host, keeping a copy; ends the host's body as the app's ended.
/// Once the host takes no more (it answered), it goes on only while a copy is still being made.
///
/// The end of the app's stream is not the end of a whole body: a body cut off (a client that
/// went away) ends its stream too, and only its trailers future says it failed. So the copy is
/// whole only once that future says `Ok`, and the host gets the app's outcome as it came.
async fn pump(
    from_app: AppBody,
    to_host: HostBody,
    kept: Kept,
    body_taken: FutureWriter<Result<(), ErrorCode>>,
) {
    let copy = kept.body;
    let AppBody {
        contents: mut from_app,
        trailers: app_trailers,
    } = from_app;
    let HostBody {
        contents: to_host,
        trailers: trailers_to_host,
    } = to_host;
    let mut to_host = Some(to_host);
    let mut stream_ended = false;
    loop {
        let (result, chunk) = from_app.read(Vec::with_capacity(CHUNK_BYTES)).await;
        if !chunk.is_empty() {
            copy.borrow_mut().keep(&chunk);
            if let Some(writer) = &mut to_host
                && !writer.write_all(chunk).await.is_empty()
            {
                to_host = None;
            }
        }
        match result {
            StreamResult::Complete(_) => {}
            StreamResult::Dropped => {
                stream_ended = true;
                break;
            }
            StreamResult::Cancelled => {
                copy.borrow_mut().fail();
                break;
            }
        }
        if to_host.is_none() && copy.borrow().settled() {
            break;
        }
    }
    if stream_ended {
        let outcome = app_trailers.await;
        match &outcome {
            Ok(trailers) => {
                // The original goes to the host with the first request.
                *kept.trailers.borrow_mut() = trailers.as_ref().map(|trailers| trailers.clone());
                copy.borrow_mut().end();
            }
            Err(_) => copy.borrow_mut().fail(),
        }
        drop(to_host);
        // The host may have dropped the request already (it answered): nothing is owed then.
        let _ = trailers_to_host.write(outcome).await;
    }
    drop(body_taken);
}

/// Polls `send` to its end, and `beside` with it; what is left of `beside` when `send` ended.
async fn send_while<S: Future>(send: S, beside: Option<Pump>) -> (S::Output, Option<Pump>) {
    let mut send = pin!(send);
    let mut beside = beside;
    poll_fn(|context| {
        if let Some(work) = &mut beside
            && work.as_mut().poll(context).is_ready()
        {
            beside = None;
        }
        send.as_mut()
            .poll(context)
            .map(|sent| (sent, beside.take()))
    })
    .await
}

/// `response`, with what is left of the body's pump run after it is returned (a task of the
/// same call, which the host keeps alive until it ends).
fn finish_later(response: Response, pump: Option<Pump>) -> Response {
    if let Some(pump) = pump {
        wit_bindgen::spawn_local(pump);
    }
    response
}

/// `work`'s output, or `None` if monotonic time `deadline` came first (`work` is dropped).
async fn by_deadline<T>(deadline: u64, work: impl Future<Output = T>) -> Option<T> {
    let mut work = pin!(work);
    let mut timer = pin!(monotonic_clock::wait_until(deadline));
    poll_fn(|context| {
        if let Poll::Ready(output) = work.as_mut().poll(context) {
            return Poll::Ready(Some(output));
        }
        timer.as_mut().poll(context).map(|()| None)
    })
    .await
}

/// The `WWW-Authenticate` values of `response`.
fn www_authenticate(response: &Response) -> Vec<String> {
    response
        .get_headers()
        .get("www-authenticate")
        .into_iter()
        .map(|value| String::from_utf8_lossy(&value).into_owned())
        .collect()
}

/// `response` as it is, with [`NOT_ANSWERED_HEADER`] saying why its challenge was not answered.
fn unanswered(response: Response, reason: &str) -> Result<Response, ErrorCode> {
    let status = response.get_status_code();
    let headers = response.get_headers().clone();
    // A reason is one line of ASCII; a header value takes nothing else.
    let reason: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let _ = headers.set(NOT_ANSWERED_HEADER, &[reason.into_bytes()]);
    let (consumed, read) = wit_future::new(|| Ok(()));
    let (body, trailers) = Response::consume_body(response, read);
    let (rebuilt, _sent) = Response::new(headers, Some(body), trailers);
    let _ = rebuilt.set_status_code(status);
    drop(consumed);
    Ok(rebuilt)
}
