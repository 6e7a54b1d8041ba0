//! The fake authority's access tokens, shaped like the v1 access tokens Microsoft Entra ID issues
//! for Azure resources: a JWT whose claims a resource checks (Azurite checks `aud`, `iss`, `iat`,
//! `nbf` and `exp`), with a signature nobody can verify.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Entra backdates `iat` and `nbf` by this much (seconds), so a resource whose clock is a little
/// behind accepts a token at once.
pub const BACKDATED_SECONDS: u64 = 300;

/// What a token is for and when: the claims the fake writes into it.
pub struct TokenClaims<'a> {
    pub tenant: &'a str,
    pub client_id: &'a str,
    /// The first scope of the request; the token's audience is its resource.
    pub scope: &'a str,
    /// Seconds since the Unix epoch.
    pub issued_at: u64,
    /// Seconds from `issued_at` to `exp`.
    pub lifetime: u64,
    /// Makes each token unique (`uti`, and the signature).
    pub number: u64,
}

impl TokenClaims<'_> {
    /// `header.payload.signature`, each base64url without padding.
    pub fn to_jwt(&self) -> String {
        let header = r#"{"typ":"JWT","alg":"RS256","kid":"fake-authority"}"#;
        let TokenClaims {
            tenant,
            client_id,
            issued_at,
            number,
            ..
        } = *self;
        let audience = audience(self.scope);
        let not_before = issued_at.saturating_sub(BACKDATED_SECONDS);
        let expires = issued_at + self.lifetime;
        // The values are a tenant id, a client id (both checked by the credential to be plain
        // ASCII without quotes) and a scope's resource; quotes would be escaped to stay JSON.
        let payload = format!(
            r#"{{"aud":"{}","iss":"https://sts.windows.net/{}/","iat":{not_before},"nbf":{not_before},"exp":{expires},"appid":"{}","appidacr":"2","idtyp":"app","oid":"{}","sub":"{}","tid":"{}","uti":"fake-{number}","ver":"1.0"}}"#,
            json_text(audience),
            json_text(tenant),
            json_text(client_id),
            json_text(client_id),
            json_text(client_id),
            json_text(tenant),
        );
        let signature = format!("fake-authority-signature-{number}");
        [header, payload.as_str(), signature.as_str()]
            .map(|part| URL_SAFE_NO_PAD.encode(part))
            .join(".")
    }
}

/// The `aud` Entra gives a v1 token for `scope`: the resource, without `/.default` or the scope
/// name after the resource (`https://graph.microsoft.com/User.Read`); a bare app id as it is.
pub fn audience(scope: &str) -> &str {
    if let Some(resource) = scope.strip_suffix("/.default") {
        return resource;
    }
    match scope.split_once("://") {
        Some((_, rest)) if rest.contains('/') => scope.rsplit_once('/').map_or(scope, |(r, _)| r),
        _ => scope,
    }
}

fn json_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> String {
        String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_audience_is_the_scopes_resource() {
        assert_eq!(
            audience("https://storage.azure.com/.default"),
            "https://storage.azure.com"
        );
        assert_eq!(
            audience("https://vault.azure.net/.default"),
            "https://vault.azure.net"
        );
        assert_eq!(
            audience("https://graph.microsoft.com/User.Read"),
            "https://graph.microsoft.com"
        );
        assert_eq!(audience("api://my-app/.default"), "api://my-app");
        assert_eq!(
            audience("e406a681-f3d4-42a8-90b6-c2b029497af1"),
            "e406a681-f3d4-42a8-90b6-c2b029497af1"
        );
    }

    #[test]
    fn a_token_is_a_jwt_with_entras_v1_claims() {
        let token = TokenClaims {
            tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
            client_id: "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b",
            scope: "https://storage.azure.com/.default",
            issued_at: 1_800_000_000,
            lifetime: 3599,
            number: 7,
        }
        .to_jwt();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        assert!(decode(parts[0]).contains(r#""alg":"RS256""#));
        assert_eq!(
            decode(parts[1]),
            r#"{"aud":"https://storage.azure.com","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","iat":1799999700,"nbf":1799999700,"exp":1800003599,"appid":"5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b","appidacr":"2","idtyp":"app","oid":"5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b","sub":"5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","uti":"fake-7","ver":"1.0"}"#
        );
        assert_eq!(decode(parts[2]), "fake-authority-signature-7");
    }
}
