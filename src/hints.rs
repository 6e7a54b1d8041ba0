//! What the AADSTS codes of this flow usually mean, and where to read more.

use crate::prelude::*;

/// Microsoft's page for workload identity failures on AKS.
const TROUBLESHOOTING: &str = "https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/identity/troubleshoot-workload-identity";

/// AADSTS700024: the assertion (the token file's content) is outside its validity period.
pub const ASSERTION_EXPIRED: u32 = 700024;

/// One line on the likely cause of the first code this flow commonly meets, with a link, or
/// `None` for other codes.
pub fn likely_cause(error_codes: &[u32]) -> Option<String> {
    error_codes.iter().find_map(|&code| {
        let cause = match code {
            70021 => {
                "no federated identity credential of the app matches the service-account token: \
                 its issuer must be the cluster's OIDC issuer URL, its subject \
                 system:serviceaccount:<namespace>:<service-account>, its audience \
                 api://AzureADTokenExchange"
            }
            ASSERTION_EXPIRED => {
                "the service-account token in the file has expired: Kubernetes did not rotate \
                 the file, or the pod mounts a stale copy (the credential re-read it and retried \
                 once)"
            }
            700213 => {
                "the token's subject matches no federated credential: the subject must be \
                 system:serviceaccount:<namespace>:<service-account> of this pod's service \
                 account"
            }
            70023 => {
                "the service-account token lives longer than Microsoft Entra accepts: project \
                 it with a shorter expirationSeconds (AKS projects 1-hour tokens)"
            }
            700016 => {
                "the client id is not an application in this tenant: check AZURE_CLIENT_ID (the \
                 service account's azure.workload.identity/client-id annotation) and \
                 AZURE_TENANT_ID"
            }
            90002 => {
                "the tenant was not found: check AZURE_TENANT_ID, and that the authority host \
                 is the tenant's cloud"
            }
            50196 => {
                "Microsoft Entra detected a request loop: the workload asks for tokens too \
                 often; keep one credential (its cache) instead of creating one per request"
            }
            _ => return None,
        };
        Some(format!(
            "Likely cause (AADSTS{code}): {cause}. See https://login.microsoftonline.com/error?code={code} and {TROUBLESHOOTING}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_code_has_a_cause_and_links() {
        for code in [70021, 700024, 700213, 70023, 700016, 90002, 50196] {
            let line = likely_cause(&[code]).unwrap_or_else(|| panic!("no hint for {code}"));
            assert!(
                line.starts_with(&format!("Likely cause (AADSTS{code}): ")),
                "{line}"
            );
            assert!(line.contains(&format!("error?code={code}")), "{line}");
            assert!(line.contains(TROUBLESHOOTING), "{line}");
            assert!(!line.contains('\n'), "one line: {line}");
        }
    }

    #[test]
    fn the_issuer_subject_audience_mismatch_is_named() {
        let line = likely_cause(&[70021]).unwrap();
        for word in ["issuer", "subject", "audience"] {
            assert!(line.contains(word), "{line}");
        }
    }

    #[test]
    fn unknown_codes_have_no_hint_and_known_ones_are_found_among_them() {
        assert_eq!(likely_cause(&[]), None);
        assert_eq!(likely_cause(&[12345]), None);
        assert!(
            likely_cause(&[12345, 90002])
                .unwrap()
                .contains("AADSTS90002")
        );
    }
}
