//! `npy append TARGET SOURCE...`: grow a .npy file in place, safely.
//!
//! Every source file is checked before anything is written, TARGET is
//! checked again once it is locked, and the bytes go through
//! [`crate::npy::grow::Grower`], which owns the crash-safe write protocol.
//! Consecutive source files are committed together (one header rewrite);
//! each array of a stdin stream is committed as soon as it is whole.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::npy::grow::{create_empty, discard_created, Grower};
use crate::npy::header::{growth_axis, read_header, shape_repr, Header, Layout};
use crate::npy::io::{file_id, lock_existing, open_input, resolve_link, Locked, Wait};
use crate::npy::pylit::Py;
use crate::npy::scan::{advice, scan_file, scan_settled, Scan, Use};
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Sources are appended in order along TARGET's growth axis (axis 0, or the last
axis for Fortran-ordered files). Their dtype (byte order included) and the
other dimensions must match TARGET exactly; otherwise nothing is written.
A missing TARGET is created from the first source. If TARGET's header has no
room for the new shape (files from numpy < 1.23 or other writers), TARGET is
rewritten into a temporary file beside it and renamed over it.
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

/// What a source or target looks like, with the name messages use.
struct Named<'a> {
    name: &'a str,
    descr: &'a Py,
    fortran: bool,
    shape: &'a [u64],
}

impl<'a> Named<'a> {
    fn of(name: &'a str, h: &'a Header) -> Named<'a> {
        Named {
            name,
            descr: &h.descr,
            fortran: h.fortran_order,
            shape: &h.shape,
        }
    }
}

/// A source file, opened and checked.
struct SrcFile {
    name: String,
    file: File,
    scan: Scan,
}

fn is_stdin(p: &Path) -> bool {
    p == Path::new("-")
}

fn order_name(fortran: bool) -> &'static str {
    if fortran {
        "Fortran-ordered (grows along its last axis)"
    } else {
        "C-ordered (grows along axis 0)"
    }
}

/// Checks that `src` can be appended to `tgt`; returns its rows along
/// `tgt`'s growth axis.
fn check_fits(src: &Named, tgt: &Named) -> Result<u64> {
    if !crate::npy::dtype::same_descr(src.descr, tgt.descr) {
        bail!(
            "{}: dtype {} differs from {}'s {}",
            src.name,
            src.descr.repr(),
            tgt.name,
            tgt.descr.repr()
        );
    }
    if src.shape.len() != tgt.shape.len() {
        bail!(
            "{}: has {} dimensions (shape {}), {} has {} (shape {})",
            src.name,
            src.shape.len(),
            shape_repr(src.shape),
            tgt.name,
            tgt.shape.len(),
            shape_repr(tgt.shape)
        );
    }
    let ax = growth_axis(tgt.fortran, tgt.shape)
        .ok_or_else(|| anyhow!("{}: is a 0-d array; it has no axis to grow along", tgt.name))?;
    // An array with at most one dimension longer than 1 (or no elements) has
    // the same bytes in C and Fortran order; numpy saves such arrays as C
    // order even when they came from a Fortran array.
    let same_bytes_either_order =
        src.shape.iter().filter(|&&d| d != 1).count() <= 1 || src.shape.contains(&0);
    if src.fortran != tgt.fortran && !same_bytes_either_order {
        bail!(
            "{}: is {}, but {} is {}",
            src.name,
            order_name(src.fortran),
            tgt.name,
            order_name(tgt.fortran)
        );
    }
    let others = |s: &[u64]| -> Vec<u64> {
        s.iter()
            .enumerate()
            .filter(|&(i, _)| i != ax)
            .map(|(_, &d)| d)
            .collect()
    };
    if others(src.shape) != others(tgt.shape) {
        let want: Vec<String> = tgt
            .shape
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if i == ax {
                    "N".to_string()
                } else {
                    d.to_string()
                }
            })
            .collect();
        bail!(
            "{}: shape {} does not match {}'s {}: only axis {} may differ (expected ({}))",
            src.name,
            shape_repr(src.shape),
            tgt.name,
            shape_repr(tgt.shape),
            ax,
            want.join(", ")
        );
    }
    Ok(src.shape[ax])
}

/// Refuses arrays that can never be appended: objects and 0-d arrays.
fn check_appendable(name: &str, h: &Header) -> Result<()> {
    if h.dtype.has_object() {
        bail!(
            "{name}: holds Python objects (dtype {}); pickled data is never appended",
            h.descr.repr()
        );
    }
    if h.shape.is_empty() {
        bail!("{name}: is a 0-d array (shape ()); it has no axis to append along");
    }
    Ok(())
}

fn open_source(path: &Path) -> Result<SrcFile> {
    let name = path.display().to_string();
    // A FIFO or `<(...)` is spooled to a temporary file (see io).
    let file = open_input(path)?;
    let scan = scan_settled(&file).with_context(|| name.clone())?;
    if let Some(why) = advice(&name, &scan, Use::AppendSource) {
        bail!("{name}: {why}");
    }
    check_appendable(&name, &scan.header)?;
    Ok(SrcFile { name, file, scan })
}

/// Refuses a TARGET that is not exactly one consistent array.
fn check_target(name: &str, scan: &Scan) -> Result<()> {
    if let Some(why) = advice(name, scan, Use::AppendTarget) {
        bail!("{name}: {why}");
    }
    check_appendable(name, &scan.header)
}

fn target_exists(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("{}: cannot stat", path.display())),
    }
}

fn lock_target(target: &Path, args: &Args) -> Result<(Locked, Scan)> {
    let wait = if args.no_wait {
        Wait::NoWait
    } else {
        Wait::Block
    };
    let name = args.target.display().to_string();
    let lock = lock_existing(target, wait)?;
    let scan = scan_file(&lock.file).with_context(|| name.clone())?;
    check_target(&name, &scan)?;
    Ok((lock, scan))
}

/// The stdin stream of `.npy` arrays.
struct Stdin {
    reader: BufReader<io::StdinLock<'static>>,
    /// Arrays read so far.
    index: u64,
    /// Bytes consumed so far.
    offset: u64,
    /// A header already read (to create TARGET from it).
    pending: Option<Header>,
}

impl Stdin {
    fn label(&self) -> String {
        format!(
            "<stdin>: array {} at byte offset {}",
            self.index, self.offset
        )
    }

    fn committed_note(&self) -> String {
        match self.index {
            0 => String::new(),
            1 => " (the array before it was appended)".to_string(),
            n => format!(" (the {n} arrays before it were appended)"),
        }
    }

    fn next_header(&mut self) -> Result<Option<Header>> {
        if let Some(h) = self.pending.take() {
            return Ok(Some(h));
        }
        match read_header(&mut self.reader) {
            Ok(h) => Ok(h),
            Err(e) => Err(anyhow!(
                "{}: {e}; it was not appended{}",
                self.label(),
                self.committed_note()
            )),
        }
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
    let mut files: Vec<Option<SrcFile>> = Vec::with_capacity(args.sources.len());
    for p in &args.sources {
        files.push(if is_stdin(p) {
            None
        } else {
            Some(open_source(p)?)
        });
    }
    let mut stdin = Stdin {
        reader: BufReader::with_capacity(1 << 20, io::stdin().lock()),
        index: 0,
        offset: 0,
        pending: None,
    };

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
    files: &[Option<SrcFile>],
    stdin: &mut Stdin,
    g: super::Global,
) -> Result<Outcome> {
    let tname = args.target.display().to_string();
    let (lock, scan) = lock_target(target, args)?;
    for f in files.iter().flatten() {
        check_fits(
            &Named::of(&f.name, &f.scan.header),
            &Named::of(&tname, &scan.header),
        )?;
    }
    // Appending TARGET to itself appends what it held when locked.
    let snapshot = Snapshot {
        id: file_id(&lock.file)?,
        file: lock.file.try_clone()?,
        offset: scan.header.header_len,
        rows: scan.rows_declared().unwrap_or(0),
        bytes: scan.expected_bytes,
    };
    let mut grower = Grower::new(lock, scan.header, !args.no_sync)?;
    let before = grower.rows();
    let mut i = 0;
    while i < files.len() {
        if files[i].is_none() {
            let arrays = append_stdin(&mut grower, stdin, &tname)?;
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
        let batch: Vec<&SrcFile> = files[i..j].iter().flatten().collect();
        append_files(&mut grower, &batch, &snapshot, &tname, g.quiet)?;
        i = j;
    }
    Ok(Outcome::Done)
}

/// TARGET as it was when locked, for appending it to itself.
struct Snapshot {
    id: (u64, u64),
    file: File,
    offset: u64,
    rows: u64,
    bytes: u64,
}

/// Appends source files as one commit.
fn append_files(
    grower: &mut Grower,
    batch: &[&SrcFile],
    snap: &Snapshot,
    tname: &str,
    quiet: bool,
) -> Result<()> {
    let mut plan: Vec<(&File, u64, u64)> = Vec::with_capacity(batch.len());
    let mut rows = 0u64;
    let mut bytes = 0u64;
    for f in batch {
        let (file, off, r, b) = if file_id(&f.file)? == snap.id {
            (&snap.file, snap.offset, snap.rows, snap.bytes)
        } else {
            let h = &f.scan.header;
            let r = check_fits(&Named::of(&f.name, h), &Named::of(tname, grower.header()))?;
            (&f.file, h.header_len, r, f.scan.expected_bytes)
        };
        rows = rows
            .checked_add(r)
            .ok_or_else(|| anyhow!("{tname}: the row count would overflow"))?;
        bytes = bytes.saturating_add(b);
        plan.push((file, off, b));
    }
    {
        let old = grower
            .header()
            .data_bytes()
            .with_context(|| tname.to_string())?;
        let mut p = Progress::bytes(old, quiet, "rewriting header");
        grower.reserve(Some(rows), &mut |n| p.set(n))?;
    }
    let mut p = Progress::bytes(bytes, quiet, "appending");
    let mut done = 0u64;
    for (file, off, len) in plan {
        grower.append_range(file, off, len, &mut |n| p.set(done + n))?;
        done += len;
    }
    grower.commit(rows)
}

/// When to commit during a stream: whenever the producer pauses (nothing
/// more is waiting on stdin), and at least every second or 256 MiB while it
/// keeps writing, so that a fast stream of small arrays does not pay two
/// fsyncs per array, and a slow one's rows show up as they come.
struct Pace {
    last: Instant,
}

impl Pace {
    const EVERY: Duration = Duration::from_secs(1);
    const BYTES: u64 = 256 << 20;

    fn due(&self, pending: u64, more_waiting: bool) -> bool {
        !more_waiting || pending >= Self::BYTES || self.last.elapsed() >= Self::EVERY
    }
}

/// Whether stdin has bytes (or its end) ready to read right now.
fn stdin_ready() -> bool {
    let mut fds = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack, zero timeout.
    let n = unsafe { libc::poll(&mut fds, 1, 0) };
    n != 0
}

/// Appends each whole array of a `.npy` stream. Whole arrays are committed
/// as the stream goes (see [`Pace`]), and all of them before any error.
/// Returns how many arrays the stream held.
fn append_stdin(grower: &mut Grower, stdin: &mut Stdin, tname: &str) -> Result<u64> {
    let mut pending_rows = 0u64;
    let mut pace = Pace {
        last: Instant::now(),
    };
    loop {
        match stdin_step(grower, stdin, tname, &mut pending_rows, &mut pace) {
            Ok(true) => {}
            Ok(false) => return grower.commit(pending_rows).map(|()| stdin.index),
            Err(e) => {
                // Keep the whole arrays that arrived; drop the broken one.
                let whole = pending_rows * grower.row_bytes();
                let _ = grower
                    .truncate_pending(whole)
                    .and_then(|()| grower.commit(pending_rows));
                return Err(e);
            }
        }
    }
}

/// Reads and writes one array; `Ok(false)` at the end of the stream.
fn stdin_step(
    grower: &mut Grower,
    stdin: &mut Stdin,
    tname: &str,
    pending_rows: &mut u64,
    pace: &mut Pace,
) -> Result<bool> {
    let Some(h) = stdin.next_header()? else {
        return Ok(false);
    };
    let label = stdin.label();
    check_appendable(&label, &h)?;
    let rows = check_fits(&Named::of(&label, &h), &Named::of(tname, grower.header()))?;
    let len = h.data_bytes().with_context(|| label.clone())?;
    let overflow = || anyhow!("{tname}: the row count would overflow");
    if *pending_rows > 0
        && !grower.fits_in_place(pending_rows.checked_add(rows).ok_or_else(overflow)?)
    {
        grower.commit(*pending_rows)?;
        *pending_rows = 0;
    }
    grower.reserve(
        Some(pending_rows.checked_add(rows).ok_or_else(overflow)?),
        &mut |_| {},
    )?;
    let got = grower.append_stream(&mut stdin.reader, len, &mut |_| {})?;
    if got < len {
        bail!(
            "{label} is truncated: only {got} of its {len} data bytes arrived; it was not appended{}",
            stdin.committed_note()
        );
    }
    *pending_rows += rows;
    stdin.index += 1;
    stdin.offset += h.header_len + len;
    let more = !stdin.reader.buffer().is_empty() || stdin_ready();
    if pace.due(grower.pending(), more) {
        grower.commit(*pending_rows)?;
        *pending_rows = 0;
        pace.last = Instant::now();
    }
    Ok(true)
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
    let mut files: Vec<Option<(String, File, u64)>> = Vec::new();
    for p in &args.sources {
        files.push(if is_stdin(p) {
            None
        } else {
            let name = p.display().to_string();
            let f = open_input(p)?;
            let len = f
                .metadata()
                .with_context(|| format!("{name}: cannot stat"))?
                .len();
            Some((name, f, len))
        });
    }

    let mut created = false;
    if !target_exists(target)? {
        let Some(d) = &descr else {
            bail!("{tname}: does not exist; --raw needs --dtype (and --shape for rows of more than one value) to create it");
        };
        let mut shape = vec![0u64];
        shape.extend(dims.clone().unwrap_or_default());
        let layout = Layout::new(d.clone(), false, shape).with_context(|| tname.clone())?;
        if layout.dtype.has_object() {
            bail!("--dtype {}: Python objects cannot be appended", d.repr());
        }
        // Everything that can refuse the rows is checked before TARGET is
        // created.
        let shown = args.shape.as_deref().unwrap_or("");
        crate::npy::limits::check_result(&layout)
            .map_err(|e| anyhow!("--shape {shown}: {e}; {tname} was not created"))?;
        match layout.row_bytes() {
            Ok(0) => bail!(
                "--shape {shown}: rows of that shape hold 0 bytes, so raw bytes cannot say how \
                 many to append; {tname} was not created"
            ),
            Ok(_) => {}
            Err(e) => bail!("--shape {shown}: {e}; {tname} was not created"),
        }
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
    files: Vec<Option<(String, File, u64)>>,
) -> Result<Outcome> {
    let tname = args.target.display().to_string();
    let (lock, scan) = lock_target(target, args)?;
    let h = scan.header.clone();
    if let Some(d) = descr {
        if !crate::npy::dtype::same_descr(d, &h.descr) {
            bail!(
                "--dtype {}: differs from {tname}'s {}",
                d.repr(),
                h.descr.repr()
            );
        }
    }
    let ax = h.growth_axis().expect("checked: not 0-d");
    let row_shape: Vec<u64> = h
        .shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != ax)
        .map(|(_, &d)| d)
        .collect();
    if let Some(d) = dims {
        if *d != row_shape {
            bail!(
                "--shape {}: {tname}'s rows have shape {}",
                args.shape.as_deref().unwrap_or(""),
                shape_repr(&row_shape)
            );
        }
    }
    let row = h.row_bytes().with_context(|| tname.clone())?;
    if row == 0 {
        bail!("{tname}: its rows hold 0 bytes, so raw bytes cannot say how many to append");
    }
    for (name, _, len) in files.iter().flatten() {
        if len % row != 0 {
            bail!(
                "{name}: holds {len} bytes, not a whole number of {row}-byte rows ({} rows and {} bytes); nothing appended",
                len / row,
                len % row
            );
        }
    }

    let mut grower = Grower::new(lock, h, !args.no_sync)?;
    append_raw(&mut grower, files, row).map(|()| Outcome::Done)
}

/// Appends raw rows from files and stdin, committing whole rows.
fn append_raw(
    grower: &mut Grower,
    files: Vec<Option<(String, File, u64)>>,
    row: u64,
) -> Result<()> {
    grower.reserve(None, &mut |_| {})?;
    for src in files {
        match src {
            Some((name, mut f, len)) => {
                let got = copy_raw(grower, &mut f, false).with_context(|| name.clone())?;
                if got != len {
                    grower.truncate_pending(0)?;
                    bail!("{name}: changed size while being read; nothing appended from it");
                }
                grower.commit(len / row)?;
            }
            None => {
                let mut r = io::stdin().lock();
                let got = copy_raw(grower, &mut r, true).context("<stdin>")?;
                let (whole, part) = (got / row, got % row);
                let left = grower.pending() / row;
                grower.truncate_pending(left * row)?;
                grower.commit(left)?;
                if part != 0 {
                    bail!(
                        "<stdin>: ended inside a row: the last {part} bytes (a row is {row} bytes) were not appended; \
                         {}",
                        match whole {
                            0 => "no whole row came before them".to_string(),
                            1 => "the whole row before them was appended".to_string(),
                            n => format!("the {n} whole rows before them were appended"),
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

/// Copies a raw stream to the end of the target; returns the bytes copied.
/// With `paced` (stdin), whole rows are committed as they come (see
/// [`Pace`]); bytes of a row still arriving stay pending.
fn copy_raw(grower: &mut Grower, r: &mut dyn Read, paced: bool) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let mut pace = Pace {
        last: Instant::now(),
    };
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        grower.append_bytes(&buf[..n])?;
        total += n as u64;
        if paced && pace.due(grower.pending(), stdin_ready()) {
            let whole = grower.pending() / grower.row_bytes();
            if whole > 0 {
                grower.commit(whole)?;
            }
            pace.last = Instant::now();
        }
    }
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

    #[test]
    fn fits_messages() {
        let f4 = Py::Str("<f4".into());
        let f4be = Py::Str(">f4".into());
        let t = Named {
            name: "out.npy",
            descr: &f4,
            fortran: false,
            shape: &[5, 3],
        };
        let s = Named {
            name: "chunk7.npy",
            descr: &f4be,
            fortran: false,
            shape: &[2, 3],
        };
        let e = check_fits(&s, &t).unwrap_err().to_string();
        assert_eq!(e, "chunk7.npy: dtype '>f4' differs from out.npy's '<f4'");
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran: false,
            shape: &[2, 4],
        };
        assert!(check_fits(&s, &t)
            .unwrap_err()
            .to_string()
            .contains("expected (N, 3)"));
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran: false,
            shape: &[2, 3],
        };
        assert_eq!(check_fits(&s, &t).unwrap(), 2);
        // A one-column C-flagged piece of a Fortran array appends as Fortran.
        let tf = Named {
            name: "f.npy",
            descr: &f4,
            fortran: true,
            shape: &[3, 5],
        };
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran: false,
            shape: &[3, 1],
        };
        assert_eq!(check_fits(&s, &tf).unwrap(), 1);
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran: false,
            shape: &[3, 2],
        };
        assert!(check_fits(&s, &tf)
            .unwrap_err()
            .to_string()
            .contains("C-ordered"));
    }
}
