//! Executing a planned join: the result written as a plan of byte ranges.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::npy::error::{Error, IoResultExt, Result, ResultExt};

use super::super::sink::{Out, Window, BUF};
use super::transpose::Transposed;
use super::{both_contiguous, Geometry};
use super::{Guarded, Order, Part, Parts, Sink};
use crate::npy::Progress;

/// Per-input read buffer when interleaving.
const SCRATCH: usize = 1 << 20;
/// Inputs to transpose up to this size are read into memory, not mapped.
const SMALL: u64 = 1 << 20;

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
    if let Sink::File { file, .. } = &sink {
        // The new file's blocks reserved up front: the copy into them costs
        // about a quarter less (ext4); a hint, ignored where unsupported.
        crate::npy::sys::preallocate(file, 0, header.len() as u64 + geo.data_bytes);
    }
    let mut out = Out::new(sink, out_name, 0, progress);
    out.push(header)?;
    let unit = geo.unit;
    if geo.data_bytes == 0 {
        // Nothing to copy (some dimension is 0).
    } else if geo.outer == 1 || geo.row >= (BUF / 2) as u64 {
        // One block per input per outer index, each appended in turn.
        let mut win = (parts.sequential() && !geo.transposes).then(Window::new);
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
            let row = geo.row as usize;
            let block = out.block(r as usize * row)?;
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
                        block[d..d + inner].copy_from_slice(&scratch[j * inner..(j + 1) * inner]);
                    }
                    done += k;
                }
                col += inner;
                Ok(())
            })?;
            if col != row {
                return Err(Error::invalid("inputs changed while being joined").at(out_name));
            }
            out.flush()?;
            o0 += r;
        }
    }
    out.flush()?;
    let written = out.position();
    let want = header.len() as u64 + geo.data_bytes;
    if written != want {
        return Err(Error::invalid(format!(
            "wrote {written} bytes where {want} were planned (inputs changed while being joined?)"
        ))
        .at(out_name));
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
            && p.fortran_order != (self.order == Order::F)
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
                .doing("cannot read")
                .at(self.name),
            Src::Transposed(t) => t.read(off, buf).at(self.name),
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
        if !p.fortran_order {
            shape.reverse();
        }
        if n <= SMALL {
            // Small: one read into memory costs less than a map.
            small.resize(n as usize, 0);
            p.file
                .read_exact_at(&mut small, p.data_offset)
                .doing("cannot read")
                .at(p.name)?;
            let t = Transposed::new(&small, &shape, isz);
            return f(transposed(&t, p.name, p.axis_len));
        }
        let map = Guarded::map(p.file, p.data_offset, n)
            .doing("cannot read")
            .at(p.name)?;
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
