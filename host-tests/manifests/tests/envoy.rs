//! examples/proxy-wasm-filter/envoy.yaml as the walkthrough renders it, loaded by Envoy 1.40
//! (`--mode validate`) with the filter as the image carries it.

mod common;

use common::{envoy_validate, scratch_dir};
use manifests_check::{commands_in_yaml_comments, examples_dir, render_sample};
use std::path::PathBuf;

fn filter_dir() -> PathBuf {
    examples_dir().join("proxy-wasm-filter")
}

/// The variables the walkthrough's `envsubst '$A $B' < envoy.yaml` renders (in
/// envoy-sidecar.yaml's commands): envoy.yaml is rendered exactly as that command renders it.
fn walkthrough_envsubst_list() -> Vec<String> {
    let sidecar = std::fs::read_to_string(filter_dir().join("envoy-sidecar.yaml")).unwrap();
    let command = commands_in_yaml_comments(&sidecar)
        .into_iter()
        .find(|command| command.contains("< envoy.yaml"))
        .expect("envoy-sidecar.yaml's commands render envoy.yaml");
    let listed = command
        .split("envsubst '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| {
            panic!("`{command}`: envsubst without a variable list renders every `$` it finds")
        });
    listed
        .split_whitespace()
        .map(|name| {
            name.trim_start_matches('$')
                .trim_matches(['{', '}'])
                .to_owned()
        })
        .collect()
}

/// Where the image puts the filter: the Dockerfile's `COPY` of `proxy_wasm_filter.wasm`.
fn filter_path_in_the_image() -> String {
    let dockerfile = std::fs::read_to_string(filter_dir().join("Dockerfile")).unwrap();
    dockerfile
        .lines()
        .filter(|line| line.starts_with("COPY ") && line.contains("proxy_wasm_filter.wasm"))
        .find_map(|line| line.split_whitespace().last())
        .expect("the Dockerfile copies the filter into the image")
        .to_owned()
}

#[test]
fn envoy_yaml_as_the_walkthrough_renders_it_passes_envoy_1_40_validation_with_the_filter() {
    let listed = walkthrough_envsubst_list();
    let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
    let rendered = render_sample(&filter_dir().join("envoy.yaml"), Some(&listed));
    assert!(
        !rendered.contains('$'),
        "a `$` the walkthrough's envsubst leaves in envoy.yaml (not in its list {listed:?})"
    );
    // `--mode validate` routes no request: that a `Host` with a port (`myvault.vault.azure.net:443`,
    // which clients send) reaches the vault's virtual host rests on this setting.
    assert!(
        rendered.contains("strip_any_host_port: true"),
        "without strip_any_host_port a Host with a port matches no virtual host (404)"
    );
    // The image's path of the filter, here the filter as built for it.
    let in_image = filter_path_in_the_image();
    let loads = format!("filename: {in_image} }}");
    assert!(
        rendered.contains(&loads),
        "envoy.yaml does not load the filter from where the Dockerfile puts it ({in_image})"
    );
    let here = format!("filename: {} }}", guest_artifacts::ENVOY_FILTER);
    let config = scratch_dir("envoy").join("envoy.yaml");
    std::fs::write(&config, rendered.replace(&loads, &here)).unwrap();

    let output = envoy_validate(&config);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("OK"),
        "Envoy refused envoy.yaml: {}\n{stdout}\n{stderr}",
        output.status
    );
    // The bridge's secret is in the configuration; Envoy at warn level must not echo it.
    let secret = manifests_check::SAMPLE_ENV
        .iter()
        .find(|(name, _)| *name == "IDENTITY_HEADER")
        .unwrap()
        .1;
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
}
