//! Claims merging: any caller text gives claims that are a JSON object (with CP1 when CAE is on)
//! or `invalid-argument`, never a panic.
#![no_main]

use azure_workload_identity::fuzzing::{CredentialError, claims_to_send};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let enable_cae = flag & 1 == 1;
    let text = String::from_utf8_lossy(rest);
    match claims_to_send(Some(&text), enable_cae) {
        Ok(Some(claims)) => {
            let value: serde_json::Value = serde_json::from_str(&claims)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {claims}"));
            assert!(value.is_object());
            if enable_cae {
                let values = &value["access_token"]["xms_cc"]["values"];
                assert!(values.as_array().is_some_and(|v| v.iter().any(|c| c == "CP1")), "{claims}");
            }
        }
        Ok(None) => assert!(!enable_cae && text.trim().is_empty()),
        Err(error) => assert!(matches!(error, CredentialError::InvalidArgument(_))),
    }
});
