//! `npy repair [--check] [--zero-fill] [--like REF.npy] FILE...`: make files
//! left by interrupted writers loadable again, keeping every whole row on
//! disk, from headers and sizes alone (a terabyte file repairs as fast as a
//! kilobyte one unless its header must grow).
//!
//! The plan comes from `npy::repair`; here it is carried out under the lock
//! `npy append` takes, re-planned after locking, in the order that keeps a
//! crash repairable: file length first (truncate or zero-extend, synced),
//! header last (rewritten in place, synced). A header that no longer fits is
//! written with the data into a new file beside the old one and renamed
//! over it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::npy::io::{copy_range, header_patch, lock_existing, lock_shared, Locked, NewFile, Wait};
use crate::npy::repair::{plan, Plan, Reference, Verdict};
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
        Some(p) => Some(Reference::open(p).map_err(anyhow::Error::new)?),
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
            Err(e) => {
                problems = true;
                crate::report(&e.context(name));
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
    let file = open_shared(path)?;
    Ok(match plan(&file, args.zero_fill, like)? {
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

fn open_shared(path: &Path) -> Result<File> {
    if path == Path::new("-") {
        anyhow::bail!("a stream cannot be repaired in place: give the file's path");
    }
    // Checked before opening: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(path).context("cannot open")?;
    if meta.is_dir() {
        anyhow::bail!("is a directory");
    }
    if !meta.is_file() {
        anyhow::bail!("not a regular file; nothing changed");
    }
    lock_shared(path).context("cannot open")
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
    if let Verdict::Fine = plan(&open_shared(path)?, args.zero_fill, like)? {
        return Ok(("ok, nothing to do".into(), false));
    }
    // The same exclusive lock `npy append` takes; then look again, since an
    // append may have finished (or a rewrite replaced the file) meanwhile.
    // (`lock_existing` names the file; `run` adds the name once.)
    let locked = lock_existing(path, Wait::Block)
        .map_err(|e| anyhow::anyhow!("cannot open for writing: {}", e.root_cause()))?;
    let p = match plan(&locked.file, args.zero_fill, like)? {
        Verdict::Fine => return Ok(("ok, nothing to do".into(), false)),
        Verdict::Repair(p) => p,
    };
    apply(path, &locked, &p, g)?;
    Ok((p.describe(true).join("; "), false))
}

/// Carries out a plan on the locked `file`.
fn apply(path: &Path, locked: &Locked, p: &Plan, g: super::Global) -> Result<()> {
    let file = &locked.file;
    let new_data = p.new_data_len();
    let header = if p.header_changes() {
        let Some(h) = p.header_in_place() else {
            return rewrite(path, locked, p, g);
        };
        let mut old = vec![0u8; h.len()];
        file.read_exact_at(&mut old, 0)
            .context("cannot read the header")?;
        // Only the bytes that change, and only within one page, so a kill
        // leaves the old header or the new one, never a mix.
        match header_patch(&old, &h) {
            Some((off, bytes)) => Some((off, bytes.to_vec())),
            None => return rewrite(path, locked, p, g),
        }
    } else {
        None
    };
    // Length first: a crash after it leaves a header behind or ahead of
    // whole rows, which a second repair fixes.
    let new_len = p.header_len + new_data;
    if new_len != p.file_len {
        file.set_len(new_len)
            .context("cannot change the file's length")?;
        file.sync_all().context("cannot sync")?;
    }
    if let Some((off, bytes)) = header {
        file.write_all_at(&bytes, off)
            .context("cannot write the header")?;
        file.sync_all().context("cannot sync")?;
    }
    Ok(())
}

/// Writes a fresh numpy header and the whole rows into a new file beside
/// `path` and renames it over `path`, keeping the permissions.
fn rewrite(path: &Path, locked: &Locked, p: &Plan, g: super::Global) -> Result<()> {
    let file = &locked.file;
    // `beside` follows a symlink: what it points to is replaced.
    let nf = NewFile::replacing(path, file)?;
    let header = p.layout.to_npy_header();
    let hl = header.len() as u64;
    nf.file()
        .write_all_at(&header, 0)
        .context("cannot write the new file")?;
    let new_data = p.new_data_len();
    let copy = new_data.min(p.data_len());
    let mut bar = Progress::bytes(copy, g.quiet, "repair");
    copy_range(file, p.header_len, nf.file(), hl, copy, &mut |n| bar.set(n))
        .context("cannot copy the data")?;
    bar.finish();
    // Zero-fill: the missing bytes of the last row.
    nf.file()
        .set_len(hl + new_data)
        .context("cannot size the new file")?;
    // Renamed over the file we hold locked, after checking the path still
    // names it.
    nf.commit_over(locked, true)
}
