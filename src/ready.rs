//! Runs the core's async functions where every await completes at once: the WASI 0.2 build
//! (whose platform's calls block) and the unit tests (whose platform answers from a script).

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

/// Polls `future` once and returns its output. Nothing it awaits can be pending, so it is ready:
/// a pending future here is a bug, met with a panic (a trap in the component), never a hang.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a platform call of a blocking platform was pending"),
    }
}
