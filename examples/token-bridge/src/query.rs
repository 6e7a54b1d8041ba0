//! The query string of a request, decoded as `application/x-www-form-urlencoded` (what the SDKs
//! send: `resource=https%3A%2F%2Fvault.azure.net`).

use std::borrow::Cow;

/// The decoded `name=value` pairs, in order; `Err` names what is malformed.
///
/// form_urlencoded decodes leniently, as browsers do: it keeps a `%` that starts no escape as it
/// is and puts U+FFFD where the escaped bytes are not UTF-8. A resource or client id the SDK did
/// not mean must be refused, not guessed, so both are checked here.
pub fn parse(query: &str) -> Result<Vec<(String, String)>, String> {
    check_escapes(query)?;
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| Ok((utf8(name)?, utf8(value)?)))
        .collect()
}

/// Every `%` starts an escape: two hex digits.
fn check_escapes(query: &str) -> Result<(), String> {
    for (at, _) in query.match_indices('%') {
        let digits = query.as_bytes().get(at + 1..at + 3);
        if !digits.is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit)) {
            let escape: String = query[at..].chars().take(3).collect();
            return Err(format!(
                "the query's '{escape}' is a '%' not followed by two hex digits"
            ));
        }
    }
    Ok(())
}

/// A decoded name or value, unless form_urlencoded had to replace bytes that are not UTF-8.
/// (An escaped U+FFFD is refused with them: no parameter the bridge reads can hold one.)
fn utf8(decoded: Cow<'_, str>) -> Result<String, String> {
    if decoded.contains(char::REPLACEMENT_CHARACTER) {
        return Err(format!(
            "'{decoded}' (U+FFFD for what could not be read) does not decode to UTF-8"
        ));
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_sdks_query_decodes_to_its_pairs() {
        assert_eq!(
            parse("api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&client_id=abc")
                .unwrap(),
            vec![
                ("api-version".to_owned(), "2019-08-01".to_owned()),
                ("resource".to_owned(), "https://vault.azure.net".to_owned()),
                ("client_id".to_owned(), "abc".to_owned()),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("a&&b=").unwrap(),
            vec![("a".into(), String::new()), ("b".into(), String::new())]
        );
    }

    /// One name or value's decoding: the pair is `x=<text>`.
    fn decode(text: &str) -> Result<String, String> {
        let mut pairs = parse(&format!("x={text}"))?;
        assert_eq!(pairs.len(), 1, "{text}");
        Ok(pairs.remove(0).1)
    }

    #[test]
    fn escapes_and_plus_decode_and_bad_ones_are_named() {
        assert_eq!(decode("a+b%2Fc%7e").unwrap(), "a b/c~");
        assert_eq!(decode("%C3%A9").unwrap(), "é");
        assert!(decode("abc%2").unwrap_err().contains("two hex digits"));
        assert!(decode("%zz").unwrap_err().contains("two hex digits"));
        assert!(decode("%FF").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn every_malformed_escape_is_refused_wherever_it_is() {
        for query in [
            "%",
            "a=%",
            "a=%4",
            "%4=b",
            "a=b&%g0=c",
            "a=%\u{e9}",
            "a=b%2&c=d",
        ] {
            let refused = parse(query).unwrap_err();
            assert!(refused.contains("two hex digits"), "{query}: {refused}");
        }
        assert_eq!(
            parse("a=%zz").unwrap_err(),
            "the query's '%zz' is a '%' not followed by two hex digits"
        );
        // Escaped separators are data, not separators.
        assert_eq!(
            parse("a=b%26c%3Dd&e=f=g").unwrap(),
            vec![("a".into(), "b&c=d".into()), ("e".into(), "f=g".into())]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_not_replaced() {
        for query in ["a=%C3", "a=%C3%28", "%ED%A0%80=b", "a=%F0%9F%98"] {
            let refused = parse(query).unwrap_err();
            assert!(
                refused.contains("does not decode to UTF-8"),
                "{query}: {refused}"
            );
        }
        // The replacement character itself, escaped or not, is refused with them.
        assert!(parse("a=%EF%BF%BD").is_err());
        assert!(parse("a=\u{fffd}").is_err());
        // Characters that are UTF-8 pass, escaped or sent as they are.
        assert_eq!(parse("a=%F0%9F%98%80&b=é").unwrap()[0].1, "😀");
    }
}
