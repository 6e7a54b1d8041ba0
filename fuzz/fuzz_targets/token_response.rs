//! The token endpoint's answer: any status, headers and body give a token or an error, never a
//! panic, no token that expired before the request, and no error repeats the assertion.
#![no_main]

use azure_workload_identity::fuzzing::{
    CredentialError, HttpResponse, parse_http_date, parse_token_response, server_delay,
};
use libfuzzer_sys::fuzz_target;

const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2ln";

fuzz_target!(|data: &[u8]| {
    let (status, rest) = match data {
        [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
        _ => return,
    };
    // The first line doubles as a Retry-After value; the rest is the body, with the assertion
    // spliced in where the input has a NUL, as an echoing server would.
    let text = String::from_utf8_lossy(rest);
    let (first_line, _) = text.split_once('\n').unwrap_or((&text, ""));
    let headers = vec![
        ("retry-after".to_owned(), first_line.to_owned()),
        ("retry-after-ms".to_owned(), first_line.to_owned()),
    ];
    let _ = server_delay(&headers, 1_795_824_000);
    let _ = parse_http_date(first_line);
    let body = rest
        .split(|b| *b == 0)
        .collect::<Vec<_>>()
        .join(ASSERTION.as_bytes());
    let response = HttpResponse {
        status,
        headers,
        body,
    };
    let requested_at = 1_795_824_000;
    match parse_token_response(&response, requested_at, "https://login.example/t", &[ASSERTION]) {
        Ok(token) => {
            assert!(!token.token.is_empty());
            // A token is never one that expired before it was asked for.
            assert!(token.expires_on > requested_at);
        }
        Err(error) => {
            let text = format!("{error} {error:?}");
            assert!(!text.contains(ASSERTION), "assertion leaked: {text}");
            assert!(matches!(error, CredentialError::AuthenticationFailed(_)));
        }
    }
});
