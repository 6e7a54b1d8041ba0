//! Checks that keep the examples' manifests right without a cluster, an Envoy image or Spin:
//! every Kubernetes manifest against the strict schemas of several Kubernetes versions, Envoy's
//! configuration through Envoy's own `--mode validate`, spin.toml against the keys Spin reads, and
//! the walkthroughs' commands. The manifests are rendered the way their walkthroughs render them
//! (`envsubst`), with sample values.

//!
//! This library is the plain part (rendering, finding the files, the commands and the builds); the
//! validators, run from a venv under the target directory, are in `tests/common`.

mod builds;
mod envsubst;
mod examples;
mod walkthrough;

pub use builds::{CREDENTIAL_PACKAGE, built_credential, credential_build, flag, resolved};
pub use envsubst::envsubst;
pub use examples::{
    SAMPLE_ENV, WEBHOOK_TOKEN_VOLUMES, examples_dir, render_sample, repo_root,
    yaml_files_under_examples,
};
pub use walkthrough::{commands_in_markdown, commands_in_yaml_comments};
