//! `memcmp` for the component. Rust's `==` and `cmp` on strings and byte slices call it, and the
//! target's wasi-libc compares a byte at a time (11 wasm instructions a byte, measured: a third
//! of a cache hit's own work went there). This one compares eight bytes at a time.
//!
//! Self-contained (core only) so that the benchmark's floor component includes the same file.

use core::cmp::Ordering;

/// The lexicographic order of `a` and `b` (of equal length), as `memcmp` defines it. Written
/// without slice comparisons, which would call `memcmp` again.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let length = a.len().min(b.len());
    let (mut a_words, mut b_words) = (a[..length].chunks_exact(8), b[..length].chunks_exact(8));
    // Big-endian words order as their bytes do.
    let word = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().unwrap_or_default());
    for (x, y) in (&mut a_words).zip(&mut b_words) {
        let (x, y) = (word(x), word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The C function, for the component's own code and its bindings.
///
/// # Safety
/// `a` and `b` are readable for `length` bytes.
// Unsafe by nature: C callers pass raw pointers, and the symbol must carry its C name.
#[allow(unsafe_code)]
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, length: usize) -> i32 {
    // SAFETY: the caller's contract.
    let (a, b) = unsafe {
        (
            core::slice::from_raw_parts(a, length),
            core::slice::from_raw_parts(b, length),
        )
    };
    compare(a, b) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn orders_as_the_standard_comparison_does() {
        let texts: [&[u8]; 10] = [
            b"",
            b"a",
            b"https://vault.azure.net/.default",
            b"https://vault.azure.net/.defaulT",
            b"https://vault.azure.net/.default2",
            b"https://Vault.azure.net/.default",
            b"\xff\x00\x00\x00\x00\x00\x00\x00\x01",
            b"\x00\xff\x00\x00\x00\x00\x00\x00\x01",
            b"abcdefgh",
            b"abcdefgi",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(compare(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn every_position_of_a_difference_is_found() {
        let base: Vec<u8> = (0..40).collect();
        for at in 0..base.len() {
            let mut other = base.clone();
            other[at] += 1;
            assert_eq!(compare(&base, &other), Ordering::Less, "at {at}");
            assert_eq!(compare(&other, &base), Ordering::Greater, "at {at}");
        }
        assert_eq!(compare(&base, &base.clone()), Ordering::Equal);
    }
}
