//! The demo identity of the commands that run against the built-in fake authority (`get-token`,
//! `token-bridge --fake-authority`): the shape of what the AKS webhook injects.

pub const DEMO_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const DEMO_CLIENT: &str = "5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b";
/// A service-account token's shape; the fake authority does not verify signatures.
pub const DEMO_ASSERTION: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVtbzpkZW1vIn0.ZGVtbw";
