//! Building guests for their wasm targets with the cargo that runs the build script, the way
//! wasmtime's test-programs build theirs, so `cargo test` and `cargo run` are the whole story.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Components: the credential, the middleware, the apps, the token bridge, the floor.
pub const COMPONENT_TARGET: &str = "wasm32-wasip2";
/// Envoy loads proxy-wasm filters as core modules for WASI preview 1.
pub const FILTER_TARGET: &str = "wasm32-wasip1";
/// The credential: the workspace's root crate, and the component cargo makes of it.
pub const CREDENTIAL_PACKAGE: &str = "azure-workload-identity";
pub const CREDENTIAL_FILE: &str = "azure_workload_identity.wasm";

/// One package's file of a variant build, and the name and variable it is published under.
pub struct Built<'a> {
    pub package: &'a str,
    pub file: &'a str,
    pub published_name: &'a str,
    pub variable: &'a str,
}

/// The workspace this crate sits in, and the target directory its cargo uses.
pub struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
}

impl Workspace {
    /// Finds the workspace root (two folders above this crate) after telling cargo to run the
    /// script again when any of `inputs` (paths from the root) changes.
    pub fn locate(inputs: &[&str]) -> Workspace {
        let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
        let root = manifest_dir
            .ancestors()
            .nth(2)
            .expect("the crate sits in examples/ of the workspace")
            .to_path_buf();
        for input in inputs {
            println!("cargo:rerun-if-changed={}", root.join(input).display());
        }
        println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
        let target_dir = env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target_dir = if target_dir.is_relative() {
            root.join(target_dir)
        } else {
            target_dir
        };
        Workspace { root, target_dir }
    }

    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// Where guests are built: a target dir of their own, since the cargo running the script
    /// holds the lock on `target/<profile>`, which the guests' host tools (wit-bindgen's macro)
    /// would need too when that profile is release.
    fn build_dir(&self) -> PathBuf {
        self.target_dir.join("component-build")
    }

    /// Where the README's commands find the guests: `target/<target>/release/`.
    pub fn release_dir(&self, target: &str) -> PathBuf {
        self.target_dir.join(target).join("release")
    }

    /// Builds `packages` in release for `target`, in one cargo run.
    pub fn build(&self, target: &str, packages: &[&str]) {
        self.build_in(&self.build_dir(), target, packages, &[]);
    }

    /// Builds the credential with its feature `feature` (a variant: another world, the same
    /// exports) and publishes it as `published_name`, handed to the crate as `variable`. In a
    /// target dir of its own: the variant's file has the base's name, and a target dir holds one
    /// file of that name (a shared one would leave cargo taking one build's file for the other's).
    pub fn build_variant(&self, feature: &str, published_name: &str, variable: &str) -> PathBuf {
        let built = Built {
            package: CREDENTIAL_PACKAGE,
            file: CREDENTIAL_FILE,
            published_name,
            variable,
        };
        self.build_variants(feature, &[built]).remove(0)
    }

    /// [`build_variant`](Self::build_variant) for several packages with the same feature, in one
    /// cargo run (the WASI 0.3 builds of the credential and the bearer middleware share their
    /// async runtime's build).
    pub fn build_variants(&self, feature: &str, builds: &[Built<'_>]) -> Vec<PathBuf> {
        let dir = self.target_dir.join(format!("component-build-{feature}"));
        let packages: Vec<&str> = builds.iter().map(|built| built.package).collect();
        self.build_in(&dir, COMPONENT_TARGET, &packages, &[feature]);
        builds
            .iter()
            .map(|built| {
                let file = dir.join(COMPONENT_TARGET).join("release").join(built.file);
                self.publish_built(
                    &file,
                    COMPONENT_TARGET,
                    built.published_name,
                    built.variable,
                )
            })
            .collect()
    }

    fn build_in(&self, dir: &Path, target: &str, packages: &[&str], features: &[&str]) {
        ensure_target_installed(target);
        let mut command = cargo();
        command
            .current_dir(&self.root)
            .args(["build", "--release", "--target", target]);
        for package in packages {
            command.args(["-p", package]);
        }
        for feature in features {
            command.args(["--features", feature]);
        }
        let status = command
            .arg("--target-dir")
            .arg(dir)
            .status()
            .expect("running cargo to build the guests");
        assert!(
            status.success(),
            "building {packages:?} ({features:?}) failed: {status}"
        );
    }

    /// The built `file`, copied to [`release_dir`](Self::release_dir) and handed to the crate as
    /// the environment variable `variable`.
    pub fn publish(&self, target: &str, file: &str, variable: &str) -> PathBuf {
        let built = self.build_dir().join(target).join("release").join(file);
        self.publish_built(&built, target, file, variable)
    }

    /// `built`, copied to [`release_dir`](Self::release_dir) as `file` and handed to the crate as
    /// the environment variable `variable`.
    fn publish_built(&self, built: &Path, target: &str, file: &str, variable: &str) -> PathBuf {
        let release = self.release_dir(target);
        let copy = release.join(file);
        // Another process may be reading the previous copy (a test, `wac plug`): a copy beside
        // it, renamed over it, replaces it whole.
        let partial = release.join(format!("{file}.{}.partial", std::process::id()));
        std::fs::create_dir_all(&release)
            .and_then(|()| std::fs::copy(built, &partial))
            .and_then(|_| std::fs::rename(&partial, &copy))
            .unwrap_or_else(|error| {
                panic!("copying {} to {}: {error}", built.display(), copy.display())
            });
        println!("cargo:rustc-env={variable}={}", copy.display());
        copy
    }
}

/// The cargo running the script, without the settings that describe that host build.
pub fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env_remove("CARGO_TARGET_DIR")
        // Under `cargo clippy` these would lint the guests instead of building them.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    command
}

/// Cargo does not add a missing target by itself; rustup does, in a few seconds.
fn ensure_target_installed(target: &str) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::is_dir) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", target]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup
        .status()
        .unwrap_or_else(|error| panic!("running `rustup target add {target}` failed: {error}"));
    assert!(
        status.success(),
        "`rustup target add {target}` failed: {status}"
    );
}
