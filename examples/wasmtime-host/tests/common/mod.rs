//! Running the example as a user does.

use std::process::{Command, Output};

/// The example with `args` and only the variables `env`.
pub fn wasmtime_host(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmtime-host"));
    command.args(args).env_clear();
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the example runs")
}
