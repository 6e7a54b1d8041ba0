//! Acquires a token through the credential component in wasmtime and prints its expiry.
//!
//! `cargo run -p get-token` asks a built-in fake authority (no Azure needed);
//! `cargo run -p get-token -- --live` asks Microsoft Entra ID with the pod's AZURE_* variables.

use azure_workload_identity::{
    AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID,
};
use credential_host::fake_authority::{
    DEMO_ASSERTION, DEMO_CLIENT, DEMO_TENANT, FakeEntra, TokenDirectory,
};
use credential_host::{
    AKS_WEBHOOK_1_6_TOKEN_FILE, AKS_WEBHOOK_1_6_TOKEN_PATH, AKS_WEBHOOK_1_6_VOLUME, Authority,
    CredentialError, TokenRequestOptions, WasiHost, WorkloadIdentityPre, grant_read_only,
    token_file_grant, wasi_http_linker,
};
use guest_artifacts::CREDENTIAL;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime::component::Component;
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;

/// What the component is granted: its variables and the token's projected volume (read-only).
struct Grants {
    env: Vec<(String, String)>,
    preopens: Vec<(PathBuf, String)>,
}

const DEFAULT_SCOPE: &str = "https://management.azure.com/.default";
const USAGE: &str = "usage: get-token [--live] [--scope SCOPE]

Without --live, a built-in fake Microsoft Entra authority answers (no Azure needed).
With --live, the real authority is asked, configured like azure-identity from
AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST
(an AKS pod with workload identity has them); the token's projected volume (the
directory holding ..data) is granted to the component read-only.";

struct Args {
    live: bool,
    scope: String,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = if args.live {
        run_live(&args.scope)
    } else {
        run_with_fake_authority(&args.scope)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("get-token: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        live: false,
        scope: DEFAULT_SCOPE.to_owned(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--live" => parsed.live = true,
            "--scope" => parsed.scope = args.next().ok_or("--scope needs a value")?,
            "-h" | "--help" => return Err("get-token: acquire a token and print its expiry".into()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(parsed)
}

fn run_with_fake_authority(scope: &str) -> Result<(), String> {
    // A projected volume as the kubelet lays it out for webhook v1.6, granted at its pod path.
    let tokens = TokenDirectory::new().map_err(|e| e.to_string())?;
    tokens
        .project_file(AKS_WEBHOOK_1_6_TOKEN_PATH, DEMO_ASSERTION)
        .map_err(|e| e.to_string())?;
    let fake = FakeEntra::new();
    let grants = Grants {
        env: [
            (AZURE_TENANT_ID, DEMO_TENANT),
            (AZURE_CLIENT_ID, DEMO_CLIENT),
            (AZURE_FEDERATED_TOKEN_FILE, AKS_WEBHOOK_1_6_TOKEN_FILE),
            (AZURE_AUTHORITY_HOST, "https://login.microsoftonline.com"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .into(),
        preopens: vec![(
            tokens.path().to_path_buf(),
            AKS_WEBHOOK_1_6_VOLUME.to_owned(),
        )],
    };
    println!("authority: built-in fake Microsoft Entra ID (no Azure needed)");
    acquire_and_print(grants, Authority::Fake(fake.clone()), scope)?;
    for request in fake.requests() {
        println!(
            "fake authority saw: {} {} client_id={} scope={} client_assertion={} bytes",
            request.method,
            request.url,
            request.field("client_id").unwrap_or("-"),
            request.field("scope").unwrap_or("-"),
            request.field("client_assertion").map_or(0, str::len)
        );
    }
    Ok(())
}

fn run_live(scope: &str) -> Result<(), String> {
    let grants = Grants {
        env: std::env::vars()
            .filter(|(name, _)| name.starts_with("AZURE_"))
            .collect(),
        preopens: std::env::var(AZURE_FEDERATED_TOKEN_FILE)
            .ok()
            .and_then(|file| token_file_grant(&file))
            .into_iter()
            .collect(),
    };
    // Requests to an AKS token proxy (identity binding) with its CA and SNI name.
    let authority = Authority::network_from_env(|name| std::env::var(name).ok())?;
    println!("authority: Microsoft Entra ID, configured from this process's AZURE_* variables");
    acquire_and_print(grants, authority, scope)
}

fn acquire_and_print(grants: Grants, authority: Authority, scope: &str) -> Result<(), String> {
    println!("component: {CREDENTIAL}");
    let trapped = |trap: wasmtime::Error| format!("the component trapped: {trap:?}");
    let engine = Engine::default();
    let component = Component::from_file(&engine, CREDENTIAL)
        .map_err(|error| format!("loading {CREDENTIAL}: {error:?}"))?;
    let pre = wasi_http_linker(&engine)
        .and_then(|linker| linker.instantiate_pre(&component))
        .and_then(WorkloadIdentityPre::new)
        .map_err(|error| format!("linking {CREDENTIAL}: {error:?}"))?;
    let mut wasi = WasiCtx::builder();
    wasi.envs(&grants.env);
    grant_read_only(&mut wasi, &grants.preopens).map_err(|error| format!("{error:?}"))?;
    let mut store = Store::new(&engine, WasiHost::new(wasi.build(), authority));
    let identity = pre.instantiate(&mut store).map_err(trapped)?;
    let options = TokenRequestOptions {
        claims: None,
        tenant_id: None,
        enable_cae: false,
    };
    let token = identity
        .azure_identity_credential()
        .call_get_token(&mut store, &[scope.to_owned()], &options)
        .map_err(trapped)?
        .map_err(|error| describe(&error))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    println!("scope:     {scope}");
    println!(
        "token:     {} token of {} characters (not printed)",
        token.token_type,
        token.token.len()
    );
    println!(
        "expires:   {} ({} s from now)",
        utc(token.expires_on),
        token.expires_on.saturating_sub(now)
    );
    if let Some(refresh_on) = token.refresh_on {
        println!("refresh:   {}", utc(refresh_on));
    }
    Ok(())
}

fn describe(error: &CredentialError) -> String {
    match error {
        CredentialError::Unavailable(message) => format!("credential unavailable: {message}"),
        CredentialError::InvalidArgument(message) => format!("invalid argument: {message}"),
        CredentialError::AuthenticationFailed(failure) => {
            let mut text = format!("authentication failed: {}", failure.message);
            if let Some(correlation_id) = &failure.correlation_id {
                text.push_str(&format!("\ncorrelation id: {correlation_id}"));
            }
            if let Some(trace_id) = &failure.trace_id {
                text.push_str(&format!("\ntrace id: {trace_id}"));
            }
            text
        }
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_876_496), "2026-11-28T14:34:56Z");
    }

    #[test]
    fn arguments_select_live_mode_and_scope() {
        let args = parse_args(
            ["--live", "--scope", "s/.default"]
                .map(String::from)
                .into_iter(),
        )
        .unwrap();
        assert!(args.live);
        assert_eq!(args.scope, "s/.default");
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
    }
}
