//! A program a test runs beside it (a host such as Envoy or `wash dev`, a service such as
//! Azurite): started with its output collected, waited for within a bound, stopped when dropped.

use std::io::Read;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a stopped program may take to end after SIGTERM before it is killed.
const STOP_BOUND: Duration = Duration::from_secs(10);

/// A running program; dropping it stops it (SIGTERM, then SIGKILL after [`STOP_BOUND`]).
pub struct Background {
    what: String,
    child: Child,
    /// Its stdout and stderr, interleaved as they arrive.
    output: Arc<Mutex<Vec<u8>>>,
    exited: Option<ExitStatus>,
}

impl Background {
    /// Starts `command`, reading its stdout and stderr as it runs (a program that fills a pipe
    /// nobody reads would stop). `what` names it in failures. Fails the test when it cannot
    /// start.
    pub fn start(command: &mut Command, what: &str) -> Background {
        let mut child = crate::spawn_piped(command, what);
        let output = Arc::new(Mutex::new(Vec::new()));
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("piped")),
            Box::new(child.stderr.take().expect("piped")),
        ];
        for mut pipe in pipes {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut chunk = [0; 8192];
                // Ends when the program closes the pipe, at its exit at the latest.
                while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                    lock(&output).extend_from_slice(&chunk[..read]);
                }
            });
        }
        Background {
            what: what.to_owned(),
            child,
            output,
            exited: None,
        }
    }

    /// Everything it wrote so far (lossy UTF-8).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&lock(&self.output)).into_owned()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, once it has ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("waiting for a child");
        }
        self.exited
    }

    /// Waits until its output contains `needle`; `Err` with its output when it exits first or
    /// `bound` passes.
    pub fn wait_for_output(&mut self, needle: &str, bound: Duration) -> Result<Duration, String> {
        self.wait_until(bound, &format!("{needle:?} in its output"), |program| {
            program.output().contains(needle)
        })
    }

    /// Polls `ready` until it holds; `Err` naming `what` and with the program's output when the
    /// program exits first or `bound` passes. Returns how long it took.
    pub fn wait_until(
        &mut self,
        bound: Duration,
        what: &str,
        mut ready: impl FnMut(&mut Background) -> bool,
    ) -> Result<Duration, String> {
        let mut is_ready = false;
        let waited = wait_until(bound, what, || {
            is_ready = ready(self);
            is_ready || self.exit_status().is_some()
        });
        match (waited, self.exit_status()) {
            (Ok(waited), _) if is_ready => Ok(waited),
            (_, Some(status)) => Err(format!(
                "`{}` ended ({status}) before {what}:\n{}",
                self.what,
                self.output()
            )),
            (_, None) => Err(format!(
                "`{}` did not show {what} within {bound:?}:\n{}",
                self.what,
                self.output()
            )),
        }
    }

    /// Sends SIGTERM and waits for the exit, killing it after [`STOP_BOUND`]; returns the exit
    /// status (`None` when it had to be killed) and its output.
    pub fn stop(mut self) -> (Option<ExitStatus>, String) {
        let status = self.terminate();
        (status, self.output())
    }

    fn terminate(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Some(status);
        }
        // `kill` rather than a libc binding: this crate has no dependencies.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_BOUND;
        while Instant::now() < deadline {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Polls `condition` every 20 ms until it holds (`Ok` with how long it took) or `bound` passes
/// (`Err` naming `what`).
pub fn wait_until(
    bound: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        if condition() {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= bound {
            return Err(format!("{what} did not happen within {bound:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lock(output: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    output
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
