//! Host clocks the test controls: expiry, refresh and re-read rules are tested by moving time,
//! not by sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The wall clock's reading when a [`TestClock`] starts: 2026-11-28T00:00:00Z.
pub const TEST_CLOCK_START: Duration = Duration::from_secs(1_795_824_000);

/// A wall clock and a monotonic clock that move together, only when told to. Clones share time.
#[derive(Clone, Default)]
pub struct TestClock {
    elapsed_nanos: Arc<AtomicU64>,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock::default()
    }

    pub fn advance(&self, by: Duration) {
        self.elapsed_nanos
            .fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }

    /// The wall clock now, in seconds since the Unix epoch.
    pub fn now_seconds(&self) -> u64 {
        (TEST_CLOCK_START + self.elapsed()).as_secs()
    }

    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }

    pub(crate) fn wall(&self) -> impl HostWallClock + use<> {
        TestWallClock(self.clone())
    }

    pub(crate) fn monotonic(&self) -> impl HostMonotonicClock + use<> {
        TestMonotonicClock(self.clone())
    }
}

struct TestWallClock(TestClock);

impl HostWallClock for TestWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        TEST_CLOCK_START + self.0.elapsed()
    }
}

struct TestMonotonicClock(TestClock);

impl HostMonotonicClock for TestMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.0.elapsed_nanos.load(Ordering::SeqCst)
    }
}
