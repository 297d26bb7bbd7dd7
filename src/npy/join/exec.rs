//! Executing a planned join: the result written as a plan of byte ranges.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::super::io::copy_range;
use super::map::Guarded;
use super::transpose::Transposed;
use super::{both_contiguous, Geometry};
use super::{Order, Part, Parts, Sink};
use crate::npy::Progress;

/// Output buffer: blocks are assembled here before one write.
const BUF: usize = 4 << 20;
/// Segments at least this long are copied by the kernel, not through memory.
const BIG: u64 = 1 << 20;
/// Read-ahead over one input holding many small arrays back to back.
const WINDOW: usize = 4 << 20;
/// Writeback of the new file is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;
/// Per-input read buffer when interleaving.
const SCRATCH: usize = 1 << 20;
/// Inputs to transpose up to this size are read into memory, not mapped.
const SMALL: u64 = 1 << 20;
/// Slices gathered into one vectored write (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// Appends bytes and file ranges to a [`Sink`] through one buffer; ranges
/// of a MiB or more go straight from file to file in the kernel.
pub struct Out<'a> {
    sink: Sink<'a>,
    name: &'a str,
    buf: Vec<u8>,
    /// Output offset of `buf[0]`.
    buf_start: u64,
    /// Output offset up to which writeback has been started.
    kicked: u64,
    progress: &'a mut dyn Progress,
    /// Slices to append, after `buf` (which is empty while any is
    /// pending), written with one vectored write per batch.
    vecs: Vec<IoSlice<'a>>,
    vec_bytes: usize,
}

impl<'a> Out<'a> {
    /// Writes from output offset `start`.
    pub fn new(
        sink: Sink<'a>,
        name: &'a str,
        start: u64,
        progress: &'a mut dyn Progress,
    ) -> Out<'a> {
        Out {
            sink,
            name,
            buf: Vec::with_capacity(BUF),
            buf_start: start,
            kicked: start,
            progress,
            vecs: Vec::new(),
            vec_bytes: 0,
        }
    }

    /// Appends `bytes` without copying them here: they are gathered with
    /// others into one vectored write (`pwritev`), the kernel's copy being
    /// the only one.
    pub fn push_ref(&mut self, bytes: &'a [u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.flush()?;
        }
        self.vecs.push(IoSlice::new(bytes));
        self.vec_bytes += bytes.len();
        if self.vecs.len() >= IOV_MAX || self.vec_bytes >= BUF {
            self.flush_vecs()?;
        }
        Ok(())
    }

    /// Gives up the output (what is pending is not written) and hands back
    /// the progress display it was given.
    pub fn into_progress(self) -> &'a mut dyn Progress {
        self.progress
    }

    /// Bytes pushed by reference and not written yet.
    pub fn pending(&self) -> usize {
        self.vec_bytes
    }

    /// The output offset reached once everything pushed is written.
    pub fn position(&self) -> u64 {
        self.buf_start + self.buf.len() as u64 + self.vec_bytes as u64
    }

    fn flush_vecs(&mut self) -> Result<()> {
        if self.vecs.is_empty() {
            return Ok(());
        }
        let mut vecs = std::mem::take(&mut self.vecs);
        let total = self.vec_bytes;
        let res = match &mut self.sink {
            Sink::File { file, .. } => pwritev_all(file, &mut vecs, self.buf_start),
            Sink::Writer(w) => vecs.iter().try_for_each(|v| w.write_all(v)),
        };
        res.map_err(|e| {
            if e.raw_os_error() == Some(libc::EFAULT) {
                // The kernel found a page of an input's map past its end.
                anyhow!("an input {}", super::map::Shrank)
            } else {
                anyhow::Error::new(e).context(format!("{}: cannot write", self.name))
            }
        })?;
        vecs.clear();
        self.vecs = vecs;
        self.vec_bytes = 0;
        self.buf_start += total as u64;
        self.progress.set(self.buf_start);
        self.start_writeback();
        Ok(())
    }

    /// Appends `len` bytes (a multiple of `isz`) that `fill` produces into
    /// the buffer, a piece at a time: `fill(offset within the len, piece)`.
    fn generate(
        &mut self,
        len: u64,
        isz: usize,
        fill: &mut dyn FnMut(u64, &mut [u8]) -> Result<()>,
    ) -> Result<()> {
        self.flush_vecs()?;
        let mut done = 0u64;
        while done < len {
            let free = BUF.saturating_sub(self.buf.len());
            let room = if self.buf.is_empty() {
                (free - free % isz).max(isz)
            } else {
                free - free % isz
            };
            if room == 0 {
                self.flush()?;
                continue;
            }
            let n = (len - done).min(room as u64) as usize;
            let at = self.buf.len();
            self.buf.resize(at + n, 0);
            fill(done, &mut self.buf[at..])?;
            done += n as u64;
            if self.buf.len() >= BUF {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Appends `len` bytes of `file` (named `name` in messages) from `off`.
    pub fn copy(&mut self, file: &File, name: &Path, off: u64, len: u64) -> Result<()> {
        self.segment(file, name, off, len, None)
    }

    /// Writes what is buffered; returns the output offset reached.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        Ok(self.buf_start)
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_vecs()?;
        if self.buf.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::File { file: f, .. } => f.write_all_at(&self.buf, self.buf_start),
            Sink::Writer(w) => w.write_all(&self.buf),
        }
        .with_context(|| format!("{}: cannot write", self.name))?;
        self.buf_start += self.buf.len() as u64;
        self.buf.clear();
        self.progress.set(self.buf_start);
        self.start_writeback();
        Ok(())
    }

    /// Starts writing the new file's pages to disk while the copy goes on,
    /// so the final fsync has little left to wait for.
    fn start_writeback(&mut self) {
        let Sink::File {
            file: f,
            durable: true,
        } = &self.sink
        else {
            return;
        };
        let len = self.buf_start.saturating_sub(self.kicked);
        if len < WRITEBACK_STEP {
            return;
        }
        super::super::sys::start_writeback(f, self.kicked, len);
        self.kicked = self.buf_start;
    }

    /// Appends bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.flush_vecs()?;
        if self.buf.len() + bytes.len() > BUF {
            self.flush()?;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BUF {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends `len` bytes of `file` from `off`.
    fn segment(
        &mut self,
        file: &File,
        name: &Path,
        off: u64,
        len: u64,
        win: Option<&mut Window>,
    ) -> Result<()> {
        self.flush_vecs()?;
        let rerr = |e: io::Error| {
            anyhow::Error::new(e).context(format!("{}: cannot read", name.display()))
        };
        if len >= BIG {
            self.flush()?;
            let start = self.buf_start;
            match &mut self.sink {
                Sink::File { file: out, .. } => {
                    let progress = &mut *self.progress;
                    copy_range(file, off, out, start, len, &mut |n| progress.set(start + n))
                        .map_err(|e| {
                            if e.kind() == io::ErrorKind::UnexpectedEof {
                                rerr(e)
                            } else {
                                anyhow::Error::new(e).context(format!(
                                    "{}: cannot copy {} into it",
                                    self.name,
                                    name.display()
                                ))
                            }
                        })?;
                    self.buf_start += len;
                    self.start_writeback();
                }
                Sink::Writer(_) => {
                    let mut done = 0;
                    while done < len {
                        let n = (len - done).min(BUF as u64) as usize;
                        self.buf.resize(n, 0);
                        file.read_exact_at(&mut self.buf, off + done)
                            .map_err(rerr)?;
                        self.flush()?;
                        done += n as u64;
                    }
                }
            }
            self.progress.set(self.buf_start);
            return Ok(());
        }
        let n = len as usize;
        if self.buf.len() + n > BUF {
            self.flush()?;
        }
        let at = self.buf.len();
        match win {
            Some(w) => {
                let bytes = w.get(file, off, n).map_err(rerr)?;
                self.buf.extend_from_slice(bytes);
            }
            None => {
                self.buf.resize(at + n, 0);
                file.read_exact_at(&mut self.buf[at..], off).map_err(rerr)?;
            }
        }
        Ok(())
    }
}

/// Read-ahead over one file read forward in small pieces.
struct Window {
    buf: Vec<u8>,
    start: u64,
    fd: i32,
}

impl Window {
    fn get(&mut self, file: &File, off: u64, n: usize) -> io::Result<&[u8]> {
        use std::os::fd::AsRawFd;
        let end = self.start + self.buf.len() as u64;
        if off < self.start || off + n as u64 > end || file.as_raw_fd() != self.fd {
            self.fd = file.as_raw_fd();
            self.buf.resize(WINDOW.max(n), 0);
            let mut got = 0;
            while got < self.buf.len() {
                match file.read_at(&mut self.buf[got..], off + got as u64) {
                    Ok(0) => break,
                    Ok(k) => got += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.buf.truncate(got);
            self.start = off;
            if got < n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ended before the bytes its header promises (changed while being read?)",
                ));
            }
        }
        let i = (off - self.start) as usize;
        Ok(&self.buf[i..i + n])
    }
}

/// Writes `header` and then the joined data of `parts` as `geo` plans it.
/// Returns the bytes written.
pub fn execute<'a>(
    header: &[u8],
    geo: &Geometry,
    parts: &mut dyn Parts,
    sink: Sink<'a>,
    out_name: &'a str,
    progress: &'a mut dyn Progress,
) -> Result<u64> {
    let isz = geo.layout.itemsize() as usize;
    let mut out = Out::new(sink, out_name, 0, progress);
    out.push(header)?;
    let unit = geo.unit;
    if geo.data_bytes == 0 {
        // Nothing to copy (some dimension is 0).
    } else if geo.outer == 1 || geo.row >= (BUF / 2) as u64 {
        // One block per input per outer index, each appended in turn.
        let mut win = (parts.sequential() && !geo.transposes).then(|| Window {
            buf: Vec::new(),
            start: 0,
            fd: -1,
        });
        for o in 0..geo.outer {
            visit_pieces(geo, parts, &mut |p| {
                let len = p.axis_len * unit;
                if len == 0 {
                    return Ok(());
                }
                match p.src {
                    Src::File(file) => {
                        out.segment(file, p.name, p.data_offset + o * len, len, win.as_mut())
                    }
                    Src::Transposed(_) => {
                        out.generate(len, isz, &mut |at, buf| p.read(o * len + at, buf))
                    }
                }
            })?;
        }
    } else {
        // Batches of outer indices: one read per input per batch, scattered
        // into the output buffer, then one write.
        let rows_per_batch = (BUF as u64 / geo.row).max(1);
        let mut scratch: Vec<u8> = Vec::new();
        let mut o0 = 0;
        while o0 < geo.outer {
            let r = rows_per_batch.min(geo.outer - o0);
            out.flush()?;
            let row = geo.row as usize;
            out.buf.resize(r as usize * row, 0);
            let mut col = 0usize;
            visit_pieces(geo, parts, &mut |p| {
                let inner = (p.axis_len * unit) as usize;
                if inner == 0 {
                    return Ok(());
                }
                let per_read = (SCRATCH / inner).max(1) as u64;
                let mut done = 0u64;
                while done < r {
                    let k = per_read.min(r - done);
                    scratch.resize(k as usize * inner, 0);
                    p.read((o0 + done) * inner as u64, &mut scratch)?;
                    for j in 0..k as usize {
                        let d = (done as usize + j) * row + col;
                        out.buf[d..d + inner].copy_from_slice(&scratch[j * inner..(j + 1) * inner]);
                    }
                    done += k;
                }
                col += inner;
                Ok(())
            })?;
            if col != row {
                bail!("{out_name}: inputs changed while being joined");
            }
            out.flush()?;
            o0 += r;
        }
    }
    out.flush()?;
    let written = out.buf_start;
    let want = header.len() as u64 + geo.data_bytes;
    if written != want {
        bail!("{out_name}: wrote {written} bytes where {want} were planned (inputs changed while being joined?)");
    }
    Ok(written)
}

impl Geometry {
    /// Whether `p`'s bytes are in the other memory order than the result's
    /// and must be transposed to join.
    fn needs_transpose(&self, p: &Part<'_>) -> bool {
        let mut shape = self.joined.clone();
        shape[self.axis] = p.axis_len;
        self.data_bytes > 0
            && p.fortran != (self.order == Order::F)
            && !both_contiguous(&shape)
            && self.part_bytes(p) > 0
    }

    fn part_bytes(&self, p: &Part<'_>) -> u64 {
        // Within the result's size whenever that is not 0.
        self.outer
            .saturating_mul(p.axis_len)
            .saturating_mul(self.unit)
    }
}

/// Where a piece of the result's input comes from.
enum Src<'s> {
    File(&'s File),
    /// An input in the other memory order, read through a map.
    Transposed(&'s Transposed<'s>),
}

/// One input as the executor reads it: bytes in the result's memory order
/// from `data_offset` on.
struct Piece<'s> {
    src: Src<'s>,
    name: &'s Path,
    data_offset: u64,
    axis_len: u64,
}

impl Piece<'_> {
    /// Fills `buf` from byte `off` of the input's data (in the result's
    /// memory order).
    fn read(&self, off: u64, buf: &mut [u8]) -> Result<()> {
        match self.src {
            Src::File(f) => f
                .read_exact_at(buf, self.data_offset + off)
                .with_context(|| format!("{}: cannot read", self.name.display())),
            Src::Transposed(t) => t
                .read(off, buf)
                .map_err(|e| anyhow!("{}: {e}", self.name.display())),
        }
    }
}

/// Visits the inputs as pieces, each one stored in the other memory order
/// than the result's read transposed, a range at a time: from a map that
/// lives for the visit only (so however many inputs need it, one map at a
/// time is open), or for one of at most [`SMALL`] bytes from a copy in
/// memory.
fn visit_pieces(
    geo: &Geometry,
    parts: &mut dyn Parts,
    f: &mut dyn FnMut(Piece<'_>) -> Result<()>,
) -> Result<()> {
    let isz = geo.layout.itemsize() as usize;
    let mut small = Vec::new();
    parts.visit(&mut |p| {
        if !(geo.transposes && geo.needs_transpose(&p)) {
            return f(Piece {
                src: Src::File(p.file),
                name: p.name,
                data_offset: p.data_offset,
                axis_len: p.axis_len,
            });
        }
        let n = geo.part_bytes(&p);
        let mut shape = geo.joined.clone();
        shape[geo.axis] = p.axis_len;
        // C-order bytes of a shape are the Fortran-order bytes of its
        // reverse, so one transpose serves both ways.
        if !p.fortran {
            shape.reverse();
        }
        if n <= SMALL {
            // Small: one read into memory costs less than a map.
            small.resize(n as usize, 0);
            p.file
                .read_exact_at(&mut small, p.data_offset)
                .with_context(|| format!("{}: cannot read", p.name.display()))?;
            let t = Transposed::new(&small, &shape, isz);
            return f(transposed(&t, p.name, p.axis_len));
        }
        let map = Guarded::map(p.file, p.data_offset, n)
            .with_context(|| format!("{}: cannot read", p.name.display()))?;
        let t = Transposed::over(&map, &shape, isz);
        f(transposed(&t, p.name, p.axis_len))
    })
}

fn transposed<'s>(t: &'s Transposed<'s>, name: &'s Path, axis_len: u64) -> Piece<'s> {
    Piece {
        src: Src::Transposed(t),
        name,
        data_offset: 0,
        axis_len,
    }
}

/// Writes all of `vecs` at `off` with as few `pwritev` calls as it takes.
fn pwritev_all(file: &File, vecs: &mut [IoSlice<'_>], off: u64) -> io::Result<()> {
    super::super::sys::write_all_vectored_at(file, vecs, off, IOV_MAX)
}
