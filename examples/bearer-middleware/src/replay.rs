//! The WASI 0.3 middleware's answer to a claims challenge: a request the resource answered with
//! `401` and a Continuous Access Evaluation challenge is sent once more, with a token carrying the
//! challenge's claims, so the app never sees that 401. A request's body streams to the resource
//! as the app writes it; a copy is kept beside it, up to [`REPLAY_BODY_BOUND`], to send again.

use crate::prelude::*;

use crate::challenge::claims_challenge;

/// The largest request body kept to send again. Key Vault's largest request (a secret) is
/// 25 KiB, Microsoft Graph's JSON bodies are a few KiB; an upload bigger than this streams
/// through, and its challenge comes back to the app (with [`NOT_ANSWERED_HEADER`] saying why).
pub const REPLAY_BODY_BOUND: usize = 1024 * 1024;

/// Set on a challenge's 401 that the middleware returns instead of answering, saying why.
pub const NOT_ANSWERED_HEADER: &str = "x-azure-bearer-challenge-not-answered";

/// The copy of a request body, as it streams through.
#[derive(Debug, Default)]
pub struct BodyCopy {
    bytes: Vec<u8>,
    over_bound: bool,
    ended: bool,
    failed: bool,
}

impl BodyCopy {
    /// Adds what the app wrote next; past the bound, the copy is given up (and its memory freed).
    pub fn keep(&mut self, chunk: &[u8]) {
        if self.over_bound {
            return;
        }
        if self.bytes.len() + chunk.len() > REPLAY_BODY_BOUND {
            self.over_bound = true;
            self.bytes = Vec::new();
            return;
        }
        self.bytes.extend_from_slice(chunk);
    }

    /// The app finished the body.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Reading the app's body failed: there is no whole body to send again.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// Whether the copy can change any more.
    pub fn settled(&self) -> bool {
        self.ended || self.failed || self.over_bound
    }

    /// The whole body, to send again, or why there is none.
    pub fn whole(&self) -> Result<&[u8], &'static str> {
        if self.over_bound {
            Err("the request body is over 1 MiB, the most the middleware keeps to send again")
        } else if self.failed {
            Err("the app's request body failed while it was sent")
        } else if !self.ended {
            Err("the app had not finished the request body when the challenge came")
        } else {
            Ok(&self.bytes)
        }
    }
}

/// What to do with a response to an authorized request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Return it to the app as it is.
    Return,
    /// Get a token with these claims and send the request again.
    SendAgain { claims: String },
    /// Return it, with [`NOT_ANSWERED_HEADER`] set to this reason.
    ReturnUnanswered(String),
}

/// Whether a response of `status` with these `WWW-Authenticate` values is a claims challenge to
/// answer. Only once: the request sent again is never answered again (`already_answered`), so a
/// resource that challenges every token cannot loop the middleware.
pub fn answer(status: u16, www_authenticate: &[String], already_answered: bool) -> Answer {
    if status != 401 {
        return Answer::Return;
    }
    let claims = www_authenticate
        .iter()
        .map(|value| claims_challenge(value))
        .find_map(|found| found.transpose());
    match claims {
        None => Answer::Return,
        Some(Err(malformed)) => Answer::ReturnUnanswered(malformed),
        Some(Ok(_)) if already_answered => Answer::ReturnUnanswered(
            "the resource challenged the token that answered its challenge".to_owned(),
        ),
        Some(Ok(claims)) => Answer::SendAgain { claims },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxIn19fQ==""#;
    const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;

    #[test]
    fn a_401_with_a_claims_challenge_is_sent_again_once() {
        let challenge = vec![CHALLENGE.to_owned()];
        assert_eq!(
            answer(401, &challenge, false),
            Answer::SendAgain {
                claims: CLAIMS.to_owned()
            }
        );
        assert!(matches!(
            answer(401, &challenge, true),
            Answer::ReturnUnanswered(reason) if reason.contains("challenged the token")
        ));
    }

    #[test]
    fn other_responses_are_returned_as_they_are() {
        let challenge = vec![CHALLENGE.to_owned()];
        assert_eq!(answer(200, &challenge, false), Answer::Return);
        assert_eq!(answer(403, &challenge, false), Answer::Return);
        let plain = vec![r#"Bearer realm="", error="invalid_token""#.to_owned()];
        assert_eq!(answer(401, &plain, false), Answer::Return);
        assert_eq!(answer(401, &[], false), Answer::Return);
    }

    #[test]
    fn the_challenge_is_found_among_several_headers() {
        let headers = vec![r#"Basic realm="x""#.to_owned(), CHALLENGE.to_owned()];
        assert!(matches!(
            answer(401, &headers, false),
            Answer::SendAgain { .. }
        ));
    }

    #[test]
    fn a_malformed_challenge_is_returned_saying_so() {
        let malformed = vec![r#"Bearer error="insufficient_claims", claims="%%%""#.to_owned()];
        assert!(matches!(
            answer(401, &malformed, false),
            Answer::ReturnUnanswered(reason) if reason.contains("not base64")
        ));
    }

    #[test]
    fn a_body_is_kept_whole_up_to_the_bound() {
        let mut copy = BodyCopy::default();
        copy.keep(b"abc");
        assert!(!copy.settled());
        assert!(copy.whole().unwrap_err().contains("had not finished"));
        copy.keep(b"def");
        copy.end();
        assert!(copy.settled());
        assert_eq!(copy.whole().unwrap(), b"abcdef");
    }

    #[test]
    fn a_body_over_the_bound_is_given_up() {
        let mut copy = BodyCopy::default();
        copy.keep(&vec![0; REPLAY_BODY_BOUND]);
        assert!(!copy.settled(), "exactly the bound is kept");
        copy.keep(b"x");
        assert!(copy.settled());
        assert!(copy.bytes.capacity() == 0, "the copy's memory is freed");
        copy.end();
        assert!(copy.whole().unwrap_err().contains("over 1 MiB"));
    }

    #[test]
    fn a_failed_body_is_not_sent_again() {
        let mut copy = BodyCopy::default();
        copy.keep(b"abc");
        copy.fail();
        assert!(copy.settled());
        assert!(copy.whole().unwrap_err().contains("failed"));
    }
}
