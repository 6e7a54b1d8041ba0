//! The `claims` form field: the caller's claims challenge, with the CAE capability merged in.

use crate::prelude::*;

use crate::error::CredentialError;
use serde_json::{Map, Value, json};

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
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            _ => {
                return Err(CredentialError::InvalidArgument(
                    "claims must be a JSON object, e.g. the decoded claims of a \
                     WWW-Authenticate challenge: {\"access_token\":{...}}"
                        .into(),
                ));
            }
        },
    };
    if enable_cae {
        add_cae_capability(&mut claims);
    }
    Ok(Some(Value::Object(claims).to_string()))
}

fn add_cae_capability(claims: &mut Map<String, Value>) {
    let access_token = claims.entry("access_token").or_insert_with(|| json!({}));
    if !access_token.is_object() {
        *access_token = json!({});
    }
    let xms_cc = access_token
        .as_object_mut()
        .expect("made an object above")
        .entry("xms_cc")
        .or_insert_with(|| json!({}));
    if !xms_cc.is_object() {
        *xms_cc = json!({});
    }
    let values = xms_cc
        .as_object_mut()
        .expect("made an object above")
        .entry("values")
        .or_insert_with(|| json!([]));
    if !values.is_array() {
        *values = json!([]);
    }
    let values = values.as_array_mut().expect("made an array above");
    if !values.iter().any(|v| v == CAE_CAPABILITY) {
        values.push(json!(CAE_CAPABILITY));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
