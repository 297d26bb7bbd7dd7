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
    use std::io::Write;
    std::io::stdout().write_all(&out)?;
    Ok(Outcome::Done)
}

/// The completion script for `shell`.
pub fn generate(shell: Shell, out: &mut Vec<u8>) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "npy", out);
}

/// The man page, generated from the same definition.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}
