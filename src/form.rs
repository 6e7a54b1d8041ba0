//! `application/x-www-form-urlencoded`, as the token endpoint reads it.

use crate::prelude::*;

/// Encodes the fields in order; every name and value is escaped, so no value can add a field.
pub fn encode(fields: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            body.push('&');
        }
        escape_into(&mut body, name);
        body.push('=');
        escape_into(&mut body, value);
    }
    body
}

/// The form serializer of the URL standard: unreserved bytes stay, space becomes `+`, everything
/// else is `%XX`.
fn escape_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xf)] as char);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes a form body with an independent implementation, as a server would.
    pub(crate) fn decode(body: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(body.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    #[test]
    fn reserved_characters_are_escaped_and_round_trip() {
        let fields = [
            (
                "scope",
                "https://vault.azure.net/.default&grant_type=password",
            ),
            (
                "claims",
                r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#,
            ),
            ("text", "a b+c=d%é"),
        ];
        let body = encode(&fields);
        assert_eq!(body.matches('&').count(), 2, "{body}");
        assert!(body.starts_with(
            "scope=https%3A%2F%2Fvault.azure.net%2F.default%26grant_type%3Dpassword&"
        ));
        let decoded = decode(&body);
        let expected: Vec<(String, String)> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn space_becomes_plus() {
        assert_eq!(encode(&[("scope", "a b")]), "scope=a+b");
    }
}
