//! What the component asks of its host and offers to it.

use host_tests::CredentialComponent;

#[test]
fn component_exports_azure_identity_and_imports_only_wasi() {
    let (imports, exports) = CredentialComponent::shared().interface_names();
    assert_eq!(
        exports,
        [
            "azure:identity/types@0.1.0",
            "azure:identity/credential@0.1.0"
        ]
    );
    assert!(!imports.is_empty());
    for import in &imports {
        assert!(import.starts_with("wasi:"), "non-WASI import {import}");
    }
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:cli/environment@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:random/random@0.2.12",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} not imported: {imports:?}"
        );
    }
}
