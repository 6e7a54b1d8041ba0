//! One wasi:keyvalue store shared by every instance, in every wasmtime store, of the credential's
//! variants: what Spin's and wasmCloud's hosts give a per-request component. Both drafts, with
//! the semantics of Spin's default (SQLite) store, read from its source: `increment` keeps an
//! i64 in 8 little-endian bytes; a compare-and-swap handle compares with what its `current`
//! read, and one that read no value (the key was absent, or `current` was never called) swaps
//! as an upsert, so two racing creators both succeed.

/// The `store` interface's host, alike in both drafts but for the type of `list-keys`' cursor:
/// one copy, expanded in each draft's module over the types bindgen generated there (which must
/// have `store`, `Resource`, `BucketHandle`, `KeyValueView`, `SharedKeyValue` and
/// `STORE_IDENTIFIER` in scope).
macro_rules! store_host {
    ($cursor:ty) => {
        fn other(message: impl Into<String>) -> store::Error {
            store::Error::Other(message.into())
        }

        fn shared_of(
            view: &KeyValueView<'_>,
            bucket: &Resource<BucketHandle>,
        ) -> Result<SharedKeyValue, store::Error> {
            let handle = view.table.get(bucket).map_err(|e| other(e.to_string()))?;
            Ok(handle.0.clone())
        }

        impl store::Host for KeyValueView<'_> {
            fn open(&mut self, identifier: String) -> Result<Resource<BucketHandle>, store::Error> {
                match self.store {
                    // Spin refuses a label the component is not granted.
                    Some(shared) if identifier == STORE_IDENTIFIER => self
                        .table
                        .push(BucketHandle(shared.clone()))
                        .map_err(|e| other(e.to_string())),
                    Some(_) => Err(store::Error::AccessDenied),
                    None => Err(store::Error::NoSuchStore),
                }
            }
        }

        impl store::HostBucket for KeyValueView<'_> {
            fn get(
                &mut self,
                bucket: Resource<BucketHandle>,
                key: String,
            ) -> Result<Option<Vec<u8>>, store::Error> {
                shared_of(self, &bucket)?
                    .operate(|values| values.get(&key).cloned())
                    .ok_or_else(|| other("failing"))
            }

            fn set(
                &mut self,
                bucket: Resource<BucketHandle>,
                key: String,
                value: Vec<u8>,
            ) -> Result<(), store::Error> {
                shared_of(self, &bucket)?
                    .operate(|values| drop(values.insert(key, value)))
                    .ok_or_else(|| other("failing"))
            }

            fn delete(
                &mut self,
                bucket: Resource<BucketHandle>,
                key: String,
            ) -> Result<(), store::Error> {
                shared_of(self, &bucket)?
                    .operate(|values| drop(values.remove(&key)))
                    .ok_or_else(|| other("failing"))
            }

            fn exists(
                &mut self,
                bucket: Resource<BucketHandle>,
                key: String,
            ) -> Result<bool, store::Error> {
                shared_of(self, &bucket)?
                    .operate(|values| values.contains_key(&key))
                    .ok_or_else(|| other("failing"))
            }

            fn list_keys(
                &mut self,
                bucket: Resource<BucketHandle>,
                _cursor: Option<$cursor>,
            ) -> Result<store::KeyResponse, store::Error> {
                let keys = shared_of(self, &bucket)?
                    .operate(|values| values.keys().cloned().collect())
                    .ok_or_else(|| other("failing"))?;
                Ok(store::KeyResponse { keys, cursor: None })
            }

            fn drop(&mut self, bucket: Resource<BucketHandle>) -> wasmtime::Result<()> {
                self.table.delete(bucket)?;
                Ok(())
            }
        }
    };
}

mod draft;
mod draft2;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use wasmtime::Result;
use wasmtime::component::{HasData, Linker, ResourceTable};

/// Which wasi:keyvalue the variant imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValueDraft {
    /// `0.2.0-draft2`: store and atomics with compare-and-swap (Spin 3 and 4).
    Draft2,
    /// `0.2.0-draft`: store and atomics with increment only (wasmCloud).
    Draft,
}

/// The identifier the store is opened by: Spin's default store's label, and the credential's
/// default (`AZURE_TOKEN_CACHE_STORE`).
pub const STORE_IDENTIFIER: &str = "default";

/// The shared store: clone it into every instance's host.
#[derive(Clone, Default)]
pub struct SharedKeyValue {
    inner: Arc<Mutex<Shared>>,
}

#[derive(Default)]
struct Shared {
    values: BTreeMap<String, Vec<u8>>,
    operations: u64,
    failing: bool,
}

impl SharedKeyValue {
    pub fn new() -> SharedKeyValue {
        SharedKeyValue::default()
    }

    /// Every key and value, as the store's owner (or anyone who can read it) sees them.
    pub fn contents(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock().values.clone()
    }

    /// How many operations guests made.
    pub fn operations(&self) -> u64 {
        self.lock().operations
    }

    /// From now on every operation fails with `other`.
    pub fn fail(&self, failing: bool) {
        self.lock().failing = failing;
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one operation on the values, or fails it when the store is failing.
    fn operate<T>(&self, operation: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T) -> Option<T> {
        let mut shared = self.lock();
        shared.operations += 1;
        (!shared.failing).then(|| operation(&mut shared.values))
    }
}

/// A bucket: the store it was opened on.
pub struct BucketHandle(SharedKeyValue);

/// A compare-and-swap in progress: its key, and what its `current` read (`None`: not called).
pub struct CasHandle {
    store: SharedKeyValue,
    key: String,
    read: Option<Option<Vec<u8>>>,
}

/// What the wasi:keyvalue hosts reach in a store's data: its resource table and, if this
/// instance is granted it, the shared store.
pub struct KeyValueView<'a> {
    pub table: &'a mut ResourceTable,
    pub store: Option<&'a SharedKeyValue>,
}

struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

/// Adds `draft`'s store and atomics to `linker`; `view` finds them in a store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    draft: KeyValueDraft,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> Result<()> {
    match draft {
        KeyValueDraft::Draft2 => draft2::add_to_linker(linker, view),
        KeyValueDraft::Draft => draft::add_to_linker(linker, view),
    }
}

/// Spin's increment: the value is an i64 in 8 little-endian bytes, zero when absent.
fn increment(values: &mut BTreeMap<String, Vec<u8>>, key: &str, delta: i64) -> Result<i64, String> {
    let current = match values.get(key) {
        None => 0,
        Some(bytes) => i64::from_le_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| format!("'{key}' holds no counter"))?,
        ),
    };
    let sum = current
        .checked_add(delta)
        .ok_or_else(|| format!("'{key}' would overflow"))?;
    values.insert(key.to_owned(), sum.to_le_bytes().to_vec());
    Ok(sum)
}
