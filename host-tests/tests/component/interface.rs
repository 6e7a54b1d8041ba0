//! What the component asks of its host and offers to it.

use host_tests::CredentialComponent;

#[test]
fn component_exports_azure_identity_and_imports_exactly_what_it_uses() {
    let (imports, exports) = CredentialComponent::shared().interface_names();
    assert_eq!(
        exports,
        [
            "azure:identity/types@0.1.0",
            "azure:identity/credential@0.1.0"
        ]
    );
    // Exactly what the credential calls: no stdio, no exit, no sockets, no insecure random.
    // A host may grant no more than this; anything new here must be justified.
    assert_eq!(
        imports,
        [
            "wasi:cli/environment@0.2.12",
            "wasi:clocks/wall-clock@0.2.12",
            "wasi:io/poll@0.2.12",
            "wasi:clocks/monotonic-clock@0.2.12",
            "wasi:random/random@0.2.12",
            "wasi:io/error@0.2.12",
            "wasi:io/streams@0.2.12",
            "wasi:filesystem/types@0.2.12",
            "wasi:filesystem/preopens@0.2.12",
            "wasi:http/types@0.2.12",
            "wasi:http/outgoing-handler@0.2.12",
        ]
    );
}

#[test]
fn the_token_bridge_variant_exports_the_same_and_imports_the_same_but_no_filesystem() {
    let path = guest_artifacts::CREDENTIAL_VIA_BRIDGE;
    let variant =
        CredentialComponent::load(path).unwrap_or_else(|error| panic!("loading {path}: {error:?}"));
    let (imports, exports) = variant.interface_names();
    let (base_imports, base_exports) = CredentialComponent::shared().interface_names();
    assert_eq!(exports, base_exports);
    // It reads no token file: the app's sandbox never holds the service-account token.
    let without_filesystem: Vec<&String> = base_imports
        .iter()
        .filter(|name| !name.starts_with("wasi:filesystem/"))
        .collect();
    assert_eq!(imports.iter().collect::<Vec<_>>(), without_filesystem);
}

/// The variants add code the base component must not carry: the base stays within its size goal
/// whatever they bring (the shared cache's ciphers, left out only if the compiler sees that the
/// base has no store).
#[test]
fn the_base_component_stays_within_150_000_bytes() {
    let size = std::fs::metadata(host_tests::COMPONENT_PATH)
        .expect("the component is built")
        .len();
    assert!(
        size <= 150_000,
        "the base component is {size} B, over 150,000 B"
    );
}
