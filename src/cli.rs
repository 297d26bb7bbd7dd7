//! The command line: one enum variant per subcommand, each holding the
//! `Args` struct that lives beside its `run` in `src/cmd/<command>.rs`.
//! Help text comes from the doc comments; completions and the man page are
//! generated from this same definition.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Grow, join, inspect, repair, convert, show and compare NumPy .npy files.
///
/// numpy can save an array but cannot append to one. `npy` appends to .npy
/// files in place, joins chunk files without loading them (on one machine or
/// in parts across many), repairs files left behind by interrupted writers,
/// and turns "np.save called many times on one file" into one array. It
/// prints, summarises and compares values as numpy would, and reads and
/// writes .npz archives (`A.npz:NAME` names a member wherever an array is
/// read). It never holds an array in memory.
///
/// Exit status: 0 success, 1 failure (or a --check that found something),
/// 2 usage error. `npy diff` exits 1 when the arrays differ and 2 on trouble,
/// as cmp does.
#[derive(Debug, Parser)]
#[command(name = "npy", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Never show progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what .npy files hold, reading their headers only.
    Inspect(cmd::inspect::Args),
    /// Append arrays to a .npy file in place, along its growth axis.
    Append(cmd::append::Args),
    /// Join .npy files into one, without loading them.
    Concat(cmd::concat::Args),
    /// Make files left behind by interrupted writers loadable again.
    Repair(cmd::repair::Args),
    /// Turn a file holding several np.save arrays back to back into one array.
    ConvertStacked(cmd::convert_stacked::Args),
    /// Print an array, or part of it, exactly as numpy prints it.
    Show(cmd::show::Args),
    /// Write the members of an .npz archive out as .npy files.
    Unzip(cmd::unzip::Args),
    /// Build an .npz archive (as np.savez writes) from .npy files.
    Zip(cmd::zip::Args),
    /// Count, NaN, ±Inf, min, max, mean and std of an array's values.
    Stats(cmd::stats::Args),
    /// Tell whether two .npy files hold equal arrays, and where they differ.
    Diff(cmd::diff::Args),
    /// Print shell completions.
    Completions(cmd::completions::Args),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
