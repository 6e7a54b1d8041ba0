//! The federated token file: the Kubernetes service-account token used as client assertion.

use crate::error::CredentialError;
use crate::platform::{FileReadError, MAX_TOKEN_FILE_BYTES, Platform};
use crate::settings::AZURE_FEDERATED_TOKEN_FILE;

/// Reads the assertion from `path`, trimmed of surrounding whitespace.
pub fn read_assertion(platform: &mut impl Platform, path: &str) -> Result<String, CredentialError> {
    let bytes = platform
        .read_file(path, MAX_TOKEN_FILE_BYTES)
        .map_err(|error| unreadable(path, &error))?;
    if bytes.len() > MAX_TOKEN_FILE_BYTES {
        return Err(CredentialError::Unavailable(format!(
            "the federated token file '{path}' is larger than {} KiB, so it is not a \
             service-account token; check {AZURE_FEDERATED_TOKEN_FILE}",
            MAX_TOKEN_FILE_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        CredentialError::Unavailable(format!(
            "the federated token file '{path}' is not UTF-8 text, so it is not a service-account \
             token; check {AZURE_FEDERATED_TOKEN_FILE}"
        ))
    })?;
    let assertion = text.trim();
    if assertion.is_empty() {
        return Err(CredentialError::Unavailable(format!(
            "the federated token file '{path}' is empty; Kubernetes writes the projected \
             service-account token there: check the pod's azure-identity-token volume"
        )));
    }
    Ok(assertion.to_owned())
}

fn unreadable(path: &str, error: &FileReadError) -> CredentialError {
    let directory = match path.rfind('/') {
        Some(0) => "/",
        Some(slash) => &path[..slash],
        None => ".",
    };
    let cause = match error {
        FileReadError::NotFound => "it does not exist or its directory is not visible".to_owned(),
        FileReadError::PermissionDenied => "permission denied".to_owned(),
        FileReadError::Other(description) => description.clone(),
    };
    CredentialError::Unavailable(format!(
        "cannot read the federated token file '{path}' ({cause}). The host must grant the \
         component its directory '{directory}': wasmtime `--dir {directory}`, a Spin `files` \
         mount, or a wasmCloud volume; on AKS check that the pod uses workload identity \
         (label azure.workload.identity/use=true) and {AZURE_FEDERATED_TOKEN_FILE} is right"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{HttpRequest, HttpResponse};

    struct FileOnly(Result<Vec<u8>, FileReadError>);

    impl Platform for FileOnly {
        fn now(&mut self) -> u64 {
            0
        }
        fn random_bytes(&mut self) -> [u8; 16] {
            [0; 16]
        }
        fn read_file(&mut self, _: &str, limit: usize) -> Result<Vec<u8>, FileReadError> {
            self.0.clone().map(|mut bytes| {
                bytes.truncate(limit + 1);
                bytes
            })
        }
        fn send(&mut self, _: &HttpRequest) -> Result<HttpResponse, String> {
            unreachable!("reading a file sends nothing")
        }
    }

    fn unavailable(result: Result<String, CredentialError>) -> String {
        match result {
            Err(CredentialError::Unavailable(message)) => message,
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[test]
    fn assertion_is_trimmed() {
        let mut platform = FileOnly(Ok(b"  eyJ.a.b\n".to_vec()));
        assert_eq!(
            read_assertion(&mut platform, "/t/token").unwrap(),
            "eyJ.a.b"
        );
    }

    #[test]
    fn missing_file_names_path_directory_and_how_to_grant_it() {
        let mut platform = FileOnly(Err(FileReadError::NotFound));
        let message = unavailable(read_assertion(
            &mut platform,
            "/var/run/secrets/azure/tokens/t",
        ));
        assert!(
            message.contains("'/var/run/secrets/azure/tokens/t'"),
            "{message}"
        );
        assert!(
            message.contains("--dir /var/run/secrets/azure/tokens"),
            "{message}"
        );
        assert!(message.contains("Spin `files`"), "{message}");
        assert!(message.contains("wasmCloud volume"), "{message}");
    }

    #[test]
    fn empty_or_blank_file_is_unavailable() {
        for content in [&b""[..], b" \n\t "] {
            let mut platform = FileOnly(Ok(content.to_vec()));
            assert!(unavailable(read_assertion(&mut platform, "/t")).contains("is empty"));
        }
    }

    #[test]
    fn oversized_or_binary_file_is_unavailable() {
        let mut platform = FileOnly(Ok(vec![b'a'; MAX_TOKEN_FILE_BYTES + 10]));
        assert!(unavailable(read_assertion(&mut platform, "/t")).contains("larger than 64 KiB"));
        let mut platform = FileOnly(Ok(vec![0xff, 0xfe]));
        assert!(unavailable(read_assertion(&mut platform, "/t")).contains("not UTF-8"));
    }
}
