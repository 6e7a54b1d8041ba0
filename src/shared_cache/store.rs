//! What the shared cache needs of a store: the operations wasi:keyvalue's `store` and `atomics`
//! give, in both drafts.

use crate::prelude::*;

/// How the store takes a lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atomics {
    /// Compare-and-swap and increment (wasi:keyvalue 0.2.0-draft2: Spin).
    CompareAndSwap,
    /// Increment only (wasi:keyvalue 0.2.0-draft: wasmCloud, `wasmtime serve -S keyvalue`).
    IncrementOnly,
}

/// The store failed; what it said is not kept, since the credential then goes on without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreFailure;

/// A key-value store shared by the instances.
pub trait SharedStore {
    /// What the store offers for leases.
    fn atomics(&self) -> Atomics;
    /// The value under `name`, if any.
    fn get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// Writes `value` under `name`.
    fn set(&mut self, name: &str, value: &[u8]) -> Result<(), StoreFailure>;
    /// Removes `name` (absent is fine).
    fn delete(&mut self, name: &str) -> Result<(), StoreFailure>;
    /// Writes `new` under `name` if the value is still `seen`; `Ok(false)` when it is not. Only
    /// called on a store with [`Atomics::CompareAndSwap`].
    fn swap(&mut self, name: &str, seen: &[u8], new: &[u8]) -> Result<bool, StoreFailure>;
    /// Adds one to the counter under `name` (created at zero) and returns the sum.
    fn increment(&mut self, name: &str) -> Result<u64, StoreFailure>;
}
