//! What the credential is granted of the host's file system: the token file's directory,
//! read-only, and nothing else.

use std::path::{Path, PathBuf};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Where AKS mounts the projected service-account token inside a pod.
pub const AKS_TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
/// The file name AKS gives it.
pub const AKS_TOKEN_FILE_NAME: &str = "azure-identity-token";
/// The token file's path inside the pod, and inside the component when its directory is
/// preopened at [`AKS_TOKEN_DIR`].
pub const AKS_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// What a host grants a component that reads `token_file` in a real pod: the file's directory,
/// at the same path, and nothing else (`None` when there is no such directory). The kubelet swaps
/// the token through symlinks inside that directory, so the file alone would not do.
pub fn token_file_grant(token_file: &str) -> Option<(PathBuf, String)> {
    let directory = Path::new(token_file).parent()?;
    directory.is_dir().then(|| {
        (
            directory.to_path_buf(),
            directory.to_string_lossy().into_owned(),
        )
    })
}

/// Preopens each `(host directory, guest path)` read-only: the credential opens its token file
/// for reading only, and a component that can write there could forge the pod's identity file.
pub fn grant_read_only(
    wasi: &mut WasiCtxBuilder,
    preopens: &[(PathBuf, String)],
) -> wasmtime::Result<()> {
    for (host_dir, guest_path) in preopens {
        wasi.preopened_dir(host_dir, guest_path, FsPerms::ReadOnly)?;
    }
    Ok(())
}
