//! The floor for scenario A: the least a program can do to run a child as acr-health runs it
//! (stdout and stderr read through pipes, exit status awaited) and nothing else. Its time over
//! the child's is the cost of one more process start and exit, which no tool avoids.
//! Built with acr-health by packaging/build-optimized.sh (bench/run.sh runs it), so it is linked
//! as acr-health is; argv: the child's command line.
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        return ExitCode::from(2);
    };
    match Command::new(program).args(args).output() {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
