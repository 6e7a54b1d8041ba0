//! What one shared-cache entry holds before it is sealed: the token (if one was got yet) and the
//! lease of the refresh in progress (if any). The stores have no expiry of their own, so both
//! carry their times.
//!
//! A fixed little-endian layout, written by hand: the entry never leaves this crate's own
//! readers, and a format crate would be code the variants do not need.

use crate::prelude::*;

use crate::error::AccessToken;

/// Who refreshes the entry's token, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Wall-clock seconds: after this the lease has lapsed (its holder crashed or was cut off) and
    /// another instance may take it.
    pub until: u64,
    /// Random, per lease: lets the holder tell its own lease from a successor's.
    pub holder: [u8; 16],
}

/// The plaintext of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub lease: Option<Lease>,
    pub token: Option<AccessToken>,
}

/// Largest plaintext accepted when opening: Entra's tokens are a few KiB.
const MAX_FIELD_BYTES: usize = 64 * 1024;

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.token.as_ref().map_or(0, |t| t.token.len()));
        match &self.lease {
            Some(lease) => {
                out.push(1);
                out.extend_from_slice(&lease.until.to_le_bytes());
                out.extend_from_slice(&lease.holder);
            }
            None => out.push(0),
        }
        match &self.token {
            Some(token) => {
                out.push(1);
                out.extend_from_slice(&token.expires_on.to_le_bytes());
                // The stored refresh time is the one refresh rule's answer, never absent.
                out.extend_from_slice(&token.refresh_on.unwrap_or(token.expires_on).to_le_bytes());
                put_field(&mut out, token.token_type.as_bytes());
                put_field(&mut out, token.token.as_bytes());
            }
            None => out.push(0),
        }
        out
    }

    /// The entry `bytes` encode, or `None` if they are not one (then it is a miss).
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let mut reader = Reader(bytes);
        let lease = match reader.byte()? {
            0 => None,
            1 => Some(Lease {
                until: reader.u64()?,
                holder: reader.array()?,
            }),
            _ => return None,
        };
        let token = match reader.byte()? {
            0 => None,
            1 => {
                let expires_on = reader.u64()?;
                let refresh_on = reader.u64()?;
                let token_type = reader.text()?;
                let token = reader.text()?;
                Some(AccessToken {
                    token,
                    expires_on,
                    refresh_on: Some(refresh_on),
                    token_type,
                })
            }
            _ => return None,
        };
        reader.0.is_empty().then_some(Entry { lease, token })
    }
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_le_bytes());
    out.extend_from_slice(field);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn text(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        if len > MAX_FIELD_BYTES {
            return None;
        }
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> AccessToken {
        AccessToken {
            token: "eyJ0eXAi.payload.sig".into(),
            expires_on: 1_003_600,
            refresh_on: Some(1_001_800),
            token_type: "Bearer".into(),
        }
    }

    #[test]
    fn entries_come_back_as_written() {
        let lease = Lease {
            until: 1_000_015,
            holder: [7; 16],
        };
        for entry in [
            Entry {
                lease: None,
                token: None,
            },
            Entry {
                lease: Some(lease),
                token: None,
            },
            Entry {
                lease: None,
                token: Some(token()),
            },
            Entry {
                lease: Some(lease),
                token: Some(token()),
            },
        ] {
            assert_eq!(Entry::decode(&entry.encode()), Some(entry));
        }
    }

    #[test]
    fn anything_else_is_not_an_entry() {
        let bytes = Entry {
            lease: None,
            token: Some(token()),
        }
        .encode();
        for cut in 0..bytes.len() {
            assert_eq!(Entry::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Entry::decode(&longer), None);
        let mut bad_tag = bytes;
        bad_tag[0] = 2;
        assert_eq!(Entry::decode(&bad_tag), None);
    }

    #[test]
    fn a_field_of_64_kib_is_read_and_a_longer_one_is_not() {
        let with_token = |len: usize| Entry {
            lease: None,
            token: Some(AccessToken {
                token: "t".repeat(len),
                ..token()
            }),
        };
        // Far more than any Entra token.
        let long = with_token(16 * 1024);
        assert_eq!(Entry::decode(&long.encode()), Some(long));
        let largest = with_token(MAX_FIELD_BYTES);
        assert_eq!(Entry::decode(&largest.encode()), Some(largest));
        assert_eq!(
            Entry::decode(&with_token(MAX_FIELD_BYTES + 1).encode()),
            None
        );
    }
}
