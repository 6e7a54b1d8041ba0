//! The credential of the token bridge's variant: tokens from the token bridge beside the app
//! (the App Service managed-identity protocol), not from Microsoft Entra ID, so that a host that
//! makes a fresh instance per request shares the pod's one cache (the bridge's) and the app's
//! sandbox needs no token file. Same cache, refresh rule, bounds and retries as the workload
//! identity credential (`cached`, `attempts`).

pub mod request;
pub mod response;
pub mod settings;

use crate::prelude::*;

use crate::attempts::{Outcome, with_retries};
use crate::cached::{self, Tokens};
use crate::credential::TokenRequestOptions;
use crate::error::{AccessToken, CredentialError};
use crate::platform::Platform;
use crate::scopes::validate_scopes;
use core::cell::Cell;
use request::{bridge_request, resource_for};
use response::{bridge_outcome, unreachable};
use settings::BridgeSettings;

/// A credential that asks the token bridge.
#[derive(Debug)]
pub struct BridgeCredential {
    settings: BridgeSettings,
    tokens: Tokens,
    closed: Cell<bool>,
}

impl BridgeCredential {
    /// A credential for `settings`; nothing is requested before the first get-token.
    pub fn new(settings: BridgeSettings) -> BridgeCredential {
        BridgeCredential {
            settings,
            tokens: Tokens::default(),
            closed: Cell::new(false),
        }
    }

    /// Serves the cached token until it is due, then asks the bridge; a request the protocol
    /// cannot express (several scopes, claims, another tenant) is refused first.
    pub async fn get_token(
        &self,
        scopes: &[String],
        options: &TokenRequestOptions,
        platform: &mut impl Platform,
    ) -> Result<AccessToken, CredentialError> {
        if self.closed.get() {
            return Err(cached::closed());
        }
        // Before the cache, unlike the workload identity credential's (which validates on a miss
        // only): the resource is needed either way, and a scope takes a glance to check.
        validate_scopes(scopes)?;
        let resource = resource_for(scopes, options, &self.settings)?;
        let request = cached::Request {
            other_tenant: None,
            scopes,
            // The bridge's tokens are the same with or without it (see `resource_for`).
            cae: false,
            challenged: false,
        };
        let settings = &self.settings;
        cached::get_token(&self.tokens, &request, platform, async |platform, ask| {
            let secrets: Vec<&str> = ask
                .known_tokens
                .iter()
                .map(String::as_str)
                .chain([settings.secret.expose().as_str()])
                .collect();
            with_retries(
                platform,
                ask.started,
                ask.valid_token_in_hand,
                async |platform, attempt| {
                    let request = bridge_request(
                        settings,
                        resource,
                        &attempt.request_id,
                        attempt.timeouts,
                        attempt.deadline,
                    );
                    let url = request.endpoint.url();
                    match platform.send(&request).await {
                        Ok(response) => {
                            let now = platform.now();
                            bridge_outcome(&response, attempt.requested_at, now, &url, &secrets)
                        }
                        Err(transport) => Outcome::Retryable(
                            unreachable(&url, &transport, &attempt.request_id),
                            None,
                        ),
                    }
                },
            )
            .await
        })
        .await
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
    use crate::platform::Method;
    use crate::ready::run;
    use crate::scripted_platform::ScriptedPlatform;

    const SECRET: &str = "bridge-secret-0123456789";
    const VAULT: &str = "https://vault.azure.net/.default";

    fn credential() -> BridgeCredential {
        let settings = BridgeSettings::resolve(None, None, |name| match name {
            "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:8080/msi/token".into()),
            "IDENTITY_HEADER" => Some(SECRET.into()),
            "AZURE_CLIENT_ID" => Some("client-1".into()),
            _ => None,
        })
        .unwrap();
        BridgeCredential::new(settings)
    }

    fn get(
        credential: &mut BridgeCredential,
        options: &TokenRequestOptions,
        platform: &mut ScriptedPlatform,
    ) -> Result<AccessToken, CredentialError> {
        run(credential.get_token(&[VAULT.to_owned()], options, platform))
    }

    fn bridge_token(token: &str, expires_in: u64, refresh_in: u64) -> String {
        format!(
            r#"{{"access_token":"{token}","expires_on":"0","expires_in":"{expires_in}","refresh_in":"{refresh_in}","resource":"https://vault.azure.net","token_type":"Bearer"}}"#
        )
    }

    #[test]
    fn one_bridge_call_per_refresh_with_the_exact_request() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(200, &[], &bridge_token("first", 3600, 1800));
        platform.answer(200, &[], &bridge_token("second", 3600, 1800));
        let mut credential = credential();
        let first = get(&mut credential, &Default::default(), &mut platform).unwrap();
        assert_eq!(first.token, "first");
        assert_eq!(first.refresh_on, Some(platform.wall() + 1800));
        // enable-cae is served the same token, from the same cache entry.
        let cae = TokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        for _ in 0..1000 {
            assert_eq!(
                get(&mut credential, &cae, &mut platform).unwrap().token,
                "first"
            );
        }
        assert_eq!(platform.requests.len(), 1);
        let request = &platform.requests[0];
        assert_eq!(request.method, Method::Get);
        assert_eq!(
            request.endpoint.url(),
            "http://127.0.0.1:8080/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&client_id=client-1"
        );
        assert_eq!(
            request.headers[0],
            ("x-identity-header".into(), SECRET.into())
        );
        assert!(platform.sleeps.is_empty());

        // The bridge's refresh_in is the refresh rule's input: due at 1800 s, one call.
        platform.advance_seconds(1800);
        assert_eq!(
            get(&mut credential, &cae, &mut platform).unwrap().token,
            "second"
        );
        assert_eq!(platform.requests.len(), 2);
    }

    #[test]
    fn a_bridge_that_is_down_is_retried_by_the_credentials_rules_and_named() {
        let mut platform = ScriptedPlatform::new();
        for _ in 0..4 {
            platform.fail_transport("the connection was refused");
        }
        let mut credential = credential();
        let error = get(&mut credential, &Default::default(), &mut platform).unwrap_err();
        let CredentialError::AuthenticationFailed(failure) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(platform.requests.len(), 4);
        assert_eq!(platform.sleeps.len(), 3);
        assert!(
            failure
                .message
                .contains("token bridge at http://127.0.0.1:8080/msi/token?")
                && failure.message.contains("the connection was refused")
                && failure.message.contains("gave up after 4 attempts"),
            "{}",
            failure.message
        );
        // Remembered for 5 s, as any unwell source: the next call does not ask again.
        assert!(get(&mut credential, &Default::default(), &mut platform).is_err());
        assert_eq!(platform.requests.len(), 4);
    }

    #[test]
    fn a_refused_secret_is_final_and_no_error_or_debug_holds_the_secret_or_a_token() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(
            200,
            &[],
            &bridge_token("eyJhbGciOi.eyJzdWIi.c2ln", 3600, 1800),
        );
        let mut credential = credential();
        get(&mut credential, &Default::default(), &mut platform).unwrap();
        platform.advance_seconds(3600);
        platform.answer(
            401,
            &[],
            &format!(r#"{{"error":"unauthorized","error_description":"echo {SECRET} eyJhbGciOi.eyJzdWIi.c2ln"}}"#),
        );
        let error = get(&mut credential, &Default::default(), &mut platform).unwrap_err();
        let text = format!("{error} {error:?} {credential:?}");
        assert!(
            text.contains("HTTP 401") && text.contains("IDENTITY_HEADER"),
            "{text}"
        );
        assert!(
            !text.contains(SECRET) && !text.contains("eyJhbGciOi.eyJzdWIi.c2ln"),
            "{text}"
        );
        assert_eq!(platform.requests.len(), 2);
        assert!(platform.sleeps.is_empty());
    }

    #[test]
    fn refusals_come_before_any_request_and_a_closed_credential_is_unavailable() {
        let mut platform = ScriptedPlatform::new();
        let mut credential = credential();
        let claims = TokenRequestOptions {
            claims: Some("{}".into()),
            ..Default::default()
        };
        assert!(matches!(
            get(&mut credential, &claims, &mut platform),
            Err(CredentialError::InvalidArgument(_))
        ));
        assert!(matches!(
            run(credential.get_token(&[], &Default::default(), &mut platform)),
            Err(CredentialError::InvalidArgument(message)) if message.contains("at least one scope")
        ));
        assert!(platform.requests.is_empty());
        credential.close();
        assert!(matches!(
            get(&mut credential, &Default::default(), &mut platform),
            Err(CredentialError::Unavailable(_))
        ));
    }
}
