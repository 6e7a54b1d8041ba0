//! One request. The host decides it with the bridge's own protocol code and hands the worker only
//! what needs a token, so that callers without the secret, every refusal and the probes never
//! wait for the worker nor take a place in its queue.

use crate::connections::ConnectionState;
use crate::limits::{ANSWER_TIMEOUT, QUEUE_LENGTH};
use crate::watchdog::{WorkerStatus, next_stuck, worker_stopped};
use crate::worker::{Answer, Job};
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Duration, Instant};
use token_bridge::protocol::{self, HEALTH_PATH, Outcome, SECRET_HEADER};
use token_bridge::settings::Settings;

/// What every connection's requests are answered with.
#[derive(Clone)]
pub(crate) struct Served {
    /// The settings the component reads too, checked at start.
    pub settings: Arc<Settings>,
    pub jobs: SyncSender<Job>,
    pub worker: Arc<WorkerStatus>,
    /// The watchdog's report: `true` while the worker is stuck or stopped.
    pub stuck: tokio::sync::watch::Receiver<bool>,
    pub stuck_after: Duration,
    pub requests: Arc<AtomicU64>,
    pub log: bool,
}

pub(crate) async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    served: &Served,
    connection: &ConnectionState,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let method = request.method().clone();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let health = request.uri().path() == HEALTH_PATH;
    if health && let Some(refusal) = served.worker_refusal() {
        return respond(refusal);
    }
    let secret_headers: Vec<Vec<u8>> = request
        .headers()
        .get_all(SECRET_HEADER)
        .iter()
        .map(|value| value.as_bytes().to_vec())
        .collect();
    if protocol::check_secret(&secret_headers, &served.settings).is_ok() {
        connection.showed_secret();
    }
    let asked = protocol::Request {
        method: method.as_str(),
        path_with_query: &path_and_query,
        secret_headers: &secret_headers,
    };
    let answer = match protocol::decide(&asked, Ok(&served.settings)) {
        // Probes come every few seconds: neither counted nor logged.
        Outcome::Reply(reply) if health => return respond(Answer::reply(reply)),
        Outcome::Reply(reply) => Answer::reply(reply),
        // The component decides again, as it would in any other host, and asks the credential.
        Outcome::Token { .. } => {
            let _waiting = connection.waiting_for_token();
            let job = |reply| Job {
                method: method.clone(),
                path_and_query: path_and_query.clone(),
                headers: request.headers().clone(),
                reply,
            };
            ask_worker(job, served).await
        }
    };
    served.requests.fetch_add(1, Ordering::Relaxed);
    if served.log {
        // The path holds the api-version, resource and client id; the secret is in a header.
        eprintln!(
            "token-bridge: {method} {path_and_query} -> {} in {:.1} ms",
            answer.status,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    respond(answer)
}

impl Served {
    /// The 503 for when the worker is stuck or stopped.
    fn worker_refusal(&self) -> Option<Answer> {
        self.worker
            .health(self.stuck_after)
            .refusal(self.stuck_after)
    }
}

/// Queues the job `job` makes and waits for its answer: refused at once when the worker is stuck
/// or the queue full, and answered 503 as soon as the worker is found stuck while this waits.
async fn ask_worker(
    job: impl FnOnce(tokio::sync::oneshot::Sender<Answer>) -> Job,
    served: &Served,
) -> Answer {
    if let Some(refusal) = served.worker_refusal() {
        return refusal;
    }
    let (reply, mut answered) = tokio::sync::oneshot::channel();
    match served.jobs.try_send(job(reply)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            let mut busy = Answer::error(
                503,
                "busy",
                &format!("{QUEUE_LENGTH} requests are already waiting; retry shortly"),
            );
            busy.headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            return busy;
        }
        Err(TrySendError::Disconnected(_)) => return worker_stopped(),
    }
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        tokio::select! {
            answer = &mut answered => return answer.unwrap_or_else(|_| worker_stopped()),
            () = next_stuck(served.stuck.clone()) => {
                // Unless the worker got going again since the watchdog looked.
                if let Some(refusal) = served.worker_refusal() {
                    return refusal;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                return Answer::error(504, "timeout", "the bridge did not answer in time");
            }
        }
    }
}

fn respond(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(answer.body));
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *response.headers_mut() = answer.headers;
    response
}
