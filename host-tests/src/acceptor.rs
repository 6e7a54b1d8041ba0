//! The accept loop every test server runs: a thread that takes each connection to a loopback
//! port until the server is dropped, or for [`MAX_LIFETIME`] at the latest.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No connection of a test server lives longer than this.
pub const MAX_LIFETIME: Duration = Duration::from_secs(180);

/// A listener on an ephemeral port of 127.0.0.1 and its accepting thread, stopped on drop.
pub struct Acceptor {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    /// Hands each accepted connection to `take`, with the flag that says the server stopped
    /// (for connections that live on in threads of their own).
    pub fn start(
        take: impl FnMut(TcpStream, &Arc<AtomicBool>) + Send + 'static,
    ) -> std::io::Result<Acceptor> {
        Acceptor::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), take)
    }

    /// [`start`](Self::start) on `address`: a fixed port, e.g. 443 inside a test's private
    /// network namespace, where a fake answers for a public host name.
    pub fn start_on(
        address: SocketAddr,
        mut take: impl FnMut(TcpStream, &Arc<AtomicBool>) + Send + 'static,
    ) -> std::io::Result<Acceptor> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                for connection in listener.incoming() {
                    if stop.load(Ordering::SeqCst) || started.elapsed() > MAX_LIFETIME {
                        return;
                    }
                    if let Ok(connection) = connection {
                        take(connection, &stop);
                    }
                }
            })
        };
        Ok(Acceptor {
            address,
            stop,
            thread: Some(thread),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the thread blocked in accept().
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A test server's shared state, still usable after a thread that held it panicked.
pub fn lock<T>(value: &Mutex<T>) -> MutexGuard<'_, T> {
    value
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
