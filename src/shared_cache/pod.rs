//! Which pod an entry belongs to. Kubernetes binds each projected service-account token to its
//! pod (the claim `kubernetes.io.pod.uid`), so every pod's token, and with it its sealing key, is
//! its own. Entries are named per pod: pods sharing one store (wasmCloud's NATS, a Spin Redis)
//! then keep one entry each rather than overwriting each other's, and a rotation inside a pod
//! replaces the pod's entry rather than leaving one behind.
//!
//! The claim is read without checking the token's signature: it only names the entry, and a
//! token that lies about its pod gets a key of its own all the same.

use crate::prelude::*;

use crate::json::{self, Value};

/// A service-account token's payload is well under this; anything longer is not one.
const MAX_PAYLOAD_CHARS: usize = 16 * 1024;

/// The uid of the pod the service-account token `assertion` is bound to, if it is a JWT that
/// names one.
pub fn pod_uid(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    if payload.len() > MAX_PAYLOAD_CHARS {
        return None;
    }
    let Value::Object(claims) = json::parse(&base64url_decode(payload)?).ok()? else {
        return None;
    };
    let Some(Value::Object(kubernetes)) = claims.get("kubernetes.io") else {
        return None;
    };
    let Some(Value::Object(pod)) = kubernetes.get("pod") else {
        return None;
    };
    pod.get("uid")?.as_str().map(str::to_owned)
}

/// Decodes base64url, with or without padding (JWTs have none); `None` if `text` is not that.
/// By hand: the no_std core has no base64 crate, and this is the one place that reads any.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) + u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    // A single character left over carries no whole byte: not base64.
    (count < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A projected token's shape: header, the claims Kubernetes 1.30 puts in (pod-bound), a
    /// signature.
    const POD_A: &str = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYXBpOi8vQXp1cmVBRFRva2VuRXhjaGFuZ2UiXSwia3ViZXJuZXRlcy5pbyI6eyJuYW1lc3BhY2UiOiJhcHBzIiwicG9kIjp7Im5hbWUiOiJ3b3JrbG9hZC03ZDlmOC1hYmNkZSIsInVpZCI6IjFmNGI2YzJlLTlkM2EtNGU1Yi04YzdkLTBhMWIyYzNkNGU1ZiJ9LCJzZXJ2aWNlYWNjb3VudCI6eyJuYW1lIjoid29ya2xvYWQiLCJ1aWQiOiJhYmMifX0sInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDphcHBzOndvcmtsb2FkIn0.c2lnbmF0dXJl";

    #[test]
    fn a_pod_bound_token_names_its_pod() {
        assert_eq!(
            pod_uid(POD_A).as_deref(),
            Some("1f4b6c2e-9d3a-4e5b-8c7d-0a1b2c3d4e5f")
        );
    }

    #[test]
    fn anything_else_names_none() {
        for not_pod_bound in [
            "service-account-jwt",
            "a.b.c",
            // {"sub":"system:serviceaccount:apps:workload"}: no pod claim.
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwczp3b3JrbG9hZCJ9.c2ln",
            // {"kubernetes.io":{"pod":{"uid":7}}}: not a string.
            "x.eyJrdWJlcm5ldGVzLmlvIjp7InBvZCI6eyJ1aWQiOjd9fX0.y",
            "x.!!!.y",
        ] {
            assert_eq!(pod_uid(not_pod_bound), None, "{not_pod_bound}");
        }
    }

    #[test]
    fn base64url_decodes_with_or_without_padding_and_refuses_the_rest() {
        assert_eq!(base64url_decode("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64url_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("a"), None);
        assert_eq!(base64url_decode("a+b/"), None);
    }

    /// base64url without padding, for the tests' payloads.
    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn a_payload_of_16_kib_is_read_and_a_longer_one_is_not() {
        // 12,288 bytes of JSON are 16,384 characters of base64url.
        let payload = |len: usize| {
            let head = r#"{"kubernetes.io":{"pod":{"uid":"u"}},"pad":""#;
            let json = format!("{head}{}\"}}", "x".repeat(len - head.len() - 2));
            assert_eq!(json.len(), len);
            format!("h.{}.s", encode(json.as_bytes()))
        };
        assert_eq!(encode(b"hi"), "aGk");
        assert_eq!(payload(12_288).len(), 16_384 + 4);
        assert_eq!(pod_uid(&payload(12_288)).as_deref(), Some("u"));
        assert_eq!(pod_uid(&payload(12_289)), None);
    }
}
