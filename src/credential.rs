//! The workload identity credential: settings, cache and the token exchange, over a [`Platform`].

use crate::cache::{CacheKey, TokenCache};
use crate::claims::claims_to_send;
use crate::error::{AccessToken, AuthenticationFailure, CredentialError};
use crate::platform::Platform;
use crate::request_id::uuid_v4;
use crate::scopes::validate_scopes;
use crate::settings::Settings;
use crate::tenant::tenant_for_request;
use crate::token_file::read_assertion;
use crate::token_request::TokenRequest;
use crate::token_response::parse_token_response;

/// Per-call options of get-token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequestOptions {
    /// A claims challenge (a JSON object); a request with claims bypasses the cache.
    pub claims: Option<String>,
    pub tenant_id: Option<String>,
    pub enable_cae: bool,
}

#[derive(Debug)]
pub struct WorkloadIdentityCredential {
    settings: Settings,
    cache: TokenCache,
    closed: bool,
}

impl WorkloadIdentityCredential {
    pub fn new(settings: Settings) -> WorkloadIdentityCredential {
        WorkloadIdentityCredential {
            settings,
            cache: TokenCache::default(),
            closed: false,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Returns a cached token that is good for more than five minutes, else exchanges the token
    /// file for a new one.
    pub fn get_token(
        &mut self,
        scopes: &[String],
        options: &TokenRequestOptions,
        platform: &mut impl Platform,
    ) -> Result<AccessToken, CredentialError> {
        if self.closed {
            return Err(CredentialError::Unavailable(
                "the credential was closed; create a new one".into(),
            ));
        }
        validate_scopes(scopes)?;
        let tenant_id = tenant_for_request(&self.settings, options.tenant_id.as_deref())?;
        let claims = claims_to_send(options.claims.as_deref(), options.enable_cae)?;
        // A claims challenge asks for a token the cached one is not: never serve or keep it.
        let cache_key = options
            .claims
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
            .then(|| CacheKey::new(&tenant_id, scopes, options.enable_cae));

        if let Some(key) = &cache_key
            && let Some(token) = self.cache.get(key, platform.now())
        {
            return Ok(token.clone());
        }

        let assertion = read_assertion(platform, &self.settings.token_file_path)?;
        let request_id = uuid_v4(platform.random_bytes());
        let request = TokenRequest {
            authority: &self.settings.authority,
            tenant_id: &tenant_id,
            client_id: &self.settings.client_id,
            assertion: &assertion,
            scopes,
            claims: claims.as_deref(),
            request_id: &request_id,
        }
        .to_http();
        let url = request.url();
        let requested_at = platform.now();
        let response = platform.send(&request).map_err(|transport_error| {
            CredentialError::AuthenticationFailed(Box::new(AuthenticationFailure {
                message: format!(
                    "the token request to {url} got no response: {transport_error}. Check that \
                     the host lets the component make outgoing HTTPS requests (wasi:http) and \
                     can reach the authority host (x-ms-client-request-id {request_id})"
                ),
                ..Default::default()
            }))
        })?;
        let token = parse_token_response(&response, requested_at, &url, &[&assertion])?;
        if let Some(key) = cache_key {
            self.cache.insert(key, token.clone());
        }
        Ok(token)
    }

    /// Forgets every cached token; later calls fail with `unavailable`.
    pub fn close(&mut self) {
        self.cache.clear();
        self.closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::tests::decode;
    use crate::platform::{FileReadError, HttpRequest, HttpResponse};
    use crate::settings::WorkloadIdentityOptions;

    type Authority = Box<dyn FnMut(&HttpRequest) -> Result<HttpResponse, String>>;

    /// A scripted host: a clock, a token file and an authority that counts requests.
    struct ScriptedPlatform {
        now: u64,
        token_file: Result<Vec<u8>, FileReadError>,
        requests: Vec<HttpRequest>,
        answer: Authority,
    }

    impl ScriptedPlatform {
        fn issuing_tokens() -> ScriptedPlatform {
            let mut issued = 0;
            ScriptedPlatform {
                now: 1_000_000,
                token_file: Ok(b"service-account-jwt\n".to_vec()),
                requests: Vec::new(),
                answer: Box::new(move |_| {
                    issued += 1;
                    Ok(HttpResponse {
                        status: 200,
                        headers: vec![],
                        body: format!(
                            r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"token-{issued}"}}"#
                        )
                        .into_bytes(),
                    })
                }),
            }
        }
    }

    impl Platform for ScriptedPlatform {
        fn now(&mut self) -> u64 {
            self.now
        }
        fn random_bytes(&mut self) -> [u8; 16] {
            [self.requests.len() as u8; 16]
        }
        fn read_file(&mut self, _: &str, _: usize) -> Result<Vec<u8>, FileReadError> {
            self.token_file.clone()
        }
        fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
            self.requests.push(request.clone());
            (self.answer)(request)
        }
    }

    fn credential() -> WorkloadIdentityCredential {
        let options = WorkloadIdentityOptions {
            tenant_id: Some("tenant".into()),
            client_id: Some("client".into()),
            token_file_path: Some("/tokens/token".into()),
            authority_host: None,
            additionally_allowed_tenants: vec!["friend".into()],
        };
        WorkloadIdentityCredential::new(Settings::resolve(&options, |_| None).unwrap())
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn form_field(request: &HttpRequest, name: &str) -> Option<String> {
        decode(std::str::from_utf8(&request.body).unwrap())
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    #[test]
    fn token_is_requested_once_then_served_from_cache_until_the_margin() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        let vault = scopes(&["https://vault.azure.net/.default"]);
        let first = credential
            .get_token(&vault, &Default::default(), &mut platform)
            .unwrap();
        assert_eq!(first.token, "token-1");
        assert_eq!(first.expires_on, 1_003_600);
        assert_eq!(
            form_field(&platform.requests[0], "client_assertion").unwrap(),
            "service-account-jwt"
        );

        platform.now += 3600 - 301;
        let cached = credential
            .get_token(&vault, &Default::default(), &mut platform)
            .unwrap();
        assert_eq!(cached.token, "token-1");
        assert_eq!(platform.requests.len(), 1);

        platform.now += 1;
        let renewed = credential
            .get_token(&vault, &Default::default(), &mut platform)
            .unwrap();
        assert_eq!(renewed.token, "token-2");
        assert_eq!(platform.requests.len(), 2);
    }

    #[test]
    fn other_scopes_tenants_and_cae_are_separate_requests() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        let vault = scopes(&["https://vault.azure.net/.default"]);
        let storage = scopes(&["https://storage.azure.com/.default"]);
        let friend = TokenRequestOptions {
            tenant_id: Some("friend".into()),
            ..Default::default()
        };
        let cae = TokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        for (scopes, options) in [
            (&vault, &Default::default()),
            (&storage, &Default::default()),
            (&vault, &friend),
            (&vault, &cae),
        ] {
            credential
                .get_token(scopes, options, &mut platform)
                .unwrap();
            credential
                .get_token(scopes, options, &mut platform)
                .unwrap();
        }
        assert_eq!(platform.requests.len(), 4);
        assert_eq!(platform.requests[2].path, "/friend/oauth2/v2.0/token");
        assert_eq!(
            form_field(&platform.requests[3], "claims").unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#
        );
    }

    #[test]
    fn claims_challenge_bypasses_the_cache() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        let vault = scopes(&["https://vault.azure.net/.default"]);
        credential
            .get_token(&vault, &Default::default(), &mut platform)
            .unwrap();
        let challenge = TokenRequestOptions {
            claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
            ..Default::default()
        };
        let fresh = credential
            .get_token(&vault, &challenge, &mut platform)
            .unwrap();
        assert_eq!(fresh.token, "token-2");
        let cached = credential
            .get_token(&vault, &Default::default(), &mut platform)
            .unwrap();
        assert_eq!(cached.token, "token-1");
        assert_eq!(platform.requests.len(), 2);
    }

    #[test]
    fn each_request_has_a_fresh_request_id() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        credential
            .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
            .unwrap();
        credential
            .get_token(&scopes(&["b"]), &Default::default(), &mut platform)
            .unwrap();
        let id = |r: &HttpRequest| {
            r.headers
                .iter()
                .find(|(n, _)| n == "x-ms-client-request-id")
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(
            id(&platform.requests[0]),
            "00000000-0000-4000-8000-000000000000"
        );
        assert_eq!(
            id(&platform.requests[1]),
            "01010101-0101-4101-8101-010101010101"
        );
    }

    #[test]
    fn invalid_arguments_send_nothing() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        let stranger = TokenRequestOptions {
            tenant_id: Some("stranger".into()),
            ..Default::default()
        };
        let bad_claims = TokenRequestOptions {
            claims: Some("nope".into()),
            ..Default::default()
        };
        for (scopes, options) in [
            (scopes(&[]), Default::default()),
            (scopes(&["a"]), stranger),
            (scopes(&["a"]), bad_claims),
        ] {
            let result = credential.get_token(&scopes, &options, &mut platform);
            assert!(
                matches!(result, Err(CredentialError::InvalidArgument(_))),
                "{result:?}"
            );
        }
        assert!(platform.requests.is_empty());
    }

    #[test]
    fn transport_failure_is_an_authentication_failure_without_status() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        platform.answer = Box::new(|_| Err("connection refused".into()));
        let error = credential()
            .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
            .unwrap_err();
        let CredentialError::AuthenticationFailed(failure) = error else {
            panic!("expected authentication-failed, got {error:?}");
        };
        assert_eq!(failure.status, None);
        assert!(
            failure.message.contains("connection refused"),
            "{}",
            failure.message
        );
        assert!(!failure.message.contains("service-account-jwt"));
    }

    #[test]
    fn failures_are_not_cached() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        platform.token_file = Err(FileReadError::NotFound);
        assert!(
            credential
                .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
                .is_err()
        );
        platform.token_file = Ok(b"jwt".to_vec());
        assert!(
            credential
                .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
                .is_ok()
        );
    }

    #[test]
    fn debug_output_of_a_credential_holding_tokens_shows_no_secret() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        credential
            .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
            .unwrap();
        let debug = format!("{credential:?} {:?}", platform.requests);
        assert!(!debug.contains("token-1"), "{debug}");
        assert!(!debug.contains("service-account-jwt"), "{debug}");
    }

    #[test]
    fn closed_credential_is_unavailable_and_forgets_its_tokens() {
        let mut platform = ScriptedPlatform::issuing_tokens();
        let mut credential = credential();
        credential
            .get_token(&scopes(&["a"]), &Default::default(), &mut platform)
            .unwrap();
        credential.close();
        let result = credential.get_token(&scopes(&["a"]), &Default::default(), &mut platform);
        assert!(matches!(result, Err(CredentialError::Unavailable(m)) if m.contains("closed")));
    }
}
