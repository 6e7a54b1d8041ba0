//! Continuous Access Evaluation claims challenges, as a resource sends them on a 401:
//!
//! `WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ=="`
//!
//! The `claims` parameter is base64 of a JSON object, to be sent to Entra with the next token
//! request. Only a Bearer challenge with `error="insufficient_claims"` and claims is answered, as
//! the Azure SDKs do: any other 401 means a new token would not help.

use crate::prelude::*;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The decoded claims of the header's claims challenge, `Ok(None)` when it holds none.
pub fn claims_challenge(www_authenticate: &str) -> Result<Option<String>, String> {
    for challenge in parse_challenges(www_authenticate) {
        if !challenge.scheme.eq_ignore_ascii_case("bearer")
            || challenge.param("error") != Some("insufficient_claims")
        {
            continue;
        }
        let Some(encoded) = challenge.param("claims").filter(|c| !c.is_empty()) else {
            continue;
        };
        let bytes = decode_base64(encoded).ok_or(
            "the claims challenge's `claims` is not base64; the resource sent a malformed challenge",
        )?;
        let claims = String::from_utf8(bytes)
            .map_err(|_| "the claims challenge's `claims` is not UTF-8 text".to_owned())?;
        return Ok(Some(claims));
    }
    Ok(None)
}

struct Challenge<'a> {
    scheme: &'a str,
    params: Vec<(&'a str, String)>,
}

impl Challenge<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// RFC 9110 §11.6.1 challenges: `scheme param=value, param="quoted", Scheme2 ...`. A token that is
/// not followed by `=` starts a new challenge. Unparseable text ends the parse, keeping what came
/// before: a garbled header yields no claims rather than wrong ones.
fn parse_challenges(header: &str) -> Vec<Challenge<'_>> {
    let mut challenges: Vec<Challenge<'_>> = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        if end == 0 {
            return challenges;
        }
        let (token, after) = rest.split_at(end);
        let after_spaces = after.trim_start_matches([' ', '\t']);
        match (after_spaces.strip_prefix('='), challenges.last_mut()) {
            // `token68`-style values (`Basic abc==`) are skipped: no scheme we answer uses them.
            (Some(value), Some(challenge)) if !value.starts_with('=') => {
                let Some((value, remaining)) = parse_value(value.trim_start_matches([' ', '\t']))
                else {
                    return challenges;
                };
                challenge.params.push((token, value));
                rest = remaining;
            }
            (Some(_), _) => return challenges,
            (None, _) => {
                challenges.push(Challenge {
                    scheme: token,
                    params: Vec::new(),
                });
                rest = after;
            }
        }
    }
}

/// A token or a quoted string (with `\` escapes), and the text after it.
fn parse_value(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find(|c: char| !is_token_char(c)).unwrap_or(text.len());
        return Some((text[..end].to_owned(), &text[end..]));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &quoted[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)
}

/// Standard or URL-safe base64, padded or not, but one alphabet at a time. The Azure SDKs differ:
/// Go's azcore takes only URL-safe (cutting any padding off), Python's azure-core and Node's core
/// take either alphabet, even both in one string; Key Vault's and ARM's challenges are standard
/// and padded. Either alphabet with either padding takes whatever an encoder writes; a mix, which
/// none writes, is garbled claims, refused rather than guessed at. Bits left over after the last
/// byte are ignored, as the SDKs ignore them.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const EITHER_PADDING: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, EITHER_PADDING);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, EITHER_PADDING);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}"#;
    const CLAIMS_BASE64: &str =
        "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzI2MDc3NTk1In19fQ==";

    fn challenge(params: &str) -> String {
        format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", {params}"#
        )
    }

    #[test]
    fn a_key_vault_style_claims_challenge_yields_its_claims() {
        let header = challenge(&format!(
            r#"error="insufficient_claims", claims="{CLAIMS_BASE64}""#
        ));
        assert_eq!(claims_challenge(&header).unwrap().as_deref(), Some(CLAIMS));
    }

    #[test]
    fn unpadded_url_safe_and_token_form_claims_decode_too() {
        let unpadded = CLAIMS_BASE64.trim_end_matches('=');
        for header in [
            format!(r#"Bearer error=insufficient_claims, claims={unpadded}"#),
            format!(r#"bearer claims="{unpadded}", error="insufficient_claims""#),
        ] {
            assert_eq!(claims_challenge(&header).unwrap().as_deref(), Some(CLAIMS));
        }
        // `>>?` encodes to `Pj4_` in URL-safe base64 and `Pj4/` in the standard alphabet.
        assert_eq!(decode_base64("Pj4_").unwrap(), b">>?");
        assert_eq!(decode_base64("Pj4/").unwrap(), b">>?");
    }

    #[test]
    fn a_challenge_after_another_scheme_is_found() {
        let header = format!(
            r#"Basic realm="x", PoP nonce="abc", Bearer error="insufficient_claims", claims="{CLAIMS_BASE64}""#
        );
        assert_eq!(claims_challenge(&header).unwrap().as_deref(), Some(CLAIMS));
    }

    #[test]
    fn a_401_that_is_not_a_claims_challenge_yields_nothing() {
        for header in [
            challenge(r#"error="invalid_token""#),
            challenge(&format!(
                r#"error="invalid_token", claims="{CLAIMS_BASE64}""#
            )),
            challenge(r#"error="insufficient_claims""#),
            challenge(r#"error="insufficient_claims", claims="""#),
            format!(r#"PoP error="insufficient_claims", claims="{CLAIMS_BASE64}""#),
            "Bearer".to_owned(),
            String::new(),
            "Basic dXNlcjpwYXNz==".to_owned(),
            r#"Bearer error="insufficient_claims", claims="unterminated"#.to_owned(),
        ] {
            assert_eq!(claims_challenge(&header), Ok(None), "{header}");
        }
    }

    #[test]
    fn quoted_values_keep_escaped_quotes_and_commas() {
        let challenges = parse_challenges(r#"Bearer realm="a \"b\", c", error=x"#);
        assert_eq!(challenges.len(), 1);
        assert_eq!(challenges[0].param("realm"), Some(r#"a "b", c"#));
        assert_eq!(challenges[0].param("error"), Some("x"));
    }

    #[test]
    fn malformed_claims_are_an_error_not_a_guess() {
        let not_base64 = challenge(r#"error="insufficient_claims", claims="*not base64*""#);
        assert!(
            claims_challenge(&not_base64)
                .unwrap_err()
                .contains("not base64")
        );
        // 0xff 0xfe is not UTF-8.
        let not_utf8 = challenge(r#"error="insufficient_claims", claims="//4=""#);
        assert!(claims_challenge(&not_utf8).unwrap_err().contains("UTF-8"));
        assert_eq!(decode_base64("A"), None, "one character cannot hold a byte");
    }

    #[test]
    fn one_alphabet_at_a_time() {
        // `>>?>>?` is `Pj4_Pj4_` in URL-safe base64 and `Pj4/Pj4/` in the standard alphabet.
        assert_eq!(decode_base64("Pj4_Pj4_").unwrap(), b">>?>>?");
        assert_eq!(decode_base64("Pj4/Pj4/").unwrap(), b">>?>>?");
        for mixed in ["Pj4_Pj4/", "Pj4/Pj4_", "+-AA", "/_AA"] {
            assert_eq!(decode_base64(mixed), None, "{mixed}");
        }
        let header = challenge(r#"error="insufficient_claims", claims="Pj4_Pj4/""#);
        assert!(
            claims_challenge(&header)
                .unwrap_err()
                .contains("not base64")
        );
    }

    #[test]
    fn padding_is_optional_but_not_excessive_nor_inside() {
        // "A" is `QQ==`; "AB" is `QUI=`.
        for text in ["QQ==", "QQ=", "QQ"] {
            assert_eq!(decode_base64(text).unwrap(), b"A", "{text}");
        }
        assert_eq!(decode_base64("QUI=").unwrap(), b"AB");
        assert_eq!(decode_base64("QUI").unwrap(), b"AB");
        for malformed in ["QQ===", "QUI==", "QQ==QQ==", "Q=Q=", "=", "QQ== "] {
            assert_eq!(decode_base64(malformed), None, "{malformed}");
        }
        // Leftover bits that are not zero (`QR` rather than `QQ`) do not change the byte.
        assert_eq!(decode_base64("QR").unwrap(), b"A");
    }
}
