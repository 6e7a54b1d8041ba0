//! Every Kubernetes manifest under examples/, rendered as its walkthrough renders it, against the
//! strict schemas (unknown fields refused) of Kubernetes 1.28 to 1.37; the Envoy sidecar patch
//! merged into the Deployment it patches; and the walkthroughs' kubectl and helm commands.

mod common;

use common::{
    KUBERNETES_VERSIONS, kubernetes_validate, load_yaml, pod_policy, scratch_dir, strategic_merge,
};
use manifests_check::{
    commands_in_markdown, commands_in_yaml_comments, examples_dir, render_sample, repo_root,
    yaml_files_under_examples,
};
use std::path::PathBuf;

/// How each YAML file under examples/ is checked.
enum Check {
    /// Kubernetes objects: the strict schemas.
    Objects,
    /// A strategic merge patch of the one object in that file: the merged object, strictly.
    PatchOf(&'static str),
    /// Envoy's configuration: `tests/envoy.rs`.
    Envoy,
    /// Rendered and loaded as YAML only, for the reason given.
    LoadedOnly(&'static str),
}

const YAML_FILES: &[(&str, Check)] = &[
    ("aks/job.yaml", Check::Objects),
    ("aks/serviceaccount.yaml", Check::Objects),
    ("aks/token-bridge.yaml", Check::Objects),
    (
        "proxy-wasm-filter/envoy-sidecar.yaml",
        Check::PatchOf("aks/token-bridge.yaml"),
    ),
    ("proxy-wasm-filter/envoy.yaml", Check::Envoy),
    (
        "wasmcloud/runtime-operator-values.yaml",
        Check::LoadedOnly("Helm values for wasmCloud's chart, whose values.yaml is not here"),
    ),
    (
        "wasmcloud/workloaddeployment.yaml",
        Check::LoadedOnly("a wasmCloud CRD, whose schema kubernetes-validate does not carry"),
    ),
];

/// Each file `check` selects, rendered with the samples into `dir`.
fn rendered(dir: &std::path::Path, check: fn(&Check) -> bool) -> Vec<PathBuf> {
    YAML_FILES
        .iter()
        .filter(|(_, how)| check(how))
        .map(|(file, _)| {
            let path = dir.join(file.replace('/', "--"));
            std::fs::write(&path, render_sample(&examples_dir().join(file), None)).unwrap();
            path
        })
        .collect()
}

/// Fails with every version's complaints unless all of `files` pass every version's schemas.
fn assert_valid_in_every_version(files: &[PathBuf]) {
    let failures: Vec<String> = KUBERNETES_VERSIONS
        .iter()
        .filter_map(|version| {
            let output = kubernetes_validate(version, files);
            (!output.status.success()).then(|| {
                format!(
                    "Kubernetes {version}: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_yaml_file_under_examples_has_a_check() {
    let listed: Vec<&str> = YAML_FILES.iter().map(|(file, _)| *file).collect();
    assert_eq!(
        yaml_files_under_examples(),
        listed,
        "a YAML file under examples/ with no check here, or one listed that is gone"
    );
}

#[test]
fn the_kubernetes_manifests_pass_the_strict_schemas_of_kubernetes_1_28_to_1_37() {
    let dir = scratch_dir("objects");
    let files = rendered(&dir, |how| matches!(how, Check::Objects));
    assert_valid_in_every_version(&files);
}

/// Each patch merged into the object it patches, rendered as the walkthrough renders them.
fn merged_patches(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut merged_files = Vec::new();
    for (file, how) in YAML_FILES {
        let Check::PatchOf(base) = how else { continue };
        let base_path = dir.join("base.yaml");
        std::fs::write(&base_path, render_sample(&examples_dir().join(base), None)).unwrap();
        // The walkthrough renders the patch with `envsubst '$ENVOY_IMAGE'`.
        let patch_path = dir.join("patch.yaml");
        let patch = render_sample(&examples_dir().join(file), Some(&["ENVOY_IMAGE"]));
        std::fs::write(&patch_path, &patch).unwrap();
        let merged = dir.join(format!("{}--merged.yaml", file.replace('/', "--")));
        strategic_merge(&base_path, &patch_path, &merged);
        merged_files.push(merged);
    }
    assert!(!merged_files.is_empty());
    merged_files
}

#[test]
fn the_envoy_sidecar_patch_merged_into_its_deployment_passes_the_strict_schemas() {
    assert_valid_in_every_version(&merged_patches(&scratch_dir("patches")));
}

#[test]
fn every_pod_runs_without_an_api_token_as_non_root_with_read_only_root_file_systems() {
    let dir = scratch_dir("policy");
    let mut files = rendered(&dir, |how| matches!(how, Check::Objects));
    files.extend(merged_patches(&dir));
    match pod_policy(&files) {
        Ok(report) => println!("{report}"),
        Err(violations) => panic!("{violations}"),
    }
}

#[test]
fn the_files_no_schema_covers_are_yaml_with_every_variable_rendered() {
    let dir = scratch_dir("loaded");
    for file in rendered(&dir, |how| matches!(how, Check::LoadedOnly(_))) {
        load_yaml(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    }
    for (file, how) in YAML_FILES {
        if let Check::LoadedOnly(why) = how {
            println!("{file}: loaded as YAML only: {why}");
        }
    }
}

#[test]
fn no_manifest_carries_a_secret_so_that_applying_it_again_never_rotates_one() {
    for (file, _) in YAML_FILES {
        let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
        assert!(
            !text.lines().any(|line| line.trim() == "kind: Secret"),
            "{file} holds a Secret: create it once with kubectl instead"
        );
    }
}

/// Every README under the repository and every manifest's comments.
fn walkthrough_commands() -> Vec<(String, String)> {
    let mut commands = Vec::new();
    let mut readmes = vec![repo_root().join("README.md")];
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let readme = entry.unwrap().path().join("README.md");
        if readme.exists() {
            readmes.push(readme);
        }
    }
    for readme in readmes {
        let text = std::fs::read_to_string(&readme).unwrap();
        let name = readme.display().to_string();
        commands.extend(
            commands_in_markdown(&text)
                .into_iter()
                .map(|c| (name.clone(), c)),
        );
    }
    for (file, _) in YAML_FILES {
        let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
        commands.extend(
            commands_in_yaml_comments(&text)
                .into_iter()
                .map(|c| (file.to_string(), c)),
        );
    }
    commands
}

#[test]
fn every_kubectl_and_helm_command_of_the_walkthroughs_names_its_namespace() {
    let mut checked = 0;
    for (file, command) in walkthrough_commands() {
        // A pipeline's or a list's commands, each on its own.
        for part in command.split(['|', ';', '&', '(', ')']) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let Some(tool) = words.iter().position(|w| *w == "kubectl" || *w == "helm") else {
                continue;
            };
            // Cluster-wide: no namespace to name.
            let cluster_wide = words[tool + 1..].starts_with(&["create", "namespace"]);
            let named = words
                .iter()
                .any(|w| *w == "-n" || w.starts_with("--namespace"));
            assert!(
                named || cluster_wide,
                "{file}: `{}` names no namespace (-n)",
                part.trim()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} kubectl or helm commands found"
    );
    println!("{checked} kubectl and helm commands name their namespace");
}
