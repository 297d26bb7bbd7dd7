//! Planning a repair from headers and sizes alone: what a file's header
//! should say so numpy loads every whole row on disk, and what to do with a
//! partial last row.
//!
//! Three ways to know the layout: the file's own header (behind or ahead of
//! the data), a header whose shape is still the `*` placeholder a writer
//! (npyz, writing an array of unknown length) fills in when it finishes, or,
//! when the header is unreadable, the header of a sibling file named with
//! `--like`. The fix is pure data; [`lock_and_diagnose`] and [`apply`] carry
//! it out under the lock `npy append` takes, re-planned after locking, in
//! the order that keeps a crash repairable: file length first (truncate or
//! zero-extend, synced), header last (rewritten in place, synced). A header
//! that no longer fits is written with the data into a new file beside the
//! old one and renamed over it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::{Error, IoResultExt, Result, ResultExt};
use super::header::{parse_dict, read_dict_at, shape_repr, Header, Layout, Version};
use super::io::{copy_range, header_patch, lock_existing, Locked, NewFile, Wait};
use super::scan::{advice, scan_file, FileStatus, Use};
use super::FormatError;

/// Where the layout of the repaired header comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The file's own header, whose shape disagrees with the data.
    Header {
        declared_rows: u64,
        old_shape: Vec<u64>,
    },
    /// The file's own header with a run of `*` where the growth-axis length
    /// belongs.
    Placeholder,
    /// No readable header: layout, version and header length of a sibling.
    Like { reference: PathBuf, why: String },
}

/// What a repair changes.
#[derive(Debug, Clone)]
pub struct Fix {
    pub basis: Basis,
    /// The repaired layout (the new shape).
    pub layout: Layout,
    /// Version and length of the header now in the file (the data offset).
    pub version: Version,
    pub header_len: u64,
    pub file_len: u64,
    pub row_bytes: u64,
    pub whole_rows: u64,
    /// Bytes of a partial row after the whole ones.
    pub partial: u64,
    pub zero_fill: bool,
}

impl Fix {
    /// Data bytes after the repair.
    pub fn new_data_len(&self) -> u64 {
        self.layout.data_bytes().expect("checked when planned")
    }

    /// Data bytes now present.
    pub fn data_len(&self) -> u64 {
        self.file_len.saturating_sub(self.header_len)
    }

    /// Whether the header bytes must change.
    pub fn header_changes(&self) -> bool {
        match &self.basis {
            Basis::Header { old_shape, .. } => *old_shape != self.layout.shape,
            _ => true,
        }
    }

    /// The repaired header at the current header's length, when it fits
    /// there; `None` means a rewrite into a new file.
    pub fn header_in_place(&self) -> Option<Vec<u8>> {
        if self.file_len < self.header_len {
            // Shorter than the header it needs: written afresh.
            return None;
        }
        self.layout.to_header_of_len(self.version, self.header_len)
    }

    /// What the repair does, one clause each; `done` picks the tense.
    pub fn describe(&self, done: bool) -> Vec<String> {
        let mut parts = Vec::new();
        let new_shape = shape_repr(&self.layout.shape);
        let (change, set) = if done {
            ("", "header now says")
        } else {
            ("would change ", "would write a header with")
        };
        let whole = plural(self.whole_rows, "whole row");
        match &self.basis {
            Basis::Header {
                declared_rows,
                old_shape,
            } => {
                let said = if done { "said" } else { "says" };
                let mut s = format!(
                    "header {said} {}, {whole} present",
                    plural(*declared_rows, "row")
                );
                if *old_shape != self.layout.shape {
                    s.push_str(&format!(": {change}shape {} -> {new_shape}", shape_repr(old_shape)));
                }
                parts.push(s);
            }
            Basis::Placeholder => parts.push(format!(
                "shape left as a `*` placeholder by a writer that did not finish, {whole} present: {set} shape {new_shape}"
            )),
            Basis::Like { reference, why } => parts.push(format!(
                "no readable header ({why}); {} the layout of {} (dtype {}, {} order, trailing dims, header {} bytes), {whole} present: {set} shape {new_shape}",
                if done { "assumed" } else { "assuming" },
                reference.display(),
                self.layout.descr.repr(),
                if self.layout.fortran_order { "Fortran" } else { "C" },
                self.header_len,
            )),
        }
        if self.partial > 0 {
            if self.zero_fill {
                parts.push(format!(
                    "{} a partial row of {} with {} so no byte is lost",
                    if done { "completed" } else { "would complete" },
                    plural(self.partial, "byte"),
                    plural(self.row_bytes - self.partial, "zero byte"),
                ));
            } else {
                parts.push(format!(
                    "{} {} of a partial row (rows are {} bytes{})",
                    if done { "dropped" } else { "would drop" },
                    plural(self.partial, "byte"),
                    self.row_bytes,
                    if done {
                        ""
                    } else {
                        "; --zero-fill would keep them"
                    }
                ));
            }
        }
        if self.file_len < self.header_len {
            parts.push(format!(
                "{} a new file (this one is shorter than the header)",
                if done { "wrote" } else { "would write" }
            ));
        } else if self.header_changes() && self.header_in_place().is_none() {
            parts.push(format!(
                "{} into a new file with a larger header (the new shape does not fit the old one)",
                if done { "rewrote" } else { "would rewrite" }
            ));
        }
        parts
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The outcome of looking at one file.
#[derive(Debug)]
pub enum Verdict {
    /// The header agrees with the data: nothing to do.
    Fine,
    Repair(Box<Fix>),
}

/// A reference layout given with `--like`.
#[derive(Debug, Clone)]
pub struct Reference {
    pub path: PathBuf,
    pub header: Header,
}

impl Reference {
    /// Reads and checks a `--like` file: a readable, non-object array with a
    /// growth axis.
    pub fn open(path: &Path) -> Result<Reference> {
        let file = File::open(path).doing("cannot open").at(path)?;
        let len = file.metadata().at(path)?.len();
        let refuse = |why: String| {
            Error::refused(format!("cannot serve as --like reference: {why}")).at(path)
        };
        let header = super::read_header_at(&file, 0, len).map_err(|e| refuse(e.to_string()))?;
        if header.dtype.has_object() {
            return Err(refuse("holds pickled Python objects".into()));
        }
        if header.growth_axis().is_none() {
            return Err(refuse("a 0-d array has no rows".into()));
        }
        Ok(Reference {
            path: path.to_path_buf(),
            header,
        })
    }
}

/// Decides what `file` needs. Reads its header and size only.
pub fn diagnose(file: &File, zero_fill: bool, like: Option<&Reference>) -> Result<Verdict> {
    let file_len = file.metadata()?.len();
    let scan = match scan_file(file) {
        Ok(s) => s,
        Err(FormatError::Io(e)) => return Err(Error::io("cannot read", e)),
        Err(e) => {
            if let Some(h) = placeholder_header(file, file_len) {
                return fix_rows(Basis::Placeholder, &h, file_len, zero_fill)
                    .map(|p| Verdict::Repair(Box::new(p)));
            }
            let Some(r) = like else {
                return Err(Error::refused(format!(
                    "{e}; nothing changed (if a sibling file has the same dtype, order and trailing dims, \
                     `npy repair --like SIBLING.npy` rebuilds the header from it)"
                )));
            };
            like_applies(file, file_len, r, &e)?;
            let why = match e {
                FormatError::Magic => "zeros where the header should be".to_string(),
                FormatError::Empty => "the file is empty".to_string(),
                e => e.to_string(),
            };
            let basis = Basis::Like {
                reference: r.path.clone(),
                why,
            };
            return fix_rows(basis, &r.header, file_len, zero_fill)
                .map(|p| Verdict::Repair(Box::new(p)));
        }
    };
    let h = &scan.header;
    match scan.status {
        FileStatus::Ok => Ok(Verdict::Fine),
        FileStatus::Object | FileStatus::Stacked => Err(Error::refused(
            advice("", &scan, Use::Repair).unwrap_or_else(|| scan.status.as_str().into()),
        )),
        FileStatus::Truncated | FileStatus::Trailing => {
            let Some(ax) = h.growth_axis() else {
                return Err(Error::refused(format!(
                    "a 0-d array (shape ()) holds exactly one element of {} bytes, but the file has {} data bytes: \
                     it has no rows to grow or shrink; nothing changed",
                    h.itemsize(),
                    scan.data_present
                )));
            };
            let basis = Basis::Header {
                declared_rows: h.shape[ax],
                old_shape: h.shape.clone(),
            };
            fix_rows(basis, h, file_len, zero_fill).map(|p| Verdict::Repair(Box::new(p)))
        }
    }
}

/// Whether `--like` may rebuild the header of `file`, which `scan_file`
/// refused with `e`: only when the file is recognisably a `.npy` whose
/// header was lost or broken, never when it is some other file (a text file
/// named by mistake would be destroyed) or a `.npy` whose header is whole
/// but holds something npy does not understand (a dtype numpy knows and npy
/// does not: rewriting it would change the data's meaning).
///
/// Recognisably broken: the `\x93NUMPY` magic is there and the header
/// cannot be read (cut short, a length past the end, a malformed dict, an
/// unknown version); or the file is empty, or zeros stand where the header
/// should be (a file preallocated, or whose first blocks a crash lost).
fn like_applies(file: &File, file_len: u64, r: &Reference, e: &FormatError) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let refuse = |why: String| {
        Err(Error::refused(format!(
            "{why}; --like rebuilds only the header of a broken .npy file (see `npy repair --help`); \
             nothing changed"
        )))
    };
    match e {
        FormatError::ShortHeader
        | FormatError::HeaderPastEnd { .. }
        | FormatError::HeaderTooLong(_)
        | FormatError::Version(..)
        | FormatError::Dict(_) => return Ok(()),
        FormatError::Empty => return Ok(()),
        FormatError::Magic => {}
        FormatError::Descr(_) | FormatError::Shape(_) => {
            return refuse(format!(
                "{e}: its header is whole, but npy does not understand it, so it is not \
                 replaced by the layout of {}",
                r.path.display()
            ))
        }
        FormatError::Io(_) => return refuse(e.to_string()),
    }
    // No magic: only zeros where the header should be count as a lost header.
    let n = file_len.min(r.header.header_len) as usize;
    let mut head = vec![0u8; n];
    if file.read_exact_at(&mut head, 0).is_err() || head.iter().any(|&b| b != 0) {
        return refuse(
            "not a .npy file: no \\x93NUMPY magic at the start, and the bytes where a header \
             would be are not zeros"
                .into(),
        );
    }
    Ok(())
}

/// The fix for a layout taken from `h` (its dtype, order, non-growth dims,
/// version and header length) over the bytes of a `file_len`-byte file.
fn fix_rows(basis: Basis, h: &Header, file_len: u64, zero_fill: bool) -> Result<Fix> {
    let ax = h
        .growth_axis()
        .ok_or_else(|| Error::refused("a 0-d array has no rows"))?;
    let row_bytes = h.row_bytes().map_err(|e| Error::refused(e.to_string()))?;
    // A file shorter than the header (empty, or zeros only) holds no data.
    let data = file_len.saturating_sub(h.header_len);
    if row_bytes == 0 {
        return Err(Error::refused(format!(
            "a row of shape {} is 0 bytes, so the {data} data bytes cannot be counted in rows; nothing changed",
            h.shape_repr()
        )));
    }
    let (whole_rows, partial) = (data / row_bytes, data % row_bytes);
    let rows = whole_rows + u64::from(zero_fill && partial > 0);
    let mut shape = h.shape.clone();
    shape[ax] = rows;
    let layout = Layout::new(h.descr.clone(), h.fortran_order, shape)
        .map_err(|e| Error::refused(format!("cannot describe the repaired array: {e}")))?;
    Ok(Fix {
        basis,
        layout,
        version: h.version,
        header_len: h.header_len,
        file_len,
        row_bytes,
        whole_rows,
        partial,
        zero_fill,
    })
}

/// Tries candidate `*` runs in a header this many at most: each costs a
/// parse of the whole header text.
const MAX_PLACEHOLDER_TRIES: usize = 16;

/// Reads a header whose shape has a run of `*` in place of the growth-axis
/// length, as npyz leaves it until the writer finishes
/// (`'shape': (*******************,), }`). Returns the header with that
/// length set to 0, or `None` when the header is not of that kind.
pub fn placeholder_header(file: &File, file_len: u64) -> Option<Header> {
    let (pre, text) = read_dict_at(file, 0, file_len).ok()?;
    parse_placeholder(pre, &text)
}

fn parse_placeholder(pre: super::header::Preamble, text: &[u8]) -> Option<Header> {
    let mut found = None;
    let mut tries = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'*' {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && text[i] == b'*' {
            i += 1;
        }
        // Only a run standing where a tuple element would: after `(` or `,`
        // and before `,` or `)` (a `*` inside a field name is not one).
        let before = text[..start]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace());
        let after = text[i..].iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(before, Some(b'(' | b',')) || !matches!(after, Some(b',' | b')')) {
            continue;
        }
        tries += 1;
        if tries > MAX_PLACEHOLDER_TRIES {
            return None;
        }
        let with = |digit: &[u8]| {
            let mut t = Vec::with_capacity(text.len());
            t.extend_from_slice(&text[..start]);
            t.extend_from_slice(digit);
            t.extend_from_slice(&text[i..]);
            parse_dict(pre, &t).ok()
        };
        let (Some(h0), Some(h1)) = (with(b"0"), with(b"1")) else {
            continue;
        };
        let differ: Vec<usize> = (0..h0.shape.len().min(h1.shape.len()))
            .filter(|&k| h0.shape[k] != h1.shape[k])
            .collect();
        if h0.shape.len() != h1.shape.len()
            || differ.len() != 1
            || Some(differ[0]) != h0.growth_axis()
        {
            continue;
        }
        if found.is_some() {
            // Two runs that could each be the placeholder: not a header we
            // can read with confidence.
            return None;
        }
        found = Some(h0);
    }
    found
}

/// What `path` needs, from a first look under a shared lock (the file is
/// never opened for writing: read-only files, mtimes and other writers are
/// left alone when nothing is to be done). Errors name `path`.
pub fn look(path: &Path, zero_fill: bool, like: Option<&Reference>) -> Result<Verdict> {
    diagnose(&open_shared(path)?, zero_fill, like).at(path)
}

/// Opens `path` for a first look, under a shared lock: a regular file only
/// (checked before opening: opening a FIFO would wait for a writer).
fn open_shared(path: &Path) -> Result<File> {
    if path == Path::new("-") {
        return Err(
            Error::refused("a stream cannot be repaired in place: give the file's path").at(path),
        );
    }
    let meta = std::fs::metadata(path).doing("cannot open").at(path)?;
    if meta.is_dir() {
        return Err(Error::refused("is a directory").at(path));
    }
    if !meta.is_file() {
        return Err(Error::refused("not a regular file; nothing changed").at(path));
    }
    super::io::lock_shared(path).doing("cannot open").at(path)
}

/// Takes the exclusive lock `npy append` takes on `path`, then plans again:
/// an append may have finished (or a rewrite replaced the file) since a
/// first look. `None` when the file needs nothing after all.
pub fn lock_and_diagnose(
    path: &Path,
    zero_fill: bool,
    like: Option<&Reference>,
) -> Result<Option<(Locked, Box<Fix>)>> {
    let locked =
        lock_existing(path, Wait::Block).map_err(|e| e.doing("cannot open for writing"))?;
    Ok(match diagnose(&locked.file, zero_fill, like).at(path)? {
        Verdict::Fine => None,
        Verdict::Repair(p) => Some((locked, p)),
    })
}

impl Fix {
    /// Data bytes a rewrite copies into the new file (what its progress
    /// counts).
    pub fn copy_len(&self) -> u64 {
        self.new_data_len().min(self.data_len())
    }
}

/// Carries out a fix on the locked file: length first, header last, each
/// synced; or a rewrite into a new file when the header does not fit in
/// place. `progress` sees the data a rewrite copies (of [`Fix::copy_len`]).
pub fn apply(locked: &Locked, p: &Fix, progress: &mut dyn super::Progress) -> Result<()> {
    apply_here(locked, p, progress).at(&locked.path)
}

fn apply_here(locked: &Locked, p: &Fix, progress: &mut dyn super::Progress) -> Result<()> {
    let file = &locked.file;
    let new_data = p.new_data_len();
    let header = if p.header_changes() {
        let Some(h) = p.header_in_place() else {
            return rewrite(locked, p, progress);
        };
        let mut old = vec![0u8; h.len()];
        file.read_exact_at(&mut old, 0)
            .doing("cannot read the header")?;
        // Only the bytes that change, and only within one page, so a kill
        // leaves the old header or the new one, never a mix.
        match header_patch(&old, &h) {
            Some((off, bytes)) => Some((off, bytes.to_vec())),
            None => return rewrite(locked, p, progress),
        }
    } else {
        None
    };
    // Length first: a crash after it leaves a header behind or ahead of
    // whole rows, which a second repair fixes.
    let new_len = p.header_len + new_data;
    if new_len != p.file_len {
        file.set_len(new_len)
            .doing("cannot change the file's length")?;
        file.sync_all().doing("cannot sync")?;
    }
    if let Some((off, bytes)) = header {
        file.write_all_at(&bytes, off)
            .doing("cannot write the header")?;
        file.sync_all().doing("cannot sync")?;
    }
    Ok(())
}

/// Writes a fresh numpy header and the whole rows into a new file beside
/// the locked path and renames it over that path, keeping the permissions.
fn rewrite(locked: &Locked, p: &Fix, progress: &mut dyn super::Progress) -> Result<()> {
    let file = &locked.file;
    // `beside` follows a symlink: what it points to is replaced.
    let nf = NewFile::replacing(&locked.path, file)?;
    let header = p.layout.to_npy_header();
    let hl = header.len() as u64;
    nf.file()
        .write_all_at(&header, 0)
        .doing("cannot write the new file")?;
    let new_data = p.new_data_len();
    copy_range(file, p.header_len, nf.file(), hl, p.copy_len(), &mut |n| {
        progress.set(n)
    })
    .map_err(std::io::Error::from)
    .doing("cannot copy the data")?;
    // Zero-fill: the missing bytes of the last row.
    nf.file()
        .set_len(hl + new_data)
        .doing("cannot size the new file")?;
    // Renamed over the file we hold locked, after checking the path still
    // names it.
    nf.commit_over(locked, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::header::VERSIONS;

    fn pre(text: &[u8]) -> super::super::header::Preamble {
        super::super::header::Preamble {
            version: VERSIONS[0],
            dict_len: text.len() as u64,
        }
    }

    proptest::proptest! {
        #[test]
        fn placeholder_parse_never_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_placeholder(pre(&text), &text);
        }

        #[test]
        fn placeholder_only_on_the_growth_axis(
            shape in proptest::collection::vec(0u64..100_000, 1..5),
            fortran_order: bool,
            stars in 1usize..25,
            at in 0usize..5,
        ) {
            let at = at % shape.len();
            let dims: Vec<String> = shape
                .iter()
                .enumerate()
                .map(|(i, d)| if i == at { "*".repeat(stars) } else { d.to_string() })
                .collect();
            let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
            let t = format!(
                "{{'descr': '<u2', 'fortran_order': {}, 'shape': {tuple}, }}   \n",
                if fortran_order { "True" } else { "False" }
            );
            let got = parse_placeholder(pre(t.as_bytes()), t.as_bytes());
            let growth = if fortran_order { shape.len() - 1 } else { 0 };
            if at == growth {
                let mut want = shape.clone();
                want[at] = 0;
                proptest::prop_assert_eq!(got.map(|h| h.layout.shape), Some(want));
            } else {
                proptest::prop_assert!(got.is_none());
            }
        }
    }

    #[test]
    fn npyz_placeholder() {
        let t =
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (*******************,), }    \n";
        let h = parse_placeholder(pre(t), t).unwrap();
        assert_eq!(h.shape, vec![0]);
        let t = b"{'descr': '<i4', 'fortran_order': False, 'shape': (*****, 3), }\n";
        assert_eq!(parse_placeholder(pre(t), t).unwrap().shape, vec![0, 3]);
        let t = b"{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, ***), }\n";
        assert_eq!(parse_placeholder(pre(t), t).unwrap().shape, vec![2, 3, 0]);
    }

    #[test]
    fn placeholder_must_be_the_growth_axis() {
        for t in [
            &b"{'descr': '<i4', 'fortran_order': False, 'shape': (3, ***), }\n"[..],
            b"{'descr': '<i4', 'fortran_order': True, 'shape': (***, 3), }\n",
            b"{'descr': '<i4', 'fortran_order': False, 'shape': (***, ***), }\n",
            b"{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\n",
            b"{'descr': '<i4', 'fortran_order': False, 'shape': (3*,), }\n",
            b"{'descr': [('*', '<i4')], 'fortran_order': False, 'shape': (3,), }\n",
            b"{'descr': '<i4', 'fortran_order': *, 'shape': (3,), }\n",
            b"{'descr': '<i4', 'fortran_order': False, 'shape': ***, }\n",
        ] {
            assert!(
                parse_placeholder(pre(t), t).is_none(),
                "{}",
                String::from_utf8_lossy(t)
            );
        }
        // A `*` in a field name does not confuse it.
        let t = b"{'descr': [('a*', '<i4')], 'fortran_order': False, 'shape': (**,), }\n";
        assert_eq!(parse_placeholder(pre(t), t).unwrap().shape, vec![0]);
    }
}
