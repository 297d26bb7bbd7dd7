//! `convert-stacked`'s passes over arrays stored back to back in one file.
//!
//! The fast pass walks a map of the file and copies with no per-array
//! allocation and one copy; the careful pass ([`careful_pass`]) walks it
//! with positioned reads and words every problem; [`Stacked`] hands the
//! arrays to the executor when the data is copied in a second pass.
//!
//! [`MapWalk`] reads the headers straight from the map; a header whose bytes
//! equal the previous one's is neither parsed nor cloned. [`fast_pass`]
//! plans the join as it walks and, when the result is a C-order join along
//! axis 0 (the usual `np.vstack`), hands the data of each array to the
//! output as a slice of the map: batches of up to 1,024 of them go out in
//! one vectored write, so the kernel's copy from the map is the only one.
//! Anything unusual (junk, a truncated array, arrays that do not join) makes
//! the fast pass give up with `None`: the careful walk then words the error.

use std::fs::File;
use std::path::Path;

use crate::npy::error::{Error, IoResultExt, Result, ResultExt};

use super::super::header::{parse_dict, preamble_within, read_header_at, Header};
use super::super::scan::{WalkError, WalkErrorKind, Walker};
use super::super::FormatError;
use super::Guarded;
use super::Out;
use super::{both_contiguous, Planner};
use super::{Mode, Part, Parts, Sink};
use crate::npy::Progress;

/// Arrays at least this large are copied file to file by the kernel
/// (`copy_file_range`) instead of through the map.
const BIG: u64 = 1 << 20;
/// Pages of the map read are released every this many bytes.
const RELEASE_STEP: usize = 8 << 20;

/// Consecutive arrays with the same header and data size.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub offset: u64,
    pub header_len: u64,
    pub data_bytes: u64,
    pub axis_len: u64,
    pub fortran_order: bool,
    pub count: u64,
}

/// Counts `next` (one array) into the last run when it continues it (same
/// layout, right after it), else starts a run; past `max_runs` runs the list
/// is given up (`None`: the headers are walked again instead).
fn note_run(runs: &mut Option<Vec<Run>>, max_runs: usize, next: Run) {
    let Some(rs) = runs else { return };
    if let Some(r) = rs.last_mut() {
        let continues = r.header_len == next.header_len
            && r.data_bytes == next.data_bytes
            && r.axis_len == next.axis_len
            && r.fortran_order == next.fortran_order
            && r.offset + r.count * (r.header_len + r.data_bytes) == next.offset;
        if continues {
            r.count += 1;
            return;
        }
    }
    if rs.len() >= max_runs {
        *runs = None;
    } else {
        rs.push(next);
    }
}

/// One array found by [`MapWalk`]; its header is [`MapWalk::header`].
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub index: u64,
    pub offset: u64,
    pub data_bytes: u64,
    /// Its header's bytes equal the previous array's.
    pub same: bool,
}

/// Walks the arrays of a mapped file.
pub struct MapWalk<'m> {
    bytes: &'m [u8],
    off: usize,
    index: u64,
    /// The last header: where its bytes are, parsed, and its data size.
    last: Option<(usize, usize, Header, u64)>,
}

/// The walk met something that is not a plain array (the careful walk
/// says what).
#[derive(Debug)]
pub struct NotPlain;

impl<'m> MapWalk<'m> {
    pub fn new(bytes: &'m [u8]) -> MapWalk<'m> {
        MapWalk {
            bytes,
            off: 0,
            index: 0,
            last: None,
        }
    }

    /// The header of the array [`MapWalk::next`] returned last.
    pub fn header(&self) -> Option<&Header> {
        self.last.as_ref().map(|l| &l.2)
    }

    /// The next array, `None` at the end of the file.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Found, NotPlain>> {
        let len = self.bytes.len();
        if self.off >= len {
            return None;
        }
        let off = self.off;
        let same = match &self.last {
            Some((at, hl, _, _)) => {
                off + hl <= len && self.bytes[off..off + hl] == self.bytes[*at..*at + hl]
            }
            None => false,
        };
        if same {
            if let Some(l) = &mut self.last {
                l.0 = off;
            }
        } else {
            match self.parse(off) {
                Some(l) => self.last = Some(l),
                None => return Some(Err(NotPlain)),
            }
        }
        let (_, hl, _, data) = self.last.as_ref()?;
        let end = (off + hl) as u64 + data;
        if end > len as u64 {
            return Some(Err(NotPlain));
        }
        let found = Found {
            index: self.index,
            offset: off as u64,
            data_bytes: *data,
            same,
        };
        self.off = end as usize;
        self.index += 1;
        Some(Ok(found))
    }

    fn parse(&self, off: usize) -> Option<(usize, usize, Header, u64)> {
        let avail = (self.bytes.len() - off) as u64;
        let first = &self.bytes[off..off + avail.min(12) as usize];
        let pre = preamble_within(first, avail).ok()?;
        let hl = pre.header_len() as usize;
        let text = &self.bytes[off + pre.version.prefix_len()..off + hl];
        let mut h = parse_dict(pre, text).ok()?;
        h.header_len = hl as u64;
        if h.dtype.has_object() {
            return None;
        }
        let data = h.data_bytes().ok()?;
        Some((off, hl, h, data))
    }
}

/// What the fast pass found: the plan, the runs (or `None` past `max_runs`)
/// and, when the data was copied already, the output with the header
/// length it was written behind.
pub struct Fast<'a> {
    pub planner: Planner,
    pub runs: Option<Vec<Run>>,
    pub early: Option<(Out<'a>, usize)>,
}

/// Walks `map` (all of `input`), planning a join by `mode` and, when it is
/// a C-order join along axis 0, copying the data into `out` behind the
/// header's length. `Ok(Err(progress))`, handing `progress` back, when the
/// file is not a plain stack of arrays that join: the caller then walks it
/// carefully for the exact message.
#[allow(clippy::too_many_arguments)]
pub fn fast_pass<'a>(
    map: &'a Guarded,
    input: &'a File,
    name: &'a Path,
    mode: Mode,
    max_runs: usize,
    sink: Option<Sink<'a>>,
    out_name: &'a str,
    progress: &'a mut dyn Progress,
) -> Result<Result<Fast<'a>, &'a mut dyn Progress>> {
    let bytes = map.bytes();
    map.sequential();
    let mut w = MapWalk::new(bytes);
    let mut planner: Option<Planner> = None;
    let mut runs: Option<Vec<Run>> = Some(Vec::new());
    let mut early: Option<(Out<'a>, usize)> = None;
    let mut early_possible = sink.is_some();
    let mut sink = sink;
    let mut progress = Some(progress);
    let mut c_bytes = false;
    let mut axis_len = 0;
    let mut released = 0usize;
    let give_up = |progress: Option<&'a mut dyn Progress>, early: Option<(Out<'a>, usize)>| match (
        progress, early,
    ) {
        (Some(p), _) => Ok(Err(p)),
        (None, Some((out, _))) => Ok(Err(out.into_progress())),
        (None, None) => Err(Error::invalid("lost track of the progress display").at(name)),
    };
    while let Some(item) = w.next() {
        let Ok(a) = item else {
            return give_up(progress, early);
        };
        let Some(h) = w.header() else {
            return give_up(progress, early);
        };
        let p = match &mut planner {
            Some(p) => p,
            None => match Planner::new(mode, h) {
                Ok(p) => planner.insert(p),
                Err(_) => return give_up(progress, early),
            },
        };
        if p.add(h, a.offset).is_err() {
            return give_up(progress, early);
        }
        if !a.same {
            axis_len = p.axis_len(&h.shape);
            c_bytes = !h.fortran_order || both_contiguous(&h.shape) || a.data_bytes == 0;
        }
        let hl = h.header_len;
        note_run(
            &mut runs,
            max_runs,
            Run {
                offset: a.offset,
                header_len: hl,
                data_bytes: a.data_bytes,
                axis_len,
                fortran_order: h.fortran_order,
                count: 1,
            },
        );
        if early_possible {
            if early.is_none() && a.index == 0 {
                if let Some(l) = p.c_header_len_along_0().filter(|_| c_bytes) {
                    if let (Some(s), Some(pr)) = (sink.take(), progress.take()) {
                        early = Some((Out::new(s, out_name, l as u64, pr), l));
                    }
                }
            }
            match &mut early {
                Some((out, _)) if c_bytes => {
                    let off = a.offset + hl;
                    if a.data_bytes >= BIG {
                        out.copy(input, name, off, a.data_bytes)?;
                    } else {
                        let (s, e) = (off as usize, (off + a.data_bytes) as usize);
                        out.push_ref(&bytes[s..e])?;
                    }
                    // Pages behind what is written can go.
                    if out.pending() == 0 && a.offset as usize >= released + RELEASE_STEP {
                        map.release(released, a.offset as usize);
                        released = a.offset as usize;
                    }
                }
                _ => {
                    if let Some((out, _)) = early.take() {
                        progress = Some(out.into_progress());
                    }
                    early_possible = false;
                }
            }
        }
        if !early_possible && a.offset as usize >= released + RELEASE_STEP {
            map.release(released, a.offset as usize);
            released = a.offset as usize;
        }
    }
    map.release(released, bytes.len());
    map.check().at(name)?;
    match planner {
        Some(planner) => Ok(Ok(Fast {
            planner,
            runs,
            early,
        })),
        None => give_up(progress, early),
    }
}

pub struct Stacked<'a> {
    pub file: &'a File,
    pub path: &'a Path,
    pub file_len: u64,
    /// `None`: too many runs to keep, walk the headers again.
    pub runs: Option<Vec<Run>>,
    pub count: u64,
    pub planner: &'a Planner,
}

impl Parts for Stacked<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()> {
        match &self.runs {
            Some(runs) => {
                for r in runs {
                    let step = r.header_len + r.data_bytes;
                    for k in 0..r.count {
                        f(Part {
                            file: self.file,
                            name: self.path,
                            data_offset: r.offset + k * step + r.header_len,
                            axis_len: r.axis_len,
                            fortran_order: r.fortran_order,
                        })?;
                    }
                }
            }
            None => {
                for e in Walker::new(self.file, self.file_len).take(self.count as usize) {
                    let e = e.map_err(|e| {
                        Error::invalid(format!("changed while being converted: {e}")).at(self.path)
                    })?;
                    f(Part {
                        file: self.file,
                        name: self.path,
                        data_offset: e.data_offset(),
                        axis_len: self.planner.axis_len(&e.header.shape),
                        fortran_order: e.header.fortran_order,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn sequential(&self) -> bool {
        true
    }
}

/// Whether a walk stopped at an array that runs to the end of the file
/// without being complete (an interrupted `np.save`), as opposed to junk or
/// a malformed header.
pub fn incomplete(file: &File, file_len: u64, e: &WalkError) -> bool {
    match &e.kind {
        WalkErrorKind::TruncatedData { .. } => true,
        WalkErrorKind::Junk { .. } => false,
        WalkErrorKind::BadHeader(_) => matches!(
            read_header_at(file, e.offset, file_len),
            Err(FormatError::ShortHeader | FormatError::HeaderPastEnd { .. })
        ),
    }
}

pub fn complete(n: u64) -> String {
    if n == 1 {
        "1 complete array".into()
    } else {
        format!("{n} complete arrays")
    }
}

/// Pass 1 with positioned reads, wording every problem: returns the plan,
/// the runs (`None` past `max_runs`), the output when the data was copied
/// already (with the header length it is behind), and the incomplete last
/// array left out under `--drop-incomplete`.
#[allow(clippy::type_complexity)]
#[allow(clippy::too_many_arguments)]
pub fn careful_pass<'a>(
    file: &File,
    input: &Path,
    file_len: u64,
    mode: Mode,
    drop_incomplete: bool,
    max_runs: usize,
    sink: Option<Sink<'a>>,
    out_name: &'a str,
    progress: &'a mut dyn Progress,
) -> Result<(
    Option<Planner>,
    Option<Vec<Run>>,
    Option<(Out<'a>, usize)>,
    Option<WalkError>,
)> {
    let name = input.display().to_string();
    let early_allowed = sink.is_some();
    let mut sink = sink;
    let mut progress = Some(progress);
    let mut planner: Option<Planner> = None;
    let mut runs: Option<Vec<Run>> = Some(Vec::new());
    let mut dropped: Option<WalkError> = None;
    let mut early: Option<(Out, usize)> = None;
    let mut early_possible = early_allowed;
    let mut walker = Walker::new(file, file_len);
    while let Some(item) = walker.next() {
        let e = match item {
            Ok(e) => e,
            Err(we) => {
                let cut = incomplete(file, file_len, &we);
                if drop_incomplete && cut && we.index > 0 {
                    dropped = Some(we);
                    break;
                }
                let hint = if cut && we.index > 0 {
                    format!(
                        "; give --drop-incomplete to convert the {} before it",
                        complete(we.index)
                    )
                } else {
                    String::new()
                };
                return Err(Error::invalid(format!("{we}{hint}")).at(&name));
            }
        };
        let at = |m: String| {
            Error::invalid(format!(
                "array {} at byte offset {}: {m}",
                e.index, e.offset
            ))
            .at(&name)
        };
        let p = match &mut planner {
            Some(p) => p,
            None => planner.insert(Planner::new(mode, &e.header).map_err(|m| at(m.to_string()))?),
        };
        p.add(&e.header, e.offset).map_err(|m| at(m.to_string()))?;
        let axis_len = p.axis_len(&e.header.shape);
        let data_bytes = e.header.data_bytes().map_err(|x| at(x.to_string()))?;
        note_run(
            &mut runs,
            max_runs,
            Run {
                offset: e.offset,
                header_len: e.header.header_len,
                data_bytes,
                axis_len,
                fortran_order: e.header.fortran_order,
                count: 1,
            },
        );
        if early_possible {
            let c_bytes =
                !e.header.fortran_order || both_contiguous(&e.header.shape) || data_bytes == 0;
            if early.is_none() && e.index == 0 {
                if let Some(hl) = p.c_header_len_along_0().filter(|_| c_bytes) {
                    if let (Some(s), Some(pr)) = (sink.take(), progress.take()) {
                        early = Some((Out::new(s, out_name, hl as u64, pr), hl));
                    }
                }
            }
            match &mut early {
                Some((out, _)) if c_bytes => {
                    let off = e.data_offset();
                    if data_bytes >= 1 << 20 {
                        out.copy(file, input, off, data_bytes)?;
                    } else {
                        let bytes = walker
                            .read_at(off, data_bytes as usize)
                            .doing("cannot read")
                            .at(&name)?;
                        out.push(bytes)?;
                    }
                }
                _ => {
                    early = None;
                    early_possible = false;
                }
            }
        }
    }
    Ok((planner, runs, early, dropped))
}
