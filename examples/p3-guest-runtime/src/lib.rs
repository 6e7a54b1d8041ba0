//! What std would give this repository's std-free WASI 0.3 guests (the bearer middleware, the
//! sample proxy): the allocator, the canonical ABI's `cabi_realloc`, the panic handler, and state
//! for the life of the instance. Std-free, so that they import WASI 0.3 alone: std on
//! wasm32-wasip2 brings wasi-libc's WASI 0.2 imports. (The credential has its own, smaller heap,
//! for its size goal.) A guest links it with `use p3_guest_runtime as _;` at least.
//!
//! The allocator is wasi-libc's malloc, the one std uses on this target; it imports nothing. The
//! canonical ABI's `cabi_realloc`, with which the host allocates the strings and lists it passes
//! in (which Rust frees), is the same allocator's.
#![no_std]

// Natively (the workspace's `cargo test`, clippy) the crate is empty: std provides all of it.
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
pub use runtime::InstanceState;
