//! The harness for the tests that run the components in real hosts (`wash dev`, `wasmtime
//! serve`): the host processes started and stopped within bounds, fakes of Microsoft Entra ID and
//! of Azure services on loopback ports (plain http or HTTPS with a throw-away CA) that record what
//! the hosts sent, and a private network namespace in which a fixed public host name (a key
//! vault's) resolves to a loopback fake.
//!
//! Every process and thread it starts ends when its owner is dropped, or at a bound; all traffic
//! stays on 127.0.0.1.

mod entra_server;
pub mod private_network;
mod secrets;
mod serving_host;
pub mod wash;
pub mod wasmtime_serve;

pub use entra_server::EntraServer;
pub use secrets::redacted;
pub use serving_host::ServingHost;

use std::net::{SocketAddr, TcpListener};

/// A port of 127.0.0.1 free a moment ago, for a host that must be told its port (`wash dev`).
pub fn free_loopback_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}
