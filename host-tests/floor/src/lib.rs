//! The benchmark's floor: the credential's world (same imports, same exports) with the work
//! removed. What the benchmark measures here is what any component with this WIT pays: the
//! boundary crossing, lifting the scopes and lowering the token, instantiation, one bare POST.
//!
//! - `create` reads `BENCH_TOKEN` from the environment (the credential reads its settings
//!   there too) and keeps it;
//! - the resource's `get-token` returns that token: a cache hit with no cache;
//! - the free `get-token` makes one POST through wasi:http to `BENCH_AUTHORITY` and reads the
//!   whole answer, without parsing it: a cache miss with no file, no form and no JSON.
//!
//! Like the credential it is `no_std` with the credential's allocator (`src/heap.rs`, included
//! below), so the two differ only in their work.

// Natively (cargo test --workspace builds every member) the crate is empty.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg(target_arch = "wasm32")]

extern crate alloc;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

wit_bindgen::generate!({
    world: "workload-identity",
    path: "../../wit",
    generate_all,
});

use exports::azure::identity::credential::{
    Guest, GuestWorkloadIdentityCredential, WorkloadIdentityCredential, WorkloadIdentityOptions,
};
use exports::azure::identity::types::{AccessToken, CredentialError, TokenRequestOptions};
use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

struct Floor;

struct StoredToken(RefCell<AccessToken>);

fn environment(name: &str) -> String {
    wasi::cli::environment::get_environment()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
        .unwrap_or_default()
}

fn unavailable(what: &str) -> CredentialError {
    CredentialError::Unavailable(what.to_string())
}

impl Guest for Floor {
    type WorkloadIdentityCredential = StoredToken;

    fn get_token(
        _scopes: Vec<String>,
        _options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let authority = environment("BENCH_AUTHORITY");
        let request = OutgoingRequest::new(Fields::new());
        request.set_method(&Method::Post).ok();
        request.set_scheme(Some(&Scheme::Https)).ok();
        request.set_authority(Some(&authority)).ok();
        request.set_path_with_query(Some("/token")).ok();
        let body = request.body().map_err(|()| unavailable("body"))?;
        let pending = wasi::http::outgoing_handler::handle(request, None)
            .map_err(|_| unavailable("handle"))?;
        OutgoingBody::finish(body, None).map_err(|_| unavailable("finish"))?;
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            _ => return Err(unavailable("no response")),
        };
        let incoming = response.consume().map_err(|()| unavailable("consume"))?;
        let mut answer = Vec::new();
        {
            let stream = incoming.stream().map_err(|()| unavailable("stream"))?;
            while let Ok(chunk) = stream.blocking_read(64 * 1024) {
                answer.extend_from_slice(&chunk);
            }
        }
        Ok(AccessToken {
            token: String::from_utf8_lossy(&answer).into_owned(),
            expires_on: 0,
            refresh_on: None,
            token_type: "Bearer".to_string(),
        })
    }
}

impl GuestWorkloadIdentityCredential for StoredToken {
    fn create(
        _options: WorkloadIdentityOptions,
    ) -> Result<WorkloadIdentityCredential, CredentialError> {
        Ok(WorkloadIdentityCredential::new(StoredToken(RefCell::new(
            AccessToken {
                token: environment("BENCH_TOKEN"),
                expires_on: 0,
                refresh_on: None,
                token_type: "Bearer".to_string(),
            },
        ))))
    }

    fn get_token(
        &self,
        _scopes: Vec<String>,
        _options: TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        Ok(self.0.borrow().clone())
    }

    fn close(&self) {}
}

export!(Floor);

// What std would provide: the credential's own allocator, `memcmp`, panic handler and
// `cabi_realloc`.
#[path = "../../../src/heap.rs"]
mod heap;
#[path = "../../../src/mem.rs"]
mod mem;
#[allow(dead_code)] // the floor keeps no instance state
#[path = "../../../src/component/runtime.rs"]
mod runtime;
