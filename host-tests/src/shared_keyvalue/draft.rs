//! `wasi:keyvalue@0.2.0-draft`, store and atomics (increment only), on the shared store.

use super::{BucketHandle, HasKeyValue, KeyValueView, STORE_IDENTIFIER, SharedKeyValue, increment};
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

store_host!(u64);

impl atomics::Host for KeyValueView<'_> {
    fn increment(
        &mut self,
        bucket: Resource<BucketHandle>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        let shared = shared_of(self, &bucket)?;
        let delta = i64::try_from(delta).map_err(|_| other("delta too large"))?;
        let sum = shared
            .operate(|values| increment(values, &key, delta))
            .ok_or_else(|| other("failing"))?
            .map_err(other)?;
        u64::try_from(sum).map_err(|_| other("negative counter"))
    }
}
