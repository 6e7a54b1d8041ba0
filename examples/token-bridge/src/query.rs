//! The query string of a request, decoded as `application/x-www-form-urlencoded` (what the SDKs
//! send: `resource=https%3A%2F%2Fvault.azure.net`).

/// The decoded `name=value` pairs, in order; `Err` names what is malformed.
pub fn parse(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// `%XX` escapes and `+` for space; the result must be UTF-8.
pub fn decode(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let escape = tail
                    .get(..2)
                    .and_then(|hex| core::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("'{text}' has a '%' not followed by two hex digits"))?;
                bytes.push(escape);
                rest = &tail[2..];
                continue;
            }
            other => bytes.push(other),
        }
        rest = tail;
    }
    String::from_utf8(bytes).map_err(|_| format!("'{text}' does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::{decode, parse};

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

    #[test]
    fn escapes_and_plus_decode_and_bad_ones_are_named() {
        assert_eq!(decode("a+b%2Fc%7e").unwrap(), "a b/c~");
        assert_eq!(decode("%C3%A9").unwrap(), "é");
        assert!(decode("abc%2").unwrap_err().contains("two hex digits"));
        assert!(decode("%zz").unwrap_err().contains("two hex digits"));
        assert!(decode("%FF").unwrap_err().contains("UTF-8"));
    }
}
