//! The output of a join or conversion: a new file written with positioned
//! writes (its writeback started as the copy goes, for a durable result) or
//! a stream, fed through one buffer, by vectored writes of borrowed slices,
//! or by copies of file ranges ([`super::io::copy_range`]).

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::{Error, IoResultExt, Result, ResultExt};

use super::io::{copy_range, CopyError};
use super::Progress;

/// Output buffer: blocks are assembled here before one write.
pub const BUF: usize = 4 << 20;
/// Segments at least this long are copied by the kernel, not through memory.
const BIG: u64 = 1 << 20;
/// Read-ahead over one input holding many small arrays back to back.
const WINDOW: usize = 4 << 20;
/// Writeback of the new file is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;
/// Slices gathered into one vectored write (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// Where the result goes.
pub enum Sink<'a> {
    /// A new file, written with positioned writes from offset 0. With
    /// `durable`, writeback is started as the copy goes, so the fsync before
    /// the rename finds little left to do; without, the page cache keeps it.
    File { file: &'a File, durable: bool },
    /// A stream (stdout).
    Writer(&'a mut dyn Write),
}

/// Appends bytes and file ranges to a [`Sink`] through one buffer; ranges
/// of a MiB or more go straight from file to file ([`copy_range`]).
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
                Error::invalid(format!("an input {}", super::map::Shrank))
            } else {
                Error::io("cannot write", e).at(self.name)
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
    pub fn generate(
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

    pub fn flush(&mut self) -> Result<()> {
        self.flush_vecs()?;
        if self.buf.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::File { file: f, .. } => f.write_all_at(&self.buf, self.buf_start),
            Sink::Writer(w) => w.write_all(&self.buf),
        }
        .doing("cannot write")
        .at(self.name)?;
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
        super::sys::start_writeback(f, self.kicked, len);
        self.kicked = self.buf_start;
    }

    /// Writes what is buffered, then hands out `len` zeroed bytes of the
    /// buffer to fill in place; the next flush writes them.
    pub fn block(&mut self, len: usize) -> Result<&mut [u8]> {
        self.flush()?;
        self.buf.resize(len, 0);
        Ok(&mut self.buf)
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

    /// Appends `len` bytes of `file` from `off`, through the read-ahead
    /// `win` when given.
    pub fn segment(
        &mut self,
        file: &File,
        name: &Path,
        off: u64,
        len: u64,
        win: Option<&mut Window>,
    ) -> Result<()> {
        self.flush_vecs()?;
        let rerr = |e: io::Error| Error::io("cannot read", e).at(name);
        if len >= BIG {
            self.flush()?;
            let start = self.buf_start;
            match &mut self.sink {
                Sink::File { file: out, .. } => {
                    let progress = &mut *self.progress;
                    copy_range(file, off, out, start, len, &mut |n| progress.set(start + n))
                        .map_err(|e| match e {
                            CopyError::Write(e) => Error::io("cannot write", e).at(self.name),
                            e => e.named(
                                name,
                                Path::new(self.name),
                                &format!("cannot copy {} into it", name.display()),
                            ),
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

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

/// Read-ahead over one file read forward in small pieces.
pub struct Window {
    buf: Vec<u8>,
    start: u64,
    fd: i32,
}

impl Window {
    pub fn new() -> Self {
        Window {
            buf: Vec::new(),
            start: 0,
            fd: -1,
        }
    }

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

/// Writes all of `vecs` at `off` with as few `pwritev` calls as it takes.
fn pwritev_all(file: &File, vecs: &mut [IoSlice<'_>], off: u64) -> io::Result<()> {
    super::sys::write_all_vectored_at(file, vecs, off, IOV_MAX)
}
