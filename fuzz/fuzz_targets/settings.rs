//! Settings resolution: any options and environment give settings or `unavailable`, and
//! accepted settings always make a well-formed token endpoint.
#![no_main]

use azure_workload_identity::fuzzing::{CredentialError, Settings, WorkloadIdentityOptions};
use libfuzzer_sys::fuzz_target;

const VARIABLES: [&str; 10] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
    "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH",
    "AZURE_KUBERNETES_TOKEN_PROXY",
    "AZURE_KUBERNETES_SNI_NAME",
    "AZURE_KUBERNETES_CA_FILE",
    "AZURE_KUBERNETES_CA_DATA",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1}').map(|field| (!field.is_empty()).then(|| field.to_owned()));
    let mut next = || fields.next().flatten();
    let options = WorkloadIdentityOptions {
        tenant_id: next(),
        client_id: next(),
        token_file_path: next(),
        authority_host: next(),
        additionally_allowed_tenants: next().map(|t| vec![t]).unwrap_or_default(),
    };
    let values: Vec<Option<String>> = VARIABLES.iter().map(|_| next()).collect();
    let env = |name: &str| {
        VARIABLES
            .iter()
            .position(|variable| *variable == name)
            .and_then(|i| values[i].clone())
    };
    match Settings::resolve(&options, env) {
        Ok(settings) => {
            let endpoint = settings.token_endpoint(&settings.tenant_id);
            let (host, path) = (&endpoint.host, &endpoint.path);
            assert!(!host.is_empty());
            assert!(!host.contains(['/', '?', '#', '@', ' ']), "{host}");
            assert!(path.starts_with('/') && path.ends_with("/oauth2/v2.0/token"), "{path}");
            assert!(!path.contains(['?', '#']), "{path}");
        }
        Err(error) => assert!(matches!(error, CredentialError::Unavailable(_))),
    }
});
