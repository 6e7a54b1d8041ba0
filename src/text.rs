//! Small text helpers for messages, written here because the standard ones cost the component
//! more than they do: `join` is instantiated per element type at 1.4 KB each,
//! `escape_default`'s formatting is another 1.3 KB, and `str::find` with a `&str` pattern brings
//! the two-way searcher (1.6 KB; the texts searched are a few KiB, a window scan does).

use crate::prelude::*;
use core::fmt::Write;

/// `parts` joined by `separator`.
pub fn join<S: AsRef<str>>(parts: &[S], separator: &str) -> String {
    let mut joined = String::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            joined.push_str(separator);
        }
        joined.push_str(part.as_ref());
    }
    joined
}

/// Where `needle` first occurs in `haystack`. A match of valid UTF-8 in valid UTF-8 always
/// starts and ends on character boundaries, so the index slices `haystack` safely.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
}

/// `text` with every occurrence of `needle` (not empty) replaced by `with`.
pub fn replace_all(text: &str, needle: &str, with: &str) -> String {
    let mut replaced = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find(rest, needle).filter(|_| !needle.is_empty()) {
        replaced.push_str(&rest[..start]);
        replaced.push_str(with);
        rest = &rest[start + needle.len()..];
    }
    replaced.push_str(rest);
    replaced
}

/// `text` for a message: printable ASCII as is, everything else (control characters, tabs, line
/// breaks, non-ASCII) as `\u{…}`, so that the reader sees exactly what was given.
pub fn escaped(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            shown.push(c);
        } else {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        }
    }
    shown
}

/// Nanoseconds shown as seconds to one decimal, rounded half up (`5.1`), without floats.
pub struct Seconds(pub u64);

impl core::fmt::Display for Seconds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tenths = self.0.saturating_add(50_000_000) / 100_000_000;
        write!(f, "{}.{}", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_and_replace_all_agree_with_the_standard_ones() {
        for (haystack, needle) in [
            ("abcabc", "bc"),
            ("abc", "abcd"),
            ("", "a"),
            ("aaa", "aa"),
            ("é-secret-é", "secret"),
            ("x", ""),
        ] {
            assert_eq!(
                find(haystack, needle),
                haystack.find(needle),
                "{haystack} {needle}"
            );
            if !needle.is_empty() {
                assert_eq!(
                    replace_all(haystack, needle, "***"),
                    haystack.replace(needle, "***")
                );
            }
        }
    }

    #[test]
    fn seconds_show_one_decimal_rounded_half_up() {
        let shown = |nanos: u64| Seconds(nanos).to_string();
        assert_eq!(shown(0), "0.0");
        assert_eq!(shown(5_149_999_999), "5.1");
        assert_eq!(shown(5_150_000_000), "5.2");
        assert_eq!(shown(60_000_000_000), "60.0");
        assert_eq!(shown(u64::MAX), "18446744073.7");
    }

    #[test]
    fn join_puts_the_separator_between_parts_only() {
        assert_eq!(join(&["a", "b", "c"], ", "), "a, b, c");
        assert_eq!(join(&[String::from("one")], "; "), "one");
        assert_eq!(join::<&str>(&[], " "), "");
    }

    #[test]
    fn escaped_shows_what_is_not_printable_ascii() {
        assert_eq!(
            escaped("https://vault.azure.net/.default"),
            "https://vault.azure.net/.default"
        );
        assert_eq!(escaped("a b\tc\nd\u{0}é"), "a b\\u{9}c\\u{a}d\\u{0}\\u{e9}");
    }
}
