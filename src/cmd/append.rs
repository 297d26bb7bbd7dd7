//! `npy append TARGET SOURCE...`: grow a .npy file in place.

use std::path::PathBuf;

use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy append data.npy chunk1.npy chunk2.npy
  python make_rows.py | npy append data.npy -
  producer | npy append data.npy --raw --dtype '<f8' --shape 3 -")]
pub struct Args {
    /// The file to grow; created when missing.
    pub target: PathBuf,
    /// Arrays to append, in order; `-` reads .npy arrays from stdin.
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Fail at once if another process holds the lock, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Skip fsync (still safe against a killed process, not power loss).
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(_args: Args, _g: super::Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("append: not implemented yet")
}
