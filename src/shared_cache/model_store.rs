//! A store for the unit tests: a map, either kind of atomics, failures on demand, and other
//! instances' writes run between two of the credential's operations.

use crate::prelude::*;

use super::store::{Atomics, SharedStore, StoreFailure};
use alloc::collections::BTreeMap;

pub type Values = BTreeMap<String, Vec<u8>>;

/// Another instance's action, run just before the credential's operation number `before` (from 0).
pub struct Interleaved {
    pub before: usize,
    pub action: Box<dyn FnMut(&mut Values)>,
}

pub struct ModelStore {
    pub values: Values,
    pub atomics: Atomics,
    pub failing: bool,
    pub interleaved: Vec<Interleaved>,
    /// Every operation, as `"get name"`, `"swap name"`, ...
    pub log: Vec<String>,
}

impl ModelStore {
    pub fn new(atomics: Atomics) -> ModelStore {
        ModelStore {
            values: Values::new(),
            atomics,
            failing: false,
            interleaved: Vec::new(),
            log: Vec::new(),
        }
    }

    fn operation(&mut self, what: &str, name: &str) -> Result<(), StoreFailure> {
        let count = self.log.len();
        for step in self.interleaved.iter_mut().filter(|s| s.before == count) {
            (step.action)(&mut self.values);
        }
        self.log.push(format!("{what} {name}"));
        if self.failing {
            Err(StoreFailure)
        } else {
            Ok(())
        }
    }

    pub fn count(&self, what: &str) -> usize {
        self.log.iter().filter(|op| op.starts_with(what)).count()
    }
}

pub fn increment(values: &mut Values, name: &str) -> u64 {
    let value = values.get(name).map_or(0, |bytes| {
        u64::from_le_bytes(bytes.as_slice().try_into().expect("a counter"))
    }) + 1;
    values.insert(name.to_owned(), value.to_le_bytes().to_vec());
    value
}

impl SharedStore for ModelStore {
    fn atomics(&self) -> Atomics {
        self.atomics
    }

    fn get(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.operation("get", name)?;
        Ok(self.values.get(name).cloned())
    }

    fn set(&mut self, name: &str, value: &[u8]) -> Result<(), StoreFailure> {
        self.operation("set", name)?;
        self.values.insert(name.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreFailure> {
        self.operation("delete", name)?;
        self.values.remove(name);
        Ok(())
    }

    fn swap(&mut self, name: &str, seen: &[u8], new: &[u8]) -> Result<bool, StoreFailure> {
        assert_eq!(
            self.atomics,
            Atomics::CompareAndSwap,
            "swap on a store without it"
        );
        self.operation("swap", name)?;
        if self.values.get(name).map(Vec::as_slice) != Some(seen) {
            return Ok(false);
        }
        self.values.insert(name.to_owned(), new.to_vec());
        Ok(true)
    }

    fn increment(&mut self, name: &str) -> Result<u64, StoreFailure> {
        self.operation("increment", name)?;
        Ok(increment(&mut self.values, name))
    }
}
