//! The `npy append` protocol over [`Grower`] (which owns the crash-safe
//! writes): which arrays fit a target and which can never be appended, a
//! target appended to itself (as it was when locked), a `.npy` stream
//! committed as whole arrays arrive (paced, and rolled back to the last
//! whole array on error), and raw rows (whole rows only).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::{Error, IoResultExt, Result, ResultExt};

use super::grow::Grower;
use super::header::{growth_axis, read_header, shape_repr, Header, Layout};
use super::io::{file_id, lock_existing, open_input, Locked, Wait};
use super::pylit::Py;
use super::scan::{advice, scan_file, scan_settled, Scan, Use};
use super::Progress;

/// What a source or target looks like, with the name messages use.
pub struct Named<'a> {
    pub name: &'a str,
    pub descr: &'a Py,
    pub fortran_order: bool,
    pub shape: &'a [u64],
}

impl<'a> Named<'a> {
    pub fn of(name: &'a str, h: &'a Header) -> Named<'a> {
        Named {
            name,
            descr: &h.descr,
            fortran_order: h.fortran_order,
            shape: &h.shape,
        }
    }
}

/// A source file, opened and checked.
pub struct Source {
    pub name: String,
    pub file: File,
    pub scan: Scan,
}

fn order_name(fortran_order: bool) -> &'static str {
    if fortran_order {
        "Fortran-ordered (grows along its last axis)"
    } else {
        "C-ordered (grows along axis 0)"
    }
}

/// Checks that `src` can be appended to `tgt`; returns its rows along
/// `tgt`'s growth axis.
pub fn check_fits(src: &Named, tgt: &Named) -> Result<u64> {
    if !crate::npy::dtype::same_descr(src.descr, tgt.descr) {
        return Err(Error::invalid(format!(
            "dtype {} differs from {}'s {}",
            src.descr.repr(),
            tgt.name,
            tgt.descr.repr()
        ))
        .at(src.name));
    }
    if src.shape.len() != tgt.shape.len() {
        return Err(Error::invalid(format!(
            "has {} dimensions (shape {}), {} has {} (shape {})",
            src.shape.len(),
            shape_repr(src.shape),
            tgt.name,
            tgt.shape.len(),
            shape_repr(tgt.shape)
        ))
        .at(src.name));
    }
    let ax = growth_axis(tgt.fortran_order, tgt.shape).ok_or_else(|| {
        Error::invalid("is a 0-d array; it has no axis to grow along").at(tgt.name)
    })?;
    // An array with at most one dimension longer than 1 (or no elements) has
    // the same bytes in C and Fortran order; numpy saves such arrays as C
    // order even when they came from a Fortran array.
    let same_bytes_either_order =
        src.shape.iter().filter(|&&d| d != 1).count() <= 1 || src.shape.contains(&0);
    if src.fortran_order != tgt.fortran_order && !same_bytes_either_order {
        return Err(Error::invalid(format!(
            "is {}, but {} is {}",
            order_name(src.fortran_order),
            tgt.name,
            order_name(tgt.fortran_order)
        ))
        .at(src.name));
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
        return Err(Error::invalid(format!(
            "shape {} does not match {}'s {}: only axis {} may differ (expected ({}))",
            shape_repr(src.shape),
            tgt.name,
            shape_repr(tgt.shape),
            ax,
            want.join(", ")
        ))
        .at(src.name));
    }
    Ok(src.shape[ax])
}

/// Refuses arrays that can never be appended: objects and 0-d arrays.
pub fn check_appendable(name: &str, h: &Header) -> Result<()> {
    if h.dtype.has_object() {
        return Err(Error::invalid(format!(
            "holds Python objects (dtype {}); pickled data is never appended",
            h.descr.repr()
        ))
        .at(name));
    }
    if h.shape.is_empty() {
        return Err(
            Error::invalid("is a 0-d array (shape ()); it has no axis to append along").at(name),
        );
    }
    Ok(())
}

/// Opens and checks a source file (one whole array that can be appended).
pub fn open_source(path: &Path) -> Result<Source> {
    let name = path.display().to_string();
    // A FIFO or `<(...)` is spooled to a temporary file (see io).
    let file = open_input(path)?;
    let scan = scan_settled(&file).at(&name)?;
    if let Some(why) = advice(&name, &scan, Use::AppendSource) {
        return Err(Error::invalid(why).at(&name));
    }
    check_appendable(&name, &scan.header)?;
    Ok(Source { name, file, scan })
}

/// Refuses a TARGET that is not exactly one consistent array.
fn check_target(name: &str, scan: &Scan) -> Result<()> {
    if let Some(why) = advice(name, scan, Use::AppendTarget) {
        return Err(Error::invalid(why).at(name));
    }
    check_appendable(name, &scan.header)
}

/// Whether TARGET exists (an error other than "not found" is one).
pub fn target_exists(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).doing("cannot stat").at(path),
    }
}

/// Locks TARGET (named `name` in messages) and checks it is one whole array
/// that can grow.
pub fn lock_target(target: &Path, name: &str, wait: Wait) -> Result<(Locked, Scan)> {
    let lock = lock_existing(target, wait)?;
    let scan = scan_file(&lock.file).at(name)?;
    check_target(name, &scan)?;
    Ok((lock, scan))
}

/// A stream of `.npy` arrays back to back (stdin), named `<stdin>`.
pub struct Stream<R> {
    pub reader: BufReader<R>,
    /// Arrays read so far.
    pub index: u64,
    /// Bytes consumed so far.
    pub offset: u64,
    /// A header already read (to create TARGET from it).
    pub pending: Option<Header>,
}

impl<R: Read + AsRawFd> Stream<R> {
    pub fn new(r: R) -> Stream<R> {
        Stream {
            reader: BufReader::with_capacity(1 << 20, r),
            index: 0,
            offset: 0,
            pending: None,
        }
    }

    /// Where the stream is, to start a message.
    pub fn label(&self) -> String {
        format!(
            "<stdin>: array {} at byte offset {}",
            self.index, self.offset
        )
    }

    /// What was appended before a failure, to end its message.
    pub fn committed_note(&self) -> String {
        match self.index {
            0 => String::new(),
            1 => " (the array before it was appended)".to_string(),
            n => format!(" (the {n} arrays before it were appended)"),
        }
    }

    /// The next array's header; `None` at the end of the stream.
    pub fn next_header(&mut self) -> Result<Option<Header>> {
        if let Some(h) = self.pending.take() {
            return Ok(Some(h));
        }
        match read_header(&mut self.reader) {
            Ok(h) => Ok(h),
            Err(e) => Err(Error::invalid(format!(
                "{e}; it was not appended{}",
                self.committed_note()
            ))
            .at(self.label())),
        }
    }
}

/// TARGET as it was when locked, for appending it to itself.
pub struct Snapshot {
    id: (u64, u64),
    file: File,
    offset: u64,
    rows: u64,
    bytes: u64,
}

impl Snapshot {
    /// TARGET, locked as `lock`, scanned as `scan`.
    pub fn of(lock: &Locked, scan: &Scan) -> Result<Snapshot> {
        Ok(Snapshot {
            id: file_id(&lock.file)?,
            file: lock.file.try_clone()?,
            offset: scan.header.header_len,
            rows: scan.rows_declared().unwrap_or(0),
            bytes: scan.expected_bytes,
        })
    }
}

/// Source files appended as one commit: the byte ranges to copy, in order.
pub struct Batch<'f> {
    parts: Vec<(&'f File, &'f Path, u64, u64)>,
    /// Rows along TARGET's growth axis.
    pub rows: u64,
    /// Data bytes.
    pub bytes: u64,
}

impl<'f> Batch<'f> {
    /// Checks each source against TARGET (`tname`) again and plans the
    /// copy; TARGET itself among the sources is appended as it was when
    /// locked (`snap`).
    pub fn prepare(
        grower: &Grower,
        batch: &[&'f Source],
        snap: &'f Snapshot,
        tname: &'f str,
    ) -> Result<Batch<'f>> {
        let mut parts: Vec<(&File, &Path, u64, u64)> = Vec::with_capacity(batch.len());
        let mut rows = 0u64;
        let mut bytes = 0u64;
        for f in batch {
            let (file, name, off, r, b) = if file_id(&f.file)? == snap.id {
                (
                    &snap.file,
                    Path::new(tname),
                    snap.offset,
                    snap.rows,
                    snap.bytes,
                )
            } else {
                let h = &f.scan.header;
                let r = check_fits(&Named::of(&f.name, h), &Named::of(tname, grower.header()))?;
                (
                    &f.file,
                    Path::new(&f.name),
                    h.header_len,
                    r,
                    f.scan.expected_bytes,
                )
            };
            rows = rows
                .checked_add(r)
                .ok_or_else(|| Error::invalid("the row count would overflow").at(tname))?;
            bytes = bytes.saturating_add(b);
            parts.push((file, name, off, b));
        }
        Ok(Batch { parts, rows, bytes })
    }

    /// Makes room for the rows (may rewrite TARGET; `progress` counts its
    /// old data bytes).
    pub fn reserve(&self, grower: &mut Grower, progress: &mut dyn Progress) -> Result<()> {
        grower.reserve(Some(self.rows), &mut |n| progress.set(n))
    }

    /// Copies the sources and commits them (`progress` counts `bytes`).
    pub fn write(self, grower: &mut Grower, progress: &mut dyn Progress) -> Result<()> {
        let mut done = 0u64;
        for (file, name, off, len) in self.parts {
            grower.append_range(file, name, off, len, &mut |n| progress.set(done + n))?;
            done += len;
        }
        grower.commit(self.rows)
    }
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

/// Whether `fd` has bytes (or its end) ready to read right now.
fn ready(fd: std::os::fd::RawFd) -> bool {
    let mut fds = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack, zero timeout.
    let n = unsafe { libc::poll(&mut fds, 1, 0) };
    n != 0
}

/// Appends each whole array of a `.npy` stream. Whole arrays are committed
/// as the stream goes (see `Pace`), and all of them before any error.
/// Returns how many arrays the stream held.
pub fn append_stream<R: Read + AsRawFd>(
    grower: &mut Grower,
    stdin: &mut Stream<R>,
    tname: &str,
) -> Result<u64> {
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
fn stdin_step<R: Read + AsRawFd>(
    grower: &mut Grower,
    stdin: &mut Stream<R>,
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
    let len = h.data_bytes().at(&label)?;
    let overflow = || Error::invalid("the row count would overflow").at(tname);
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
        return Err(Error::invalid(format!("{label} is truncated: only {got} of its {len} data bytes arrived; it was not appended{}", stdin.committed_note())));
    }
    *pending_rows += rows;
    stdin.index += 1;
    stdin.offset += h.header_len + len;
    let more = !stdin.reader.buffer().is_empty() || ready(stdin.reader.get_ref().as_raw_fd());
    if pace.due(grower.pending(), more) {
        grower.commit(*pending_rows)?;
        *pending_rows = 0;
        pace.last = Instant::now();
    }
    Ok(true)
}

/// A raw source file, sized up front.
pub struct RawSource {
    pub name: String,
    pub file: File,
    pub len: u64,
}

/// The layout of a TARGET that `--raw` creates: `descr`, rows of `dims`
/// (`shown` as given). Refuses what could not take raw rows.
pub fn raw_layout(descr: &Py, dims: Option<&[u64]>, shown: &str, tname: &str) -> Result<Layout> {
    let mut shape = vec![0u64];
    shape.extend(dims.map(<[u64]>::to_vec).unwrap_or_default());
    let layout = Layout::new(descr.clone(), false, shape).at(tname)?;
    if layout.dtype.has_object() {
        return Err(Error::invalid(format!(
            "--dtype {}: Python objects cannot be appended",
            descr.repr()
        )));
    }
    // Everything that can refuse the rows is checked before TARGET is
    // created.
    super::limits::check_result(&layout)
        .map_err(|e| Error::invalid(format!("--shape {shown}: {e}; {tname} was not created")))?;
    match layout.row_bytes() {
        Ok(0) => {
            return Err(Error::invalid(format!(
                "--shape {shown}: rows of that shape hold 0 bytes, so raw bytes cannot say how \
             many to append; {tname} was not created"
            )))
        }
        Ok(_) => {}
        Err(e) => {
            return Err(Error::invalid(format!(
                "--shape {shown}: {e}; {tname} was not created"
            )))
        }
    }
    Ok(layout)
}

/// Checks raw rows against TARGET (`h`, named `tname`): `--dtype`,
/// `--shape` (`shown` as given) and every file a whole number of rows.
/// Returns the bytes of a row.
pub fn check_raw(
    h: &Header,
    tname: &str,
    descr: Option<&Py>,
    dims: Option<&[u64]>,
    shown: &str,
    files: &[Option<RawSource>],
) -> Result<u64> {
    if let Some(d) = descr {
        if !super::dtype::same_descr(d, &h.descr) {
            return Err(Error::invalid(format!(
                "--dtype {}: differs from {tname}'s {}",
                d.repr(),
                h.descr.repr()
            )));
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
        if *d != row_shape[..] {
            return Err(Error::invalid(format!(
                "--shape {shown}: {tname}'s rows have shape {}",
                shape_repr(&row_shape)
            )));
        }
    }
    let row = h.row_bytes().at(tname)?;
    if row == 0 {
        return Err(Error::invalid(
            "its rows hold 0 bytes, so raw bytes cannot say how many to append",
        )
        .at(tname));
    }
    for RawSource { name, len, .. } in files.iter().flatten() {
        if len % row != 0 {
            return Err(Error::invalid(format!("holds {len} bytes, not a whole number of {row}-byte rows ({} rows and {} bytes); nothing appended", len / row, len % row)).at(name));
        }
    }
    Ok(row)
}

/// Appends raw rows from files and stdin, committing whole rows.
/// `None` among `files` stands for `stdin`.
pub fn append_raw<R: Read + AsRawFd>(
    grower: &mut Grower,
    files: Vec<Option<RawSource>>,
    row: u64,
    stdin: &mut R,
) -> Result<()> {
    grower.reserve(None, &mut |_| {})?;
    for src in files {
        match src {
            Some(RawSource {
                name,
                mut file,
                len,
            }) => {
                let got = copy_raw(grower, &mut file, None).at(&name)?;
                if got != len {
                    grower.truncate_pending(0)?;
                    return Err(Error::invalid(
                        "changed size while being read; nothing appended from it",
                    )
                    .at(&name));
                }
                grower.commit(len / row)?;
            }
            None => {
                let fd = stdin.as_raw_fd();
                let got = copy_raw(grower, stdin, Some(fd)).at("<stdin>")?;
                let (whole, part) = (got / row, got % row);
                let left = grower.pending() / row;
                grower.truncate_pending(left * row)?;
                grower.commit(left)?;
                if part != 0 {
                    let before = match whole {
                        0 => "no whole row came before them".to_string(),
                        1 => "the whole row before them was appended".to_string(),
                        n => format!("the {n} whole rows before them were appended"),
                    };
                    return Err(Error::invalid(format!(
                        "ended inside a row: the last {part} bytes (a row is {row} bytes) \
                         were not appended; {before}"
                    ))
                    .at("<stdin>"));
                }
            }
        }
    }
    Ok(())
}

/// Copies a raw stream to the end of the target; returns the bytes copied.
/// With `paced` (stdin's descriptor), whole rows are committed as they come
/// (see [`Pace`]); bytes of a row still arriving stay pending.
fn copy_raw(grower: &mut Grower, r: &mut dyn Read, paced: Option<RawFd>) -> Result<u64> {
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
        if paced.is_some_and(|fd| pace.due(grower.pending(), ready(fd))) {
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
    fn fits_messages() {
        let f4 = Py::Str("<f4".into());
        let f4be = Py::Str(">f4".into());
        let t = Named {
            name: "out.npy",
            descr: &f4,
            fortran_order: false,
            shape: &[5, 3],
        };
        let s = Named {
            name: "chunk7.npy",
            descr: &f4be,
            fortran_order: false,
            shape: &[2, 3],
        };
        let e = check_fits(&s, &t).unwrap_err().to_string();
        assert_eq!(e, "chunk7.npy: dtype '>f4' differs from out.npy's '<f4'");
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran_order: false,
            shape: &[2, 4],
        };
        assert!(check_fits(&s, &t)
            .unwrap_err()
            .to_string()
            .contains("expected (N, 3)"));
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran_order: false,
            shape: &[2, 3],
        };
        assert_eq!(check_fits(&s, &t).unwrap(), 2);
        // A one-column C-flagged piece of a Fortran array appends as Fortran.
        let tf = Named {
            name: "f.npy",
            descr: &f4,
            fortran_order: true,
            shape: &[3, 5],
        };
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran_order: false,
            shape: &[3, 1],
        };
        assert_eq!(check_fits(&s, &tf).unwrap(), 1);
        let s = Named {
            name: "c.npy",
            descr: &f4,
            fortran_order: false,
            shape: &[3, 2],
        };
        assert!(check_fits(&s, &tf)
            .unwrap_err()
            .to_string()
            .contains("C-ordered"));
    }
}
