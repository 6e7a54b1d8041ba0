//! The name of a token's entry in the store.

use crate::prelude::*;

use crate::settings::Settings;
use sha2::{Digest, Sha256};

/// Every entry's name starts with this, so that the credential's entries are told apart from an
/// app's own in a store they share.
pub const NAME_PREFIX: &str = "azure-identity/v1/";

/// The name of the entry for a token of `tenant_id` for `scopes` (as a set: any order, repeats
/// allowed) with CAE on or off, from these settings' authority and client, kept by the pod `pod`
/// (its uid, `pod::pod_uid`; `None` for a token bound to none). A hash: it is as long whatever the
/// scopes, and tells a reader of the store nothing of what the tokens are for or whose they are.
pub fn entry_name(
    settings: &Settings,
    pod: Option<&str>,
    tenant_id: &str,
    scopes: &[String],
    cae: bool,
) -> String {
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let mut hash = Sha256::new();
    let tenant = tenant_id.to_ascii_lowercase();
    let cae = if cae { "cae" } else { "no-cae" };
    let parts = [
        pod.unwrap_or(""),
        settings.authority.host.as_str(),
        settings.authority.path_prefix.as_str(),
        tenant.as_str(),
        settings.client_id.as_str(),
        cae,
    ];
    // Each part ends with a NUL, which none of them may hold, so that no two lists of parts hash
    // alike.
    for part in parts.iter().chain(&scopes) {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let mut name = String::with_capacity(NAME_PREFIX.len() + 32);
    name.push_str(NAME_PREFIX);
    for byte in &digest[..16] {
        name.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        name.push(char::from_digit(u32::from(byte & 15), 16).unwrap_or('0'));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::WorkloadIdentityOptions;

    fn settings(client: &str) -> Settings {
        let options = WorkloadIdentityOptions {
            tenant_id: Some("tenant".into()),
            client_id: Some(client.into()),
            token_file_path: Some("/tokens/token".into()),
            authority_host: None,
            additionally_allowed_tenants: vec![],
        };
        Settings::resolve(&options, |_| None).unwrap()
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_name_per_tenant_client_scope_set_and_cae_choice() {
        let s = settings("client");
        let vault = entry_name(
            &s,
            None,
            "tenant",
            &scopes(&["https://vault.azure.net/.default"]),
            false,
        );
        assert!(vault.starts_with(NAME_PREFIX) && vault.len() == NAME_PREFIX.len() + 32);
        assert!(!vault.contains("vault"), "{vault}");
        let both = entry_name(&s, None, "tenant", &scopes(&["a", "b"]), false);
        assert_eq!(
            both,
            entry_name(&s, None, "TENANT", &scopes(&["b", "a", "b"]), false)
        );
        let others = [
            entry_name(
                &s,
                None,
                "tenant",
                &scopes(&["https://vault.azure.net/.default"]),
                true,
            ),
            entry_name(
                &s,
                None,
                "other",
                &scopes(&["https://vault.azure.net/.default"]),
                false,
            ),
            entry_name(
                &settings("another"),
                None,
                "tenant",
                &scopes(&["https://vault.azure.net/.default"]),
                false,
            ),
            entry_name(&s, None, "tenant", &scopes(&["ab"]), false),
            both,
        ];
        for other in &others {
            assert_ne!(&vault, other);
        }
        assert_ne!(others[3], others[4], "['ab'] and ['a', 'b'] differ");
        // Each pod keeps its own entry.
        let vault_scope = scopes(&["https://vault.azure.net/.default"]);
        let pod_a = entry_name(&s, Some("uid-a"), "tenant", &vault_scope, false);
        assert_ne!(pod_a, vault);
        assert_ne!(
            pod_a,
            entry_name(&s, Some("uid-b"), "tenant", &vault_scope, false)
        );
    }

    #[test]
    fn names_are_the_hash_of_their_parts_in_hex() {
        // From Python's hashlib, independently: sha256 of "\0"-terminated parts, 16 bytes in hex.
        let vault = scopes(&["https://vault.azure.net/.default"]);
        let s = settings("client");
        assert_eq!(
            entry_name(&s, None, "tenant", &vault, false),
            "azure-identity/v1/69a75192476c616dfb86803e403afce9"
        );
        assert_eq!(
            entry_name(&s, Some("uid-a"), "tenant", &vault, false),
            "azure-identity/v1/c5c06da71c51159c4c103c11aa063ca6"
        );
    }
}
