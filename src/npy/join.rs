//! Joining arrays without loading them: what `concat` and `convert-stacked`
//! share.
//!
//! [`Planner`] takes the inputs' headers one at a time (constant memory, so a
//! stacked file of ten million arrays plans like one of three), checks that
//! they join, and works out the result exactly as numpy would: its shape, its
//! header, and its memory order. numpy's `np.concatenate` chooses the result's
//! memory order from the inputs' strides (`PyArray_CreateMultiSortedStridePerm`)
//! and `np.save` writes Fortran order only for a result that is F- but not
//! C-contiguous; [`OrderVotes`] reproduces both, so a header comes out
//! byte-identical to numpy's.
//!
//! [`execute`] then writes the result as a plan of byte ranges. In the
//! result's memory order every input contributes, for each index of the axes
//! before the join axis ("outer"), one contiguous block. When there is one
//! outer index (joining along the growth axis) that is one contiguous copy per
//! input, done in the kernel (`copy_file_range`) when it is large; otherwise
//! the blocks are interleaved through one bounded buffer, a batch of outer
//! indices at a time, reading each input's batch with one positioned read.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::header::{shape_repr, Header, Layout};
use super::io::copy_range;
use super::pylit::Py;
use crate::progress::Progress;

/// Output buffer: blocks are assembled here before one write.
const BUF: usize = 4 << 20;
/// Segments at least this long are copied by the kernel, not through memory.
const BIG: u64 = 1 << 20;
/// Read-ahead over one input holding many small arrays back to back.
const WINDOW: usize = 4 << 20;
/// Arrays stored in the other memory order than numpy's result are
/// transposed in memory, up to this size each (larger ones are refused).
pub const TRANSPOSE_MAX: u64 = 8 << 20;
/// Writeback of the new file is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;
/// Per-input read buffer when interleaving.
const SCRATCH: usize = 1 << 20;

/// Memory order of array data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    C,
    F,
}

impl Order {
    fn name(self) -> &'static str {
        match self {
            Order::C => "C order",
            Order::F => "Fortran order",
        }
    }
}

/// How the inputs are joined, as numpy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `np.concatenate(arrays, axis)`; a negative axis counts from the end.
    Concatenate(i64),
    /// `np.vstack(arrays)`: `np.atleast_2d` of each, then axis 0.
    Vstack,
    /// `np.stack(arrays)`: a new leading axis.
    Stack,
}

/// Strides numpy gives an array `np.load` made: C strides (a zero dimension
/// counting as one, as `_array_fill_strides` does), or for `fortran_order`
/// the transpose of the C strides of the reversed shape. Only compared with
/// each other, so saturating arithmetic is harmless.
pub fn loaded_strides(shape: &[u64], fortran: bool, itemsize: u64) -> Vec<u64> {
    let c = |dims: &mut dyn Iterator<Item = u64>| -> Vec<u64> {
        let mut s = itemsize;
        dims.map(|d| {
            let here = s;
            s = s.saturating_mul(d.max(1));
            here
        })
        .collect()
    };
    if fortran {
        c(&mut shape.iter().copied())
    } else {
        let mut v = c(&mut shape.iter().rev().copied());
        v.reverse();
        v
    }
}

/// True when an array's bytes read the same in both orders: numpy's flags
/// say C- and F-contiguous (at most one dimension above 1, or no elements).
pub fn both_contiguous(shape: &[u64]) -> bool {
    shape.contains(&0) || shape.iter().filter(|&&d| d != 1).count() <= 1
}

/// numpy's choice of memory order for `np.concatenate`'s result: a stable
/// insertion sort of the axes by stride, where an ordered pair of axes is
/// swapped only when every input in which both axes have a length other than
/// 1 agrees (C order wins conflicts). The votes do not depend on the order
/// the inputs come in, so they are gathered in one pass in constant memory.
#[derive(Debug, Clone)]
pub struct OrderVotes {
    ndim: usize,
    /// `compared[a * ndim + b]`: some input compared axes a and b.
    compared: Vec<bool>,
    /// `greater[a * ndim + b]`: every such input has stride a > stride b.
    greater: Vec<bool>,
}

impl OrderVotes {
    pub fn new(ndim: usize) -> OrderVotes {
        OrderVotes {
            ndim,
            compared: vec![false; ndim * ndim],
            greater: vec![true; ndim * ndim],
        }
    }

    /// Adds one input by its shape and strides (as joined).
    pub fn add(&mut self, shape: &[u64], strides: &[u64]) {
        let n = self.ndim;
        for a in 0..n {
            for b in 0..n {
                if a != b && shape[a] != 1 && shape[b] != 1 {
                    self.compared[a * n + b] = true;
                    if strides[a] <= strides[b] {
                        self.greater[a * n + b] = false;
                    }
                }
            }
        }
    }

    /// Axes from the largest stride to the smallest in the result.
    pub fn perm(&self) -> Vec<usize> {
        let n = self.ndim;
        let mut perm: Vec<usize> = (0..n).collect();
        for i0 in 1..n {
            let mut ipos = i0;
            let j0 = perm[i0];
            for i1 in (0..i0).rev() {
                let j1 = perm[i1];
                if self.compared[j0 * n + j1] {
                    if self.greater[j0 * n + j1] {
                        ipos = i1;
                    } else {
                        break;
                    }
                }
            }
            if ipos != i0 {
                perm[ipos..=i0].rotate_right(1);
            }
        }
        perm
    }
}

/// The order `np.save` writes a result of `shape` whose axes are laid out
/// by `perm` (largest stride first): Fortran only when the result is
/// F-contiguous and not C-contiguous.
pub fn saved_order(shape: &[u64], perm: &[usize], itemsize: u64) -> Order {
    let n = shape.len();
    let mut strides = vec![0u64; n];
    let mut s = itemsize;
    for &p in perm.iter().rev() {
        strides[p] = s;
        s = s.saturating_mul(shape[p]);
    }
    if shape.contains(&0) {
        return Order::C;
    }
    let contiguous = |axes: &mut dyn Iterator<Item = usize>| {
        let mut sd = itemsize;
        for i in axes {
            if shape[i] != 1 {
                if strides[i] != sd {
                    return false;
                }
                sd = sd.saturating_mul(shape[i]);
            }
        }
        true
    };
    if contiguous(&mut (0..n).rev()) {
        Order::C
    } else if contiguous(&mut (0..n)) {
        Order::F
    } else {
        Order::C
    }
}

/// Checks headers one at a time and plans the result.
#[derive(Debug)]
pub struct Planner {
    mode: Mode,
    /// Join axis in the joined shapes.
    axis: usize,
    descr: Py,
    first_layout: Layout,
    /// The first input's shape as joined.
    ref_shape: Vec<u64>,
    axis_sum: u64,
    count: u64,
    votes: OrderVotes,
    last: Option<(Vec<u64>, bool)>,
    /// First non-empty input whose bytes are not in C (resp. F) order,
    /// with the caller's tag for it.
    not_c: Option<(u64, u64)>,
    not_f: Option<(u64, u64)>,
    /// The same, for inputs too large to transpose.
    big_not_c: Option<(u64, u64, u64)>,
    big_not_f: Option<(u64, u64, u64)>,
    /// How messages name the first input.
    first_name: String,
}

/// The planned result.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub layout: Layout,
    /// Memory order of the result's data (Fortran iff its header says so).
    pub order: Order,
    /// The first input's shape as joined, and the join axis in it.
    pub joined: Vec<u64>,
    pub axis: usize,
    /// Whether some input is stored in the other memory order (and must be
    /// transposed).
    pub transposes: bool,
    /// Outer indices: blocks each input contributes.
    pub outer: u64,
    /// Bytes per step of the join axis within one block.
    pub unit: u64,
    /// Bytes of one outer index of the result (all inputs' blocks).
    pub row: u64,
    pub data_bytes: u64,
    pub inputs: u64,
}

impl Geometry {
    /// Bytes one input of `axis_len` steps contributes per outer index.
    pub fn block(&self, axis_len: u64) -> u64 {
        axis_len * self.unit
    }
}

impl Planner {
    /// Starts a plan from the first input's header. Fails (with numpy's
    /// words) when `mode` cannot apply to it.
    pub fn new(mode: Mode, first: &Header) -> Result<Planner, String> {
        if first.dtype.has_object() {
            return Err("holds Python objects (pickled data): npy never joins these".into());
        }
        let ndim_joined = match mode {
            Mode::Concatenate(_) => first.shape.len(),
            Mode::Vstack => first.shape.len().max(2),
            Mode::Stack => first.shape.len() + 1,
        };
        let axis = match mode {
            Mode::Concatenate(a) => {
                let nd = first.shape.len() as i64;
                if nd == 0 {
                    return Err("zero-dimensional arrays cannot be concatenated (shape ())".into());
                }
                if a < -nd || a >= nd {
                    return Err(format!(
                        "axis {a} is out of bounds for array of dimension {nd}"
                    ));
                }
                a.rem_euclid(nd) as usize
            }
            Mode::Vstack | Mode::Stack => 0,
        };
        let mut p = Planner {
            mode,
            axis,
            descr: first.descr.clone(),
            first_layout: first.layout(),
            ref_shape: Vec::new(),
            axis_sum: 0,
            count: 0,
            votes: OrderVotes::new(ndim_joined),
            last: None,
            not_c: None,
            not_f: None,
            big_not_c: None,
            big_not_f: None,
            first_name: "array 0".into(),
        };
        p.ref_shape = p.joined_shape(&first.shape);
        Ok(p)
    }

    /// Names the first input in messages ("array 0" unless told).
    pub fn name_first(&mut self, name: String) {
        self.first_name = name;
    }

    /// The shape an input takes in the join (`np.atleast_2d`, new axis).
    pub fn joined_shape(&self, shape: &[u64]) -> Vec<u64> {
        match self.mode {
            Mode::Concatenate(_) => shape.to_vec(),
            Mode::Vstack => crate::npy::scan::vstack_shape(shape),
            Mode::Stack => std::iter::once(1).chain(shape.iter().copied()).collect(),
        }
    }

    fn joined_strides(&self, shape: &[u64], fortran: bool) -> Vec<u64> {
        let s = loaded_strides(shape, fortran, self.first_layout.itemsize());
        // Added axes have length 1 and never take part in the vote.
        match (self.mode, shape.len()) {
            (Mode::Vstack, 0) => vec![0, 0],
            (Mode::Vstack, 1) | (Mode::Stack, _) => std::iter::once(0).chain(s).collect(),
            _ => s,
        }
    }

    /// Steps along the join axis that an input of `shape` contributes.
    pub fn axis_len(&self, shape: &[u64]) -> u64 {
        match self.mode {
            Mode::Stack => 1,
            Mode::Vstack if shape.len() < 2 => 1,
            // (`get`: a file that changed between two walks must not panic.)
            _ => shape.get(self.axis).copied().unwrap_or(0),
        }
    }

    /// Checks one input (the first one too) and adds it. `tag` is the
    /// caller's name for it (an input number or a byte offset), returned by
    /// [`Planner::finish`] when this input is the one in the wrong order.
    pub fn add(&mut self, h: &Header, tag: u64) -> Result<(), String> {
        if h.dtype.has_object() {
            return Err("holds Python objects (pickled data): npy never joins these".into());
        }
        if !super::dtype::same_descr(&h.descr, &self.descr) {
            return Err(format!(
                "dtype {} differs from {}'s {} (byte order included; npy never converts)",
                h.descr.repr(),
                self.first_name,
                self.descr.repr()
            ));
        }
        if self.count > 0 && !self.matches_last(h) {
            self.check_shape(&h.shape)?;
        }
        let len = self.axis_len(&h.shape);
        self.axis_sum = self
            .axis_sum
            .checked_add(len)
            .ok_or_else(|| "the joined shape overflows".to_string())?;
        if !self.matches_last(h) {
            let js = self.joined_shape(&h.shape);
            let st = self.joined_strides(&h.shape, h.fortran_order);
            self.votes.add(&js, &st);
            let bytes = h.data_bytes().unwrap_or(0);
            if bytes > 0 && !both_contiguous(&h.shape) {
                let (slot, big) = if h.fortran_order {
                    (&mut self.not_c, &mut self.big_not_c)
                } else {
                    (&mut self.not_f, &mut self.big_not_f)
                };
                if slot.is_none() {
                    *slot = Some((self.count, tag));
                }
                if bytes > TRANSPOSE_MAX && big.is_none() {
                    *big = Some((self.count, tag, bytes));
                }
            }
            self.last = Some((h.shape.clone(), h.fortran_order));
        }
        self.count += 1;
        Ok(())
    }

    fn matches_last(&self, h: &Header) -> bool {
        matches!(&self.last, Some((s, f)) if *s == h.shape && *f == h.fortran_order)
    }

    fn check_shape(&self, shape: &[u64]) -> Result<(), String> {
        let js = self.joined_shape(shape);
        let r = &self.ref_shape;
        let what = match self.mode {
            Mode::Stack => "np.stack needs all shapes equal",
            Mode::Vstack => "np.vstack needs all dimensions after the first equal",
            Mode::Concatenate(_) => "",
        };
        if js.len() != r.len() {
            return Err(match self.mode {
                Mode::Concatenate(_) => format!(
                    "has {} dimensions (shape {}), {} has {} (shape {})",
                    js.len(),
                    shape_repr(shape),
                    self.first_name,
                    r.len(),
                    shape_repr(&self.first_layout.shape)
                ),
                _ => format!(
                    "shape {} does not join with {}'s {}: {what}",
                    shape_repr(shape),
                    self.first_name,
                    shape_repr(&self.first_layout.shape)
                ),
            });
        }
        for (i, (&a, &b)) in js.iter().zip(r).enumerate() {
            if i != self.axis && a != b {
                return Err(match self.mode {
                    Mode::Concatenate(_) => format!(
                        "shape {} does not match {}'s {} outside axis {}",
                        shape_repr(shape),
                        self.first_name,
                        shape_repr(&self.first_layout.shape),
                        self.axis
                    ),
                    _ => format!(
                        "shape {} does not join with {}'s {}: {what}",
                        shape_repr(shape),
                        self.first_name,
                        shape_repr(&self.first_layout.shape)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The result, or why npy cannot write it: `Err((Some((index, tag)),
    /// message))` names an input whose bytes are in the other memory order
    /// than numpy's result and too large to transpose in memory.
    #[allow(clippy::type_complexity)]
    pub fn finish(&self) -> Result<Geometry, (Option<(u64, u64)>, String)> {
        if self.count == 0 {
            return Err((None, "no arrays to join".into()));
        }
        let mut shape = self.ref_shape.clone();
        shape[self.axis] = self.axis_sum;
        let itemsize = self.first_layout.itemsize();
        let order = saved_order(&shape, &self.votes.perm(), itemsize);
        let offender = match order {
            Order::C => self.big_not_c,
            Order::F => self.big_not_f,
        };
        if let Some((index, tag, bytes)) = offender {
            let theirs = if order == Order::C {
                Order::F
            } else {
                Order::C
            };
            return Err((
                Some((index, tag)),
                format!(
                    "stored in {} but numpy's result is in {}: its {bytes} data bytes would \
                     have to be transposed, which npy does only for arrays of up to {} MiB \
                     (it never holds more in memory)",
                    theirs.name(),
                    order.name(),
                    TRANSPOSE_MAX >> 20
                ),
            ));
        }
        let layout = Layout::new(self.descr.clone(), order == Order::F, shape.clone())
            .map_err(|e| (None, format!("the joined array: {e}")))?;
        let data_bytes = layout.data_bytes().map_err(|e| (None, e.to_string()))?;
        let (mem, axis) = match order {
            Order::C => (shape.clone(), self.axis),
            Order::F => (
                shape.iter().rev().copied().collect(),
                shape.len() - 1 - self.axis,
            ),
        };
        // Products of sub-shapes of a shape whose full product fits.
        let prod = |d: &[u64]| d.iter().fold(1u64, |a, &x| a.saturating_mul(x));
        let outer = prod(&mem[..axis]);
        let unit = prod(&mem[axis + 1..]).saturating_mul(itemsize);
        let row = unit.saturating_mul(self.axis_sum);
        Ok(Geometry {
            layout,
            order,
            joined: self.ref_shape.clone(),
            axis: self.axis,
            transposes: match order {
                Order::C => self.not_c.is_some(),
                Order::F => self.not_f.is_some(),
            },
            outer,
            unit,
            row,
            data_bytes,
            inputs: self.count,
        })
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The length of the result's header if it comes out in C order and
    /// joined along axis 0 (the common case, which can be copied while the
    /// headers are still being read): numpy's spare growth-axis digits make
    /// it independent of the final length.
    pub fn c_header_len_along_0(&self) -> Option<usize> {
        if self.axis != 0 {
            return None;
        }
        let l = Layout::new(self.descr.clone(), false, self.ref_shape.clone()).ok()?;
        Some(l.to_npy_header().len())
    }
}

/// One input's data, as [`Parts::visit`] hands it out.
pub struct Part<'a> {
    pub file: &'a File,
    /// The file's name, for messages.
    pub name: &'a Path,
    pub data_offset: u64,
    /// Steps along the join axis.
    pub axis_len: u64,
    /// Whether its bytes are in Fortran order (its header's `fortran_order`).
    pub fortran: bool,
}

/// The inputs, in order; visited once per batch of outer indices.
pub trait Parts {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()>;
    /// Whether the inputs lie back to back in one file, so reading ahead pays.
    fn sequential(&self) -> bool {
        false
    }
}

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

/// The C-order bytes of `shape` (items of `isz` bytes) given its Fortran-order
/// bytes: a transpose.
pub fn transpose(src: &[u8], shape: &[u64], isz: u64) -> Vec<u8> {
    let isz = isz as usize;
    let mut dst = Vec::with_capacity(src.len());
    if src.is_empty() || isz == 0 {
        return src.to_vec();
    }
    let nd = shape.len();
    let mut fstride = vec![isz; nd];
    for k in 1..nd {
        fstride[k] = fstride[k - 1] * shape[k - 1] as usize;
    }
    let mut idx = vec![0usize; nd];
    let last = nd - 1;
    let (n_last, s_last) = (shape[last] as usize, fstride[last]);
    loop {
        let base: usize = (0..last).map(|k| idx[k] * fstride[k]).sum();
        for j in 0..n_last {
            let o = base + j * s_last;
            dst.extend_from_slice(&src[o..o + isz]);
        }
        // Next index over all axes but the last, last-but-one fastest.
        let mut k = last;
        loop {
            if k == 0 {
                return dst;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < shape[k] as usize {
                break;
            }
            idx[k] = 0;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(inputs: &[(&[u64], bool)]) -> Vec<usize> {
        let mut v = OrderVotes::new(inputs[0].0.len());
        for (s, f) in inputs {
            v.add(s, &loaded_strides(s, *f, 8));
        }
        v.perm()
    }

    #[test]
    fn order_like_numpy() {
        assert_eq!(votes(&[(&[3, 4], false), (&[2, 4], false)]), vec![0, 1]);
        assert_eq!(votes(&[(&[3, 4], true), (&[3, 2], true)]), vec![1, 0]);
        // C order wins a conflict.
        assert_eq!(votes(&[(&[3, 4], true), (&[3, 4], false)]), vec![0, 1]);
        // The example traced by hand from numpy's insertion sort.
        assert_eq!(
            votes(&[(&[1, 4, 3], false), (&[2, 4, 3], true)]),
            vec![1, 2, 0]
        );
        assert_eq!(saved_order(&[3, 4, 3], &[1, 2, 0], 8), Order::C);
        assert_eq!(saved_order(&[5, 4], &[1, 0], 8), Order::F);
        assert_eq!(saved_order(&[5, 1], &[1, 0], 8), Order::C);
        assert_eq!(saved_order(&[0, 4], &[1, 0], 8), Order::C);
        // np.stack of Fortran arrays: neither contiguous, saved as C.
        assert_eq!(saved_order(&[2, 3, 4], &[0, 2, 1], 8), Order::C);
    }

    #[test]
    fn transposes() {
        // np.arange(6).reshape(2, 3) in Fortran order: 0 3 1 4 2 5.
        let f: Vec<u8> = [0u8, 3, 1, 4, 2, 5].to_vec();
        assert_eq!(transpose(&f, &[2, 3], 1), vec![0, 1, 2, 3, 4, 5]);
        // And back: C bytes of (2, 3) are the Fortran bytes of (3, 2).
        assert_eq!(transpose(&[0, 1, 2, 3, 4, 5], &[3, 2], 1), f);
        let f3: Vec<u8> = (0..24u8).collect();
        let c3 = transpose(&f3, &[2, 3, 4], 1);
        // Element (i, j, k) is at F offset i + 2j + 6k.
        let (i, j, k) = (1, 2, 3);
        assert_eq!(c3[i * 12 + j * 4 + k], (i + 2 * j + 6 * k) as u8);
        assert_eq!(transpose(&[1, 2, 3, 4], &[1, 2], 2), vec![1, 2, 3, 4]);
    }

    #[test]
    fn strides() {
        assert_eq!(loaded_strides(&[2, 3, 4], false, 8), vec![96, 32, 8]);
        assert_eq!(loaded_strides(&[2, 3, 4], true, 8), vec![8, 16, 48]);
        assert_eq!(loaded_strides(&[2, 0, 4], false, 8), vec![32, 32, 8]);
    }
}
