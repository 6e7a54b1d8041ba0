//! A private network for one test, so that a host resolves a fixed public name (a key vault's,
//! `myvault.vault.azure.net`, port 443) to a fake on 127.0.0.1 without any change to this
//! machine: the test runs itself again under `unshare --net --mount --pid --fork`, where only a
//! loopback interface exists, a hosts file of its own is bind-mounted over `/etc/hosts`, and
//! every process it starts (the host under test) ends when it does. The machine's own
//! `/etc/hosts` and network are never touched.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use test_tools::{run_to_success, run_within};

/// Set, to the private hosts file, for the test's run inside the namespace.
const HOSTS_FILE: &str = "REAL_HOSTS_PRIVATE_HOSTS_FILE";

/// Where the calling `#[test]` goes on. Outside, it runs the same test again in a private network
/// where each of `names` (and `localhost`) resolves to 127.0.0.1, waits at most `bound` for it,
/// fails with that run's output unless it passed, prints its output otherwise, and returns
/// `false`: the test is done. Inside that run it returns `true`: the test's body goes on there.
///
/// Work that needs the machine's network (installing a host) must come before the call.
pub fn entered(names: &[&str], bound: Duration) -> bool {
    if let Some(hosts) = std::env::var_os(HOSTS_FILE) {
        set_up_inside(Path::new(&hosts));
        return true;
    }
    let test = std::thread::current()
        .name()
        .expect("the test harness names each test's thread")
        .to_owned();
    let dir = host_tests::TokenDirectory::new().expect("a temporary directory");
    let hosts = std::iter::once("localhost")
        .chain(names.iter().copied())
        .map(|name| format!("127.0.0.1 {name}\n"))
        .collect::<String>();
    dir.write_file("hosts", &hosts)
        .expect("the private hosts file");
    let mut unshare = Command::new("unshare");
    unshare.args(["--net", "--mount", "--pid", "--fork", "--kill-child"]);
    if !is_root() {
        unshare.args(["--user", "--map-root-user"]);
    }
    let inside = run_within(
        unshare
            .arg(std::env::current_exe().expect("the test binary's path"))
            .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(HOSTS_FILE, dir.path().join("hosts"))
            // Inside, every test is process 1, and temporary directories are named by process
            // id: each run gets a temporary directory of its own, removed with `dir`.
            .env("TMPDIR", dir.path()),
        &format!("{test} in a private network (unshare)"),
        bound,
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&inside.stdout),
        String::from_utf8_lossy(&inside.stderr)
    );
    assert!(
        inside.status.success(),
        "{test} failed in its private network ({}):\n{output}",
        inside.status
    );
    println!("{output}");
    false
}

fn set_up_inside(hosts: &Path) {
    // `unshare --pid --fork` makes the test its namespace's first process. Anywhere else the
    // variable is a mistake, and the bind mount would hide the machine's own hosts file.
    assert_eq!(
        std::process::id(),
        1,
        "{HOSTS_FILE} is set outside a private namespace; refusing to mount over /etc/hosts"
    );
    run_to_success(
        Command::new("ip").args(["link", "set", "lo", "up"]),
        "ip link set lo up",
    );
    run_to_success(
        Command::new("mount")
            .arg("--bind")
            .arg(hosts)
            .arg("/etc/hosts"),
        "mount --bind <private hosts> /etc/hosts",
    );
}

fn is_root() -> bool {
    run_to_success(Command::new("id").arg("-u"), "id -u").trim() == "0"
}
