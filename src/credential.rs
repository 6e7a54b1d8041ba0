//! The workload identity credential: settings, token file, cache and refresh, over a
//! [`FilePlatform`].

use crate::prelude::*;

use crate::cached::{self, Tokens};
use crate::claims::claims_to_send;
use crate::error::{AccessToken, CredentialError};
use crate::exchange::{TokenQuery, exchange};
use crate::platform::FilePlatform;
use crate::scopes::validate_scopes;
use crate::settings::Settings;
use crate::shared_cache::{SharedStore, entry_name, pod_uid, through_store};
use crate::token_file::TokenFile;
use core::cell::Cell;

/// A token request the cache asked for, its scopes and claims checked.
struct Asked<'a> {
    tenant_id: &'a str,
    scopes: &'a [String],
    claims: Option<String>,
    ask: &'a cached::Ask<'a>,
}

impl Asked<'_> {
    /// The exchange's query; `valid_token_in_hand` when the shared store holds one.
    fn query(&self, valid_token_in_hand: bool) -> TokenQuery<'_> {
        TokenQuery {
            tenant_id: self.tenant_id,
            scopes: self.scopes,
            claims: self.claims.as_deref(),
            known_tokens: self.ask.known_tokens,
            valid_token_in_hand: self.ask.valid_token_in_hand || valid_token_in_hand,
            started: self.ask.started,
        }
    }
}

/// Per-call options of get-token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequestOptions {
    /// A claims challenge (a JSON object); a request with claims bypasses the cache, and its token
    /// replaces the cached one.
    pub claims: Option<String>,
    /// Another tenant to get the token from; it must be allowed by the settings.
    pub tenant_id: Option<String>,
    /// Continuous access evaluation: the token request declares the CP1 capability, and the
    /// token is cached apart from tokens without it.
    pub enable_cae: bool,
}

/// A credential: its settings, the token file and the cache of the tokens it got.
#[derive(Debug)]
pub struct WorkloadIdentityCredential {
    settings: Settings,
    token_file: TokenFile,
    tokens: Tokens,
    closed: Cell<bool>,
}

impl WorkloadIdentityCredential {
    /// A credential for `settings`; nothing is read or requested before the first get-token.
    pub fn new(settings: Settings) -> WorkloadIdentityCredential {
        WorkloadIdentityCredential {
            token_file: TokenFile::new(settings.token_file_path.clone()),
            settings,
            tokens: Tokens::default(),
            closed: Cell::new(false),
        }
    }

    /// Serves the cached token until it is due for refresh, then exchanges the token file for
    /// a new one; if that fails while the cached token is still valid, serves the cached token.
    ///
    /// One refresh makes one request however many calls ask. In WASI 0.2 an instance runs one
    /// call at a time: the first refreshes, the others find the new token, or find that the
    /// attempt failed less than 30 s ago. In WASI 0.3 calls overlap: those that find the token
    /// being requested wait for that request and share its answer (`flights`). A refresh with a
    /// valid token in hand is one short attempt (5 s at most). With no valid token, a failure is
    /// answered again for 5 s after it ended, so that calls queued behind a slow attempt do not
    /// each wait for one of their own.
    // The wasi:keyvalue variants call `get_token_shared` only.
    #[cfg_attr(
        any(feature = "keyvalue-draft2", feature = "keyvalue-draft"),
        allow(dead_code)
    )]
    pub async fn get_token(
        &self,
        scopes: &[String],
        options: &TokenRequestOptions,
        platform: &mut impl FilePlatform,
    ) -> Result<AccessToken, CredentialError> {
        let request = self.request(scopes, options)?;
        cached::get_token(&self.tokens, &request, platform, async |platform, ask| {
            let asked = self.asked(&request, options, ask)?;
            let query = asked.query(false);
            exchange(&self.settings, &self.token_file, &query, platform).await
        })
        .await
    }

    /// [`get_token`](Self::get_token), with a store shared by every instance (the wasi:keyvalue
    /// variants) behind the instance's own cache: what that cache cannot serve is looked for
    /// there, at most one instance at a time refreshes it, and every token got is written there,
    /// sealed (`shared_cache`). Without a store (the host has none), as `get_token`.
    ///
    /// Apart from `get_token`, not a `get_token` with no store: a future keeps the states of every
    /// path it might take, so the store's code would be in every build (the WASI 0.3 one too).
    // Only the wasi:keyvalue variants have a store.
    #[cfg_attr(
        not(any(feature = "keyvalue-draft2", feature = "keyvalue-draft")),
        allow(dead_code)
    )]
    pub async fn get_token_shared<S: SharedStore>(
        &self,
        scopes: &[String],
        options: &TokenRequestOptions,
        platform: &mut impl FilePlatform,
        store: Option<&mut S>,
    ) -> Result<AccessToken, CredentialError> {
        let Some(store) = store else {
            return self.get_token(scopes, options, platform).await;
        };
        let request = self.request(scopes, options)?;
        cached::get_token(&self.tokens, &request, platform, async |platform, ask| {
            let asked = self.asked(&request, options, ask)?;
            // The entry is sealed under the token file's contents, and named after the pod the
            // token is bound to: read (or re-read) it first.
            let assertion = self.token_file.assertion(platform, false).await?;
            let pod = pod_uid(&assertion);
            let name = entry_name(
                &self.settings,
                pod.as_deref(),
                asked.tenant_id,
                scopes,
                options.enable_cae,
            );
            through_store(
                store,
                platform,
                &assertion,
                &name,
                request.challenged,
                async |platform, valid_token_in_hand| {
                    let query = asked.query(valid_token_in_hand);
                    exchange(&self.settings, &self.token_file, &query, platform).await
                },
            )
            .await
        })
        .await
    }

    /// What the cache is asked for, once the call is known to be one this credential serves.
    fn request<'a>(
        &'a self,
        scopes: &'a [String],
        options: &'a TokenRequestOptions,
    ) -> Result<cached::Request<'a>, CredentialError> {
        if self.closed.get() {
            return Err(cached::closed());
        }
        let other_tenant = self
            .settings
            .tenant_for_request(options.tenant_id.as_deref())?;
        // A claims challenge asks for a token the cached one is not (the resource rejected it):
        // never serve it; the token obtained replaces it, as MSAL does, so that the next plain
        // call does not return the rejected token.
        let challenged = options
            .claims
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        Ok(cached::Request {
            other_tenant,
            scopes,
            cae: options.enable_cae,
            challenged,
        })
    }

    /// What a token request needs once the cache has asked for one: checked scopes and claims.
    fn asked<'a>(
        &'a self,
        request: &cached::Request<'a>,
        options: &TokenRequestOptions,
        ask: &'a cached::Ask<'a>,
    ) -> Result<Asked<'a>, CredentialError> {
        // Only valid scopes are ever cached, so a hit needs no validation; a miss does.
        validate_scopes(request.scopes)?;
        // Built only when a request is due: with CAE it is JSON work a cache hit does not
        // need. A malformed challenge bypasses the cache, so it is still refused before any
        // request.
        let claims = claims_to_send(options.claims.as_deref(), options.enable_cae)?;
        Ok(Asked {
            tenant_id: request.other_tenant.unwrap_or(&self.settings.tenant_id),
            scopes: request.scopes,
            claims,
            ask,
        })
    }

    /// Forgets every cached token; later calls fail with `unavailable`.
    pub fn close(&self) {
        self.tokens.clear();
        self.closed.set(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready::run;
    use crate::scripted_platform::ScriptedPlatform;
    use crate::settings::WorkloadIdentityOptions;

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

    fn get(
        credential: &mut WorkloadIdentityCredential,
        platform: &mut ScriptedPlatform,
    ) -> Result<AccessToken, CredentialError> {
        run(credential.get_token(
            &scopes(&["https://vault.azure.net/.default"]),
            &Default::default(),
            platform,
        ))
    }

    const LONG_LIVED: &str = r#"{"expires_in":7200,"refresh_in":3600,"access_token":"long"}"#;

    #[test]
    fn token_is_requested_once_then_served_from_cache_until_the_margin() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        let first = get(&mut credential, &mut platform).unwrap();
        assert_eq!(first.token, "token-1");
        assert_eq!(first.expires_on, platform.wall() + 3600);
        assert_eq!(
            platform.field(0, "client_assertion").unwrap(),
            "service-account-jwt"
        );

        platform.advance_seconds(3600 - 301);
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-1"
        );
        assert_eq!(platform.requests.len(), 1);

        platform.advance_seconds(1);
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-2"
        );
        assert_eq!(platform.requests.len(), 2);
    }

    #[test]
    fn the_returned_refresh_on_is_when_the_cache_stops_serving_the_token() {
        let mut platform = ScriptedPlatform::new();
        let mut short_lived = credential();
        // Entra names no refresh time: 5 minutes before expiry.
        let short = get(&mut short_lived, &mut platform).unwrap();
        assert_eq!(short.refresh_on, Some(platform.wall() + 3600 - 300));
        platform.advance_seconds(3600 - 301);
        assert_eq!(get(&mut short_lived, &mut platform).unwrap(), short);
        platform.advance_seconds(1);
        assert_ne!(
            get(&mut short_lived, &mut platform).unwrap().token,
            short.token
        );

        // Entra's refresh_in, when earlier.
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut long_lived = credential();
        let long = get(&mut long_lived, &mut platform).unwrap();
        assert_eq!(long.refresh_on, Some(platform.wall() + 3600));
        // A token asked for with claims says when it is due too.
        let options = TokenRequestOptions {
            claims: Some(r#"{"access_token":{"nbf":{"essential":true}}}"#.into()),
            ..Default::default()
        };
        let challenged = run(long_lived.get_token(
            &scopes(&["https://vault.azure.net/.default"]),
            &options,
            &mut platform,
        ))
        .unwrap();
        assert_eq!(challenged.refresh_on, Some(challenged.expires_on - 300));
    }

    #[test]
    fn refresh_on_triggers_the_refresh_and_many_calls_make_one_request() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut credential = credential();
        assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        platform.advance_seconds(3599);
        assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        platform.advance_seconds(1);
        for _ in 0..1000 {
            assert_eq!(
                get(&mut credential, &mut platform).unwrap().token,
                "token-1"
            );
        }
        assert_eq!(platform.requests.len(), 2);
    }

    #[test]
    fn a_failed_refresh_serves_the_valid_token_and_waits_30_seconds_to_try_again() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(3600);
        platform.answer(
            400,
            &[],
            r#"{"error":"invalid_client","error_codes":[70021]}"#,
        );
        for _ in 0..100 {
            assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        }
        assert_eq!(platform.requests.len(), 2);
        platform.advance_seconds(30);
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-1"
        );
        assert_eq!(platform.requests.len(), 3);
    }

    #[test]
    fn an_expired_token_is_never_served_even_when_the_refresh_fails() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(7200);
        platform.answer(400, &[], r#"{"error":"invalid_client"}"#);
        assert!(matches!(
            get(&mut credential, &mut platform),
            Err(CredentialError::AuthenticationFailed(_))
        ));
    }

    #[test]
    fn a_refresh_that_outlives_the_token_does_not_serve_it() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], r#"{"expires_in":400,"access_token":"short"}"#);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(397);
        // 3 s left; the answer never comes and the attempt's bound (5 s) outlives the token.
        platform.send_nanos = 45 * SECOND;
        assert!(get(&mut credential, &mut platform).is_err());
    }

    #[test]
    fn a_token_is_not_served_from_its_expiry_second_on() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], r#"{"expires_in":400,"access_token":"short"}"#);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(395);
        // The refresh's attempt is dropped at its 5 s bound, just as the token expires.
        platform.ignores_timeouts = true;
        platform.send_nanos = 45 * SECOND;
        assert!(get(&mut credential, &mut platform).is_err());
        assert_eq!(platform.wall(), platform.wall_at_start + 400);
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_stuck_authority_costs_one_short_attempt_while_a_valid_token_is_in_hand() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(3600);
        // Entra accepts and never answers; the host applies no timeout.
        platform.ignores_timeouts = true;
        platform.send_nanos = 300 * SECOND;
        let started = platform.monotonic;
        assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        assert_eq!(platform.monotonic - started, 5 * SECOND);
        // Eight callers that queued behind it are served at once, without asking again.
        for _ in 0..8 {
            assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        }
        assert_eq!(platform.requests.len(), 2);
        assert_eq!(platform.monotonic - started, 5 * SECOND);
        // 30 s after the attempt ended, the next caller tries again.
        platform.advance_seconds(29);
        get(&mut credential, &mut platform).unwrap();
        assert_eq!(platform.requests.len(), 2);
        platform.advance_seconds(1);
        get(&mut credential, &mut platform).unwrap();
        assert_eq!(platform.requests.len(), 3);
    }

    #[test]
    fn with_no_valid_token_callers_behind_a_failed_attempt_get_its_answer_at_once() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        platform.ignores_timeouts = true;
        platform.send_nanos = 300 * SECOND;
        let first = get(&mut credential, &mut platform).unwrap_err();
        assert!(platform.monotonic <= 60 * SECOND, "{}", platform.monotonic);
        let asked = platform.requests.len();
        let ended = platform.monotonic;
        for _ in 0..8 {
            let again = get(&mut credential, &mut platform).unwrap_err();
            let CredentialError::AuthenticationFailed(failure) = &again else {
                panic!("{again:?}");
            };
            assert!(
                failure
                    .message
                    .contains("not asked again: this same request failed 0.0 s ago"),
                "{}",
                failure.message
            );
            assert!(
                failure.message.starts_with(&first.to_string()[23..]),
                "{again} / {first}"
            );
        }
        assert_eq!(
            (platform.requests.len(), platform.monotonic),
            (asked, ended)
        );
        // 5 s after the failure, the authority is asked again.
        platform.send_nanos = 0;
        platform.advance_seconds(4);
        assert!(get(&mut credential, &mut platform).is_err());
        assert_eq!(platform.requests.len(), asked);
        platform.advance_seconds(1);
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-1"
        );
    }

    #[test]
    fn a_refusal_is_not_remembered_but_a_server_fault_is() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        platform.answer(
            401,
            &[],
            r#"{"error":"invalid_client","error_codes":[700213]}"#,
        );
        assert!(get(&mut credential, &mut platform).is_err());
        // The federated credential was fixed: the next call asks, and gets a token.
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-1"
        );

        let mut credential = self::credential();
        for _ in 0..4 {
            platform.answer(503, &[("retry-after", "0")], "busy");
        }
        assert!(get(&mut credential, &mut platform).is_err());
        let asked = platform.requests.len();
        let again = get(&mut credential, &mut platform).unwrap_err().to_string();
        assert!(again.contains("not asked again"), "{again}");
        assert_eq!(platform.requests.len(), asked);
    }

    #[test]
    fn a_missing_token_file_is_looked_for_again_on_the_next_call() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        platform.token_file = Err(crate::platform::FileReadError::NotFound);
        assert!(matches!(
            get(&mut credential, &mut platform),
            Err(CredentialError::Unavailable(_))
        ));
        platform.token_file = Ok(b"service-account-jwt".to_vec());
        assert_eq!(
            get(&mut credential, &mut platform).unwrap().token,
            "token-1"
        );
    }

    #[test]
    fn a_refresh_with_a_valid_token_in_hand_does_not_wait_to_retry() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], LONG_LIVED);
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.advance_seconds(3600);
        platform.answer(503, &[("retry-after", "5")], "busy");
        assert_eq!(get(&mut credential, &mut platform).unwrap().token, "long");
        assert_eq!(platform.requests.len(), 2);
        assert!(platform.sleeps.is_empty());
    }

    #[test]
    fn other_scopes_tenants_and_cae_are_separate_requests() {
        let mut platform = ScriptedPlatform::new();
        let credential = credential();
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
        let none = TokenRequestOptions::default();
        for (scopes, options) in [
            (&vault, &none),
            (&storage, &none),
            (&vault, &friend),
            (&vault, &cae),
        ] {
            run(credential.get_token(scopes, options, &mut platform)).unwrap();
            run(credential.get_token(scopes, options, &mut platform)).unwrap();
        }
        assert_eq!(platform.requests.len(), 4);
        assert_eq!(
            platform.requests[2].endpoint.path,
            "/friend/oauth2/v2.0/token"
        );
        assert_eq!(
            platform.field(3, "claims").unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#
        );
    }

    #[test]
    fn claims_challenge_bypasses_the_cache_is_sent_and_its_token_replaces_the_cached_one() {
        let mut platform = ScriptedPlatform::new();
        let credential = credential();
        let vault = scopes(&["https://vault.azure.net/.default"]);
        run(credential.get_token(&vault, &Default::default(), &mut platform)).unwrap();
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        let challenge = TokenRequestOptions {
            claims: Some(claims.into()),
            ..Default::default()
        };
        let fresh = run(credential.get_token(&vault, &challenge, &mut platform)).unwrap();
        assert_eq!(fresh.token, "token-2");
        assert_eq!(platform.field(1, "claims").unwrap(), claims);
        // The resource rejected token-1: the next plain call gets the challenge's token.
        let cached = run(credential.get_token(&vault, &Default::default(), &mut platform)).unwrap();
        assert_eq!(cached.token, "token-2");
        assert_eq!(platform.requests.len(), 2);
        // A challenge that fails leaves the cached token, and is not remembered as a failure.
        platform.answer(400, &[], r#"{"error":"invalid_grant"}"#);
        assert!(run(credential.get_token(&vault, &challenge, &mut platform)).is_err());
        let after_failure =
            run(credential.get_token(&vault, &Default::default(), &mut platform)).unwrap();
        assert_eq!(after_failure.token, "token-2");
        assert_eq!(platform.requests.len(), 3);
    }

    #[test]
    fn each_request_has_a_fresh_request_id() {
        let mut platform = ScriptedPlatform::new();
        let credential = credential();
        run(credential.get_token(&scopes(&["a"]), &Default::default(), &mut platform)).unwrap();
        run(credential.get_token(&scopes(&["b"]), &Default::default(), &mut platform)).unwrap();
        let id = |r: &crate::platform::HttpRequest| {
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
    fn invalid_arguments_send_nothing_and_read_nothing() {
        let mut platform = ScriptedPlatform::new();
        let credential = credential();
        let stranger = TokenRequestOptions {
            tenant_id: Some("stranger".into()),
            ..Default::default()
        };
        let bad_claims = TokenRequestOptions {
            claims: Some("nope".into()),
            ..Default::default()
        };
        for (scopes, options) in [
            (scopes(&[]), TokenRequestOptions::default()),
            (scopes(&["a"]), stranger),
            (scopes(&["a"]), bad_claims),
        ] {
            let result = run(credential.get_token(&scopes, &options, &mut platform));
            assert!(
                matches!(result, Err(CredentialError::InvalidArgument(_))),
                "{result:?}"
            );
        }
        assert!(platform.requests.is_empty());
        assert_eq!(platform.file_reads, 0);
    }

    #[test]
    fn failures_are_not_cached() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        platform.token_file = Err(crate::platform::FileReadError::NotFound);
        assert!(get(&mut credential, &mut platform).is_err());
        platform.token_file = Ok(b"jwt".to_vec());
        assert!(get(&mut credential, &mut platform).is_ok());
    }

    #[test]
    fn debug_output_of_a_credential_holding_tokens_shows_no_secret() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        let debug = format!("{credential:?} {:?}", platform.requests);
        assert!(!debug.contains("token-1"), "{debug}");
        assert!(!debug.contains("service-account-jwt"), "{debug}");
    }

    #[test]
    fn a_cached_token_echoed_by_the_server_is_redacted_from_the_error() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        platform.answer(
            401,
            &[],
            r#"{"error":"invalid_client","error_description":"you already hold token-1"}"#,
        );
        let error =
            run(credential.get_token(&scopes(&["other"]), &Default::default(), &mut platform))
                .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(!text.contains("token-1"), "{text}");
        assert!(text.contains("you already hold ***"), "{text}");
    }

    #[test]
    fn closed_credential_is_unavailable_and_forgets_its_tokens() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        get(&mut credential, &mut platform).unwrap();
        credential.close();
        let result = get(&mut credential, &mut platform);
        assert!(matches!(result, Err(CredentialError::Unavailable(m)) if m.contains("closed")));
    }
}
