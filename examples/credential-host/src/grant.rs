//! What the credential is granted of the host's file system: the projected volume that holds
//! the token file, read-only, and nothing else.

use std::path::{Path, PathBuf};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Where the AKS workload identity webhook up to v1.5 mounts the projected service-account token
/// volume inside a pod; the token file sits at its root.
pub const AKS_TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
/// The file name AKS gives the token.
pub const AKS_TOKEN_FILE_NAME: &str = "azure-identity-token";
/// The token file's path inside the pod with webhook v1.5, and inside the component when its
/// directory is preopened at [`AKS_TOKEN_DIR`].
pub const AKS_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";
/// Where webhook v1.6 mounts the volume. The token is one level down, in `token/`, which the
/// kubelet makes a symlink into the volume's current timestamped directory.
pub const AKS_WEBHOOK_1_6_VOLUME: &str = "/var/run/secrets/azure/wi";
/// The token file's path inside the pod with webhook v1.6.
pub const AKS_WEBHOOK_1_6_TOKEN_FILE: &str = "/var/run/secrets/azure/wi/token/azure-identity-token";
/// The token file's path inside the volume with webhook v1.6.
pub const AKS_WEBHOOK_1_6_TOKEN_PATH: &str = "token/azure-identity-token";

/// The symlink the kubelet keeps at the root of every projected volume, pointing at the
/// current timestamped directory; a rotation writes a new directory, swaps this link and
/// deletes the old directory.
const KUBELET_DATA_LINK: &str = "..data";

/// What a host grants a component that reads `token_file` in a real pod, at the same path
/// (`None` when there is no such directory): the root of the projected volume that holds the
/// file (the nearest directory above it holding `..data`), else the file's directory.
///
/// Not simply the file's directory: wasmtime opens a preopen once, following symlinks, and
/// with webhook v1.6 that directory (`…/wi/token`) is a symlink into a timestamped directory
/// that the kubelet deletes at the first rotation (~48 min after start); a long-lived
/// instance would then hold a deleted directory and never read the new token. The volume's
/// root is a real directory, and the links inside it are followed at each open.
pub fn token_file_grant(token_file: &str) -> Option<(PathBuf, String)> {
    let directory = Path::new(token_file).parent()?;
    let granted = directory
        .ancestors()
        .find(|candidate| candidate.join(KUBELET_DATA_LINK).symlink_metadata().is_ok())
        .unwrap_or(directory);
    granted.is_dir().then(|| {
        (
            granted.to_path_buf(),
            granted.to_string_lossy().into_owned(),
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
