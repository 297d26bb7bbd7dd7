//! `npy` as a library: the format module ([`npy`]), the command-line
//! definitions ([`cli`]) and one module per subcommand ([`cmd`]).
//!
//! [`main_entry`] parses the arguments, runs the command and turns the
//! outcome into an exit code: 0 success, 1 failure or a `--check` that found
//! something, 2 usage error. Errors are printed once, here, as
//! `npy: <file>: <what is wrong>`, through [`console`], the one path to
//! stdout and stderr.

pub mod cli;
pub mod cmd;
pub mod console;
pub mod npy;
pub mod progress;

use std::process::ExitCode;

use clap::Parser as _;

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
    console::init();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout: a closed one is an error there
            // too, not a silent exit 0 (clap ignores the failed write).
            if !e.use_stderr() {
                if let Err(closed) = console::stdout_usable() {
                    report(&closed);
                    return ExitCode::from(1);
                }
            }
            e.exit()
        }
    };
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

/// Prints an error the one way every command does (IO errors in words,
/// without Rust's "(os error N)"; never a panic when stderr is closed).
pub fn report(e: &anyhow::Error) {
    console::eprint(&format!("npy: {}\n", console::error_line(e)));
}

/// A closed pipe on stdout (`npy inspect *.npy | head`) is not an error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
