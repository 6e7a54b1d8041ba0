//! Form encoding round-trips whatever the values, and scope and tenant checks accept only what
//! is safe to send.
#![no_main]

use azure_workload_identity::fuzzing::{encode_form, validate_scopes, validate_tenant_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\u{1}').collect();
    let fields: Vec<(&str, &str)> = values
        .chunks(2)
        .map(|pair| (pair[0], pair.get(1).copied().unwrap_or("")))
        .collect();
    let body = encode_form(&fields);
    let decoded: Vec<(String, String)> = if body.is_empty() {
        Vec::new()
    } else {
        form_urlencoded::parse(body.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    };
    let expected: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    // An empty form has no fields on the wire; anything else must come back as it was sent.
    if !(fields.len() == 1 && fields[0] == ("", "")) {
        assert_eq!(decoded, expected, "body {body}");
    }

    let scopes: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    if validate_scopes(&scopes).is_ok() {
        assert!(scopes.iter().all(|s| !s.is_empty() && !s.chars().any(char::is_whitespace)));
    }
    for tenant in &values {
        if validate_tenant_id(tenant).is_ok() {
            assert!(tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
        }
    }
});
