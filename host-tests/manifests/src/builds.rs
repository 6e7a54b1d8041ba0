//! The credential's builds the walkthroughs give, read as words: which features, and where the
//! component lands.

use crate::repo_root;
use std::path::{Component as PathPart, Path, PathBuf};

/// The credential's package: the repository's root crate.
pub const CREDENTIAL_PACKAGE: &str = "azure-workload-identity";

/// The one `cargo build` of the credential among `commands`, as words.
pub fn credential_build(commands: &[String]) -> Vec<String> {
    let builds: Vec<Vec<String>> = commands
        .iter()
        .map(|command| command.split_whitespace().map(str::to_owned).collect())
        .filter(|words: &Vec<String>| {
            words.starts_with(&["cargo".to_owned(), "build".to_owned()])
                && flag(words, "-p") == Some(CREDENTIAL_PACKAGE)
        })
        .collect();
    match <[Vec<String>; 1]>::try_from(builds) {
        Ok([build]) => build,
        Err(builds) => panic!("not one build of {CREDENTIAL_PACKAGE} in {commands:?}: {builds:?}"),
    }
}

/// The value of `--name value` or `--name=value` in `words`.
pub fn flag<'a>(words: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    words.iter().enumerate().find_map(|(at, word)| {
        if word == name {
            words.get(at + 1).map(String::as_str)
        } else {
            word.strip_prefix(&prefix)
        }
    })
}

/// Where `build`, run in `dir`, puts the credential's component: a `--target-dir` is taken from
/// `dir`, and without one cargo builds in the workspace's `target/` wherever it runs.
pub fn built_credential(dir: &Path, build: &[String]) -> PathBuf {
    let target_dir = match flag(build, "--target-dir") {
        Some(target_dir) => resolved(dir, target_dir),
        None => repo_root().join("target"),
    };
    target_dir.join("wasm32-wasip2/release/azure_workload_identity.wasm")
}

/// `path` relative to `base`, with `..` taken back (no file system access).
pub fn resolved(base: &Path, path: &str) -> PathBuf {
    let mut resolved = base.to_path_buf();
    for part in Path::new(path).components() {
        match part {
            PathPart::ParentDir => {
                resolved.pop();
            }
            PathPart::Normal(name) => resolved.push(name),
            PathPart::RootDir => resolved = PathBuf::from("/"),
            PathPart::CurDir | PathPart::Prefix(_) => {}
        }
    }
    resolved
}
