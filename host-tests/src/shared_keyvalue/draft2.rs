//! `wasi:keyvalue@0.2.0-draft2`, store and atomics (compare-and-swap), on the shared store.

use super::{
    BucketHandle, CasHandle, HasKeyValue, KeyValueView, STORE_IDENTIFIER, SharedKeyValue, increment,
};
use wasmtime::Result;
use wasmtime::component::{Linker, Resource};

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "
            package azure-tests:keyvalue-draft2;
            world host {
                import wasi:keyvalue/store@0.2.0-draft2;
                import wasi:keyvalue/atomics@0.2.0-draft2;
            }
        ",
        world: "azure-tests:keyvalue-draft2/host",
        with: {
            "wasi:keyvalue/store.bucket": crate::shared_keyvalue::BucketHandle,
            "wasi:keyvalue/atomics.cas": crate::shared_keyvalue::CasHandle,
        },
    });
}

use generated::wasi::keyvalue0_2_0_draft2::{atomics, store};

pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> Result<()> {
    store::add_to_linker::<T, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<T, HasKeyValue>(linker, view)?;
    Ok(())
}

store_host!(String);

impl atomics::Host for KeyValueView<'_> {
    fn increment(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        let shared = shared_of(self, &bucket)?;
        shared
            .operate(|values| increment(values, &key, delta))
            .ok_or_else(|| other("failing"))?
            .map_err(other)
    }

    fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let handle = self
            .table
            .delete(cas)
            .map_err(|e| atomics::CasError::StoreError(other(e.to_string())))?;
        let swapped = handle.store.operate(|values| match &handle.read {
            Some(Some(old)) if values.get(&handle.key) != Some(old) => false,
            // Read a value that is still there; or read none (or nothing): an upsert.
            _ => {
                values.insert(handle.key.clone(), value);
                true
            }
        });
        match swapped {
            None => Err(atomics::CasError::StoreError(other("failing"))),
            Some(true) => Ok(()),
            Some(false) => {
                let latest = CasHandle {
                    store: handle.store,
                    key: handle.key,
                    read: None,
                };
                let latest = self
                    .table
                    .push(latest)
                    .map_err(|e| atomics::CasError::StoreError(other(e.to_string())))?;
                Err(atomics::CasError::CasFailed(latest))
            }
        }
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    fn new(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
    ) -> Result<Resource<CasHandle>, store::Error> {
        let store = shared_of(self, &bucket)?;
        self.table
            .push(CasHandle {
                store,
                key,
                read: None,
            })
            .map_err(|e| other(e.to_string()))
    }

    fn current(&mut self, cas: Resource<CasHandle>) -> Result<Option<Vec<u8>>, store::Error> {
        let handle = self.table.get_mut(&cas).map_err(|e| other(e.to_string()))?;
        let key = handle.key.clone();
        let value = handle
            .store
            .operate(|values| values.get(&key).cloned())
            .ok_or_else(|| other("failing"))?;
        handle.read = Some(value.clone());
        Ok(value)
    }

    fn drop(&mut self, cas: Resource<CasHandle>) -> Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}
