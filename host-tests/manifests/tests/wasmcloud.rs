//! examples/wasmcloud: the component its README builds carries the credential's wasi:keyvalue
//! 0.2.0-draft variant, and the WorkloadDeployment declares that store, which the operator's
//! hosts bind only when listed (wasmCloud's `bind_plugins`, `crates/wash-runtime/src/engine/
//! workload.rs`). The CRD's schema is not here: `kubernetes.rs` only loads the file.

mod common;

use common::{scratch_dir, yaml_lines};
use manifests_check::{
    built_credential, commands_in_markdown, credential_build, examples_dir, flag, render_sample,
    repo_root, resolved,
};
use std::path::PathBuf;

/// The variant wasmCloud's store fits: `increment`, no compare-and-swap.
const WASMCLOUD_VARIANT: &str = "keyvalue-draft";

fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(examples_dir().join("wasmcloud/README.md")).unwrap();
    commands_in_markdown(&readme)
}

/// The `--plug` of the README's `wac plug`, resolved from the directory its `cd`s lead to.
fn plugged_credential(commands: &[String]) -> PathBuf {
    let mut dir = repo_root();
    let mut previous = dir.clone();
    for command in commands {
        let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["cd", "-"] => std::mem::swap(&mut dir, &mut previous),
            ["cd", to] => {
                let next = resolved(&dir, to);
                previous = std::mem::replace(&mut dir, next);
            }
            ["wac", "plug", ..] => {
                let plug = flag(&words, "--plug").expect("wac plug's --plug");
                return resolved(&dir, plug);
            }
            _ => {}
        }
    }
    panic!("no `wac plug` in {commands:?}")
}

#[test]
fn the_readme_plugs_the_keyvalue_draft_variant_it_builds() {
    let commands = readme_commands();
    let build = credential_build(&commands);
    assert_eq!(
        flag(&build, "--features"),
        Some(WASMCLOUD_VARIANT),
        "{build:?}"
    );
    let built = built_credential(&repo_root(), &build);
    // The variant's file has the base component's name: in the base's target dir it would
    // overwrite the base (and be overwritten by it).
    assert_ne!(
        built,
        repo_root().join("target/wasm32-wasip2/release/azure_workload_identity.wasm")
    );
    assert_eq!(plugged_credential(&commands), built);
}

#[test]
fn the_workload_declares_the_draft_store_and_atomics_the_variant_imports() {
    let dir = scratch_dir("wasmcloud-host-interfaces");
    let rendered = dir.join("workloaddeployment.yaml");
    let manifest = examples_dir().join("wasmcloud/workloaddeployment.yaml");
    std::fs::write(&rendered, render_sample(&manifest, None)).unwrap();
    // One line per entry: `namespace:package@version name interface…`.
    let entries = yaml_lines(
        &rendered,
        "' '.join([f\"{i['namespace']}:{i['package']}@{i.get('version', '')}\", \
         i.get('name', '-')] + i['interfaces']) \
         for i in doc['spec']['template']['spec']['hostInterfaces']",
    );
    let keyvalue: Vec<&String> = entries
        .iter()
        .filter(|entry| entry.starts_with("wasi:keyvalue@"))
        .collect();
    // Unnamed: the default route, `wash host`'s NATS plugin; a named entry serves only
    // `(implements …)` imports, which the credential has none of.
    let [entry] = keyvalue[..] else {
        panic!("not one wasi:keyvalue entry in {entries:?}")
    };
    let words: Vec<&str> = entry.split(' ').collect();
    assert_eq!(words[..2], ["wasi:keyvalue@0.2.0-draft", "-"], "{entry}");
    for interface in ["store", "atomics"] {
        assert!(words[2..].contains(&interface), "{entry} lacks {interface}");
    }
}
