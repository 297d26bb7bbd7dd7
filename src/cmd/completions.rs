//! `npy completions SHELL`: completions generated from the clap definition.
//! The copies committed under `completions/` are checked by a test.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy completions bash > /etc/bash_completion.d/npy
  npy completions zsh > \"${fpath[1]}/_npy\"
  npy completions fish > ~/.config/fish/completions/npy.fish")]
pub struct Args {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args, _g: super::Global) -> anyhow::Result<Outcome> {
    let mut out = Vec::new();
    generate(args.shell, &mut out);
    crate::console::print(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Done)
}

/// The completion script for `shell`.
pub fn generate(shell: Shell, out: &mut Vec<u8>) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "npy", out);
}
