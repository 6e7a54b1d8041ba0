//! The `claims` form field: the caller's claims challenge, with the CAE capability merged in.

use crate::prelude::*;

use crate::error::CredentialError;
use crate::json::{self, Object, Value};

/// The client capability that tells Entra this client handles CAE claims challenges.
const CAE_CAPABILITY: &str = "CP1";

/// The claims to send, if any: the caller's JSON object, plus
/// `{"access_token":{"xms_cc":{"values":["CP1"]}}}` when CAE is enabled.
pub fn claims_to_send(
    caller_claims: Option<&str>,
    enable_cae: bool,
) -> Result<Option<String>, CredentialError> {
    let caller_claims = caller_claims.map(str::trim).filter(|c| !c.is_empty());
    let mut claims = match caller_claims {
        None if !enable_cae => return Ok(None),
        None => Object::new(),
        Some(text) => match json::parse(text.as_bytes()) {
            Ok(Value::Object(object)) => object,
            parsed => {
                // The problem alone: its byte offset would cost the component more.
                let problem = match parsed {
                    Err(error) => error.problem,
                    Ok(_) => "not an object",
                };
                return Err(CredentialError::InvalidArgument(format!(
                    "claims must be a JSON object, e.g. the decoded claims of a \
                     WWW-Authenticate challenge: {{\"access_token\":{{...}}}} ({problem})"
                )));
            }
        },
    };
    if enable_cae {
        add_cae_capability(&mut claims);
    }
    Ok(Some(Value::Object(claims).to_string()))
}

/// Adds "CP1" to `access_token.xms_cc.values`, replacing whatever on that path has the wrong
/// type.
fn add_cae_capability(claims: &mut Object) {
    let is_object = |value: &Value| matches!(value, Value::Object(_));
    let new_object = || Value::Object(Object::new());
    let Value::Object(access_token) = claims.entry_where("access_token", is_object, new_object)
    else {
        unreachable!("made an object above")
    };
    let Value::Object(xms_cc) = access_token.entry_where("xms_cc", is_object, new_object) else {
        unreachable!("made an object above")
    };
    let is_array = |value: &Value| matches!(value, Value::Array(_));
    let Value::Array(values) = xms_cc.entry_where("values", is_array, || Value::Array(Vec::new()))
    else {
        unreachable!("made an array above")
    };
    if !values.iter().any(|v| v.as_str() == Some(CAE_CAPABILITY)) {
        values.push(Value::String(CAE_CAPABILITY.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::{Value, json};

    fn parsed(text: Option<String>) -> Value {
        serde_json::from_str(&text.expect("claims expected")).unwrap()
    }

    #[test]
    fn nothing_to_send_without_claims_or_cae() {
        assert_eq!(claims_to_send(None, false).unwrap(), None);
        assert_eq!(claims_to_send(Some("  "), false).unwrap(), None);
    }

    #[test]
    fn cae_alone_sends_the_capability() {
        assert_eq!(
            parsed(claims_to_send(None, true).unwrap()),
            json!({"access_token":{"xms_cc":{"values":["CP1"]}}})
        );
    }

    #[test]
    fn caller_claims_are_sent_as_given_without_cae() {
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        assert_eq!(
            parsed(claims_to_send(Some(challenge), false).unwrap()),
            serde_json::from_str::<Value>(challenge).unwrap()
        );
    }

    #[test]
    fn cae_merges_into_the_callers_claims() {
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["CP2"]}},"id_token":{}}"#;
        assert_eq!(
            parsed(claims_to_send(Some(challenge), true).unwrap()),
            json!({
                "access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["CP2","CP1"]}},
                "id_token":{}
            })
        );
    }

    #[test]
    fn cae_capability_is_not_duplicated() {
        let claims = r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#;
        assert_eq!(
            parsed(claims_to_send(Some(claims), true).unwrap()),
            json!({"access_token":{"xms_cc":{"values":["CP1"]}}})
        );
    }

    #[test]
    fn claims_with_a_number_no_f64_holds_are_invalid() {
        // Found by the claims fuzz target: serde_json, and so likely Entra, refuses the number.
        let claims = r#"{"k":3166666666666666666666666666.66E6666}"#;
        assert_eq!(
            claims_to_send(Some(claims), true),
            Err(CredentialError::InvalidArgument(
                "claims must be a JSON object, e.g. the decoded claims of a WWW-Authenticate \
                 challenge: {\"access_token\":{...}} (number out of range)"
                    .into()
            ))
        );
    }

    #[test]
    fn claims_that_are_not_a_json_object_are_invalid() {
        for bad in ["not json", "[1]", "\"text\"", "{\"a\":"] {
            assert!(
                matches!(
                    claims_to_send(Some(bad), false),
                    Err(CredentialError::InvalidArgument(_))
                ),
                "{bad} accepted"
            );
        }
    }
}
