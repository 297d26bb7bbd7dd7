//! What a file holds, judged from its headers and its size alone (never its
//! data): one whole array, one whose data is cut short or followed by extra
//! bytes, several arrays back to back ("stacked"), or pickled objects.
//!
//! This is what `inspect` reports, what `append` and `concat` check before
//! they write, and what `repair` and `convert-stacked` plan from.

use std::fs::File;

use super::header::{read_header_at, Header, MAGIC};
use super::FormatError;

/// A file's condition, as `inspect --json` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Ok,
    /// Fewer data bytes than the header promises.
    Truncated,
    /// More data bytes than the header promises, not a further array.
    Trailing,
    /// Further complete `.npy` arrays follow the first one.
    Stacked,
    /// Pickled Python objects: reported, never modified.
    Object,
}

impl FileStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Truncated => "truncated",
            FileStatus::Trailing => "trailing",
            FileStatus::Stacked => "stacked",
            FileStatus::Object => "object",
        }
    }
}

/// What a command does with a file whose status is not `ok`: the advice
/// depends on it (a file appended *from* needs other words than the target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Reported, or read as one whole array (inspect, concat, show, stats,
    /// zip): what is wrong and the command that fixes it.
    Report,
    /// A SOURCE of `npy append`. Pickled objects get no advice here (the
    /// dtype check words them).
    AppendSource,
    /// The TARGET of `npy append`. Pickled objects as for a source.
    AppendTarget,
    /// A file `npy repair` looks at: advice only for what it refuses (a
    /// truncated or trailing file is what it repairs).
    Repair,
}

/// The advice for a file whose scan is `s`, named `path` in the advice (a
/// command to run on it), to follow `npy: FILE: `; `None` when there is
/// nothing to say for `u` (the file is fine, or `u` deals with it). Every
/// command words a [`FileStatus`] through this one function.
pub fn advice(path: &str, s: &Scan, u: Use) -> Option<String> {
    let arrays = || s.stack.as_ref().map_or(2, |s| s.arrays.max(2));
    match (u, s.status) {
        (_, FileStatus::Ok) => None,
        (Use::Report, _) => report_advice(path, s),
        (Use::AppendSource | Use::AppendTarget, FileStatus::Object) => None,
        (Use::AppendSource, FileStatus::Truncated) => Some(format!(
            "is truncated: {} of the {} data bytes its header promises are present; \
             not appending it (`npy repair {path}` makes it loadable)",
            s.data_present, s.expected_bytes
        )),
        (Use::AppendSource, FileStatus::Trailing) => Some(format!(
            "has {} bytes after the data its header describes; not appending it \
             (`npy repair {path}` fixes it)",
            s.data_present - s.expected_bytes
        )),
        (Use::AppendSource, FileStatus::Stacked) => Some(format!(
            "holds {} arrays back to back, not one array; join them first with \
             `npy convert-stacked {path} -o OUTPUT`",
            arrays()
        )),
        (Use::AppendTarget, FileStatus::Truncated) => Some(format!(
            "holds {} data bytes but its header promises {}; it must be repaired \
             before anything is appended: run `npy repair {path}`",
            s.data_present, s.expected_bytes
        )),
        (Use::AppendTarget, FileStatus::Trailing) => Some(format!(
            "has {} bytes past the data its header describes (an interrupted append?); \
             it must be repaired before anything is appended: run `npy repair {path}`",
            s.data_present - s.expected_bytes
        )),
        (Use::AppendTarget, FileStatus::Stacked) => Some(format!(
            "holds {} arrays back to back (np.save called repeatedly on one file), \
             not one array; run `npy convert-stacked {path} --in-place` first",
            arrays()
        )),
        (Use::Repair, FileStatus::Truncated | FileStatus::Trailing) => None,
        (Use::Repair, FileStatus::Object) => Some(
            "holds pickled Python objects (dtype 'O'): npy never repairs these; nothing changed"
                .into(),
        ),
        (Use::Repair, FileStatus::Stacked) => Some(match s.stack.as_ref().map(|s| s.arrays) {
            Some(n) if n >= 2 => format!(
                "holds {n} arrays stored back to back (np.save called repeatedly on one file), \
                 which is not something to repair: use `npy convert-stacked` to join them; nothing changed"
            ),
            _ => format!(
                "the bytes after the data of shape {} that the header promises start with the .npy magic, as if another \
                 array were saved after it, but no whole array follows: not repairing a guess \
                 (`npy inspect` shows more; `npy convert-stacked` handles arrays back to back); nothing changed",
                s.header.shape_repr()
            ),
        }),
    }
}

/// [`advice`] for [`Use::Report`]: the status line of `npy inspect`.
fn report_advice(path: &str, s: &Scan) -> Option<String> {
    let rows = |n: u64, partial: u64, row: u64| -> String {
        if partial == 0 {
            format!("{n}")
        } else {
            format!("{n} whole rows and {partial} of {row} bytes of another")
        }
    };
    match s.status {
        FileStatus::Ok => None,
        FileStatus::Object => Some(
            "holds pickled Python objects: npy never appends, joins, converts or repairs these"
                .into(),
        ),
        FileStatus::Stacked => {
            let st = s.stack.as_ref()?;
            let mut m = format!(
                "{} arrays stored back to back (np.save called repeatedly on one file)",
                st.arrays
            );
            if let Some(p) = &st.problem {
                match &p.kind {
                    WalkErrorKind::TruncatedData { .. } | WalkErrorKind::BadHeader(_) => {
                        m.push_str(&format!("; {p}; `npy convert-stacked --drop-incomplete` converts the complete ones"))
                    }
                    WalkErrorKind::Junk { .. } => m.push_str(&format!("; then {p}")),
                }
            } else if let Some(mm) = &st.mismatch {
                m.push_str(&format!("; `npy convert-stacked` cannot join them: {mm}"));
            } else {
                m.push_str(&format!(": run `npy convert-stacked {path} -o OUTPUT`"));
            }
            Some(m)
        }
        FileStatus::Truncated | FileStatus::Trailing => {
            let word = if s.status == FileStatus::Truncated {
                "truncated"
            } else {
                "extra bytes after the data"
            };
            match (s.rows_declared(), s.rows_present(), s.header.row_bytes()) {
                (Some(decl), Some((whole, partial)), Ok(row)) => Some(format!(
                    "{word}: header says {decl} rows, file holds {}: run `npy repair {path}`",
                    rows(whole, partial, row)
                )),
                _ => Some(format!(
                    "{word}: header promises {} data bytes, file has {}: run `npy repair {path}`",
                    s.expected_bytes, s.data_present
                )),
            }
        }
    }
}

/// The result of looking at one file.
#[derive(Debug, Clone)]
pub struct Scan {
    pub header: Header,
    pub file_len: u64,
    /// Bytes present after the (first) header (compare
    /// [`expected_bytes`](Self::expected_bytes), what it promises).
    pub data_present: u64,
    /// Bytes the (first) header promises.
    pub expected_bytes: u64,
    pub status: FileStatus,
    /// For stacked files: the walk over all arrays.
    pub stack: Option<StackSummary>,
}

impl Scan {
    /// Whole rows (steps along the growth axis) present in the data, and the
    /// bytes of a partial row after them. `None` for 0-d arrays and empty rows.
    pub fn rows_present(&self) -> Option<(u64, u64)> {
        self.header.growth_axis()?;
        let row = self.header.row_bytes().ok()?;
        if row == 0 {
            return None;
        }
        Some((self.data_present / row, self.data_present % row))
    }

    /// What a user loading the file with numpy should know although the
    /// file is fine: a header over np.load's default `max_header_size`
    /// (numpy writes those itself for wide records) loads only with
    /// `np.load(f, max_header_size=...)`. The status stays what it is.
    pub fn note(&self) -> Option<String> {
        self.header.needs_max_header_size().then(|| {
            format!(
                "header dict is {} characters, over np.load's default limit of {}: \
                 load with np.load(f, max_header_size={}) (npy reads it as is)",
                self.header.dict_chars,
                super::header::NUMPY_MAX_HEADER_SIZE,
                self.header.dict_chars
            )
        })
    }

    /// Rows the header promises, or `None` for a 0-d array.
    pub fn rows_declared(&self) -> Option<u64> {
        self.header.growth_axis().map(|ax| self.header.shape[ax])
    }
}

/// Summary of a walk over arrays stored back to back.
#[derive(Debug, Clone)]
pub struct StackSummary {
    /// Complete arrays found.
    pub arrays: u64,
    /// Why the walk stopped before the end of the file, if it did.
    pub problem: Option<WalkError>,
    /// Why the arrays cannot be joined with `np.vstack`, if they cannot.
    pub mismatch: Option<String>,
}

/// Why a walk over back-to-back arrays stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// 0-based index of the array that is bad.
    pub index: u64,
    /// Byte offset where it starts.
    pub offset: u64,
    pub kind: WalkErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkErrorKind {
    /// Bytes that are not a `.npy` header.
    Junk { len: u64 },
    /// A header that is cut off or malformed.
    BadHeader(String),
    /// A header whose data runs past the end of the file.
    TruncatedData { expected: u64, present: u64 },
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, o) = (self.index, self.offset);
        match &self.kind {
            WalkErrorKind::Junk { len } => {
                write!(f, "{len} bytes that are not a .npy array at byte offset {o} (after array {})", i.saturating_sub(1))
            }
            WalkErrorKind::BadHeader(m) => write!(f, "array {i} at byte offset {o}: {m}"),
            WalkErrorKind::TruncatedData { expected, present } => write!(
                f,
                "array {i} at byte offset {o} is truncated: {present} of {expected} data bytes present"
            ),
        }
    }
}
impl std::error::Error for WalkError {}

/// What a header that did not parse means in a walk: bytes that are not an
/// array at all after the first one are junk; anything else a bad header.
fn header_error(e: FormatError, index: u64, offset: u64, file_len: u64) -> WalkErrorKind {
    match e {
        FormatError::Magic if index > 0 => WalkErrorKind::Junk {
            len: file_len - offset,
        },
        e => WalkErrorKind::BadHeader(e.to_string()),
    }
}

/// Checks the array whose header starts at `offset` and returns where the
/// next one starts: its data must be all there, and not pickled objects.
fn next_offset(header: &Header, offset: u64, file_len: u64) -> Result<u64, WalkErrorKind> {
    let present = file_len - offset - header.header_len;
    let expected = header
        .data_bytes()
        .map_err(|e| WalkErrorKind::BadHeader(e.to_string()))?;
    if header.dtype.has_object() {
        return Err(WalkErrorKind::BadHeader(
            "holds Python objects (pickled data)".into(),
        ));
    }
    if present < expected {
        return Err(WalkErrorKind::TruncatedData { expected, present });
    }
    Ok(offset + header.header_len + expected)
}

/// Looks at a file: its first header, its size and, when more bytes follow
/// the first array than it needs, whether they are further arrays.
pub fn scan_file(file: &File) -> Result<Scan, FormatError> {
    let file_len = file.metadata()?.len();
    let header = read_header_at(file, 0, file_len)?;
    let mut s = judge(header, file_len)?;
    if s.status == FileStatus::Trailing
        && starts_with_magic(file, s.header.header_len + s.expected_bytes, file_len)?
    {
        s.stack = Some(summarize_stack(file, file_len));
        s.status = FileStatus::Stacked;
    }
    Ok(s)
}

/// What a header and the length `len` of the bytes it heads (header
/// included) say of an array: its status from sizes alone. Bytes past the
/// data are `Trailing` here; telling a stacked file from them needs those
/// bytes ([`scan_file`] looks).
pub fn judge(header: Header, len: u64) -> Result<Scan, FormatError> {
    let data_present = len.saturating_sub(header.header_len);
    let expected_bytes = header.data_bytes()?;
    let status = if header.dtype.has_object() {
        FileStatus::Object
    } else if data_present == expected_bytes {
        FileStatus::Ok
    } else if data_present < expected_bytes {
        FileStatus::Truncated
    } else {
        FileStatus::Trailing
    };
    Ok(Scan {
        header,
        file_len: len,
        data_present,
        expected_bytes,
        status,
        stack: None,
    })
}

/// Like [`scan_file`], for a file another `npy` may be appending to: one
/// that shows bytes past its header's data (what an append in flight looks
/// like between writing rows and updating the header) is looked at again
/// under a shared lock, which waits until any `npy append` or `npy repair`
/// holding the file's exclusive lock is done. A file still not whole then is
/// really damaged.
pub fn scan_settled(file: &File) -> Result<Scan, FormatError> {
    let s = scan_file(file)?;
    if !matches!(s.status, FileStatus::Trailing | FileStatus::Truncated) {
        return Ok(s);
    }
    file.lock_shared()?;
    let again = scan_file(file);
    let _ = file.unlock();
    again
}

fn starts_with_magic(file: &File, offset: u64, file_len: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    if file_len.saturating_sub(offset) < MAGIC.len() as u64 {
        return Ok(false);
    }
    let mut buf = [0u8; 6];
    file.read_exact_at(&mut buf, offset)?;
    Ok(&buf == MAGIC)
}

/// Walks every array, counting them and checking that they join with
/// `np.vstack` — by the same planner `npy convert-stacked` uses, so
/// `inspect` calls a file convertible exactly when the conversion would go.
pub fn summarize_stack(file: &File, file_len: u64) -> StackSummary {
    use super::plan::{Mode, Planner};
    let mut arrays = 0;
    let mut problem = None;
    let mut mismatch = None;
    let mut planner: Option<Planner> = None;
    let at =
        |index: u64, offset: u64, m: &str| format!("array {index} at byte offset {offset}: {m}");
    for item in Walker::new(file, file_len) {
        let e = match item {
            Ok(e) => e,
            Err(err) => {
                problem = Some(err);
                continue;
            }
        };
        arrays += 1;
        if mismatch.is_some() {
            continue;
        }
        if planner.is_none() {
            match Planner::new(Mode::Vstack, &e.header) {
                Ok(p) => planner = Some(p),
                Err(m) => {
                    mismatch = Some(at(e.index, e.offset, &m.to_string()));
                    continue;
                }
            }
        }
        if let Some(Err(m)) = planner.as_mut().map(|p| p.add(&e.header, e.offset)) {
            mismatch = Some(at(e.index, e.offset, &m.to_string()));
        }
    }
    if let (None, Some(p)) = (&mismatch, &planner) {
        if let Err(m) = p.finish() {
            mismatch = Some(m.to_string());
        }
    }
    StackSummary {
        arrays,
        problem,
        mismatch,
    }
}

/// Read-ahead used by [`Walker`] after small arrays.
const WALK_READAHEAD: usize = 1 << 20;

/// Iterates over arrays stored back to back in a file, reading headers only
/// and in constant memory whatever the number of arrays. It reads ahead
/// through one buffer: a file of many small arrays costs one read per MiB
/// instead of two per array, and a header whose bytes equal the previous
/// one's is not parsed again. After a large array only a few KiB are read
/// ahead, so big arrays' data is never read.
pub struct Walker<'a> {
    file: &'a File,
    file_len: u64,
    offset: u64,
    index: u64,
    done: bool,
    buf: Vec<u8>,
    buf_start: u64,
    /// Raw bytes and parse of the last header.
    last: Option<(Vec<u8>, Header)>,
    /// Bytes the last array took (header + data), to size the read-ahead.
    last_span: u64,
}

impl<'a> Walker<'a> {
    pub fn new(file: &'a File, file_len: u64) -> Self {
        Walker {
            file,
            file_len,
            offset: 0,
            index: 0,
            done: false,
            buf: Vec::new(),
            buf_start: 0,
            last: None,
            last_span: 0,
        }
    }

    /// `len` bytes at `off`, through the read-ahead buffer (so the data of
    /// a small array just walked costs no further read). The caller keeps
    /// `off + len` within the file.
    pub fn read_at(&mut self, off: u64, len: usize) -> std::io::Result<&[u8]> {
        use std::os::unix::fs::FileExt;
        let end = self.buf_start + self.buf.len() as u64;
        if off < self.buf_start || off + len as u64 > end {
            let ahead = if self.last_span < 64 << 10 {
                WALK_READAHEAD
            } else {
                4 << 10
            };
            let want = (len.max(ahead) as u64).min(self.file_len - off) as usize;
            self.buf.resize(want, 0);
            self.buf_start = off;
            if let Err(e) = self.file.read_exact_at(&mut self.buf, off) {
                self.buf.clear();
                return Err(e);
            }
        }
        let i = (off - self.buf_start) as usize;
        Ok(&self.buf[i..i + len])
    }

    /// [`read_header_at`] through the buffer, with the same errors.
    fn header_at(&mut self, offset: u64) -> Result<Header, FormatError> {
        use super::header::{parse_dict, preamble_within};
        let avail = self.file_len.saturating_sub(offset);
        let n = avail.min(12) as usize;
        let pre = preamble_within(self.read_at(offset, n)?, avail)?;
        if pre.header_len() > (64 << 20) {
            return read_header_at(self.file, offset, self.file_len);
        }
        let hl = pre.header_len() as usize;
        let last = self.last.take();
        let raw = self.read_at(offset, hl)?;
        if let Some((bytes, h)) = &last {
            if bytes.as_slice() == raw {
                let h = h.clone();
                self.last = last;
                return Ok(h);
            }
        }
        let raw = raw.to_vec();
        let mut h = parse_dict(pre, &raw[pre.version.prefix_len()..])?;
        h.header_len = pre.header_len();
        self.last = Some((raw, h.clone()));
        Ok(h)
    }
}

impl Iterator for Walker<'_> {
    type Item = Result<Entry, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.offset >= self.file_len {
            return None;
        }
        let (index, offset) = (self.index, self.offset);
        let fail = |kind| {
            Some(Err(WalkError {
                index,
                offset,
                kind,
            }))
        };
        self.done = true;
        let header = match self.header_at(offset) {
            Ok(h) => h,
            Err(e) => return fail(header_error(e, index, offset, self.file_len)),
        };
        let next = match next_offset(&header, offset, self.file_len) {
            Ok(n) => n,
            Err(kind) => return fail(kind),
        };
        self.done = false;
        self.last_span = next - offset;
        self.offset = next;
        self.index += 1;
        Some(Ok(Entry {
            index,
            offset,
            header,
        }))
    }
}

/// The plain walk, one positioned read per header: the reference the
/// buffered [`Walker`] is tested against.
#[cfg(test)]
struct SimpleWalker<'a> {
    file: &'a File,
    file_len: u64,
    offset: u64,
    index: u64,
    done: bool,
}

/// One array found by [`Walker`]: where it starts and its header.
#[derive(Debug, Clone)]
pub struct Entry {
    pub index: u64,
    pub offset: u64,
    pub header: Header,
}

impl Entry {
    pub fn data_offset(&self) -> u64 {
        self.offset + self.header.header_len
    }
}

#[cfg(test)]
impl<'a> SimpleWalker<'a> {
    fn new(file: &'a File, file_len: u64) -> Self {
        SimpleWalker {
            file,
            file_len,
            offset: 0,
            index: 0,
            done: false,
        }
    }
}

#[cfg(test)]
impl Iterator for SimpleWalker<'_> {
    type Item = Result<Entry, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.offset >= self.file_len {
            return None;
        }
        let (index, offset) = (self.index, self.offset);
        let fail = |kind| {
            Some(Err(WalkError {
                index,
                offset,
                kind,
            }))
        };
        self.done = true;
        let header = match read_header_at(self.file, offset, self.file_len) {
            Ok(h) => h,
            Err(e) => return fail(header_error(e, index, offset, self.file_len)),
        };
        let next = match next_offset(&header, offset, self.file_len) {
            Ok(n) => n,
            Err(kind) => return fail(kind),
        };
        self.done = false;
        self.offset = next;
        self.index += 1;
        Some(Ok(Entry {
            index,
            offset,
            header,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::header::Layout;
    use crate::npy::pylit::Py;
    use std::io::Write;

    fn array(shape: &[u64], fill: u8) -> Vec<u8> {
        let l = Layout::new(Py::Str("<i2".into()), false, shape.to_vec()).unwrap();
        let mut v = l.to_npy_header();
        v.extend(std::iter::repeat_n(fill, l.data_bytes().unwrap() as usize));
        v
    }

    fn scan_bytes(b: &[u8]) -> Scan {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b).unwrap();
        scan_file(&f).unwrap()
    }

    #[test]
    fn statuses() {
        let a = array(&[4, 3], 1);
        assert_eq!(scan_bytes(&a).status, FileStatus::Ok);
        assert_eq!(scan_bytes(&a[..a.len() - 1]).status, FileStatus::Truncated);
        let mut t = a.clone();
        t.extend_from_slice(&[0; 9]);
        let s = scan_bytes(&t);
        assert_eq!(s.status, FileStatus::Trailing);
        assert_eq!(s.rows_present(), Some((5, 3)));
        let mut st = a.clone();
        st.extend(array(&[2, 3], 2));
        st.extend(array(&[1, 3], 3));
        let s = scan_bytes(&st);
        assert_eq!(s.status, FileStatus::Stacked);
        let sum = s.stack.unwrap();
        assert_eq!(sum.arrays, 3);
        assert!(sum.problem.is_none() && sum.mismatch.is_none());
    }

    #[test]
    fn stacked_with_truncated_tail_and_mismatch() {
        let mut st = array(&[2], 1);
        st.extend(array(&[3], 2));
        let b = array(&[2], 3);
        st.extend_from_slice(&b[..b.len() - 1]);
        let s = scan_bytes(&st);
        assert_eq!(s.status, FileStatus::Stacked);
        let sum = s.stack.unwrap();
        assert_eq!(sum.arrays, 2);
        let p = sum.problem.unwrap();
        assert_eq!(p.index, 2);
        assert!(matches!(
            p.kind,
            WalkErrorKind::TruncatedData {
                expected: 4,
                present: 3
            }
        ));
        assert!(sum.mismatch.unwrap().contains("array 1"));
    }
}

#[cfg(test)]
mod buf_walker_tests {
    use super::*;
    use crate::npy::header::Layout;
    use crate::npy::pylit::Py;
    use std::io::Write;

    fn array(descr: &str, shape: &[u64], fill: u8) -> Vec<u8> {
        let l = Layout::new(Py::Str(descr.into()), false, shape.to_vec()).unwrap();
        let mut v = l.to_npy_header();
        v.extend(std::iter::repeat_n(fill, l.data_bytes().unwrap() as usize));
        v
    }

    fn both(b: &[u8]) -> (Vec<String>, Vec<String>) {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b).unwrap();
        let show = |r: Result<Entry, WalkError>| match r {
            Ok(e) => format!("{} {} {:?}", e.index, e.offset, e.header),
            Err(e) => format!("{e:?}"),
        };
        let n = b.len() as u64;
        (
            SimpleWalker::new(&f, n).map(show).collect(),
            Walker::new(&f, n).map(show).collect(),
        )
    }

    #[test]
    fn same_walk_as_walker() {
        let mut many = Vec::new();
        for i in 0..3000u64 {
            many.extend(array("<i2", &[1 + i % 3, 2], i as u8));
        }
        many.extend(array("<f8", &[70_000], 1));
        many.extend(array("<f8", &[2], 1));
        let mut cases = vec![many.clone()];
        let mut t = many.clone();
        t.truncate(t.len() - 3);
        cases.push(t);
        let mut j = many.clone();
        j.extend_from_slice(b"junk");
        cases.push(j);
        let mut h = many.clone();
        h.extend_from_slice(&array("<f8", &[2], 1)[..20]);
        cases.push(h);
        let mut o = array("<f8", &[2], 1);
        o.extend(array("|O", &[2], 0));
        cases.push(o);
        cases.push(b"\x93NUMPY\x01".to_vec());
        cases.push(b"nope".to_vec());
        for c in cases {
            let (a, b) = both(&c);
            assert_eq!(a, b);
        }
    }
}
