//! The guest's memory as the proxy-wasm ABI uses it: strings in, values handed back in memory
//! the guest allocates, and header maps in the ABI's serialized form.

use crate::VmState;
use wasmtime::{Caller, Extern, Memory, Result};

fn memory(caller: &mut Caller<'_, VmState>) -> Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::format_err!("the filter exports no memory")),
    }
}

pub fn read(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<Vec<u8>> {
    let mut bytes = vec![0; len as usize];
    memory(caller)?.read(&*caller, ptr as usize, &mut bytes)?;
    Ok(bytes)
}

pub fn read_string(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<String> {
    Ok(String::from_utf8(read(caller, ptr, len)?)?)
}

pub fn write_u32(caller: &mut Caller<'_, VmState>, at: u32, value: u32) -> Result<()> {
    memory(caller)?.write(&mut *caller, at as usize, &value.to_le_bytes())?;
    Ok(())
}

pub fn write_u64(caller: &mut Caller<'_, VmState>, at: u32, value: u64) -> Result<()> {
    memory(caller)?.write(&mut *caller, at as usize, &value.to_le_bytes())?;
    Ok(())
}

/// Copies `bytes` into memory from the guest's `proxy_on_memory_allocate`, and stores the
/// pointer and size where the guest asked.
pub fn hand_back(
    caller: &mut Caller<'_, VmState>,
    bytes: &[u8],
    ptr_at: u32,
    size_at: u32,
) -> Result<()> {
    let allocate = caller
        .get_export("proxy_on_memory_allocate")
        .and_then(Extern::into_func)
        .ok_or_else(|| wasmtime::format_err!("the filter exports no proxy_on_memory_allocate"))?
        .typed::<u32, u32>(&*caller)?;
    let ptr = allocate.call(&mut *caller, bytes.len() as u32)?;
    memory(caller)?.write(&mut *caller, ptr as usize, bytes)?;
    write_u32(caller, ptr_at, ptr)?;
    write_u32(caller, size_at, bytes.len() as u32)
}

/// A header map in the ABI's form: the count, each name's and value's length, then each name
/// and value with a NUL after it.
pub fn serialize_map(map: &[(String, String)]) -> Vec<u8> {
    let mut bytes = (map.len() as u32).to_le_bytes().to_vec();
    for (name, value) in map {
        bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in map {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
    }
    bytes
}

pub fn deserialize_map(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let malformed = || wasmtime::format_err!("a malformed header map");
    let word = |at: usize| -> Result<usize> {
        let slice = bytes.get(at..at + 4).ok_or_else(malformed)?;
        Ok(u32::from_le_bytes(slice.try_into().unwrap()) as usize)
    };
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = word(0)?;
    let mut data = 4 + count * 8;
    let mut map = Vec::with_capacity(count);
    for index in 0..count {
        let mut take = |len: usize| -> Result<String> {
            let text = bytes.get(data..data + len).ok_or_else(malformed)?;
            data += len + 1;
            Ok(String::from_utf8(text.to_vec())?)
        };
        let (name_len, value_len) = (word(4 + index * 8)?, word(8 + index * 8)?);
        let name = take(name_len)?;
        let value = take(value_len)?;
        map.push((name, value));
    }
    Ok(map)
}
