//! Sealing entries: what a store readable by others holds is no usable token.
//!
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), with a random 24-byte nonce per write (a
//! nonce that long can be drawn at random without a realistic chance of reuse) and the entry's
//! name as associated data, so an entry copied under another name does not open. The key is
//! derived with HKDF-SHA-256 from the service-account token: only what can read the pod's token
//! file can open an entry, and that already can get tokens from Entra by itself, so the cache
//! gives no one a token they could not have had.

use crate::prelude::*;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use core::fmt;
use hkdf::Hkdf;
use sha2::Sha256;

/// The first byte of every sealed entry: its format.
const FORMAT: u8 = 1;
pub const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Largest entry opened: an entry holds one token (Entra's are a few KiB). A larger value, which
/// only another writer can have put there, is a miss and is not copied.
const MAX_SEALED_BYTES: usize = 64 * 1024;
/// Binds the derived key to this use, so the same token file keyed for anything else gives
/// another key.
const SALT: &[u8] = b"azure-workload-identity: shared token cache";
const INFO: &[u8] = b"entry sealing key, format 1";

/// The cipher keyed from one service-account token.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

// By hand: the key is never shown.
impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealer keyed from `assertion`, the token file's contents. A rotated file gives another
    /// key: entries sealed before no longer open, and are misses.
    pub fn from_assertion(assertion: &str) -> Sealer {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(SALT), assertion.as_bytes())
            .expand(INFO, &mut key)
            // 32 bytes is far below HKDF-SHA-256's 8,160-byte limit.
            .expect("a 32-byte key is a valid HKDF output length");
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `plaintext` sealed for the entry `name`, with `nonce` (random, never reused).
    pub fn seal(&self, name: &str, mut plaintext: Vec<u8>, nonce: [u8; NONCE_BYTES]) -> Vec<u8> {
        let tag = self
            .cipher
            .encrypt_inout_detached(
                &XNonce::from(nonce),
                name.as_bytes(),
                plaintext.as_mut_slice().into(),
            )
            // Fails only past 256 GiB of plaintext.
            .expect("an entry of a few KiB is sealed");
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + plaintext.len() + TAG_BYTES);
        sealed.push(FORMAT);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&plaintext);
        sealed.extend_from_slice(&tag);
        sealed
    }

    /// The plaintext of `sealed` as the entry `name`, or `None` when it does not open: another
    /// key (another or a rotated token file), another name, another format, or tampered bytes.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let body = sealed.strip_prefix(&[FORMAT])?;
        if body.len() < NONCE_BYTES + TAG_BYTES || body.len() > MAX_SEALED_BYTES {
            return None;
        }
        let (nonce, rest) = body.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let mut plaintext = ciphertext.to_vec();
        let nonce = XNonce::try_from(nonce).ok()?;
        let tag = Tag::try_from(tag).ok()?;
        self.cipher
            .decrypt_inout_detached(
                &nonce,
                name.as_bytes(),
                plaintext.as_mut_slice().into(),
                &tag,
            )
            .ok()?;
        Some(plaintext)
    }
}

/// A short name for the version of an entry that `sealed` is (`None`: no entry yet): its nonce's
/// first 8 bytes, unique per write, in hex. The increment ticket of a lease is counted per version.
pub fn version_of(sealed: Option<&[u8]>) -> String {
    let Some(sealed) = sealed else {
        return "none".to_owned();
    };
    let id = sealed.get(1..9).unwrap_or(sealed);
    let mut hex = String::with_capacity(2 * id.len());
    for byte in id {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 15), 16).unwrap_or('0'));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "azure-identity/v1/abc";

    #[test]
    fn an_entry_opens_with_the_same_token_file_and_name_only() {
        let sealer = Sealer::from_assertion("service-account-jwt");
        let sealed = sealer.seal(NAME, b"the token".to_vec(), [9; NONCE_BYTES]);
        assert_eq!(
            sealer.open(NAME, &sealed).as_deref(),
            Some(&b"the token"[..])
        );
        assert_eq!(
            format!("{sealer:?}"),
            "Sealer(..)",
            "no key in Debug output"
        );
        // Another (or a rotated) token file, or the entry moved under another name: a miss.
        assert_eq!(
            Sealer::from_assertion("rotated-jwt").open(NAME, &sealed),
            None
        );
        assert_eq!(sealer.open("azure-identity/v1/other", &sealed), None);
    }

    #[test]
    fn the_sealed_bytes_hold_no_plaintext_and_any_change_is_refused() {
        let sealer = Sealer::from_assertion("service-account-jwt");
        let secret = b"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.the-access-token";
        let sealed = sealer.seal(NAME, secret.to_vec(), [1; NONCE_BYTES]);
        assert!(!sealed.windows(8).any(|w| secret.windows(8).any(|s| s == w)));
        for at in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[at] ^= 1;
            assert_eq!(sealer.open(NAME, &tampered), None, "byte {at} flipped");
        }
        for cut in 0..sealed.len() {
            assert_eq!(sealer.open(NAME, &sealed[..cut]), None, "cut at {cut}");
        }
        let huge = sealer.seal(NAME, vec![b'x'; 64 * 1024], [2; NONCE_BYTES]);
        assert_eq!(sealer.open(NAME, &huge), None, "larger than any entry");
    }

    #[test]
    fn versions_are_named_by_their_nonce() {
        let sealer = Sealer::from_assertion("jwt");
        let one = sealer.seal(NAME, vec![], [0xab; NONCE_BYTES]);
        assert_eq!(version_of(Some(&one)), "abababababababab");
        assert_eq!(version_of(None), "none");
        assert_eq!(version_of(Some(&[1, 0x0f])), "010f");
    }

    #[test]
    fn entries_open_from_empty_up_to_64_kib_and_no_larger() {
        let sealer = Sealer::from_assertion("jwt");
        let open = |len: usize| {
            let sealed = sealer.seal(NAME, vec![7; len], [3; NONCE_BYTES]);
            sealer.open(NAME, &sealed).map(|plain| plain.len())
        };
        assert_eq!(open(0), Some(0));
        // Far more than an entry with any Entra token.
        assert_eq!(open(16 * 1024), Some(16 * 1024));
        let largest = MAX_SEALED_BYTES - NONCE_BYTES - TAG_BYTES;
        assert_eq!(open(largest), Some(largest));
        assert_eq!(open(largest + 1), None);
    }
}
