//! The federated token file: the Kubernetes service-account token used as client assertion.

use crate::prelude::*;
use crate::text::join;

use crate::error::CredentialError;
use crate::platform::{FilePlatform, FileReadError, MAX_TOKEN_FILE_BYTES};
use crate::settings::AZURE_FEDERATED_TOKEN_FILE;
use core::cell::RefCell;
use redacted::Redacted;

/// Kubernetes rotates the projected token at 80% of its lifetime (at least an hour), so a copy
/// younger than this is never stale.
pub const REREAD_AFTER_NANOS: u64 = 10 * 60 * 1_000_000_000;

/// The token file and the last assertion read from it. The last read is kept in a `RefCell`,
/// borrowed only between awaits, so that get-token calls running at once (WASI 0.3) can share it.
#[derive(Debug)]
pub struct TokenFile {
    path: String,
    last_read: RefCell<Option<LastRead>>,
}

#[derive(Clone, Debug)]
struct LastRead {
    assertion: Redacted<String>,
    /// Monotonic nanoseconds.
    at: u64,
}

impl TokenFile {
    /// The token file at `path`, not read yet.
    pub fn new(path: String) -> TokenFile {
        TokenFile {
            path,
            last_read: RefCell::new(None),
        }
    }

    /// The assertion, read again when the last read is ten minutes old or `force_reread` is set
    /// (Entra said the last one expired). Nothing is read before the first token request.
    pub async fn assertion(
        &self,
        platform: &mut impl FilePlatform,
        force_reread: bool,
    ) -> Result<String, CredentialError> {
        let now = platform.monotonic_nanos();
        if let Some(last) = &*self.last_read.borrow()
            && !force_reread
            && now.saturating_sub(last.at) < REREAD_AFTER_NANOS
        {
            return Ok(last.assertion.expose().clone());
        }
        let assertion = read_assertion(platform, &self.path).await?;
        *self.last_read.borrow_mut() = Some(LastRead {
            assertion: Redacted::new(assertion.clone()),
            at: now,
        });
        Ok(assertion)
    }
}

/// Reads the assertion from `path`, trimmed of surrounding whitespace.
async fn read_assertion(
    platform: &mut impl FilePlatform,
    path: &str,
) -> Result<String, CredentialError> {
    let bytes = platform
        .read_file(path, MAX_TOKEN_FILE_BYTES)
        .await
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
        FileReadError::NotPreopened(granted) if granted.is_empty() => {
            "the host granted the component no directories".to_owned()
        }
        FileReadError::NotPreopened(granted) => format!(
            "no directory the host granted holds it; granted: '{}'",
            join(granted, "', '")
        ),
        FileReadError::Other(description) => description.clone(),
    };
    CredentialError::Unavailable(format!(
        "cannot read the federated token file '{path}' ({cause}). The host must grant the \
         component a directory holding it, e.g. '{directory}' (wasmtime `--dir {directory}`, a \
         Spin `files` mount, a wasmCloud volume); in a pod, the projected volume's root, which \
         holds `..data` (webhook v1.6: /var/run/secrets/azure/wi), as a directory below it is a \
         symlink the first token rotation removes. On AKS check that the pod uses workload \
         identity (label azure.workload.identity/use=true) and {AZURE_FEDERATED_TOKEN_FILE} is \
         right"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready::run;
    use crate::scripted_platform::ScriptedPlatform;

    fn platform_with(content: Result<Vec<u8>, FileReadError>) -> ScriptedPlatform {
        let mut platform = ScriptedPlatform::new();
        platform.token_file = content;
        platform
    }

    fn unavailable(result: Result<String, CredentialError>) -> String {
        match result {
            Err(CredentialError::Unavailable(message)) => message,
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[test]
    fn assertion_is_trimmed() {
        let mut platform = platform_with(Ok(b"  eyJ.a.b\n".to_vec()));
        assert_eq!(
            run(read_assertion(&mut platform, "/t/token")).unwrap(),
            "eyJ.a.b"
        );
    }

    #[test]
    fn file_is_reread_only_when_ten_minutes_old_or_forced() {
        let mut platform = platform_with(Ok(b"first".to_vec()));
        let file = TokenFile::new("/t".into());
        assert_eq!(
            platform.file_reads, 0,
            "nothing is read before it is needed"
        );
        assert_eq!(run(file.assertion(&mut platform, false)).unwrap(), "first");
        platform.token_file = Ok(b"second".to_vec());
        platform.advance_seconds(599);
        assert_eq!(run(file.assertion(&mut platform, false)).unwrap(), "first");
        assert_eq!(platform.file_reads, 1);
        platform.advance_seconds(1);
        assert_eq!(run(file.assertion(&mut platform, false)).unwrap(), "second");
        platform.token_file = Ok(b"third".to_vec());
        assert_eq!(run(file.assertion(&mut platform, true)).unwrap(), "third");
        assert_eq!(platform.file_reads, 3);
    }

    #[test]
    fn a_failed_read_keeps_nothing_and_is_retried_next_time() {
        let mut platform = platform_with(Err(FileReadError::NotFound));
        let file = TokenFile::new("/t".into());
        assert!(run(file.assertion(&mut platform, false)).is_err());
        platform.token_file = Ok(b"now-there".to_vec());
        assert_eq!(
            run(file.assertion(&mut platform, false)).unwrap(),
            "now-there"
        );
    }

    #[test]
    fn debug_output_hides_the_assertion() {
        let mut platform = platform_with(Ok(b"secret-assertion".to_vec()));
        let file = TokenFile::new("/t".into());
        run(file.assertion(&mut platform, false)).unwrap();
        let debug = format!("{file:?}");
        assert!(!debug.contains("secret-assertion"), "{debug}");
    }

    #[test]
    fn missing_file_names_path_directory_and_how_to_grant_it() {
        let mut platform = platform_with(Err(FileReadError::NotFound));
        let message = unavailable(run(read_assertion(
            &mut platform,
            "/var/run/secrets/azure/tokens/t",
        )));
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
        // Granting `…/wi/token` (webhook v1.6) works until the first rotation: say what to grant.
        assert!(
            message.contains(
                "the projected volume's root, which holds `..data` (webhook v1.6: \
                 /var/run/secrets/azure/wi)"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_file_outside_the_granted_directories_names_the_ones_granted() {
        let mut platform = platform_with(Err(FileReadError::NotPreopened(vec![
            "/tmp".into(),
            "/data".into(),
        ])));
        let message = unavailable(run(read_assertion(&mut platform, "/var/tokens/t")));
        assert!(
            message.contains("no directory the host granted holds it; granted: '/tmp', '/data'"),
            "{message}"
        );
        assert!(message.contains("--dir /var/tokens"), "{message}");
        platform.token_file = Err(FileReadError::NotPreopened(vec![]));
        let message = unavailable(run(read_assertion(&mut platform, "/var/tokens/t")));
        assert!(
            message.contains("granted the component no directories"),
            "{message}"
        );
    }

    #[test]
    fn empty_or_blank_file_is_unavailable() {
        for content in [&b""[..], b" \n\t "] {
            let mut platform = platform_with(Ok(content.to_vec()));
            assert!(unavailable(run(read_assertion(&mut platform, "/t"))).contains("is empty"));
        }
    }

    #[test]
    fn oversized_or_binary_file_is_unavailable() {
        let mut platform = platform_with(Ok(vec![b'a'; MAX_TOKEN_FILE_BYTES + 1]));
        assert!(
            unavailable(run(read_assertion(&mut platform, "/t"))).contains("larger than 64 KiB")
        );
        let mut platform = platform_with(Ok(vec![b'a'; MAX_TOKEN_FILE_BYTES]));
        assert_eq!(
            run(read_assertion(&mut platform, "/t")).map(|assertion| assertion.len()),
            Ok(64 * 1024),
            "a file of exactly 64 KiB is read"
        );
        let mut platform = platform_with(Ok(vec![0xff, 0xfe]));
        assert!(unavailable(run(read_assertion(&mut platform, "/t"))).contains("not UTF-8"));
    }
}
