//! The benchmarks' figures from timed samples.

use std::time::Duration;

/// The `p`th percentile of `samples` (sorting them), by the nearest-rank method.
pub fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

/// `duration` in microseconds, one decimal.
pub fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}
