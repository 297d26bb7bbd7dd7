//! `npy` as a library: the format module ([`npy`]), the command-line
//! definitions ([`cli`]) and one module per subcommand ([`cmd`]).
//!
//! [`main_entry`] parses the arguments, runs the command and turns the
//! outcome into an exit code: 0 success, 1 failure or a `--check` that found
//! something, 2 usage error. Errors are printed once, here, as
//! `npy: <file>: <what is wrong>`.

pub mod cli;
pub mod cmd;
pub mod npy;
pub mod progress;

use std::process::ExitCode;

use clap::Parser;

/// What a command reports when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything went as asked.
    Done,
    /// The command ran, but found problems it already reported (a `--check`
    /// that found something, one bad file among several): exit 1.
    Problems,
    /// Trouble (a file could not be read), already reported, for commands
    /// that keep exit 1 for a negative answer (`diff`, as `cmp`): exit 2.
    Trouble,
}

pub fn main_entry() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Ok(Outcome::Trouble) => ExitCode::from(2),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(1)
        }
    }
}

/// Prints an error the one way every command does.
pub fn report(e: &anyhow::Error) {
    eprintln!("npy: {e:#}");
}

/// A closed pipe on stdout (`npy inspect *.npy | head`) is not an error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
