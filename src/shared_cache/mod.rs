//! A token cache shared by every instance of the component through a key-value store (the
//! wasi:keyvalue variants), for hosts that make an instance per request: Spin, `wash dev`,
//! `wasmtime serve`. Plain Rust over [`SharedStore`]; the WASI layer maps it onto a bucket.
//!
//! Each token has an entry (its name: [`entry_name`]) holding, sealed ([`Sealer`]), the token and
//! the lease of a refresh in progress. One instance refreshes at a time: the one that takes the
//! lease, by compare-and-swap where the store has it and by an increment ticket where it has not.
//! The lease's end is inside the entry, since the stores keep values forever: a holder that
//! crashed lets it lapse. The others serve the entry's token while it is valid, else wait for the
//! new one, boundedly, and then ask by themselves. Anything that goes wrong with the store makes
//! the credential ask Entra as if there were no store: the store saves requests, it is never
//! needed for a token.

mod entry;
mod lease;
mod name;
mod pod;
mod seal;
// The WASI layer implements `SharedStore` on a wasi:keyvalue bucket.
pub mod store;
mod through;

#[cfg(test)]
pub use lease::LEASE_SECONDS;
#[cfg(test)]
pub use lease::{Fetched, fetch};
pub use name::entry_name;
pub use pod::pod_uid;
#[cfg(test)]
pub use seal::Sealer;
pub use store::SharedStore;
pub use through::through_store;

#[cfg(test)]
mod model_store;
#[cfg(test)]
mod tests;
