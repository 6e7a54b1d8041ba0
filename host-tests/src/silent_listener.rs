//! A TCP listener that accepts connections and never sends a byte: a peer that never completes
//! TLS (or never answers at all). Every connection is held until the listener is dropped, or for
//! [`MAX_LIFETIME`](crate::acceptor::MAX_LIFETIME) at the latest.

use crate::acceptor::Acceptor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct SilentListener {
    acceptor: Acceptor,
    accepted: Arc<AtomicUsize>,
}

impl SilentListener {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub fn start() -> std::io::Result<SilentListener> {
        let accepted = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let accepted = accepted.clone();
            // Kept, unread and unanswered, until the accepting thread ends.
            let mut held = Vec::new();
            Acceptor::start(move |connection, _| {
                accepted.fetch_add(1, Ordering::SeqCst);
                held.push(connection);
            })?
        };
        Ok(SilentListener { acceptor, accepted })
    }

    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
