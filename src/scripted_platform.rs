//! A [`Platform`] for unit tests: a clock that moves only when told (or when the credential
//! sleeps), a token file, and an authority that answers from a script, else issues tokens.

use crate::prelude::*;

use crate::platform::{FilePlatform, FileReadError, HttpRequest, HttpResponse, Platform};
use alloc::collections::VecDeque;

const NANOS: u64 = 1_000_000_000;

pub struct ScriptedPlatform {
    /// Wall-clock seconds when the monotonic clock read zero.
    pub wall_at_start: u64,
    pub monotonic: u64,
    pub token_file: Result<Vec<u8>, FileReadError>,
    pub file_reads: usize,
    pub requests: Vec<HttpRequest>,
    pub sleeps: Vec<u64>,
    /// Answers for the next requests, in order; when empty, a token is issued.
    pub answers: VecDeque<Result<HttpResponse, String>>,
    pub issued: u64,
    /// How long each exchange takes, unless the request's first-byte timeout is shorter.
    pub send_nanos: u64,
    /// The host applies no timeout: a slow answer is cut off only at the request's deadline, as
    /// the WASI layer does.
    pub ignores_timeouts: bool,
    /// Random draws differ from each other (a counter in their last 8 bytes), as the shared
    /// cache's nonces and lease holders need; off, they name the request count, as request ids do.
    pub distinct_randoms: bool,
    pub random_draws: u64,
}

impl ScriptedPlatform {
    pub fn new() -> ScriptedPlatform {
        ScriptedPlatform {
            wall_at_start: 1_000_000,
            monotonic: 0,
            token_file: Ok(b"service-account-jwt\n".to_vec()),
            file_reads: 0,
            requests: Vec::new(),
            sleeps: Vec::new(),
            answers: VecDeque::new(),
            issued: 0,
            send_nanos: 0,
            ignores_timeouts: false,
            distinct_randoms: false,
            random_draws: 0,
        }
    }

    pub fn advance_seconds(&mut self, seconds: u64) {
        self.monotonic += seconds * NANOS;
    }

    pub fn wall(&self) -> u64 {
        self.wall_at_start + self.monotonic / NANOS
    }

    pub fn answer(&mut self, status: u16, headers: &[(&str, &str)], body: &str) {
        self.answers.push_back(Ok(response(status, headers, body)));
    }

    pub fn fail_transport(&mut self, error: &str) {
        self.answers.push_back(Err(error.to_owned()));
    }

    /// A form field of the `n`th request (from 0).
    pub fn field(&self, n: usize, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.requests[n].body)
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.into_owned())
    }
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

impl Platform for ScriptedPlatform {
    // The core's tests run with the flights on; with calls one at a time, none is ever found.
    const CALLS_OVERLAP: bool = true;

    fn now(&mut self) -> u64 {
        self.wall()
    }

    fn monotonic_nanos(&mut self) -> u64 {
        self.monotonic
    }

    async fn sleep(&mut self, nanos: u64) {
        self.sleeps.push(nanos);
        self.monotonic += nanos;
    }

    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [self.requests.len() as u8; 16];
        if self.distinct_randoms {
            self.random_draws += 1;
            bytes[8..].copy_from_slice(&self.random_draws.to_le_bytes());
        }
        bytes
    }

    async fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.requests.push(request.clone());
        // An answer slower than the first-byte timeout never arrives from a host that enforces
        // it; from one that does not, the platform gives up at the deadline.
        let bound = if self.ignores_timeouts {
            request.deadline.saturating_sub(self.monotonic)
        } else {
            request.timeouts.first_byte
        };
        if self.send_nanos > bound {
            self.monotonic += bound;
            self.answers.pop_front();
            return Err("the response did not arrive in time".into());
        }
        self.monotonic += self.send_nanos;
        if let Some(answer) = self.answers.pop_front() {
            return answer;
        }
        self.issued += 1;
        Ok(response(
            200,
            &[],
            &format!(
                r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"token-{}"}}"#,
                self.issued
            ),
        ))
    }
}

impl FilePlatform for ScriptedPlatform {
    async fn read_file(&mut self, _: &str, limit: usize) -> Result<Vec<u8>, FileReadError> {
        self.file_reads += 1;
        self.token_file.clone().map(|mut bytes| {
            bytes.truncate(limit + 1);
            bytes
        })
    }
}
