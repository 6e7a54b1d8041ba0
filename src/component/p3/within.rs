//! Bounds every wait on the host: a wait is raced against a timer, so that a host that never
//! answers, never takes the body or never ends it cannot hold a get-token past its deadline.

use super::bindings::wasi::clocks::monotonic_clock;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

/// `work`'s output, or `None` if monotonic time `deadline` came first; `work` is dropped then,
/// which cancels what it was waiting for on the host (a subtask, a stream read or write).
pub async fn by_deadline<T>(deadline: u64, work: impl Future<Output = T>) -> Option<T> {
    if monotonic_clock::now() >= deadline {
        return None;
    }
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

/// Runs `send` until it ends, and `write` beside it while it runs (a request's body is taken as
/// the request is sent); `write`'s outcome, or `None` if `send` ended before it did.
pub async fn while_writing<S: Future, W: Future>(
    send: S,
    write: W,
) -> (S::Output, Option<W::Output>) {
    let mut send = pin!(send);
    let mut write = pin!(write);
    let mut written = None;
    poll_fn(|context| {
        if written.is_none()
            && let Poll::Ready(outcome) = write.as_mut().poll(context)
        {
            written = Some(outcome);
        }
        send.as_mut()
            .poll(context)
            .map(|sent| (sent, written.take()))
    })
    .await
}
