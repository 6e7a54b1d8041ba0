//! The core's parsers and checks that the fuzz targets in `fuzz/` drive with arbitrary input
//! (the `fuzzing` feature, off by default). An entry point for fuzzing, not an API for hosts:
//! it follows the core and may change with it.

pub use crate::claims::claims_to_send;
pub use crate::error::CredentialError;
pub use crate::form::encode as encode_form;
pub use crate::http_date::parse_http_date;
pub use crate::json::parse as parse_json;
pub use crate::platform::HttpResponse;
pub use crate::retry::server_delay;
pub use crate::scopes::validate_scopes;
pub use crate::settings::{Settings, WorkloadIdentityOptions};
pub use crate::tenant::validate_tenant_id;
pub use crate::token_response::parse_token_response;
