//! `npy concat -o OUTPUT INPUT...`: join .npy files without loading them.

use std::path::PathBuf;

use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy concat -o all.npy chunk_*.npy
  npy concat -o wide.npy --axis 1 left.npy right.npy
  find out/ -name 'chunk_*.npy' | npy concat -o all.npy --sort natural --files-from -")]
pub struct Args {
    /// The file to write (`-` for stdout).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Files to join, in order.
    pub inputs: Vec<PathBuf>,
    /// Axis to join along; negative counts from the end.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub axis: i64,
    /// Read input paths from FILE, one per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Replace OUTPUT if it exists.
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(_args: Args, _g: super::Global) -> anyhow::Result<Outcome> {
    anyhow::bail!("concat: not implemented yet")
}
