//! The `tuopin` binary: parse arguments, run, print an error once, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    tuopin::main_with_args(std::env::args_os())
}
