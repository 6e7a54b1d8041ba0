//! The shared cache's store: a wasi:keyvalue bucket, 0.2.0-draft2 (compare-and-swap) or
//! 0.2.0-draft (increment only), whichever the variant imports.

use crate::prelude::*;

// wit-bindgen names each version's module after it, since wit/deps holds both drafts.
#[cfg(feature = "keyvalue-draft")]
use super::wasi::keyvalue0_2_0_draft as keyvalue;
#[cfg(feature = "keyvalue-draft2")]
use super::wasi::keyvalue0_2_0_draft2 as keyvalue;
use crate::shared_cache::store::{Atomics, SharedStore, StoreFailure};
use keyvalue::atomics;
#[cfg(feature = "keyvalue-draft2")]
use keyvalue::atomics::{Cas, CasError};
use keyvalue::store::{self, Bucket};

/// Names the store, as the host's configuration does (Spin's `key_value_stores`, a wasmCloud
/// link); when unset, "default": Spin's default store, and the one `wash dev` serves.
pub const AZURE_TOKEN_CACHE_STORE: &str = "AZURE_TOKEN_CACHE_STORE";
const DEFAULT_STORE: &str = "default";

pub struct WasiStore {
    bucket: Bucket,
}

impl WasiStore {
    /// The store `identifier` names (`None`: the default one), or `None` when the host has no such
    /// store or refuses it: the credential then works as the base component does.
    pub fn open(identifier: Option<&str>) -> Option<WasiStore> {
        store::open(identifier.unwrap_or(DEFAULT_STORE))
            .ok()
            .map(|bucket| WasiStore { bucket })
    }
}

impl SharedStore for WasiStore {
    fn atomics(&self) -> Atomics {
        if cfg!(feature = "keyvalue-draft2") {
            Atomics::CompareAndSwap
        } else {
            Atomics::IncrementOnly
        }
    }

    fn get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.bucket.get(name).map_err(|_| StoreFailure)
    }

    fn set(&mut self, name: &str, value: &[u8]) -> Result<(), StoreFailure> {
        self.bucket.set(name, value).map_err(|_| StoreFailure)
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreFailure> {
        self.bucket.delete(name).map_err(|_| StoreFailure)
    }

    #[cfg(feature = "keyvalue-draft2")]
    fn swap(&mut self, name: &str, seen: &[u8], new: &[u8]) -> Result<bool, StoreFailure> {
        let cas = Cas::new(&self.bucket, name).map_err(|_| StoreFailure)?;
        // The handle compares with what it read: Spin's SQLite store swaps unconditionally on a
        // handle that has read nothing, so `current` is read, and checked here as well.
        if cas.current().map_err(|_| StoreFailure)?.as_deref() != Some(seen) {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(CasError::CasFailed(_)) => Ok(false),
            Err(CasError::StoreError(_)) => Err(StoreFailure),
        }
    }

    #[cfg(feature = "keyvalue-draft")]
    fn swap(&mut self, _: &str, _: &[u8], _: &[u8]) -> Result<bool, StoreFailure> {
        // Never called: this store says it has no compare-and-swap.
        Err(StoreFailure)
    }

    #[cfg(feature = "keyvalue-draft2")]
    fn increment(&mut self, name: &str) -> Result<u64, StoreFailure> {
        let sum = atomics::increment(&self.bucket, name, 1).map_err(|_| StoreFailure)?;
        // draft2 counts in s64: a negative sum is no ticket this code counted.
        u64::try_from(sum).map_err(|_| StoreFailure)
    }

    #[cfg(feature = "keyvalue-draft")]
    fn increment(&mut self, name: &str) -> Result<u64, StoreFailure> {
        atomics::increment(&self.bucket, name, 1).map_err(|_| StoreFailure)
    }
}
