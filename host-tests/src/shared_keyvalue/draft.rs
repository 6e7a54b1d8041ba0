//! `wasi:keyvalue@0.2.0-draft`, store and atomics (increment only), on the shared store.

use super::{BucketHandle, HasKeyValue, KeyValueView, STORE_IDENTIFIER, increment};
use wasmtime::Result;
use wasmtime::component::{Linker, Resource};

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "
            package azure-tests:keyvalue-draft;
            world host {
                import wasi:keyvalue/store@0.2.0-draft;
                import wasi:keyvalue/atomics@0.2.0-draft;
            }
        ",
        world: "azure-tests:keyvalue-draft/host",
        with: {
            "wasi:keyvalue/store.bucket": crate::shared_keyvalue::BucketHandle,
        },
    });
}

use generated::wasi::keyvalue0_2_0_draft::{atomics, store};

pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> Result<()> {
    store::add_to_linker::<T, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<T, HasKeyValue>(linker, view)?;
    Ok(())
}

fn other(message: impl Into<String>) -> store::Error {
    store::Error::Other(message.into())
}

impl KeyValueView<'_> {
    fn draft_bucket(
        &self,
        bucket: &Resource<BucketHandle>,
    ) -> Result<super::SharedKeyValue, store::Error> {
        let handle = self.table.get(bucket).map_err(|e| other(e.to_string()))?;
        Ok(handle.0.clone())
    }
}

impl store::Host for KeyValueView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<BucketHandle>, store::Error> {
        match self.store {
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
        let shared = self.draft_bucket(&bucket)?;
        shared
            .operate(|values| values.get(&key).cloned())
            .ok_or_else(|| other("failing"))
    }

    fn set(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        let shared = self.draft_bucket(&bucket)?;
        shared
            .operate(|values| drop(values.insert(key, value)))
            .ok_or_else(|| other("failing"))
    }

    fn delete(&mut self, bucket: Resource<BucketHandle>, key: String) -> Result<(), store::Error> {
        let shared = self.draft_bucket(&bucket)?;
        shared
            .operate(|values| drop(values.remove(&key)))
            .ok_or_else(|| other("failing"))
    }

    fn exists(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> Result<bool, store::Error> {
        let shared = self.draft_bucket(&bucket)?;
        shared
            .operate(|values| values.contains_key(&key))
            .ok_or_else(|| other("failing"))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<BucketHandle>,
        _cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        let shared = self.draft_bucket(&bucket)?;
        let keys = shared
            .operate(|values| values.keys().cloned().collect())
            .ok_or_else(|| other("failing"))?;
        Ok(store::KeyResponse { keys, cursor: None })
    }

    fn drop(&mut self, bucket: Resource<BucketHandle>) -> Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    fn increment(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        let shared = self.draft_bucket(&bucket)?;
        let delta = i64::try_from(delta).map_err(|_| other("delta too large"))?;
        let sum = shared
            .operate(|values| increment(values, &key, delta))
            .ok_or_else(|| other("failing"))?
            .map_err(other)?;
        u64::try_from(sum).map_err(|_| other("negative counter"))
    }
}
