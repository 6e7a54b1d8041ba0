//! The `x-ms-client-request-id` of a token request: a random (version 4) UUID that lets Microsoft
//! support find the request in their logs.

use crate::prelude::*;

/// Formats 16 random bytes as a version 4, variant 1 UUID.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    // The bits set are cleared first, so `^` would do as `|`: mutants no test can catch.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_variant_bits_are_set() {
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
