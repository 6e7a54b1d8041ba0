//! Which directory the host granted holds a path. WASI opens files only relative to a preopened
//! directory, so the token file's path is split into a preopen and a path inside it, as wasi-libc
//! does for C and std programs: the preopen with the longest matching name wins.

use crate::prelude::*;
use crate::text::join;

/// The file inside a preopen: the preopen's index and the path relative to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The index of the preopen among those the host granted.
    pub preopen: usize,
    /// The path inside it, without a leading `/`; `.` for the preopen itself.
    pub relative: String,
}

/// Finds the preopen, among `preopens` (their names as the host gave them), that holds `path`.
/// An absolute path matches absolute names (`/` matches every one); a relative path matches
/// relative names (`.` matches every one). Matching is by whole components, so `/var/run` does
/// not hold `/var/running`. Of two names that match equally (one directory name granted twice),
/// the first granted wins.
pub fn locate<'a>(path: &str, preopens: impl IntoIterator<Item = &'a str>) -> Option<Located> {
    let absolute = path.starts_with('/');
    let wanted: Vec<&str> = components(path).collect();
    let mut best: Option<(usize, usize)> = None;
    for (index, name) in preopens.into_iter().enumerate() {
        if name.starts_with('/') != absolute {
            continue;
        }
        let prefix: Vec<&str> = components(name).collect();
        let holds = prefix.len() <= wanted.len() && wanted[..prefix.len()] == prefix[..];
        if holds && best.is_none_or(|(_, longest)| prefix.len() > longest) {
            best = Some((index, prefix.len()));
        }
    }
    best.map(|(preopen, matched)| {
        let inside = &wanted[matched..];
        Located {
            preopen,
            relative: if inside.is_empty() {
                ".".to_owned()
            } else {
                join(inside, "/")
            },
        }
    })
}

/// The path's components without empty ones and `.`: `/a//./b/` is `a`, `b`.
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(preopen: usize, relative: &str) -> Option<Located> {
        Some(Located {
            preopen,
            relative: relative.to_owned(),
        })
    }

    const AKS_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

    #[test]
    fn the_token_directory_preopened_as_itself_holds_the_file() {
        let preopens = ["/tmp", "/var/run/secrets/azure/tokens"];
        assert_eq!(
            locate(AKS_FILE, preopens),
            located(1, "azure-identity-token")
        );
    }

    #[test]
    fn the_longest_matching_preopen_wins_whatever_the_order() {
        let preopens = ["/", "/var/run/secrets", "/var"];
        assert_eq!(
            locate(AKS_FILE, preopens),
            located(1, "azure/tokens/azure-identity-token")
        );
        assert_eq!(locate("/etc/x", preopens), located(0, "etc/x"));
    }

    #[test]
    fn of_two_equal_names_the_first_granted_wins() {
        let preopens = ["/var/run", "/tmp", "/var/run/"];
        assert_eq!(locate("/var/run/token", preopens), located(0, "token"));
    }

    #[test]
    fn names_match_by_whole_components() {
        assert_eq!(locate("/var/running/token", ["/var/run"]), None);
        assert_eq!(locate("/var/run/token", ["/var/run/"]), located(0, "token"));
        assert_eq!(
            locate("/var//./run/token", ["/var/run"]),
            located(0, "token")
        );
    }

    #[test]
    fn relative_paths_match_relative_preopens_only() {
        assert_eq!(locate("tokens/t", ["/", "."]), located(1, "tokens/t"));
        assert_eq!(locate("./tokens/t", ["tokens"]), located(0, "t"));
        assert_eq!(locate("/tokens/t", ["."]), None);
        assert_eq!(locate("tokens/t", ["/"]), None);
    }

    #[test]
    fn the_preopen_itself_is_the_directory_and_no_preopen_is_none() {
        assert_eq!(locate("/var/run/", ["/var/run"]), located(0, "."));
        assert_eq!(locate(AKS_FILE, []), None);
    }
}
