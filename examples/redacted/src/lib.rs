//! One way to keep a secret out of `Debug` output: hold it in a [`Redacted`], which prints
//! [`PLACEHOLDER`] instead.
//!
//! The credential, the token bridge and the Envoy filter all keep secrets (the client assertion,
//! access tokens, the bridge's shared secret) in structs that get printed while debugging. With
//! the secret's field a `Redacted`, such a struct can `#[derive(Debug)]` and still print no
//! secret, and every component shows the same placeholder.
//!
//! The crate uses `core` only and has no dependencies: the credential is a `no_std` component with
//! a size goal, and the std components use this crate rather than the credential's, whose wasm32
//! build carries the component's exports and allocator.
//!
//! ```
//! use redacted::Redacted;
//!
//! #[derive(Debug)]
//! struct Settings {
//!     secret: Redacted<String>,
//!     resource: String,
//! }
//!
//! let settings = Settings {
//!     secret: Redacted::new("s3cret".to_owned()),
//!     resource: "https://vault.azure.net".to_owned(),
//! };
//! assert_eq!(
//!     format!("{settings:?}"),
//!     r#"Settings { secret: ***, resource: "https://vault.azure.net" }"#
//! );
//! assert_eq!(settings.secret.expose(), "s3cret");
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

use core::fmt;

/// What stands in for a secret in text meant for people: in `Debug` output, and in text quoted
/// from servers once the secrets are taken out of it.
pub const PLACEHOLDER: &str = "***";

/// A secret that formats as [`PLACEHOLDER`] with `{:?}` and `{:#?}`, whatever it holds. It has no
/// `Display`, so it cannot end up in a message by being formatted with `{}` either.
///
/// The field is private: the secret is reached only through [`expose`](Redacted::expose) and
/// [`into_inner`](Redacted::into_inner), so each place a secret leaves the wrapper says so, and
/// searching for those two names finds them all (a public `.0` reads like any other field).
///
/// `==` compares the secrets as `T` does, which for strings and bytes is not constant-time: check
/// what a caller sent with a constant-time comparison of `expose()` instead.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps `secret`.
    pub const fn new(secret: T) -> Redacted<T> {
        Redacted(secret)
    }

    /// The secret, to use (send, compare, store), not to print.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// The secret, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(secret: T) -> Redacted<T> {
        Redacted(secret)
    }
}

/// Prints [`PLACEHOLDER`] only: not the secret, nor its length or type.
impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::ToOwned;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    const SECRET: &str = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln";

    #[test]
    fn a_string_prints_as_the_placeholder_only() {
        let secret = Redacted::new(SECRET.to_owned());
        assert_eq!(format!("{secret:?}"), PLACEHOLDER);
        assert_eq!(format!("{secret:#?}"), PLACEHOLDER);
        assert_eq!(
            format!("{:?}", Redacted::new(SECRET.as_bytes())),
            PLACEHOLDER
        );
    }

    // The fields are read only by the derived `Debug`, which is what the test looks at.
    #[allow(dead_code)]
    #[derive(Debug)]
    struct Inner {
        authorization: Redacted<String>,
        expires_on: u64,
    }

    #[allow(dead_code)]
    #[derive(Debug)]
    enum Action {
        Authorize(Redacted<String>),
        Refuse(String),
    }

    #[allow(dead_code)]
    #[derive(Debug)]
    struct Outer {
        inner: Inner,
        spare: Option<Redacted<Vec<u8>>>,
        actions: Vec<Action>,
    }

    #[test]
    fn a_derived_debug_of_nested_structs_shows_everything_but_the_secrets() {
        let outer = Outer {
            inner: Inner {
                authorization: Redacted::new(format!("Bearer {SECRET}")),
                expires_on: 1_800_000_000,
            },
            spare: Some(SECRET.as_bytes().to_vec().into()),
            actions: std::vec![
                Action::Authorize(Redacted::new(SECRET.to_owned())),
                Action::Refuse("no token yet".to_owned()),
            ],
        };
        for debug in [format!("{outer:?}"), format!("{outer:#?}")] {
            assert!(!debug.contains("eyJ"), "{debug}");
            assert!(!debug.contains("Bearer"), "{debug}");
            assert!(debug.contains("1800000000"), "{debug}");
            assert!(debug.contains("no token yet"), "{debug}");
        }
        assert_eq!(
            format!("{outer:?}"),
            "Outer { inner: Inner { authorization: ***, expires_on: 1800000000 }, \
             spare: Some(***), actions: [Authorize(***), Refuse(\"no token yet\")] }"
        );
    }

    #[test]
    fn the_secret_is_kept_and_compared_as_it_is() {
        let secret = Redacted::new(SECRET.to_owned());
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(secret.clone(), Redacted::from(SECRET.to_owned()));
        assert_ne!(secret, Redacted::new("another".to_owned()));
        assert_eq!(secret.into_inner(), SECRET);
        assert_eq!(Redacted::<String>::default().expose(), "");
    }
}
