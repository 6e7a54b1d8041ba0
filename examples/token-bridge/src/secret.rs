//! The `X-IDENTITY-HEADER` check, in time that does not depend on where the guess goes wrong.

use subtle::ConstantTimeEq;

/// Whether `given` equals `expected`. subtle compares every byte whatever the bytes hold, and
/// answers a different length at once, so a caller timing the answers learns at most the
/// secret's length, never a prefix of it.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn only_the_same_bytes_are_equal() {
        assert!(constant_time_eq(b"s3cret-value", b"s3cret-value"));
        assert!(!constant_time_eq(b"s3cret-valuf", b"s3cret-value"));
        assert!(!constant_time_eq(b"t3cret-value", b"s3cret-value"));
        assert!(!constant_time_eq(b"s3cret-valu", b"s3cret-value"));
        assert!(!constant_time_eq(b"s3cret-value!", b"s3cret-value"));
        assert!(!constant_time_eq(b"", b"s3cret-value"));
        // A guess that is the secret followed by a NUL is not the secret.
        assert!(!constant_time_eq(b"s3cret-value\0", b"s3cret-value"));
    }
}
