//! One token exchange: the request, its retries and the assertion re-read, bounded in time.

use crate::prelude::*;

use crate::attempts::{Outcome, with_retries};
use crate::error::{AccessToken, AuthenticationFailure, CredentialError};
use crate::hints::ASSERTION_EXPIRED;
use crate::platform::FilePlatform;
use crate::retry::{is_retryable_status, server_delay};
use crate::settings::Settings;
use crate::token_file::TokenFile;
use crate::token_request::TokenRequest;
use crate::token_response::parse_token_response;

/// What one token request asks for.
pub struct TokenQuery<'a> {
    /// The tenant to get the token from (the credential's own, or an allowed other).
    pub tenant_id: &'a str,
    /// Validated scopes.
    pub scopes: &'a [String],
    /// The `claims` field to send (a JSON object), if any.
    pub claims: Option<&'a str>,
    /// Tokens the credential holds, which error text must not repeat even if a server echoes them.
    pub known_tokens: &'a [String],
    /// A refresh while the cached token is still valid: one short attempt (5 s at most), no
    /// retries. The caller is better served by that token now than by a wait, and the next
    /// refresh attempt comes 30 s later anyway.
    pub valid_token_in_hand: bool,
    /// Monotonic nanoseconds when the get-token sent the request (`cached::Ask::started`).
    pub started: u64,
}

/// Exchanges the token file for a token. Retries throttling, server faults and transport
/// failures up to three times with backoff (or the server's Retry-After); re-reads the file and
/// retries once if Entra says the assertion expired; returns within 60 s of monotonic time. Each
/// attempt ends within 45 s (5 s with a valid token in hand): the platform drops the request at
/// the attempt's deadline, whatever the host's HTTP client does.
pub async fn exchange(
    settings: &Settings,
    token_file: &TokenFile,
    query: &TokenQuery<'_>,
    platform: &mut impl FilePlatform,
) -> Result<AccessToken, CredentialError> {
    let endpoint = settings.token_endpoint(query.tenant_id);
    let mut assertion = token_file.assertion(platform, false).await?;
    let mut reread = false;
    with_retries(
        platform,
        query.started,
        query.valid_token_in_hand,
        async |platform, attempt| {
            let request = TokenRequest {
                endpoint: &endpoint,
                client_id: &settings.client_id,
                assertion: &assertion,
                scopes: query.scopes,
                claims: query.claims,
                request_id: &attempt.request_id,
            }
            .to_http(attempt.timeouts, attempt.deadline);
            let url = request.endpoint.url();
            match platform.send(&request).await {
                Ok(response) => {
                    let secrets: Vec<&str> = query
                        .known_tokens
                        .iter()
                        .map(String::as_str)
                        .chain([assertion.as_str()])
                        .collect();
                    match parse_token_response(&response, attempt.requested_at, &url, &secrets) {
                        Ok(token) => Outcome::Token(token),
                        Err(error) if !reread && has_code(&error, ASSERTION_EXPIRED) => {
                            match token_file.assertion(platform, true).await {
                                Ok(fresh) => {
                                    assertion = fresh;
                                    reread = true;
                                    Outcome::AgainAtOnce
                                }
                                Err(unreadable) => Outcome::Final(unreadable),
                            }
                        }
                        Err(error) if is_retryable_status(response.status) => {
                            let delay = server_delay(&response.headers, platform.now());
                            Outcome::Retryable(error, delay)
                        }
                        Err(error) => Outcome::Final(error),
                    }
                }
                Err(transport) => Outcome::Retryable(
                    transport_failure(&url, &transport, &attempt.request_id),
                    None,
                ),
            }
        },
    )
    .await
}

fn has_code(error: &CredentialError, code: u32) -> bool {
    matches!(error, CredentialError::AuthenticationFailed(failure) if failure.error_codes.contains(&code))
}

fn transport_failure(url: &str, transport: &str, request_id: &str) -> CredentialError {
    CredentialError::AuthenticationFailed(Box::new(AuthenticationFailure {
        message: format!(
            "the token request to {url} failed in transit: {transport}. Check that the host lets \
             the component make outgoing HTTPS requests (wasi:http) and can reach the authority \
             host (x-ms-client-request-id {request_id})"
        ),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempts::ATTEMPT_BOUND_NANOS;
    use crate::platform::Timeouts;
    use crate::ready;
    use crate::request_id::uuid_v4;
    use crate::retry::{BACKOFF_BASE_NANOS, NANOS_PER_SECOND, backoff};
    use crate::scripted_platform::ScriptedPlatform;
    use crate::settings::WorkloadIdentityOptions;

    const SECOND: u64 = NANOS_PER_SECOND;

    fn settings() -> Settings {
        let options = WorkloadIdentityOptions {
            tenant_id: Some("tenant".into()),
            client_id: Some("client".into()),
            token_file_path: Some("/tokens/token".into()),
            ..Default::default()
        };
        Settings::resolve(&options, |_| None).unwrap()
    }

    fn run(platform: &mut ScriptedPlatform) -> Result<AccessToken, CredentialError> {
        let settings = settings();
        run_with(&settings, &TokenFile::new("/tokens/token".into()), platform)
    }

    fn run_with(
        settings: &Settings,
        token_file: &TokenFile,
        platform: &mut ScriptedPlatform,
    ) -> Result<AccessToken, CredentialError> {
        exchange_for(settings, token_file, platform, false)
    }

    /// A refresh: the exchange with a valid token in hand.
    fn refresh(platform: &mut ScriptedPlatform) -> Result<AccessToken, CredentialError> {
        let token_file = TokenFile::new("/tokens/token".into());
        exchange_for(&settings(), &token_file, platform, true)
    }

    fn exchange_for(
        settings: &Settings,
        token_file: &TokenFile,
        platform: &mut ScriptedPlatform,
        valid_token_in_hand: bool,
    ) -> Result<AccessToken, CredentialError> {
        let scopes = vec!["https://vault.azure.net/.default".to_string()];
        let query = TokenQuery {
            tenant_id: "tenant",
            scopes: &scopes,
            claims: None,
            known_tokens: &[],
            valid_token_in_hand,
            started: platform.monotonic,
        };
        ready::run(exchange(settings, token_file, &query, platform))
    }

    fn failure(result: Result<AccessToken, CredentialError>) -> Box<AuthenticationFailure> {
        match result {
            Err(CredentialError::AuthenticationFailed(failure)) => failure,
            other => panic!("expected authentication-failed, got {other:?}"),
        }
    }

    #[test]
    fn retryable_statuses_and_transport_errors_are_retried_with_backoff() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(503, &[], "busy");
        platform.fail_transport("connection reset");
        platform.answer(429, &[], r#"{"error":"temporarily_unavailable"}"#);
        assert_eq!(run(&mut platform).unwrap().token, "token-1");
        assert_eq!(platform.requests.len(), 4);
        // Jitter comes from the request's random bytes: [n; 16] for the nth request.
        let jitter = |n: u8| u32::from_le_bytes([n; 4]);
        assert_eq!(
            platform.sleeps,
            vec![
                backoff(0, jitter(0)),
                backoff(1, jitter(1)),
                backoff(2, jitter(2))
            ]
        );
        assert!(platform.sleeps[0] >= BACKOFF_BASE_NANOS * 8 / 10);
    }

    #[test]
    fn three_retries_at_most_then_the_last_failure_says_so() {
        let mut platform = ScriptedPlatform::new();
        for _ in 0..10 {
            platform.answer(500, &[("retry-after", "0")], r#"{"error":"server_error"}"#);
        }
        let failure = failure(run(&mut platform));
        assert_eq!(platform.requests.len(), 4);
        assert_eq!(failure.status, Some(500));
        assert!(
            failure.message.contains("gave up after 4 attempts"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn refusals_are_final() {
        for status in [400, 401] {
            let mut platform = ScriptedPlatform::new();
            platform.answer(
                status,
                &[],
                r#"{"error":"invalid_client","error_codes":[7000215]}"#,
            );
            assert_eq!(failure(run(&mut platform)).status, Some(status));
            assert_eq!(platform.requests.len(), 1);
            assert!(platform.sleeps.is_empty());
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(429, &[("Retry-After", "7")], "");
        platform.answer(503, &[("x-ms-retry-after-ms", "250")], "");
        run(&mut platform).unwrap();
        assert_eq!(platform.sleeps, vec![7 * SECOND, SECOND / 4]);
    }

    #[test]
    fn a_wait_past_the_60_second_bound_is_not_taken() {
        let mut platform = ScriptedPlatform::new();
        platform.answer(429, &[("Retry-After", "120")], "");
        let failure = failure(run(&mut platform));
        assert!(platform.sleeps.is_empty());
        assert!(
            failure.message.contains("60 s bound"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn slow_answers_and_waits_stay_within_60_seconds() {
        let mut platform = ScriptedPlatform::new();
        platform.send_nanos = 25 * SECOND;
        for _ in 0..4 {
            platform.answer(504, &[("retry-after", "1")], "");
        }
        assert!(run(&mut platform).is_err());
        assert!(
            platform.monotonic <= 60 * SECOND,
            "{} ns",
            platform.monotonic
        );
        let last = platform.requests.last().unwrap();
        assert_eq!(last.deadline, 60 * SECOND);
        assert!(last.timeouts.first_byte <= 60 * SECOND - 26 * SECOND);
    }

    #[test]
    fn a_host_that_ignores_every_timeout_gets_each_attempt_dropped_within_its_bound() {
        let mut platform = ScriptedPlatform::new();
        platform.ignores_timeouts = true;
        platform.send_nanos = 300 * SECOND;
        let failure = failure(run(&mut platform));
        // 45 s for the first attempt, what is left of the 60 s after the backoff for the second.
        assert_eq!(platform.requests[0].deadline, ATTEMPT_BOUND_NANOS);
        assert_eq!(platform.requests.len(), 2);
        assert_eq!(platform.requests[1].deadline, 60 * SECOND);
        assert_eq!(platform.monotonic, 60 * SECOND);
        assert!(
            failure
                .message
                .contains("gave up after 2 attempts in 60.0 s"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn with_a_valid_token_in_hand_one_attempt_of_5_seconds_at_most() {
        let mut platform = ScriptedPlatform::new();
        platform.ignores_timeouts = true;
        platform.send_nanos = 300 * SECOND;
        assert!(refresh(&mut platform).is_err());
        assert_eq!(platform.requests.len(), 1);
        let request = &platform.requests[0];
        assert_eq!(request.deadline, 5 * SECOND);
        assert!(
            request.timeouts.connect <= 5 * SECOND && request.timeouts.first_byte <= 5 * SECOND
        );
        assert_eq!(platform.monotonic, 5 * SECOND);
    }

    #[test]
    fn expired_assertion_is_reread_and_retried_once() {
        let mut platform = ScriptedPlatform::new();
        let expired = r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}"#;
        platform.answer(400, &[], expired);
        platform.answer(400, &[], expired);
        platform.token_file = Ok(b"old".to_vec());
        let settings = settings();
        let token_file = TokenFile::new(settings.token_file_path.clone());
        ready::run(token_file.assertion(&mut platform, false)).unwrap();
        platform.token_file = Ok(b"rotated".to_vec());
        let failure = failure(run_with(&settings, &token_file, &mut platform));
        assert_eq!(failure.error_codes, vec![700024]);
        assert_eq!(platform.requests.len(), 2, "exactly one retry");
        assert_eq!(platform.field(0, "client_assertion").unwrap(), "old");
        assert_eq!(platform.field(1, "client_assertion").unwrap(), "rotated");
        assert!(platform.sleeps.is_empty());
        assert!(
            failure.message.contains("re-read it and retried once"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn token_proxy_receives_the_request() {
        let mut platform = ScriptedPlatform::new();
        let env = |name: &str| {
            (name == "AZURE_KUBERNETES_TOKEN_PROXY").then(|| "https://10.0.0.1:8443/p".to_string())
        };
        let options = WorkloadIdentityOptions {
            tenant_id: Some("tenant".into()),
            client_id: Some("client".into()),
            token_file_path: Some("/t".into()),
            ..Default::default()
        };
        let settings = Settings::resolve(&options, env).unwrap();
        run_with(&settings, &TokenFile::new("/t".into()), &mut platform).unwrap();
        assert_eq!(
            platform.requests[0].endpoint.url(),
            "https://10.0.0.1:8443/p/tenant/oauth2/v2.0/token"
        );
    }
    #[test]
    fn an_attempt_asks_for_10_30_30_s_timeouts_and_is_dropped_at_45_s() {
        let mut platform = ScriptedPlatform::new();
        run(&mut platform).unwrap();
        let request = &platform.requests[0];
        let timeouts = Timeouts {
            connect: 10 * SECOND,
            first_byte: 30 * SECOND,
            between_bytes: 30 * SECOND,
        };
        assert_eq!(request.timeouts, timeouts);
        assert_eq!(request.deadline, 45 * SECOND);
    }

    #[test]
    fn the_hosts_timeouts_end_half_a_second_before_the_attempts_deadline() {
        let mut platform = ScriptedPlatform::new();
        refresh(&mut platform).unwrap();
        let request = &platform.requests[0];
        assert_eq!(request.deadline, 5 * SECOND);
        let within = 5 * SECOND - SECOND / 2;
        let timeouts = Timeouts {
            connect: within,
            first_byte: within,
            between_bytes: within,
        };
        assert_eq!(request.timeouts, timeouts);
    }

    #[test]
    fn the_assertion_re_read_is_not_one_of_the_three_retries() {
        let mut platform = ScriptedPlatform::new();
        let expired = r#"{"error":"invalid_client","error_codes":[700024]}"#;
        platform.answer(400, &[], expired);
        for _ in 0..10 {
            platform.answer(500, &[("retry-after", "0")], r#"{"error":"server_error"}"#);
        }
        assert_eq!(failure(run(&mut platform)).status, Some(500));
        assert_eq!(platform.requests.len(), 5);
    }

    #[test]
    fn a_transport_failure_says_where_what_and_which_request() {
        let mut platform = ScriptedPlatform::new();
        for _ in 0..4 {
            platform.fail_transport("connection refused");
        }
        let failure = failure(run(&mut platform));
        assert_eq!(failure.status, None);
        let request_id = uuid_v4([3; 16]);
        assert!(
            failure.message.starts_with(&format!(
                "the token request to https://login.microsoftonline.com/tenant/oauth2/v2.0/token \
                 failed in transit: connection refused. Check that the host lets the component \
                 make outgoing HTTPS requests (wasi:http) and can reach the authority host \
                 (x-ms-client-request-id {request_id})"
            )),
            "{}",
            failure.message
        );
    }
}
