//! Settings: options, the environment, and what is missing or malformed.

use crate::*;

for_each_edition!(
    environment_alone_configures_the_credential,
    options_win_over_the_environment,
    every_missing_setting_is_named_and_only_those,
    non_https_authority_host_is_refused_at_create,
    missing_token_file_is_unavailable_at_get_token_with_the_fix,
    token_file_outside_every_preopened_directory_is_unavailable,
    empty_token_file_is_unavailable,
    a_path_on_the_authority_host_is_kept,
    a_malformed_tenant_or_authority_is_refused_at_create,
    additionally_allowed_tenants_come_from_the_environment,
    a_wildcard_allows_any_tenant_and_disabling_multitenant_auth_ignores_it,
);

fn environment_alone_configures_the_credential(edition: Edition) {
    let mut env = AKS_ENV.to_vec();
    env.push(("AZURE_AUTHORITY_HOST", "login.microsoftonline.us"));
    let mut pod = Pod::new(edition, &env);
    let credential = pod.credential(&no_options());
    pod.get_token(credential, &[VAULT]).unwrap();
    let request = &pod.fake.requests()[0];
    assert_eq!(
        request.url,
        format!("https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(request.field("client_id"), Some(CLIENT));
    assert_eq!(request.field("client_assertion"), Some(ASSERTION));
}

fn options_win_over_the_environment(edition: Edition) {
    let mut pod = Pod::new(
        edition,
        &[
            ("AZURE_TENANT_ID", "env-tenant"),
            ("AZURE_CLIENT_ID", "env-client"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/nowhere/token"),
            ("AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn"),
        ],
    );
    let credential = pod.credential(&WorkloadIdentityOptions {
        authority_host: Some("https://login.microsoftonline.us".into()),
        ..explicit_options()
    });
    pod.get_token(credential, &[VAULT]).unwrap();
    let request = &pod.fake.requests()[0];
    assert_eq!(
        request.url,
        format!("https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(request.field("client_id"), Some(CLIENT));
}

fn every_missing_setting_is_named_and_only_those(edition: Edition) {
    let settings = AKS_ENV;
    // Each setting missing alone, then all of them at once.
    let mut cases: Vec<Vec<usize>> = (0..settings.len()).map(|i| vec![i]).collect();
    cases.push((0..settings.len()).collect());
    for missing in cases {
        let env: Vec<(&str, &str)> = settings
            .iter()
            .enumerate()
            .filter(|(i, _)| !missing.contains(i))
            .map(|(_, setting)| *setting)
            .collect();
        let mut pod = Pod::new(edition, &env);
        let message = unavailable(pod.instance.create(&no_options()).unwrap());
        for (i, (name, _)) in settings.iter().enumerate() {
            assert_eq!(
                message.contains(name),
                missing.contains(&i),
                "{name} wrongly named or omitted in: {message}"
            );
        }
    }
}

fn non_https_authority_host_is_refused_at_create(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let message = unavailable(
        pod.instance
            .create(&WorkloadIdentityOptions {
                authority_host: Some("http://login.microsoftonline.com".into()),
                ..explicit_options()
            })
            .unwrap(),
    );
    assert!(message.contains("only https"), "{message}");
}

fn missing_token_file_is_unavailable_at_get_token_with_the_fix(edition: Edition) {
    let tokens = TokenDirectory::new().unwrap();
    let mut pod = Pod::with_tokens(edition, tokens, &[]);
    let credential = pod.credential(&explicit_options());
    let message = unavailable(pod.get_token(credential, &[VAULT]));
    assert!(message.contains(AKS_TOKEN_FILE), "{message}");
    assert!(
        message.contains("--dir /var/run/secrets/azure/tokens"),
        "{message}"
    );
    assert!(pod.fake.requests().is_empty());
}

fn token_file_outside_every_preopened_directory_is_unavailable(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&WorkloadIdentityOptions {
        token_file_path: Some("/not/granted/azure-identity-token".into()),
        ..explicit_options()
    });
    let message = unavailable(pod.get_token(credential, &[VAULT]));
    assert!(
        message.contains("'/not/granted/azure-identity-token'"),
        "{message}"
    );
    assert!(message.contains("--dir /not/granted"), "{message}");
}

fn empty_token_file_is_unavailable(edition: Edition) {
    let mut pod = Pod::with_tokens(edition, TokenDirectory::with_token(" \n").unwrap(), &[]);
    let credential = pod.credential(&explicit_options());
    assert!(unavailable(pod.get_token(credential, &[VAULT])).contains("is empty"));
    assert!(pod.fake.requests().is_empty());
}

fn a_path_on_the_authority_host_is_kept(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&WorkloadIdentityOptions {
        authority_host: Some("https://adfs.contoso.com/adfs/".into()),
        ..explicit_options()
    });
    pod.get_token(credential, &[VAULT]).unwrap();
    assert_eq!(
        pod.fake.requests()[0].url,
        format!("https://adfs.contoso.com/adfs/{TENANT}/oauth2/v2.0/token")
    );
}

fn a_malformed_tenant_or_authority_is_refused_at_create(edition: Edition) {
    for (options, problem) in [
        (
            WorkloadIdentityOptions {
                tenant_id: Some("../common".into()),
                ..explicit_options()
            },
            "invalid tenant id '../common'",
        ),
        (
            WorkloadIdentityOptions {
                authority_host: Some("https://user:pw@login.microsoftonline.com".into()),
                ..explicit_options()
            },
            "must not contain userinfo",
        ),
    ] {
        let mut pod = Pod::new(edition, &[]);
        let message = unavailable(pod.instance.create(&options).unwrap());
        assert!(message.contains(problem), "{message}");
    }
}

fn additionally_allowed_tenants_come_from_the_environment(edition: Edition) {
    let mut env = AKS_ENV.to_vec();
    env.push((
        "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
        "fabrikam.onmicrosoft.com;contoso.com",
    ));
    let mut pod = Pod::new(edition, &env);
    let credential = pod.credential(&no_options());
    for tenant in ["contoso.com", "fabrikam.onmicrosoft.com"] {
        let options = TokenRequestOptions {
            tenant_id: Some(tenant.into()),
            ..no_request_options()
        };
        pod.instance
            .get_token(credential, &[VAULT], &options)
            .unwrap()
            .unwrap();
    }
    let stranger = TokenRequestOptions {
        tenant_id: Some("stranger.com".into()),
        ..no_request_options()
    };
    invalid_argument(
        pod.instance
            .get_token(credential, &[VAULT], &stranger)
            .unwrap(),
    );
    let urls: Vec<_> = pod.fake.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls,
        [
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
            "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token",
        ]
    );
}

fn a_wildcard_allows_any_tenant_and_disabling_multitenant_auth_ignores_it(edition: Edition) {
    let other = TokenRequestOptions {
        tenant_id: Some("anyone.onmicrosoft.com".into()),
        ..no_request_options()
    };
    let wildcard = WorkloadIdentityOptions {
        additionally_allowed_tenants: vec!["*".into()],
        ..explicit_options()
    };
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&wildcard);
    pod.instance
        .get_token(credential, &[VAULT], &other)
        .unwrap()
        .unwrap();
    assert!(
        pod.fake.requests()[0]
            .url
            .contains("/anyone.onmicrosoft.com/")
    );

    let mut pod = Pod::new(
        edition,
        &[("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "true")],
    );
    let credential = pod.credential(&explicit_options());
    pod.instance
        .get_token(credential, &[VAULT], &other)
        .unwrap()
        .unwrap();
    assert!(pod.fake.requests()[0].url.contains(&format!("/{TENANT}/")));
}
