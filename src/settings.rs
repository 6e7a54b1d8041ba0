//! Resolves a credential's settings: explicit options first, then the environment. The settings
//! then say where token requests go and which tenants a get-token call may ask for.

use crate::prelude::*;
use crate::text::join;

use crate::authority::{Authority, DEFAULT_AUTHORITY_HOST, TokenEndpoint};
use crate::error::CredentialError;
use crate::tenant::validate_tenant_id;

/// The Microsoft Entra tenant (directory) the credential authenticates in: its GUID or a domain
/// name such as `contoso.onmicrosoft.com`. Required unless the `tenant-id` option is given.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// The client (application) id of the app registration or user-assigned managed identity whose
/// federated credential trusts the token file. Required unless the `client-id` option is given.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// The path of the federated token file (the projected Kubernetes service-account token), as the
/// component sees it; the host must grant the component its directory. Required unless the
/// `token-file-path` option is given.
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// The Microsoft Entra authority host, e.g. `https://login.microsoftonline.us` (https only; a
/// missing scheme means https). Optional: the `authority-host` option wins, and the default is
/// `https://login.microsoftonline.com`.
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// Tenants, besides the credential's own, that a get-token call may ask for, separated by `;`;
/// `*` allows any. Used only when the `additionally-allowed-tenants` option is empty.
pub const AZURE_ADDITIONALLY_ALLOWED_TENANTS: &str = "AZURE_ADDITIONALLY_ALLOWED_TENANTS";
/// `1`, `true` or `yes` (any case): the tenant a get-token call asks for is ignored, and every
/// token comes from the credential's own tenant.
pub const AZURE_IDENTITY_DISABLE_MULTITENANTAUTH: &str = "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH";
/// AKS identity binding: token requests go to this https proxy instead of the authority host,
/// with the authority's path appended to the proxy's.
pub const AZURE_KUBERNETES_TOKEN_PROXY: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
/// The TLS server name of the token proxy. Under wasi:http the host's TLS client applies the
/// proxy's TLS settings, not the component; the component refuses them without the proxy.
pub const AZURE_KUBERNETES_SNI_NAME: &str = "AZURE_KUBERNETES_SNI_NAME";
/// A file holding the token proxy's CA certificate; the host applies it. At most one of this and
/// [`AZURE_KUBERNETES_CA_DATA`] may be set.
pub const AZURE_KUBERNETES_CA_FILE: &str = "AZURE_KUBERNETES_CA_FILE";
/// The token proxy's CA certificate itself (PEM text); the host applies it. At most one of this
/// and [`AZURE_KUBERNETES_CA_FILE`] may be set.
pub const AZURE_KUBERNETES_CA_DATA: &str = "AZURE_KUBERNETES_CA_DATA";

/// The caller's settings, each of which may be left to the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadIdentityOptions {
    /// Wins over [`AZURE_TENANT_ID`]; blank counts as unset.
    pub tenant_id: Option<String>,
    /// Wins over [`AZURE_CLIENT_ID`]; blank counts as unset.
    pub client_id: Option<String>,
    /// Wins over [`AZURE_FEDERATED_TOKEN_FILE`]; blank counts as unset.
    pub token_file_path: Option<String>,
    /// Wins over [`AZURE_AUTHORITY_HOST`]; blank counts as unset.
    pub authority_host: Option<String>,
    /// Wins over [`AZURE_ADDITIONALLY_ALLOWED_TENANTS`] unless empty; `"*"` allows any tenant.
    pub additionally_allowed_tenants: Vec<String>,
}

/// Settings that passed every check; a credential is built from these alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The credential's own tenant, a valid tenant id.
    pub tenant_id: String,
    /// The client id the token request names.
    pub client_id: String,
    /// Where the federated token file is read, as the component sees the path.
    pub token_file_path: String,
    /// The Microsoft Entra authority host (`https://login.microsoftonline.com` by default).
    pub authority: Authority,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`, when set.
    pub token_proxy: Option<Authority>,
    /// Tenants besides `tenant_id` that get-token may serve; `"*"` allows any.
    pub additionally_allowed_tenants: Vec<String>,
    /// `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH`: per-call tenants are ignored.
    pub multitenant_disabled: bool,
}

impl Settings {
    /// Resolves the options against the environment (`env` looks a variable up).
    ///
    /// Every missing setting and every malformed one is reported in one error, so a user fixes
    /// their pod spec once rather than once per setting.
    pub fn resolve(
        options: &WorkloadIdentityOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, CredentialError> {
        let setting = |option: &Option<String>, variable: &str| {
            non_blank(option.clone()).or_else(|| non_blank(env(variable)))
        };
        let tenant_id = setting(&options.tenant_id, AZURE_TENANT_ID);
        let client_id = setting(&options.client_id, AZURE_CLIENT_ID);
        let token_file_path = setting(&options.token_file_path, AZURE_FEDERATED_TOKEN_FILE);
        let authority_host = setting(&options.authority_host, AZURE_AUTHORITY_HOST)
            .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());

        let mut missing = Vec::new();
        for (value, option, variable) in [
            (&tenant_id, "tenant-id", AZURE_TENANT_ID),
            (&client_id, "client-id", AZURE_CLIENT_ID),
            (
                &token_file_path,
                "token-file-path",
                AZURE_FEDERATED_TOKEN_FILE,
            ),
        ] {
            if value.is_none() {
                missing.push(format!("{variable} (or the {option} option)"));
            }
        }
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "missing required settings: {}. On AKS these variables are injected into pods \
                 labelled azure.workload.identity/use=true; elsewhere set them or pass the options",
                join(&missing, ", ")
            ));
        }
        if let Some(tenant) = &tenant_id
            && let Err(problem) = validate_tenant_id(tenant)
        {
            problems.push(problem);
        }
        let authority = Authority::parse(&authority_host, "the authority host")
            .map_err(|problem| problems.push(problem));
        let token_proxy = token_proxy(&env).map_err(|problem| problems.push(problem));

        let (
            Some(tenant_id),
            Some(client_id),
            Some(token_file_path),
            Ok(authority),
            Ok(token_proxy),
            true,
        ) = (
            tenant_id,
            client_id,
            token_file_path,
            authority,
            token_proxy,
            problems.is_empty(),
        )
        else {
            return Err(CredentialError::Unavailable(format!(
                "WorkloadIdentityCredential: {}",
                join(&problems, "; ")
            )));
        };

        let additionally_allowed_tenants = if options.additionally_allowed_tenants.is_empty() {
            env(AZURE_ADDITIONALLY_ALLOWED_TENANTS)
                .map(|list| split_tenant_list(&list))
                .unwrap_or_default()
        } else {
            options
                .additionally_allowed_tenants
                .iter()
                .map(|tenant| tenant.trim().to_owned())
                .filter(|tenant| !tenant.is_empty())
                .collect()
        };
        let multitenant_disabled =
            env(AZURE_IDENTITY_DISABLE_MULTITENANTAUTH).is_some_and(|value| is_truthy(&value));

        Ok(Settings {
            tenant_id,
            client_id,
            token_file_path,
            authority,
            token_proxy,
            additionally_allowed_tenants,
            multitenant_disabled,
        })
    }

    /// Where the token request for `tenant` goes: `{prefix}/{tenant}/oauth2/v2.0/token` on the
    /// authority host, or, with the AKS token proxy, that path after the proxy's own on the
    /// proxy's host.
    pub fn token_endpoint(&self, tenant: &str) -> TokenEndpoint {
        TokenEndpoint::new(&self.authority, self.token_proxy.as_ref(), tenant)
    }

    /// The tenant a get-token call is served from: `None` for the credential's own (the usual
    /// case, which the cache then recognises without comparing names), or another that the
    /// caller asked for and the settings allow.
    pub fn tenant_for_request<'a>(
        &self,
        requested: Option<&'a str>,
    ) -> Result<Option<&'a str>, CredentialError> {
        let Some(requested) = requested.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if self.multitenant_disabled || requested.eq_ignore_ascii_case(&self.tenant_id) {
            return Ok(None);
        }
        validate_tenant_id(requested).map_err(CredentialError::InvalidArgument)?;
        let allowed = self
            .additionally_allowed_tenants
            .iter()
            .any(|tenant| tenant == "*" || tenant.eq_ignore_ascii_case(requested));
        if allowed {
            Ok(Some(requested))
        } else {
            Err(CredentialError::InvalidArgument(format!(
                "the credential is configured for tenant '{}' and may not request tokens from \
                 tenant '{requested}'; add '{requested}' to the additionally-allowed-tenants \
                 option or to {AZURE_ADDITIONALLY_ALLOWED_TENANTS} (';'-separated), or add \"*\" \
                 to allow any tenant",
                self.tenant_id
            )))
        }
    }
}

/// The AKS token proxy, checked with the same rules and texts as azure-identity's.
fn token_proxy(env: impl Fn(&str) -> Option<String>) -> Result<Option<Authority>, String> {
    let proxy = non_blank(env(AZURE_KUBERNETES_TOKEN_PROXY));
    let tls_settings: Vec<&str> = [
        AZURE_KUBERNETES_SNI_NAME,
        AZURE_KUBERNETES_CA_FILE,
        AZURE_KUBERNETES_CA_DATA,
    ]
    .into_iter()
    .filter(|name| non_blank(env(name)).is_some())
    .collect();
    if tls_settings.contains(&AZURE_KUBERNETES_CA_FILE)
        && tls_settings.contains(&AZURE_KUBERNETES_CA_DATA)
    {
        return Err(format!(
            "both {AZURE_KUBERNETES_CA_FILE} and {AZURE_KUBERNETES_CA_DATA} are set; only one \
             should be set"
        ));
    }
    match proxy {
        Some(raw) => Authority::parse(&raw, AZURE_KUBERNETES_TOKEN_PROXY).map(Some),
        None if tls_settings.is_empty() => Ok(None),
        None => Err(format!(
            "{AZURE_KUBERNETES_TOKEN_PROXY} is not set but other custom endpoint-related \
             environment variables are present ({}); set the proxy endpoint or remove them",
            join(&tls_settings, ", ")
        )),
    }
}

/// A value that is only whitespace counts as unset: an empty `AZURE_CLIENT_ID=` in a manifest is
/// a missing client id, not a client id of "".
fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn split_tenant_list(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|tenant| !tenant.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Scheme;
    use alloc::collections::BTreeMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn full_env() -> impl Fn(&str) -> Option<String> {
        env_of(&[
            (AZURE_TENANT_ID, "env-tenant"),
            (AZURE_CLIENT_ID, "env-client"),
            (AZURE_FEDERATED_TOKEN_FILE, "/var/run/secrets/token"),
        ])
    }

    fn unavailable_message(result: Result<Settings, CredentialError>) -> String {
        match result {
            Err(CredentialError::Unavailable(message)) => message,
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[test]
    fn environment_alone_configures_the_credential() {
        let settings = Settings::resolve(&WorkloadIdentityOptions::default(), full_env()).unwrap();
        assert_eq!(settings.tenant_id, "env-tenant");
        assert_eq!(settings.client_id, "env-client");
        assert_eq!(settings.token_file_path, "/var/run/secrets/token");
        assert_eq!(settings.authority.host, "login.microsoftonline.com");
        assert!(settings.additionally_allowed_tenants.is_empty());
        assert!(!settings.multitenant_disabled);
    }

    #[test]
    fn options_win_over_the_environment() {
        let options = WorkloadIdentityOptions {
            tenant_id: Some("opt-tenant".into()),
            client_id: Some("opt-client".into()),
            token_file_path: Some("/opt/token".into()),
            authority_host: Some("login.microsoftonline.us".into()),
            additionally_allowed_tenants: vec!["other".into()],
        };
        let env = env_of(&[
            (AZURE_TENANT_ID, "env-tenant"),
            (AZURE_CLIENT_ID, "env-client"),
            (AZURE_FEDERATED_TOKEN_FILE, "/env/token"),
            (AZURE_AUTHORITY_HOST, "https://login.chinacloudapi.cn"),
            (AZURE_ADDITIONALLY_ALLOWED_TENANTS, "env-extra"),
        ]);
        let settings = Settings::resolve(&options, env).unwrap();
        assert_eq!(settings.tenant_id, "opt-tenant");
        assert_eq!(settings.client_id, "opt-client");
        assert_eq!(settings.token_file_path, "/opt/token");
        assert_eq!(settings.authority.host, "login.microsoftonline.us");
        assert_eq!(settings.additionally_allowed_tenants, vec!["other"]);
    }

    #[test]
    fn every_missing_setting_is_named_at_once() {
        let message = unavailable_message(Settings::resolve(
            &WorkloadIdentityOptions::default(),
            env_of(&[]),
        ));
        for name in [AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE] {
            assert!(message.contains(name), "{name} not named in: {message}");
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let env = env_of(&[
            (AZURE_TENANT_ID, "tenant"),
            (AZURE_CLIENT_ID, "  "),
            (AZURE_FEDERATED_TOKEN_FILE, "/t"),
        ]);
        let message =
            unavailable_message(Settings::resolve(&WorkloadIdentityOptions::default(), env));
        assert!(message.contains(AZURE_CLIENT_ID), "{message}");
        assert!(!message.contains(AZURE_TENANT_ID), "{message}");
    }

    #[test]
    fn non_https_authority_is_unavailable_with_missing_settings_too() {
        let env = env_of(&[(AZURE_AUTHORITY_HOST, "http://login.example")]);
        let message =
            unavailable_message(Settings::resolve(&WorkloadIdentityOptions::default(), env));
        assert!(message.contains("only https"), "{message}");
        assert!(message.contains(AZURE_TENANT_ID), "{message}");
    }

    #[test]
    fn malformed_tenant_is_unavailable() {
        let options = WorkloadIdentityOptions {
            tenant_id: Some("../evil".into()),
            ..Default::default()
        };
        let message = unavailable_message(Settings::resolve(&options, full_env()));
        assert!(message.contains("'../evil'"), "{message}");
    }

    fn with_full_env<'a>(extra: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        let base = full_env();
        move |name| {
            extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| base(name))
        }
    }

    #[test]
    fn token_proxy_takes_the_request_and_keeps_both_paths() {
        let env = [
            (AZURE_AUTHORITY_HOST, "https://login.example/adfs"),
            (
                AZURE_KUBERNETES_TOKEN_PROXY,
                "https://proxy.kube-system.svc:8443/token-proxy/",
            ),
            (AZURE_KUBERNETES_SNI_NAME, "proxy.aks.azure.com"),
            (AZURE_KUBERNETES_CA_FILE, "/var/run/ca.crt"),
        ];
        let settings =
            Settings::resolve(&WorkloadIdentityOptions::default(), with_full_env(&env)).unwrap();
        assert_eq!(
            settings.token_endpoint("t"),
            TokenEndpoint {
                scheme: Scheme::Https,
                host: "proxy.kube-system.svc:8443".to_string(),
                path: "/token-proxy/adfs/t/oauth2/v2.0/token".to_string()
            }
        );
    }

    #[test]
    fn without_a_proxy_requests_go_to_the_authority() {
        let settings = Settings::resolve(&WorkloadIdentityOptions::default(), full_env()).unwrap();
        assert_eq!(
            settings.token_endpoint("t"),
            TokenEndpoint {
                scheme: Scheme::Https,
                host: "login.microsoftonline.com".to_string(),
                path: "/t/oauth2/v2.0/token".to_string()
            }
        );
    }

    #[test]
    fn token_proxy_is_checked_like_the_authority_host() {
        for (proxy, expected) in [
            ("http://proxy.local", "only https"),
            ("https://user@proxy.local", "userinfo"),
            ("https://proxy.local/?q=1", "a query"),
            ("https://proxy.local/#f", "a fragment"),
        ] {
            let env = [(AZURE_KUBERNETES_TOKEN_PROXY, proxy)];
            let message = unavailable_message(Settings::resolve(
                &WorkloadIdentityOptions::default(),
                with_full_env(&env),
            ));
            assert!(message.contains(AZURE_KUBERNETES_TOKEN_PROXY), "{message}");
            assert!(message.contains(expected), "{proxy}: {message}");
        }
    }

    #[test]
    fn proxy_tls_settings_without_a_proxy_or_both_cas_are_refused() {
        let env = [(AZURE_KUBERNETES_SNI_NAME, "proxy.aks.azure.com")];
        let message = unavailable_message(Settings::resolve(
            &WorkloadIdentityOptions::default(),
            with_full_env(&env),
        ));
        assert!(
            message.contains("AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint"),
            "{message}"
        );
        assert!(message.contains(AZURE_KUBERNETES_SNI_NAME), "{message}");
        let env = [
            (AZURE_KUBERNETES_TOKEN_PROXY, "https://proxy.local"),
            (AZURE_KUBERNETES_CA_FILE, "/ca.crt"),
            (AZURE_KUBERNETES_CA_DATA, "-----BEGIN CERTIFICATE-----"),
        ];
        let message = unavailable_message(Settings::resolve(
            &WorkloadIdentityOptions::default(),
            with_full_env(&env),
        ));
        assert!(message.contains("only one should be set"), "{message}");
    }

    #[test]
    fn additionally_allowed_tenants_come_from_the_environment_list() {
        let env = env_of(&[
            (AZURE_TENANT_ID, "t"),
            (AZURE_CLIENT_ID, "c"),
            (AZURE_FEDERATED_TOKEN_FILE, "/f"),
            (AZURE_ADDITIONALLY_ALLOWED_TENANTS, " a ; ;b;"),
            (AZURE_IDENTITY_DISABLE_MULTITENANTAUTH, "True"),
        ]);
        let settings = Settings::resolve(&WorkloadIdentityOptions::default(), env).unwrap();
        assert_eq!(settings.additionally_allowed_tenants, vec!["a", "b"]);
        assert!(settings.multitenant_disabled);
    }

    #[test]
    fn disable_multitenantauth_counts_only_one_true_or_yes_as_set() {
        let multitenant_disabled = |value: &str| {
            let variables = [
                (AZURE_TENANT_ID, "t"),
                (AZURE_CLIENT_ID, "c"),
                (AZURE_FEDERATED_TOKEN_FILE, "/f"),
                (AZURE_IDENTITY_DISABLE_MULTITENANTAUTH, value),
            ];
            Settings::resolve(&WorkloadIdentityOptions::default(), env_of(&variables))
                .unwrap()
                .multitenant_disabled
        };
        for set in ["1", "true", " YES "] {
            assert!(multitenant_disabled(set), "{set:?}");
        }
        for unset in ["false", "0", "no", "", "on"] {
            assert!(!multitenant_disabled(unset), "{unset:?}");
        }
    }

    /// Settings for tenant "home" that allow `allowed` besides.
    fn settings_allowing(allowed: &[&str], multitenant_disabled: bool) -> Settings {
        Settings {
            tenant_id: "home".into(),
            client_id: "client".into(),
            token_file_path: "/token".into(),
            authority: Authority::parse("login.microsoftonline.com", "authority").unwrap(),
            token_proxy: None,
            additionally_allowed_tenants: allowed.iter().map(|t| t.to_string()).collect(),
            multitenant_disabled,
        }
    }

    #[test]
    fn no_requested_tenant_or_the_same_one_uses_the_configured_tenant() {
        let settings = settings_allowing(&[], false);
        assert_eq!(settings.tenant_for_request(None).unwrap(), None);
        assert_eq!(settings.tenant_for_request(Some("HOME")).unwrap(), None);
        assert_eq!(settings.tenant_for_request(Some(" ")).unwrap(), None);
    }

    #[test]
    fn another_tenant_is_refused_naming_it_and_the_fix() {
        let error = settings_allowing(&["friend"], false)
            .tenant_for_request(Some("stranger"))
            .unwrap_err();
        let CredentialError::InvalidArgument(message) = error else {
            panic!("expected invalid-argument, got {error:?}");
        };
        assert!(message.contains("'stranger'"), "{message}");
        assert!(
            message.contains(AZURE_ADDITIONALLY_ALLOWED_TENANTS),
            "{message}"
        );
        assert!(message.contains("\"*\""), "{message}");
    }

    #[test]
    fn listed_or_wildcard_tenants_are_allowed() {
        assert_eq!(
            settings_allowing(&["Friend"], false)
                .tenant_for_request(Some("friend"))
                .unwrap(),
            Some("friend")
        );
        assert_eq!(
            settings_allowing(&["*"], false)
                .tenant_for_request(Some("anyone"))
                .unwrap(),
            Some("anyone")
        );
    }

    #[test]
    fn disabled_multitenant_auth_ignores_the_requested_tenant() {
        assert_eq!(
            settings_allowing(&[], true)
                .tenant_for_request(Some("stranger"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn an_allowed_but_malformed_tenant_is_invalid() {
        assert!(matches!(
            settings_allowing(&["*"], false).tenant_for_request(Some("a/b")),
            Err(CredentialError::InvalidArgument(_))
        ));
    }
}
