//! The refresh lease: a shared-data entry holding the time until which one worker's fetch is in
//! flight (or, after a failure, until which nobody should ask again). Workers take it by
//! compare-and-swap, so one fetch at a time goes to the bridge whatever the number of workers;
//! its time bound frees it when the worker holding it never hears back.

/// The lease's value: until when it is held, in nanoseconds since the Unix epoch.
pub fn encode(until_nanos: u64) -> [u8; 8] {
    until_nanos.to_le_bytes()
}

/// Absent or unreadable is free.
pub fn decode(value: Option<&[u8]>) -> u64 {
    value
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map_or(0, u64::from_le_bytes)
}

pub fn is_free(until_nanos: u64, now_nanos: u64) -> bool {
    until_nanos <= now_nanos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_held_until_its_time() {
        assert_eq!(decode(Some(&encode(1_234))), 1_234);
        assert_eq!(decode(None), 0);
        assert_eq!(decode(Some(b"garbage")), 0);
        assert!(is_free(decode(None), 5));
        assert!(!is_free(10, 5));
        assert!(is_free(10, 10));
    }
}
