//! When a failed token request is tried again, and how long to wait first.

use crate::prelude::*;

use crate::http_date::parse_http_date;

/// What the durations here are counted in: nanoseconds, as wasi:clocks measures.
pub const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Retries after the first attempt.
pub const MAX_RETRIES: u32 = 3;
/// The first backoff; each retry doubles it.
pub const BACKOFF_BASE_NANOS: u64 = 800_000_000;
/// No single wait is longer.
pub const MAX_BACKOFF_NANOS: u64 = 60 * NANOS_PER_SECOND;
/// A whole get-token, every attempt and wait included, ends within this.
pub const GET_TOKEN_BUDGET_NANOS: u64 = 60 * NANOS_PER_SECOND;

/// Statuses that say "not now" rather than "no": timeouts, throttling, server and gateway faults.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The wait the server asked for: `retry-after-ms` or `x-ms-retry-after-ms` (milliseconds), else
/// `Retry-After` (seconds, or an HTTP date compared with `now`, seconds since the Unix epoch).
pub fn server_delay(headers: &[(String, String)], now: u64) -> Option<u64> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(nanos) = header(name).and_then(|text| decimal_nanos(text, 1_000_000)) {
            return Some(nanos);
        }
    }
    let retry_after = header("retry-after")?;
    if let Some(nanos) = decimal_nanos(retry_after, NANOS_PER_SECOND) {
        return Some(nanos);
    }
    parse_http_date(retry_after).map(|at| at.saturating_sub(now).saturating_mul(NANOS_PER_SECOND))
}

/// A non-negative decimal (`2`, `1.5`) of units of `unit_nanos`, in nanoseconds, saturating.
/// Parsed by hand: float parsing would cost the component kilobytes for a header.
fn decimal_nanos(text: &str, unit_nanos: u64) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || text.ends_with('.') {
        return None;
    }
    let whole_units = whole.bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    });
    let mut nanos = whole_units.saturating_mul(unit_nanos);
    let mut place = unit_nanos;
    for digit in fraction.bytes() {
        place /= 10;
        nanos = nanos.saturating_add(u64::from(digit - b'0') * place);
    }
    Some(nanos)
}

/// The wait before retry number `retry` (0 for the first): 0.8 s doubled each time, times a
/// jitter factor in [0.8, 1.2) drawn from `random`, capped at 60 s. Jitter keeps many pods that
/// failed together from retrying together.
pub fn backoff(retry: u32, random: u32) -> u64 {
    let exponential = BACKOFF_BASE_NANOS.saturating_mul(1u64 << retry.min(32));
    let jitter_permille = 800 + u64::from(random % 400);
    (exponential / 1000)
        .saturating_mul(jitter_permille)
        .min(MAX_BACKOFF_NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn throttling_timeouts_and_server_faults_are_retried_but_not_refusals() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn backoff_doubles_from_800_ms_with_jitter_and_a_cap() {
        assert_eq!(backoff(0, 200), 800_000_000);
        assert_eq!(backoff(1, 200), 1_600_000_000);
        assert_eq!(backoff(2, 200), 3_200_000_000);
        assert_eq!(backoff(0, 0), 640_000_000);
        assert_eq!(backoff(0, 399), 959_200_000);
        assert_eq!(backoff(10, 399), MAX_BACKOFF_NANOS);
        assert_eq!(backoff(u32::MAX, 0), MAX_BACKOFF_NANOS);
    }

    #[test]
    fn milliseconds_headers_win_over_retry_after() {
        let both = headers(&[("Retry-After", "10"), ("retry-after-ms", "250")]);
        assert_eq!(server_delay(&both, 0), Some(250_000_000));
        let ms = headers(&[("x-ms-retry-after-ms", "1500")]);
        assert_eq!(server_delay(&ms, 0), Some(1_500_000_000));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(
            server_delay(&headers(&[("retry-after", "2")]), 0),
            Some(2_000_000_000)
        );
        let date = headers(&[("Retry-After", "Sat, 28 Nov 2026 14:35:06 GMT")]);
        assert_eq!(server_delay(&date, 1_795_876_496), Some(10_000_000_000));
        assert_eq!(server_delay(&date, 1_795_876_600), Some(0));
    }

    #[test]
    fn fractions_count_and_huge_values_saturate() {
        let delay = |name: &str, value: &str| server_delay(&headers(&[(name, value)]), 0);
        assert_eq!(delay("retry-after", "1.5"), Some(1_500_000_000));
        assert_eq!(delay("retry-after-ms", "0.25"), Some(250_000));
        assert_eq!(delay("retry-after", "0"), Some(0));
        assert_eq!(
            delay("retry-after", "99999999999999999999999"),
            Some(u64::MAX)
        );
    }

    #[test]
    fn missing_or_malformed_retry_after_is_ignored() {
        assert_eq!(server_delay(&[], 0), None);
        assert_eq!(server_delay(&headers(&[("retry-after", "soon")]), 0), None);
        assert_eq!(server_delay(&headers(&[("retry-after", "-1")]), 0), None);
        for malformed in ["NaN", "inf", "1e3", "+1", ".5", "1.", "1.2.3", "", "1 2"] {
            assert_eq!(
                server_delay(&headers(&[("retry-after-ms", malformed)]), 0),
                None,
                "{malformed:?}"
            );
        }
    }
}
