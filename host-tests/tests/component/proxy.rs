//! AKS identity binding: the token request goes to AZURE_KUBERNETES_TOKEN_PROXY.

use crate::*;

for_each_edition!(
    token_proxy_receives_the_request_with_the_token_path_appended,
    a_malformed_token_proxy_is_refused_at_create_naming_the_variable,
    proxy_tls_settings_without_a_proxy_are_refused,
);

fn token_proxy_receives_the_request_with_the_token_path_appended(edition: Edition) {
    let mut env = AKS_ENV.to_vec();
    env.extend([
        (
            "AZURE_KUBERNETES_TOKEN_PROXY",
            "https://aks-proxy.kube-system.svc:8443/identity/",
        ),
        ("AZURE_KUBERNETES_SNI_NAME", "aks-proxy.azmk8s.io"),
        ("AZURE_KUBERNETES_CA_FILE", "/var/run/secrets/azure/ca.crt"),
    ]);
    let mut pod = Pod::new(edition, &env);
    let credential = pod.credential(&no_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    let request = &pod.fake.requests()[0];
    assert_eq!(
        request.url,
        format!("https://aks-proxy.kube-system.svc:8443/identity/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(request.field("client_assertion"), Some(ASSERTION));
}

fn a_malformed_token_proxy_is_refused_at_create_naming_the_variable(edition: Edition) {
    for (proxy, problem) in [
        ("http://aks-proxy.local", "only https"),
        ("https://aks-proxy.local/?x=1", "must not contain a query"),
    ] {
        let mut env = AKS_ENV.to_vec();
        env.push(("AZURE_KUBERNETES_TOKEN_PROXY", proxy));
        let mut pod = Pod::new(edition, &env);
        let message = unavailable(pod.instance.create(&no_options()).unwrap());
        assert!(
            message.contains("AZURE_KUBERNETES_TOKEN_PROXY"),
            "{message}"
        );
        assert!(message.contains(problem), "{message}");
    }
}

fn proxy_tls_settings_without_a_proxy_are_refused(edition: Edition) {
    let mut env = AKS_ENV.to_vec();
    env.push(("AZURE_KUBERNETES_CA_DATA", "-----BEGIN CERTIFICATE-----"));
    let mut pod = Pod::new(edition, &env);
    let message = unavailable(pod.instance.create(&no_options()).unwrap());
    assert!(
        message.contains("AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint-related environment variables are present (AZURE_KUBERNETES_CA_DATA)"),
        "{message}"
    );
}
