//! `npy repair [--check] [--zero-fill] [--like REF.npy] FILE...`: make files
//! left by interrupted writers loadable again, keeping every whole row on
//! disk, from headers and sizes alone (a terabyte file repairs as fast as a
//! kilobyte one unless its header must grow).
//!
//! `npy::repair` plans the repair and carries it out under the lock
//! `npy append` takes, in the order that keeps a crash repairable; here are
//! the arguments and the words.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::npy::repair::{self, Reference, Verdict};
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "What it repairs (reading headers and sizes only, never the data):
  - a header behind its data (a writer died before updating it): the shape grows
    to the whole rows present;
  - a header ahead of its data (a copy cut short): the shape shrinks;
  - a partial last row: dropped (the output says how many bytes), or with
    --zero-fill completed with zeros so no byte is lost;
  - a shape left as a run of `*` by a writer that fills it in when it finishes
    (npyz writing an array of unknown length);
  - with --like, a .npy file whose header was lost: the \\x93NUMPY magic is there
    but the header cannot be read, or the file is empty, or zeros stand where
    the header should be. Any other file (a text file, a .npy whose header is
    whole but holds a dtype npy does not know) is refused and left untouched.
A file holding several arrays back to back is refused (use `npy convert-stacked`),
as is a file of pickled objects. A \"row\" is one step along the growth axis: the
first axis in C order, the last in Fortran order.

Examples:
  npy repair data.npy
  npy repair --check *.npy || echo 'some files need repair'
  npy repair --zero-fill cut.npy
  npy repair --like chunk_000.npy chunk_001.npy"
)]
pub struct Args {
    /// Files to repair.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing; say what would be done and exit 1 if any file needs repair.
    #[arg(long)]
    pub check: bool,
    /// Complete a partial last row with zero bytes instead of dropping it.
    #[arg(long)]
    pub zero_fill: bool,
    /// For .npy files whose header was lost (see below): assume the dtype,
    /// order, trailing dims and header length of this file (a sibling
    /// written the same way).
    #[arg(long, value_name = "REF.npy")]
    pub like: Option<PathBuf>,
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let like = match &args.like {
        Some(p) => Some(Reference::open(p)?),
        None => None,
    };
    let mut problems = false;
    // A report that cannot be printed does not stop the repairs (a reader
    // that went away is not even an error, see `console`); any other
    // failure to print is reported once every file has been handled.
    let mut unprinted: Option<anyhow::Error> = None;
    for path in &args.files {
        let name = path.display().to_string();
        let res = if args.check {
            check_one(path, &args, like.as_ref())
        } else {
            repair_one(path, &args, like.as_ref(), g)
        };
        match res {
            Ok((line, needs)) => {
                problems |= needs;
                if unprinted.is_none() {
                    unprinted = crate::console::print(&format!("{name}: {line}\n")).err();
                }
            }
            // The core's errors name the file.
            Err(e) => {
                problems = true;
                crate::report(&e);
            }
        }
    }
    if let Some(e) = unprinted {
        anyhow::bail!(
            "{}; every file was handled, but what was done is not printed",
            crate::console::error_line(&e)
        );
    }
    Ok(if problems {
        Outcome::Problems
    } else {
        Outcome::Done
    })
}

/// What `--check` says about one file, and whether it needs repair.
fn check_one(path: &Path, args: &Args, like: Option<&Reference>) -> Result<(String, bool)> {
    Ok(match repair::look(path, args.zero_fill, like)? {
        Verdict::Fine => ("ok, nothing to do".into(), false),
        Verdict::Repair(p) => (
            format!(
                "needs repair: {}; run `npy repair{} {}`",
                p.describe(false).join("; "),
                if args.zero_fill { " --zero-fill" } else { "" },
                path.display()
            ),
            true,
        ),
    })
}

/// Repairs one file; the line to print (the bool is always false: a repaired
/// file is a success).
fn repair_one(
    path: &Path,
    args: &Args,
    like: Option<&Reference>,
    g: super::Global,
) -> Result<(String, bool)> {
    // A first look without write access, so a file that needs nothing is
    // never opened for writing (read-only files, mtimes, no lock contention).
    if let Verdict::Fine = repair::look(path, args.zero_fill, like)? {
        return Ok(("ok, nothing to do".into(), false));
    }
    // Under the lock `npy append` takes, looked at again.
    let Some((locked, p)) = repair::lock_and_diagnose(path, args.zero_fill, like)? else {
        return Ok(("ok, nothing to do".into(), false));
    };
    let mut bar = Progress::bytes(p.copy_len(), g.quiet, "repair");
    repair::apply(&locked, &p, &mut bar)?;
    bar.finish();
    Ok((p.describe(true).join("; "), false))
}
