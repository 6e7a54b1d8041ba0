//! A TCP listener that accepts connections and never sends a byte: a peer that never completes
//! TLS (or never answers at all). Every connection is held until the listener is dropped, or for
//! [`MAX_LIFETIME`] at the latest.

use crate::local_server::MAX_LIFETIME;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

pub struct SilentListener {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl SilentListener {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub fn start() -> std::io::Result<SilentListener> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || hold_until_stopped(listener, &accepted, &stop))
        };
        Ok(SilentListener {
            address,
            accepted,
            stop,
            acceptor: Some(acceptor),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor blocked in accept().
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Accepts and keeps every connection open, unread and unanswered; they close on return.
fn hold_until_stopped(listener: TcpListener, accepted: &AtomicUsize, stop: &AtomicBool) {
    let started = Instant::now();
    let mut held = Vec::new();
    for connection in listener.incoming() {
        if stop.load(Ordering::SeqCst) || started.elapsed() > MAX_LIFETIME {
            return;
        }
        if let Ok(connection) = connection {
            accepted.fetch_add(1, Ordering::SeqCst);
            held.push(connection);
        }
    }
}
