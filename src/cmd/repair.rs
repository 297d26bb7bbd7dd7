//! `npy repair FILE...`: make files left by interrupted writers loadable.

use std::path::PathBuf;

use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy repair data.npy
  npy repair --check *.npy || echo 'some files need repair'
  npy repair --zero-fill cut.npy")]
pub struct Args {
    /// Files to repair.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing; exit 1 if any file needs repair, saying what would be done.
    #[arg(long)]
    pub check: bool,
    /// Pad a partial last row with zeros instead of dropping it.
    #[arg(long)]
    pub zero_fill: bool,
}

pub fn run(_args: Args, _g: super::Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("repair: not implemented yet")
}
