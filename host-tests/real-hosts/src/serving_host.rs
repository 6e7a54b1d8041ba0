//! What `wash dev` and `wasmtime serve` have in common once started: a process serving one app on
//! a loopback address, with what must outlive it.

use host_tests::TokenDirectory;
use std::net::SocketAddr;
use std::process::ExitStatus;
use test_tools::Background;

/// A host serving an app, stopped (SIGTERM) when dropped.
pub struct ServingHost {
    process: Background,
    address: SocketAddr,
    /// Files the host reads while it runs (wash's project directory); removed after it stopped.
    _files: Option<TokenDirectory>,
}

impl ServingHost {
    pub(crate) fn new(
        process: Background,
        address: SocketAddr,
        files: Option<TokenDirectory>,
    ) -> ServingHost {
        ServingHost {
            process,
            address,
            _files: files,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its output so far (for `wasmtime serve`, what the component wrote to stderr too).
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// SIGTERM, then its exit status (`None`: it had to be killed) and its output.
    pub fn stop(self) -> (Option<ExitStatus>, String) {
        self.process.stop()
    }
}
