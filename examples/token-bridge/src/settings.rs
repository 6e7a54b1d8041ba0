//! What the host tells the bridge, in the component's environment.

use redacted::Redacted;

/// The secret every caller must send as `X-IDENTITY-HEADER` (the value the app's SDK reads from
/// its own `IDENTITY_HEADER`).
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// The resources tokens may be had for, separated by commas or spaces, e.g.
/// `https://vault.azure.net,https://storage.azure.com`.
pub const TOKEN_BRIDGE_RESOURCES: &str = "TOKEN_BRIDGE_RESOURCES";
/// The identity's client id, which callers may name in `client_id` (the credential reads it too).
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";

/// A secret shorter than this could be guessed by a caller on the pod's loopback.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Debug)]
pub struct Settings {
    secret: Redacted<String>,
    resources: Vec<String>,
    client_id: Option<String>,
}

impl Settings {
    /// Reads the settings through `lookup`; `Err` lists every problem and how to fix it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let mut problems = Vec::new();
        let secret = lookup(IDENTITY_HEADER).unwrap_or_default();
        if secret.is_empty() {
            problems.push(format!(
                "{IDENTITY_HEADER} is not set: set it to a random secret of at least \
                 {MIN_SECRET_LEN} characters, the same value as the app's {IDENTITY_HEADER}"
            ));
        } else if secret.chars().count() < MIN_SECRET_LEN {
            problems.push(format!(
                "{IDENTITY_HEADER} is {} characters long: use a random secret of at least \
                 {MIN_SECRET_LEN}",
                secret.chars().count()
            ));
        } else if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push(format!(
                "{IDENTITY_HEADER} must be printable ASCII without spaces, since it travels in \
                 an HTTP header"
            ));
        }
        let listed = lookup(TOKEN_BRIDGE_RESOURCES).unwrap_or_default();
        let resources: Vec<String> = listed
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|resource| !resource.is_empty())
            .map(str::to_owned)
            .collect();
        if resources.is_empty() {
            problems.push(format!(
                "{TOKEN_BRIDGE_RESOURCES} is not set: list the resources the app may have tokens \
                 for, e.g. https://vault.azure.net,https://storage.azure.com"
            ));
        }
        for resource in &resources {
            if let Err(problem) = check_resource(resource) {
                problems.push(format!("{TOKEN_BRIDGE_RESOURCES}: {problem}"));
            }
        }
        let client_id = lookup(AZURE_CLIENT_ID).filter(|id| !id.is_empty());
        if problems.is_empty() {
            Ok(Settings {
                secret: Redacted::new(secret),
                resources,
                client_id,
            })
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn secret(&self) -> &str {
        self.secret.expose()
    }

    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The allowed resource `requested` names, as the allow-list spells it: the same text,
    /// ignoring ASCII case and a trailing `/` (SDKs send `https://management.azure.com/` and
    /// `https://management.azure.com` alike). One spelling for all callers means one cache entry,
    /// and one Entra call, per resource.
    pub fn allowed(&self, requested: &str) -> Option<&str> {
        let requested = requested.strip_suffix('/').unwrap_or(requested);
        self.resources
            .iter()
            .find(|allowed| {
                let allowed = allowed.strip_suffix('/').unwrap_or(allowed);
                allowed.eq_ignore_ascii_case(requested)
            })
            .map(String::as_str)
    }
}

/// A resource is what a scope is without `/.default`: an app id URI or an application id.
fn check_resource(resource: &str) -> Result<(), String> {
    if resource.ends_with("/.default") {
        return Err(format!(
            "'{resource}' is a scope; list the resource, without '/.default'"
        ));
    }
    if resource.contains(['?', '#', '"', '\\']) || resource.chars().any(char::is_control) {
        return Err(format!(
            "'{resource}' is not a resource URI or application id"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn the_resources_are_split_on_commas_and_spaces() {
        let settings = settings(&[
            (IDENTITY_HEADER, SECRET),
            (
                TOKEN_BRIDGE_RESOURCES,
                " https://vault.azure.net,https://management.azure.com/  api://my-api ",
            ),
            (AZURE_CLIENT_ID, "5b0a9b3e"),
        ])
        .unwrap();
        assert_eq!(
            settings.resources(),
            [
                "https://vault.azure.net",
                "https://management.azure.com/",
                "api://my-api"
            ]
        );
        assert_eq!(settings.client_id(), Some("5b0a9b3e"));
        assert_eq!(
            settings.allowed("https://vault.azure.net"),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            settings.allowed("https://VAULT.azure.net/"),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            settings.allowed("https://management.azure.com"),
            Some("https://management.azure.com/")
        );
        assert_eq!(
            settings.allowed("https://vault.azure.net.evil.example"),
            None
        );
        assert_eq!(settings.allowed("https://storage.azure.com"), None);
    }

    #[test]
    fn every_problem_is_named_with_its_fix() {
        let error = settings(&[]).unwrap_err();
        assert!(error.contains("IDENTITY_HEADER is not set"), "{error}");
        assert!(
            error.contains("TOKEN_BRIDGE_RESOURCES is not set"),
            "{error}"
        );

        let error = settings(&[
            (IDENTITY_HEADER, "short"),
            (TOKEN_BRIDGE_RESOURCES, "https://vault.azure.net/.default"),
        ])
        .unwrap_err();
        assert!(error.contains("5 characters long"), "{error}");
        assert!(error.contains("without '/.default'"), "{error}");

        let error = settings(&[
            (IDENTITY_HEADER, "has a space in it, sadly"),
            (TOKEN_BRIDGE_RESOURCES, "https://x?y"),
        ])
        .unwrap_err();
        assert!(error.contains("printable ASCII"), "{error}");
        assert!(error.contains("not a resource URI"), "{error}");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let settings = settings(&[
            (IDENTITY_HEADER, SECRET),
            (TOKEN_BRIDGE_RESOURCES, "https://vault.azure.net"),
        ])
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("***"), "{debug}");
    }

    #[test]
    fn a_secret_that_is_wrong_is_not_echoed_either() {
        let error = settings(&[
            (IDENTITY_HEADER, "tooshort-secret"),
            (TOKEN_BRIDGE_RESOURCES, "https://vault.azure.net"),
        ])
        .unwrap_err();
        assert!(!error.contains("tooshort-secret"), "{error}");
    }
}
