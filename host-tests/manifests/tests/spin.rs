//! examples/spin/spin.toml read the way Spin reads it (Spin's manifest crate is not published,
//! and no Spin binary can be installed here): the keys of Spin's manifest schema v2
//! (`crates/manifest/src/schema/v2.rs`, `common.rs`) and of its HTTP trigger
//! (`crates/http/src/config.rs`), unknown keys refused as Spin refuses them; then the rules
//! `spin up` applies to `files` mounts, against the command the README gives; and that the
//! credential is the wasi:keyvalue 0.2.0-draft2 variant the README builds, with its store granted.

use manifests_check::{
    WEBHOOK_TOKEN_VOLUMES, built_credential, commands_in_markdown, credential_build, examples_dir,
    flag, repo_root, resolved,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    spin_manifest_version: u8,
    #[serde(rename = "application")]
    _application: Application,
    #[serde(default, rename = "variables")]
    _variables: IgnoredAny,
    trigger: BTreeMap<String, Vec<toml::Table>>,
    component: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Application {
    #[serde(rename = "name")]
    _name: String,
    #[serde(default, rename = "version")]
    _version: String,
    #[serde(default, rename = "description")]
    _description: String,
    #[serde(default, rename = "authors")]
    _authors: Vec<String>,
    #[serde(default, rename = "targets")]
    _targets: IgnoredAny,
    #[serde(default, rename = "trigger")]
    _trigger: IgnoredAny,
    #[serde(default, rename = "tool")]
    _tool: IgnoredAny,
}

/// `[[trigger.http]]`: Spin's `HttpTriggerConfig`, with the `id` every trigger may have.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpTrigger {
    #[serde(default, rename = "id")]
    _id: String,
    component: Option<String>,
    #[serde(default, rename = "static_response")]
    _static_response: IgnoredAny,
    #[serde(rename = "route")]
    _route: toml::Value,
    #[serde(default, rename = "executor")]
    _executor: IgnoredAny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Component {
    source: Source,
    #[serde(default, rename = "description")]
    _description: String,
    #[serde(default, rename = "variables")]
    _variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<FilesMount>,
    #[serde(default)]
    exclude_files: Vec<String>,
    #[serde(default, rename = "allowed_http_hosts")]
    _allowed_http_hosts: Vec<String>,
    #[serde(default, rename = "allowed_outbound_hosts")]
    _allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default, rename = "sqlite_databases")]
    _sqlite_databases: Vec<String>,
    #[serde(default, rename = "ai_models")]
    _ai_models: Vec<String>,
    #[serde(default, rename = "targets")]
    _targets: IgnoredAny,
    #[serde(default)]
    build: Option<Build>,
    #[serde(default, rename = "tool")]
    _tool: IgnoredAny,
    dependencies_inherit_configuration: Option<bool>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    #[serde(default, rename = "profile")]
    _profile: IgnoredAny,
}

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Source {
    Local(String),
    #[allow(dead_code)] // Spin's other forms: accepted, not used here
    Remote {
        url: String,
        digest: String,
    },
    #[allow(dead_code)]
    Registry {
        registry: Option<String>,
        package: String,
        version: String,
    },
}

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum FilesMount {
    Pattern(String),
    Placement { source: String, destination: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Build {
    command: BuildCommand,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default, rename = "watch")]
    _watch: Vec<String>,
}

/// `command`: one command line, or several run in turn.
#[derive(Deserialize)]
#[serde(untagged)]
enum BuildCommand {
    One(String),
    Several(Vec<String>),
}

impl BuildCommand {
    /// Each command, `&&` chains split.
    fn commands(&self) -> Vec<String> {
        let lines = match self {
            BuildCommand::One(line) => std::slice::from_ref(line),
            BuildCommand::Several(lines) => lines.as_slice(),
        };
        lines
            .iter()
            .flat_map(|line| line.split("&&"))
            .map(|command| command.trim().to_owned())
            .collect()
    }
}

/// A component dependency: only a local `path` is used here; the other forms are Spin's too.
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Dependency {
    Local {
        path: PathBuf,
        #[serde(default, rename = "export")]
        _export: Option<String>,
        #[serde(default, rename = "inherit_configuration")]
        _inherit_configuration: IgnoredAny,
    },
    #[allow(dead_code)]
    Other(toml::Table),
}

fn spin_dir() -> PathBuf {
    examples_dir().join("spin")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(spin_dir().join("spin.toml")).unwrap();
    toml::from_str(&text).unwrap_or_else(|error| panic!("spin.toml as Spin reads it: {error}"))
}

/// The README's `spin up` command.
fn spin_up() -> String {
    let readme = std::fs::read_to_string(spin_dir().join("README.md")).unwrap();
    commands_in_markdown(&readme)
        .into_iter()
        .find(|command| command.starts_with("spin up"))
        .expect("the README's `spin up` command")
}

/// The README's commands.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(spin_dir().join("README.md")).unwrap();
    commands_in_markdown(&readme)
}

/// The feature of the variant Spin's store fits: compare-and-swap, which Spin 3 and 4 provide.
const SPIN_VARIANT: &str = "keyvalue-draft2";

#[test]
fn spin_toml_has_only_keys_spin_reads_and_its_trigger_names_its_component() {
    let manifest = manifest();
    assert_eq!(manifest.spin_manifest_version, 2);
    let http = &manifest.trigger["http"];
    assert!(!http.is_empty());
    for trigger in http {
        let trigger: HttpTrigger = trigger
            .clone()
            .try_into()
            .unwrap_or_else(|error| panic!("[[trigger.http]] as Spin reads it: {error}"));
        let component = trigger.component.expect("the trigger's component");
        assert!(manifest.component.contains_key(&component), "{component}");
    }
}

#[test]
fn the_component_and_its_dependency_are_the_files_the_readme_builds() {
    let manifest = manifest();
    let component = &manifest.component["key-vault-secrets"];
    let release = repo_root().join("target/wasm32-wasip2/release");
    let Source::Local(source) = &component.source else {
        panic!("the app is a local file")
    };
    assert_eq!(
        resolved(&spin_dir(), source),
        release.join("spin_key_vault.wasm")
    );
    let credential = &component.dependencies["azure:identity/credential@0.1.0"];
    let Dependency::Local { path, .. } = credential else {
        panic!("the credential is a local file")
    };
    // The README's build runs at the repository's root, spin.toml's in its workdir (by default
    // spin.toml's directory).
    let readme_build = credential_build(&readme_commands());
    let readme_built = built_credential(&repo_root(), &readme_build);
    assert_eq!(resolved(&spin_dir(), &path.to_string_lossy()), readme_built);
    let build = component.build.as_ref().expect("spin.toml's build");
    let workdir = resolved(&spin_dir(), build.workdir.as_deref().unwrap_or("."));
    let spin_build = credential_build(&build.command.commands());
    assert_eq!(built_credential(&workdir, &spin_build), readme_built);
    for build in [&readme_build, &spin_build] {
        assert_eq!(flag(build, "--features"), Some(SPIN_VARIANT), "{build:?}");
    }
    // The variant's file has the base component's name: in the base's target dir, one build
    // would overwrite the other.
    assert_ne!(readme_built, release.join("azure_workload_identity.wasm"));
    // Without it Spin gives the credential no files, network, environment or store.
    assert_eq!(component.dependencies_inherit_configuration, Some(true));
}

#[test]
fn the_store_the_credential_opens_is_one_the_component_may_use() {
    let component = &manifest().component["key-vault-secrets"];
    let spin_up = spin_up();
    let passed = spin_up
        .split_whitespace()
        .find_map(|word| word.strip_prefix("AZURE_TOKEN_CACHE_STORE="))
        .map(|value| value.trim_matches('"'));
    // The credential's default when AZURE_TOKEN_CACHE_STORE is unset, and Spin's default store.
    let store = component
        .environment
        .get("AZURE_TOKEN_CACHE_STORE")
        .map(String::as_str)
        .or(passed)
        .unwrap_or("default");
    // Spin refuses any other store: the credential would then ask Entra on every request.
    assert!(
        component
            .key_value_stores
            .iter()
            .any(|label| label == store),
        "the credential opens {store:?}, spin.toml grants {:?}",
        component.key_value_stores
    );
}

#[test]
fn the_token_mount_is_the_webhook_volumes_root_mounted_directly_at_its_own_path() {
    let manifest = manifest();
    let component = &manifest.component["key-vault-secrets"];
    assert!(
        !component.files.is_empty(),
        "spin.toml mounts no token volume"
    );
    let spin_up = spin_up();
    for mount in &component.files {
        let (source, destination) = match mount {
            FilesMount::Placement {
                source,
                destination,
            } => (source, destination),
            FilesMount::Pattern(pattern) => {
                panic!("{pattern}: a pattern is copied at start, and never sees a rotation")
            }
        };
        assert!(
            WEBHOOK_TOKEN_VOLUMES
                .iter()
                .any(|(_, root, _)| root == source),
            "{source} is not the root of the webhook's token volume (the directory holding ..data)"
        );
        assert_eq!(
            source, destination,
            "AZURE_FEDERATED_TOKEN_FILE names the host path"
        );
        // Spin copies `files` sources into a temporary directory unless `--direct-mounts`, and
        // refuses one outside the app's directory; direct mounts allow no `exclude_files`.
        let outside = !resolved(&spin_dir(), source).starts_with(spin_dir());
        assert!(
            !outside || spin_up.contains("--direct-mounts"),
            "`{spin_up}`: {source} is outside the app's directory, which Spin mounts only with --direct-mounts"
        );
    }
    assert!(component.exclude_files.is_empty());
}

#[test]
fn every_variable_the_app_and_the_credential_need_is_given() {
    let component = &manifest().component["key-vault-secrets"];
    let spin_up = spin_up();
    // The credential's required settings, and the app's vault.
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "KEY_VAULT_NAME",
    ] {
        let passed = spin_up.contains(&format!("--env {name}="));
        assert!(
            component.environment.contains_key(name) || passed,
            "{name} is neither in spin.toml's environment nor passed by `{spin_up}`"
        );
    }
}
