//! The `tuopin` binary: parse arguments, run, print an error once, exit with its code.

use std::process::ExitCode;

// Assessment allocates small strings for every household's reasons, on two threads; glibc's
// malloc spent about a third of the run time in a profile (malloc/free/consolidate). mimalloc's
// thread-local free lists take most of that away.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tuopin::main_with_args(std::env::args_os())
}
