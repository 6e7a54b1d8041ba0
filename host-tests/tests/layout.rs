//! The layout a newcomer reads: every folder of `examples/` is described in its README, nothing
//! there depends on the test harness except through its tests, and build scripts share no code
//! by `#[path]` (guests are built by guest-artifacts alone).

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host-tests sits in the workspace")
        .to_path_buf()
}

fn example_folders() -> Vec<String> {
    let mut folders: Vec<String> = std::fs::read_dir(workspace_root().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    folders
}

#[test]
fn every_example_folder_is_in_the_examples_readme() {
    let readme = std::fs::read_to_string(workspace_root().join("examples/README.md")).unwrap();
    let missing: Vec<String> = example_folders()
        .into_iter()
        .filter(|folder| !readme.contains(&format!("| [`{folder}`]({folder}) |")))
        .collect();
    assert!(missing.is_empty(), "not in examples/README.md: {missing:?}");
}

/// The names of the dependencies in the manifest's sections that are not dev-dependencies.
fn non_dev_dependencies(manifest: &str) -> Vec<String> {
    let mut in_section = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line.ends_with("dependencies]") && !line.contains("dev-dependencies");
            continue;
        }
        if in_section && let Some((name, _)) = line.split_once('=') {
            names.push(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn nothing_in_examples_depends_on_the_harness_but_its_tests() {
    let mut wired_wrong = Vec::new();
    for folder in example_folders() {
        let manifest = workspace_root()
            .join("examples")
            .join(&folder)
            .join("Cargo.toml");
        let Ok(manifest) = std::fs::read_to_string(manifest) else {
            continue;
        };
        let names = non_dev_dependencies(&manifest);
        if names.iter().any(|name| name.starts_with("host-tests")) {
            wired_wrong.push(folder);
        }
    }
    assert!(
        wired_wrong.is_empty(),
        "depend on host-tests: {wired_wrong:?}"
    );
    // The check reads what it means to: a normal dependency is found, a dev-dependency is not.
    let sample = "[dependencies]\nhost-tests = { path = \"..\" }\n[dev-dependencies]\nx = \"1\"\n";
    assert_eq!(non_dev_dependencies(sample), ["host-tests"]);
    let target = "[target.'cfg(unix)'.dependencies]\nhost-tests = \"1\"\n";
    assert_eq!(non_dev_dependencies(target), ["host-tests"]);
    assert!(non_dev_dependencies("[dev-dependencies]\nhost-tests = \"1\"\n").is_empty());
}

#[test]
fn no_build_script_includes_code_by_path() {
    let mut scripts = vec![workspace_root().join("build.rs")];
    for parent in ["examples", "host-tests"] {
        for entry in std::fs::read_dir(workspace_root().join(parent)).unwrap() {
            scripts.push(entry.unwrap().path().join("build.rs"));
        }
    }
    scripts.push(workspace_root().join("host-tests/build.rs"));
    let including: Vec<_> = scripts
        .iter()
        .filter(|script| std::fs::read_to_string(script).is_ok_and(|text| text.contains("#[path")))
        .collect();
    assert!(including.is_empty(), "#[path] in {including:?}");
}
