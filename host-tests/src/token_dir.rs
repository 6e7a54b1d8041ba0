//! A directory holding a federated token file, as Kubernetes projects it into a pod.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where AKS mounts the projected service-account token inside a pod.
pub const AKS_TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
/// The file name AKS gives it.
pub const AKS_TOKEN_FILE_NAME: &str = "azure-identity-token";
/// The token file's path inside the pod, and inside the component when a [`TokenDirectory`] is
/// preopened at [`AKS_TOKEN_DIR`].
pub const AKS_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// A temporary host directory, removed on drop.
pub struct TokenDirectory {
    path: PathBuf,
}

impl TokenDirectory {
    /// An empty directory unique to this process and call.
    pub fn new() -> std::io::Result<TokenDirectory> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "azure-workload-identity-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TokenDirectory { path })
    }

    /// A directory holding `azure-identity-token` with `contents`.
    pub fn with_token(contents: &str) -> std::io::Result<TokenDirectory> {
        let directory = TokenDirectory::new()?;
        directory.write_token(contents)?;
        Ok(directory)
    }

    pub fn write_token(&self, contents: &str) -> std::io::Result<()> {
        std::fs::write(self.path.join(AKS_TOKEN_FILE_NAME), contents)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TokenDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
