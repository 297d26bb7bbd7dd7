//! One module per subcommand. Each holds its `Args` (flags and help) and a
//! `run` that does the work through the shared `npy` module.

pub mod append;
pub mod completions;
pub mod concat;
pub mod convert_stacked;
pub mod diff;
pub mod inspect;
pub mod repair;
pub mod show;
pub mod stats;
pub mod unzip;
pub mod zip;

use crate::cli::{Cli, Command};
use crate::Outcome;

/// Options every command shares.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub quiet: bool,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let g = Global { quiet: cli.quiet };
    match cli.command {
        Command::Inspect(a) => inspect::run(a, g),
        Command::Append(a) => append::run(a, g),
        Command::Concat(a) => concat::run(a, g),
        Command::Repair(a) => repair::run(a, g),
        Command::ConvertStacked(a) => convert_stacked::run(a, g),
        Command::Show(a) => show::run(a, g),
        Command::Stats(a) => stats::run(a, g),
        Command::Diff(a) => diff::run(a, g),
        Command::Completions(a) => completions::run(a, g),
        Command::Unzip(a) => unzip::run(a, g),
        Command::Zip(a) => zip::run(a, g),
    }
}
