//! Whether the worker is still serving: health reports a worker stuck on one request (an authority
//! that accepts connections and never answers) or stopped, instead of "ok" while every token
//! request waits for nothing.

use crate::worker::Answer;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the worker thread tells the server: when it started the request it is on, if any, and
/// whether it has stopped.
pub(crate) struct WorkerStatus {
    since: Instant,
    /// Milliseconds from `since` to the start of the current request, plus one; 0 when idle.
    busy_from: AtomicU64,
    stopped: AtomicBool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    Serving,
    /// On one request for `for_` (longer than the bound).
    Stuck {
        for_: Duration,
    },
    Stopped,
}

impl WorkerStatus {
    pub fn new() -> WorkerStatus {
        WorkerStatus {
            since: Instant::now(),
            busy_from: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    pub fn started_request(&self) {
        let from = self.since.elapsed().as_millis() as u64 + 1;
        self.busy_from.store(from, Ordering::Relaxed);
    }

    pub fn finished_request(&self) {
        self.busy_from.store(0, Ordering::Relaxed);
    }

    /// The worker thread is gone (it returned, or a panic unwound it).
    pub fn stopped(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// How long the worker has been on its current request, if it is on one.
    fn busy_for(&self) -> Option<Duration> {
        match self.busy_from.load(Ordering::Relaxed) {
            0 => None,
            from => {
                let now = self.since.elapsed().as_millis() as u64 + 1;
                Some(Duration::from_millis(now.saturating_sub(from)))
            }
        }
    }

    pub fn health(&self, stuck_after: Duration) -> Health {
        if self.stopped.load(Ordering::Relaxed) {
            return Health::Stopped;
        }
        match self.busy_for() {
            Some(busy) if busy > stuck_after => Health::Stuck { for_: busy },
            _ => Health::Serving,
        }
    }
}

impl Health {
    /// The 503 for a probe or a token request while the worker cannot serve; `None` while it
    /// serves.
    pub fn refusal(self, stuck_after: Duration) -> Option<Answer> {
        match self {
            Health::Serving => None,
            Health::Stuck { for_ } => Some(retry_later(Answer::error(
                503,
                "worker_stuck",
                &format!(
                    "the bridge's worker has been on one request for {:.1} s, longer than the \
                     {} s one may take: Microsoft Entra ID, or the way to it, does not answer; \
                     token requests are refused until it does",
                    for_.as_secs_f64(),
                    stuck_after.as_secs()
                ),
            ))),
            Health::Stopped => Some(worker_stopped()),
        }
    }
}

/// The 503 for a worker that is gone.
pub(crate) fn worker_stopped() -> Answer {
    retry_later(Answer::error(
        503,
        "worker_stopped",
        "the bridge's worker has stopped; restart the bridge",
    ))
}

fn retry_later(mut refusal: Answer) -> Answer {
    refusal.headers.insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    refusal
}

/// Publishes in `stuck` whether the worker is stuck or stopped, checking a few times per bound,
/// so that the requests waiting for the worker can be answered when it is. Runs until the
/// server's runtime ends.
pub(crate) async fn watch(
    status: std::sync::Arc<WorkerStatus>,
    stuck_after: Duration,
    stuck: tokio::sync::watch::Sender<bool>,
) {
    let period = (stuck_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let now = status.health(stuck_after) != Health::Serving;
        stuck.send_if_modified(|was| std::mem::replace(was, now) != now);
    }
}

/// Resolves when the watchdog next reports the worker stuck or stopped. A report standing already
/// is ignored: the server checks [`WorkerStatus::health`] itself before it queues a request, and a
/// standing report may be one the next check withdraws.
pub(crate) async fn next_stuck(mut stuck: tokio::sync::watch::Receiver<bool>) {
    stuck.borrow_and_update();
    while stuck.changed().await.is_ok() {
        if *stuck.borrow_and_update() {
            return;
        }
    }
    // The watchdog is gone with the runtime: nothing will be reported.
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_stuck_only_past_the_bound_and_idle_again_after() {
        let status = WorkerStatus::new();
        let bound = Duration::from_millis(30);
        assert_eq!(status.health(bound), Health::Serving);
        status.started_request();
        assert_eq!(status.health(bound), Health::Serving);
        let started = Instant::now();
        while status.health(bound) == Health::Serving {
            assert!(started.elapsed() < Duration::from_secs(5), "never stuck");
            std::thread::yield_now();
        }
        assert!(started.elapsed() >= bound);
        let Health::Stuck { for_ } = status.health(bound) else {
            panic!("{:?}", status.health(bound));
        };
        assert!(for_ > bound);
        let refusal = status.health(bound).refusal(bound).unwrap();
        assert_eq!(refusal.status, 503);
        let body = String::from_utf8_lossy(&refusal.body);
        assert!(body.contains("worker_stuck"), "{body}");
        status.finished_request();
        assert_eq!(status.health(bound), Health::Serving);
        assert!(Health::Serving.refusal(bound).is_none());
        status.stopped();
        assert_eq!(status.health(bound), Health::Stopped);
    }
}
