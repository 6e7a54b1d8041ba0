//! A token as the workers share it: the header value to add, and when to refresh and stop using it.

use redacted::Redacted;

/// A token this close to its expiry is not sent: the request could reach the service after it.
pub const EXPIRY_MARGIN_SECS: u64 = 30;
/// When the bridge names no refresh time (`refresh_in`), refresh at this share of the lifetime
/// left when the token was fetched (for tokens of more than five minutes; shorter ones are
/// refreshed a margin before they stop being sent).
pub const REFRESH_AT_PERCENT: u64 = 80;
/// Not sooner than this after a fetch, whatever the lifetime: a bridge handing out short-lived
/// tokens must not be asked on every tick.
pub const MIN_REFRESH_INTERVAL_SECS: u64 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedToken {
    /// `Bearer <token>`.
    pub authorization: Redacted<String>,
    /// Seconds since the Unix epoch.
    pub expires_on: u64,
    /// Seconds since the Unix epoch.
    pub refresh_at: u64,
}

impl SharedToken {
    /// The token in the bridge's 200 answer, fetched at `now`; `Err` says what is wrong with the
    /// answer (never quoting the token).
    pub fn from_bridge_answer(body: &[u8], now: u64) -> Result<SharedToken, String> {
        let answer: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "the bridge's answer is not JSON")?;
        let access_token = answer["access_token"]
            .as_str()
            .filter(|token| !token.is_empty())
            .ok_or("the bridge's answer has no access_token")?;
        // The token becomes a header value: anything but visible ASCII could split the header.
        if !access_token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the bridge's access_token is not a header-safe token".into());
        }
        let token_type = answer["token_type"].as_str().unwrap_or("Bearer");
        if token_type.is_empty() || !token_type.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "the bridge's token_type '{token_type}' is not a scheme"
            ));
        }
        let expires_on = seconds(&answer["expires_on"])
            .ok_or("the bridge's answer has no expires_on in seconds since the epoch")?;
        if expires_on <= now + EXPIRY_MARGIN_SECS {
            return Err(format!(
                "the bridge's token expires at {expires_on}, {EXPIRY_MARGIN_SECS} s or less from now ({now})"
            ));
        }
        let lifetime = expires_on - now;
        // The bridge's `refresh_in` is when its credential will refresh the token: asking
        // earlier gets the same token back, later keeps a token the credential has replaced.
        // Only a bridge that names none gets the filter's own share of the lifetime.
        let advised = seconds(&answer["refresh_in"])
            .unwrap_or(lifetime.saturating_mul(REFRESH_AT_PERCENT) / 100);
        // A short-lived token is refreshed before it stops being sent, not after.
        let before_unusable = lifetime.saturating_sub(2 * EXPIRY_MARGIN_SECS);
        let refresh_in = advised.min(before_unusable).max(MIN_REFRESH_INTERVAL_SECS);
        let refresh_at = now + refresh_in;
        Ok(SharedToken {
            authorization: Redacted::new(format!("{token_type} {access_token}")),
            expires_on,
            refresh_at,
        })
    }

    /// Whether requests may carry it at `now`.
    pub fn usable(&self, now: u64) -> bool {
        now + EXPIRY_MARGIN_SECS < self.expires_on
    }

    pub fn refresh_due(&self, now: u64) -> bool {
        now >= self.refresh_at
    }

    /// The shared-data value: `<expires_on> <refresh_at> <authorization>`.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{} {} {}",
            self.expires_on,
            self.refresh_at,
            self.authorization.expose().as_str()
        )
        .into_bytes()
    }

    pub fn decode(value: &[u8]) -> Option<SharedToken> {
        let text = core::str::from_utf8(value).ok()?;
        let mut parts = text.splitn(3, ' ');
        let expires_on = parts.next()?.parse().ok()?;
        let refresh_at = parts.next()?.parse().ok()?;
        let authorization = Redacted::new(parts.next()?.to_owned());
        Some(SharedToken {
            authorization,
            expires_on,
            refresh_at,
        })
    }
}

/// A count of seconds in the bridge's answer: App Service sends a string of seconds; a number
/// is accepted too.
fn seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(text) => text.parse().ok(),
        number => number.as_u64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn answer(expires_on: &str) -> String {
        format!(
            r#"{{"access_token":"eyJ0.e30.sig","expires_on":{expires_on},"expires_in":"3600","resource":"https://vault.azure.net","token_type":"Bearer"}}"#
        )
    }

    #[test]
    fn without_refresh_in_the_bridges_answer_becomes_a_header_refreshed_at_80_percent() {
        let token =
            SharedToken::from_bridge_answer(answer(&format!("\"{}\"", NOW + 3600)).as_bytes(), NOW)
                .unwrap();
        assert_eq!(token.authorization.expose(), "Bearer eyJ0.e30.sig");
        assert_eq!(token.expires_on, NOW + 3600);
        assert_eq!(token.refresh_at, NOW + 2880);
        assert!(token.usable(NOW + 3569) && !token.usable(NOW + 3570));
        assert!(!token.refresh_due(NOW + 2879) && token.refresh_due(NOW + 2880));
        let numeric =
            SharedToken::from_bridge_answer(answer(&(NOW + 3600).to_string()).as_bytes(), NOW);
        assert_eq!(numeric.unwrap(), token);
        assert_eq!(SharedToken::decode(&token.encode()), Some(token));
    }

    #[test]
    fn the_bridges_refresh_in_is_when_the_token_is_refreshed() {
        for refresh_in in ["\"3300\"", "3300"] {
            let body = answer(&(NOW + 3600).to_string()).replace(
                r#""resource""#,
                &format!(r#""refresh_in":{refresh_in},"resource""#),
            );
            let token = SharedToken::from_bridge_answer(body.as_bytes(), NOW).unwrap();
            assert_eq!(token.refresh_at, NOW + 3300, "{body}");
        }
        // Still never on every tick, and never after the token stops being sent.
        let advised = |refresh_in: u64| {
            let body = answer(&(NOW + 3600).to_string()).replace(
                r#""resource""#,
                &format!(r#""refresh_in":{refresh_in},"resource""#),
            );
            SharedToken::from_bridge_answer(body.as_bytes(), NOW)
                .unwrap()
                .refresh_at
        };
        assert_eq!(advised(0), NOW + MIN_REFRESH_INTERVAL_SECS);
        assert_eq!(advised(3590), NOW + 3600 - 2 * EXPIRY_MARGIN_SECS);
    }

    #[test]
    fn a_short_lived_token_is_not_refreshed_on_every_tick() {
        let token =
            SharedToken::from_bridge_answer(answer(&(NOW + 35).to_string()).as_bytes(), NOW)
                .unwrap();
        assert_eq!(token.refresh_at, NOW + MIN_REFRESH_INTERVAL_SECS);
        let token =
            SharedToken::from_bridge_answer(answer(&(NOW + 300).to_string()).as_bytes(), NOW)
                .unwrap();
        assert_eq!(token.refresh_at, NOW + 240);
        assert!(token.usable(token.refresh_at));
        let token =
            SharedToken::from_bridge_answer(answer(&(NOW + 120).to_string()).as_bytes(), NOW)
                .unwrap();
        assert_eq!(token.refresh_at, NOW + 60);
        assert!(token.usable(token.refresh_at));
    }

    #[test]
    fn bad_answers_are_refused_without_quoting_the_token() {
        let cases = [
            ("not json".to_owned(), "not JSON"),
            (r#"{"expires_on":"1"}"#.to_owned(), "no access_token"),
            (answer("\"soon\""), "no expires_on"),
            (
                answer(&format!("\"{}\"", NOW + 10)),
                "30 s or less from now",
            ),
            (
                answer(&format!("\"{}\"", NOW + 3600)).replace("eyJ0.e30.sig", "a\\r\\nx-evil: 1"),
                "not a header-safe token",
            ),
            (
                answer(&format!("\"{}\"", NOW + 3600)).replace("\"Bearer\"", "\"Bearer x\""),
                "is not a scheme",
            ),
        ];
        for (body, expected) in cases {
            let error = SharedToken::from_bridge_answer(body.as_bytes(), NOW).unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
            assert!(!error.contains("eyJ0"), "{error}");
        }
        assert_eq!(SharedToken::decode(b"12 x Bearer t"), None);
        assert_eq!(SharedToken::decode(b"12 13"), None);
    }

    #[test]
    fn debug_output_never_holds_the_token() {
        let token =
            SharedToken::from_bridge_answer(answer(&(NOW + 3600).to_string()).as_bytes(), NOW)
                .unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains("eyJ0"), "{debug}");
    }
}
