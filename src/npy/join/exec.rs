//! Executing a planned join: the result written as a plan of byte ranges.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::super::io::copy_range;
use super::plan::{both_contiguous, Geometry, TRANSPOSE_MAX};
use super::transpose::transpose;
use super::{Order, Part, Parts, Sink};
use crate::progress::Progress;

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
    progress: &'a mut Progress,
}

impl<'a> Out<'a> {
    /// Writes from output offset `start`.
    pub fn new(sink: Sink<'a>, name: &'a str, start: u64, progress: &'a mut Progress) -> Out<'a> {
        Out {
            sink,
            name,
            buf: Vec::with_capacity(BUF),
            buf_start: start,
            kicked: start,
            progress,
        }
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
        use std::os::fd::AsRawFd;
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
        // SAFETY: a plain syscall on a descriptor we borrow for its duration;
        // it only starts asynchronous writeback and its failure is harmless
        // (the fsync before the rename is what makes the data durable).
        unsafe {
            libc::sync_file_range(
                f.as_raw_fd(),
                self.kicked as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.kicked = self.buf_start;
    }

    /// Appends bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<()> {
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
    progress: &'a mut Progress,
) -> Result<u64> {
    let staging = if geo.data_bytes > 0 && geo.transposes {
        stage(geo, parts)?
    } else {
        None
    };
    let mut staged = Staged {
        parts,
        staging,
        geo,
    };
    let parts: &mut dyn Parts = &mut staged;
    let mut out = Out::new(sink, out_name, 0, progress);
    out.push(header)?;
    let unit = geo.unit;
    if geo.data_bytes == 0 {
        // Nothing to copy (some dimension is 0).
    } else if geo.outer == 1 || geo.row >= (BUF / 2) as u64 {
        // One block per input per outer index, each appended in turn.
        let mut win = parts.sequential().then(|| Window {
            buf: Vec::new(),
            start: 0,
            fd: -1,
        });
        for o in 0..geo.outer {
            parts.visit(&mut |p| {
                let len = p.axis_len * unit;
                if len == 0 {
                    return Ok(());
                }
                out.segment(p.file, p.name, p.data_offset + o * len, len, win.as_mut())
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
            parts.visit(&mut |p| {
                let inner = (p.axis_len * unit) as usize;
                if inner == 0 {
                    return Ok(());
                }
                let per_read = (SCRATCH / inner).max(1) as u64;
                let mut done = 0u64;
                while done < r {
                    let k = per_read.min(r - done);
                    scratch.resize(k as usize * inner, 0);
                    let src = p.data_offset + (o0 + done) * inner as u64;
                    p.file
                        .read_exact_at(&mut scratch, src)
                        .with_context(|| format!("{}: cannot read", p.name.display()))?;
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

/// Copies every input that must be transposed, transposed, into one unnamed
/// temporary file, in visiting order; `None` when there is none.
fn stage(geo: &Geometry, parts: &mut dyn Parts) -> Result<Option<File>> {
    let mut staging: Option<(File, u64)> = None;
    let isz = geo.layout.itemsize();
    parts.visit(&mut |p| {
        if !geo.needs_transpose(&p) {
            return Ok(());
        }
        let n = geo.part_bytes(&p);
        if n > TRANSPOSE_MAX {
            bail!("{}: too large to transpose ({n} bytes)", p.name.display());
        }
        let mut src = vec![0u8; n as usize];
        p.file
            .read_exact_at(&mut src, p.data_offset)
            .with_context(|| format!("{}: cannot read", p.name.display()))?;
        let mut shape = geo.joined.clone();
        shape[geo.axis] = p.axis_len;
        // C-order bytes of a shape are the Fortran-order bytes of its
        // reverse, so one transpose serves both ways.
        if !p.fortran {
            shape.reverse();
        }
        let dst = transpose(&src, &shape, isz);
        let (file, at) = match &mut staging {
            Some(s) => s,
            None => staging.insert((
                tempfile::tempfile().context("cannot create a temporary file to transpose into")?,
                0,
            )),
        };
        file.write_all_at(&dst, *at)
            .context("cannot write the temporary file to transpose into")?;
        *at += n;
        Ok(())
    })?;
    Ok(staging.map(|(f, _)| f))
}

/// The inputs with each that needed transposing replaced by its transposed
/// copy in the staging file.
struct Staged<'p, 'g> {
    parts: &'p mut dyn Parts,
    staging: Option<File>,
    geo: &'g Geometry,
}

impl Parts for Staged<'_, '_> {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()> {
        let Some(staging) = &self.staging else {
            return self.parts.visit(f);
        };
        let geo = self.geo;
        let mut at = 0u64;
        let fortran = geo.order == Order::F;
        self.parts.visit(&mut |p| {
            if geo.needs_transpose(&p) {
                let n = geo.part_bytes(&p);
                let q = Part {
                    file: staging,
                    name: p.name,
                    data_offset: at,
                    axis_len: p.axis_len,
                    fortran,
                };
                at += n;
                f(q)
            } else {
                f(p)
            }
        })
    }

    fn sequential(&self) -> bool {
        self.parts.sequential()
    }
}
