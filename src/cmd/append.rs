//! `npy append TARGET SOURCE...`: grow a .npy file in place, safely.
//!
//! Every source file is checked before anything is written, TARGET is
//! checked again once it is locked, and the bytes go through
//! [`crate::npy::grow::Grower`], which owns the crash-safe write protocol.
//! Consecutive source files are committed together (one header rewrite);
//! each array of a stdin stream is committed as soon as it is whole.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::npy::append::{
    append_raw, append_stream, check_appendable, check_fits, check_raw, lock_target, open_source,
    raw_layout, target_exists, Batch, Named, RawSource, Snapshot, Source, Stream,
};
use crate::npy::grow::{create_empty, discard_created, Grower};
use crate::npy::io::{open_input, resolve_link, Wait};
use crate::npy::pylit::Py;
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Sources are appended in order along TARGET's growth axis (axis 0, or the last
axis for Fortran-ordered files). Their dtype (byte order included) and the
other dimensions must match TARGET exactly; otherwise nothing is written.
A missing TARGET is created from the first source. TARGET's header keeps its
text as written: only the row count changes, and the padding spaces absorb a
longer number. If they cannot (files from numpy < 1.23 or other writers),
TARGET is rewritten with numpy's header into a temporary file beside it and
renamed over it.
A `-` that delivers no array at all is an error (exit 1, TARGET unchanged),
as np.load of an empty stream is. A TARGET created by an append that then
fails is removed again.

Examples:
  npy append data.npy chunk1.npy chunk2.npy
  python make_rows.py | npy append data.npy -
  producer | npy append data.npy --raw --dtype '<f8' --shape 3 -
  for f in part-*.npy; do npy append all.npy \"$f\"; done"
)]
pub struct Args {
    /// The file to grow; created when missing.
    pub target: PathBuf,
    /// Arrays to append, in order; `-` reads a stream of .npy arrays from
    /// stdin (whole arrays are committed as they arrive).
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Sources hold raw row bytes in TARGET's memory order (no .npy header);
    /// only whole rows are appended.
    #[arg(long)]
    pub raw: bool,
    /// With --raw: the rows' dtype as numpy names it (`float64`, `int32`,
    /// `f8`, `d`, `<f8`, `|u1`) or a record descr (`[('x', '<i4')]`).
    /// Required when TARGET does not exist; else checked against TARGET.
    #[arg(long, value_name = "DESCR", requires = "raw")]
    pub dtype: Option<String>,
    /// With --raw: the shape of one row, e.g. `3` or `3,4` (TARGET's dims
    /// other than the growth axis); omit for rows of single values.
    #[arg(
        long,
        value_name = "DIMS",
        requires = "raw",
        allow_hyphen_values = true
    )]
    pub shape: Option<String>,
    /// Fail at once if another process (npy, flock(1), ...) holds the lock
    /// on TARGET, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Skip fsync (still safe against a killed process, not power loss).
    #[arg(long)]
    pub no_sync: bool,
}

fn is_stdin(p: &Path) -> bool {
    p == Path::new("-")
}

fn wait(args: &Args) -> Wait {
    if args.no_wait {
        Wait::NoWait
    } else {
        Wait::Block
    }
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let target = resolve_link(&args.target);
    let tname = args.target.display().to_string();
    if is_stdin(&target) {
        bail!("-: TARGET must be a file (stdin can only be a SOURCE)");
    }
    let n_stdin = args.sources.iter().filter(|p| is_stdin(p)).count();
    if n_stdin > 1 {
        bail!("<stdin>: `-` is given {n_stdin} times, but stdin can be read only once");
    }
    if args.raw {
        return run_raw(&args);
    }
    let sync = !args.no_sync;

    // Every source file is checked before anything is created or written.
    let mut files: Vec<Option<Source>> = Vec::with_capacity(args.sources.len());
    for p in &args.sources {
        files.push(if is_stdin(p) {
            None
        } else {
            Some(open_source(p)?)
        });
    }
    let mut stdin = Stream::new(io::stdin().lock());

    let mut created = false;
    if !target_exists(&target)? {
        let (rname, rhead) = match &files[0] {
            Some(f) => (f.name.clone(), f.scan.header.clone()),
            None => {
                let Some(h) = stdin.next_header()? else {
                    bail!("<stdin>: no array arrived on stdin; {tname} was not created");
                };
                check_appendable(&stdin.label(), &h)?;
                stdin.pending = Some(h.clone());
                ("<stdin>".to_string(), h)
            }
        };
        let reference = Named::of(&rname, &rhead);
        for f in files.iter().flatten() {
            check_fits(&Named::of(&f.name, &f.scan.header), &reference)?;
        }
        created = create_empty(&target, &rhead.layout(), sync)?;
    }
    let result = append_all(&target, &args, &files, &mut stdin, g);
    if result.is_err() && created {
        // A TARGET that did not exist before a failed append does not
        // exist after it.
        discard_created(&target);
    }
    result
}

/// Locks TARGET, checks every source against it again, and appends them in
/// order.
fn append_all(
    target: &Path,
    args: &Args,
    files: &[Option<Source>],
    stdin: &mut Stream<io::StdinLock<'static>>,
    g: super::Global,
) -> Result<Outcome> {
    let tname = args.target.display().to_string();
    let (lock, scan) = lock_target(target, &tname, wait(args))?;
    for f in files.iter().flatten() {
        check_fits(
            &Named::of(&f.name, &f.scan.header),
            &Named::of(&tname, &scan.header),
        )?;
    }
    // Appending TARGET to itself appends what it held when locked.
    let snapshot = Snapshot::of(&lock, &scan)?;
    let mut grower = Grower::new(lock, scan.header, !args.no_sync)?;
    let before = grower.rows();
    let mut i = 0;
    while i < files.len() {
        if files[i].is_none() {
            let arrays = append_stream(&mut grower, stdin, &tname)?;
            if arrays == 0 {
                let unchanged = if grower.rows() == before {
                    format!("{tname} unchanged")
                } else {
                    "the other sources were appended".to_string()
                };
                bail!("<stdin>: no array arrived on stdin; {unchanged}");
            }
            i += 1;
            continue;
        }
        let j = (i..files.len())
            .find(|&k| files[k].is_none())
            .unwrap_or(files.len());
        let batch: Vec<&Source> = files[i..j].iter().flatten().collect();
        append_files(&mut grower, &batch, &snapshot, &tname, g.quiet)?;
        i = j;
    }
    Ok(Outcome::Done)
}

/// Appends source files as one commit.
fn append_files(
    grower: &mut Grower,
    sources: &[&Source],
    snap: &Snapshot,
    tname: &str,
    quiet: bool,
) -> Result<()> {
    let batch = Batch::prepare(grower, sources, snap, tname)?;
    {
        let old = grower
            .header()
            .data_bytes()
            .with_context(|| tname.to_string())?;
        batch.reserve(grower, &mut Progress::bytes(old, quiet, "rewriting header"))?;
    }
    let mut p = Progress::bytes(batch.bytes, quiet, "appending");
    Ok(batch.write(grower, &mut p)?)
}

/// `--dtype`: what `np.dtype()` takes for a plain type (`float64`, `f8`,
/// `<f8`, `d`), or a Python literal for records; gives the descr np.save
/// writes for it.
fn parse_descr(s: &str) -> Result<Py> {
    crate::npy::dtype::parse_user_dtype(s).map_err(|e| anyhow!("--dtype {s}: {e}"))
}

/// `--shape`: `3`, `3,4`, `(3, 4)`, or empty for rows of single values.
fn parse_dims(s: &str) -> Result<Vec<u64>> {
    let t = s.trim().trim_start_matches('(').trim_end_matches(')');
    t.split([',', 'x'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u64>()
                .map_err(|_| anyhow!("--shape {s}: {p:?} is not a dimension (give e.g. 3 or 3,4)"))
        })
        .collect()
}

/// `--raw`: sources are rows of bytes in TARGET's memory order.
fn run_raw(args: &Args) -> Result<Outcome> {
    let target = &resolve_link(&args.target);
    let tname = args.target.display().to_string();
    let sync = !args.no_sync;
    let descr = args.dtype.as_deref().map(parse_descr).transpose()?;
    let dims = args.shape.as_deref().map(parse_dims).transpose()?;

    // Raw files are sized up front: whole rows only, checked before writing.
    // A FIFO or `<(...)` is spooled to a temporary file first (see io).
    let mut files: Vec<Option<RawSource>> = Vec::new();
    for p in &args.sources {
        files.push(if is_stdin(p) {
            None
        } else {
            let name = p.display().to_string();
            let file = open_input(p)?;
            let len = file
                .metadata()
                .with_context(|| format!("{name}: cannot stat"))?
                .len();
            Some(RawSource { name, file, len })
        });
    }

    let mut created = false;
    if !target_exists(target)? {
        let Some(d) = &descr else {
            bail!("{tname}: does not exist; --raw needs --dtype (and --shape for rows of more than one value) to create it");
        };
        let shown = args.shape.as_deref().unwrap_or("");
        let layout = raw_layout(d, dims.as_deref(), shown, &tname)?;
        created = create_empty(target, &layout, sync)?;
    }
    let result = append_raw_all(target, args, &descr, &dims, files);
    if result.is_err() && created {
        // A TARGET that did not exist before a failed append does not
        // exist after it.
        discard_created(target);
    }
    result
}

/// `--raw` once TARGET exists: lock it, check the rows' layout against it,
/// append.
fn append_raw_all(
    target: &Path,
    args: &Args,
    descr: &Option<Py>,
    dims: &Option<Vec<u64>>,
    files: Vec<Option<RawSource>>,
) -> Result<Outcome> {
    let tname = args.target.display().to_string();
    let (lock, scan) = lock_target(target, &tname, wait(args))?;
    let h = scan.header;
    let shown = args.shape.as_deref().unwrap_or("");
    let row = check_raw(&h, &tname, descr.as_ref(), dims.as_deref(), shown, &files)?;
    let mut grower = Grower::new(lock, h, !args.no_sync)?;
    append_raw(&mut grower, files, row, &mut io::stdin().lock())?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_and_descr_parse() {
        assert_eq!(parse_dims("3").unwrap(), vec![3]);
        assert_eq!(parse_dims("(3, 4)").unwrap(), vec![3, 4]);
        assert_eq!(parse_dims("3x4").unwrap(), vec![3, 4]);
        assert!(parse_dims("").unwrap().is_empty());
        assert!(parse_dims("a").is_err());
        assert_eq!(parse_descr("<f8").unwrap(), Py::Str("<f8".into()));
        assert!(parse_descr("[('x', '<i4')]").is_ok());
        assert!(parse_descr("nonsense").is_err());
    }
}
