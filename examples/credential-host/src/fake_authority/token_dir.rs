//! A directory holding a federated token file, as Kubernetes projects it into a pod.

use crate::AKS_TOKEN_FILE_NAME;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// Writes `contents` at `relative` (e.g. `tokens/azure-identity-token`), making directories.
    pub fn write_file(&self, relative: &str, contents: &str) -> std::io::Result<()> {
        let file = self.path.join(relative);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, contents)
    }

    /// Writes `contents` at `relative` (e.g. `token/azure-identity-token`, webhook v1.6) the
    /// way the kubelet updates a projected volume rooted here: into a new timestamped
    /// directory, then the `..data` symlink is swapped to it by a rename; `relative`'s first
    /// component is a symlink through `..data` (so with v1.6 the directory `token` is one). The
    /// old generation is removed, as the kubelet does.
    pub fn project_file(&self, relative: &str, contents: &str) -> std::io::Result<()> {
        static GENERATION: AtomicUsize = AtomicUsize::new(0);
        let generation = format!(
            "..2026_11_28_00_00_00.{:09}",
            GENERATION.fetch_add(1, Ordering::Relaxed)
        );
        let file = self.path.join(&generation).join(relative);
        std::fs::create_dir_all(file.parent().unwrap_or(&self.path))?;
        std::fs::write(file, contents)?;
        let data = self.path.join("..data");
        let previous = std::fs::read_link(&data).ok();
        let swap = self.path.join("..data_tmp");
        std::os::unix::fs::symlink(&generation, &swap)?;
        std::fs::rename(&swap, &data)?;
        let top = relative.split('/').next().unwrap_or(relative);
        let visible = self.path.join(top);
        if std::fs::symlink_metadata(&visible).is_err() {
            std::os::unix::fs::symlink(format!("..data/{top}"), &visible)?;
        }
        if let Some(previous) = previous {
            std::fs::remove_dir_all(self.path.join(previous))?;
        }
        Ok(())
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
