//! `npy convert-stacked INPUT -o OUTPUT`: several arrays back to back into one.

use std::path::PathBuf;

use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy convert-stacked log.npy -o log_joined.npy
  npy convert-stacked --in-place log.npy
  npy convert-stacked --stack frames.npy -o frames_3d.npy")]
pub struct Args {
    /// The file holding several arrays back to back.
    pub input: PathBuf,
    /// Where to write the joined array.
    #[arg(
        short,
        long,
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    pub output: Option<PathBuf>,
    /// Replace INPUT with the joined array (temporary file + rename).
    #[arg(long)]
    pub in_place: bool,
    /// Join like np.concatenate(..., axis=N) instead of np.vstack.
    #[arg(long, allow_negative_numbers = true, conflicts_with = "stack")]
    pub axis: Option<i64>,
    /// Join like np.stack: a new leading axis.
    #[arg(long)]
    pub stack: bool,
}

pub fn run(_args: Args, _g: super::Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("convert-stacked: not implemented yet")
}
