//! Growing a locked `.npy` file along its growth axis without ever leaving it
//! in a state that loses a committed row: the write protocol `npy append`
//! uses.
//!
//! A [`Grower`] holds the exclusive lock on the file the target path names
//! and writes new rows in one of two ways, chosen before any byte is written:
//!
//! - **in place**, when the new count fits the existing header and the bytes
//!   of the header that change lie within one page (so one `pwrite` either
//!   happens or does not, even under SIGKILL): data past the old end, synced,
//!   then the header's row count rewritten at the same length, the rest of
//!   its text kept byte for byte (`keep_text_header`), synced. A crash in
//!   between leaves a header behind its data, which `npy repair` fixes;
//! - **fresh**, otherwise: a new file beside the target with numpy's header
//!   (room for 21 digits), the old data and the new data, synced and renamed
//!   over the target. The new file is locked *before* the rename, and the old
//!   one stays locked until after it, so a waiting writer that wakes on the
//!   old inode sees the path moved, retries, and queues on the new inode.
//!   A crash leaves the target exactly as it was (plus, at worst, a stray
//!   `.NAME.*.npy-tmp` beside it).
//!
//! After a fresh commit the grower continues in place on the new file.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::{Error, IoResultExt, Result, ResultExt};

use super::header::{parse_dict, parse_preamble, Header, Layout, Version};
use super::io::{copy_range, copy_stream, header_patch, within_one_page, Locked, NewFile, PAGE};

/// Creates `path` holding an empty array (the growth axis 0) with numpy's
/// header. Returns `false`, creating nothing, when a file appeared there
/// meanwhile (then append to that one).
pub fn create_empty(path: &Path, layout: &Layout, sync: bool) -> Result<bool> {
    let mut l = layout.clone();
    let ax = l
        .growth_axis()
        .ok_or_else(|| Error::invalid("cannot create a 0-d array to append to").at(path))?;
    l.shape[ax] = 0;
    let nf = NewFile::beside(path)?;
    nf.file()
        .write_all_at(&l.to_npy_header(), 0)
        .doing("cannot write")
        .at(path)?;
    Ok(nf.commit_new(sync)?.is_ok())
}

/// Removes `path` when it is still the empty array [`create_empty`] made
/// there: what a command that created its TARGET and then failed does, so a
/// refused append leaves no trace. Leaves it when another process holds it
/// or has committed a byte of data to it meanwhile.
pub fn discard_created(path: &Path) {
    let Ok(l) = super::io::lock_existing(path, super::io::Wait::NoWait) else {
        return;
    };
    let untouched = super::scan::scan_file(&l.file).is_ok_and(|s| {
        s.status == super::scan::FileStatus::Ok && s.data_present == 0 && s.expected_bytes == 0
    });
    if untouched {
        // Removed while still locked: a writer waiting for the lock finds
        // the path gone when it wakes.
        let _ = std::fs::remove_file(path);
    }
}

enum Dst {
    /// Writing past the end of the locked file.
    InPlace,
    /// Writing a replacement; `held` is a second handle on it, locked.
    Fresh { nf: NewFile, held: File },
}

/// A locked `.npy` file being grown. Dropped with uncommitted bytes, it
/// removes them (in place: truncates back; fresh: deletes the new file).
pub struct Grower {
    path: PathBuf,
    lock: Locked,
    /// The header as committed in the destination (old file or new one).
    header: Header,
    dst: Dst,
    /// End of the committed data in the destination.
    committed_end: u64,
    /// End of the bytes written so far (committed or not).
    written_end: u64,
    row_bytes: u64,
    axis: usize,
    sync: bool,
    /// Whether an in-place header rewrite lands in one page.
    atomic_header: bool,
    /// The header's bytes as they are in the destination.
    head_bytes: Vec<u8>,
}

impl Grower {
    /// Starts growing `lock`'s file, whose header is `header` and whose size
    /// matches it exactly (the caller checked the scan status).
    pub fn new(lock: Locked, header: Header, sync: bool) -> Result<Grower> {
        let path = lock.path.clone();
        let axis = header
            .growth_axis()
            .ok_or_else(|| Error::invalid("a 0-d array has no axis to grow along").at(&path))?;
        let row_bytes = header.row_bytes().at(&path)?;
        let end = header.end().at(&path)?;
        let mut old = vec![0u8; header.header_len as usize];
        lock.file
            .read_exact_at(&mut old, 0)
            .doing("cannot read the header")
            .at(&path)?;
        let atomic_header = header_patch_is_atomic(&header, &old);
        Ok(Grower {
            path,
            lock,
            header,
            dst: Dst::InPlace,
            committed_end: end,
            written_end: end,
            row_bytes,
            axis,
            sync,
            atomic_header,
            head_bytes: old,
        })
    }

    /// The header as committed so far.
    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn rows(&self) -> u64 {
        self.header.shape[self.axis]
    }

    pub fn row_bytes(&self) -> u64 {
        self.row_bytes
    }

    /// The locked file (the inode the path named when locked; after a fresh
    /// commit, the new one).
    pub fn file(&self) -> &File {
        &self.lock.file
    }

    fn dst_file(&self) -> &File {
        match &self.dst {
            Dst::InPlace => &self.lock.file,
            Dst::Fresh { nf, .. } => nf.file(),
        }
    }

    fn layout_with_rows(&self, rows: u64) -> Layout {
        let mut l = self.header.layout();
        l.shape[self.axis] = rows;
        l
    }

    /// Whether `add` more rows than committed can be committed without
    /// first moving to a fresh file.
    pub fn fits_in_place(&self, add: u64) -> bool {
        if matches!(self.dst, Dst::Fresh { .. }) {
            return true;
        }
        let Some(rows) = self.rows().checked_add(add) else {
            return false;
        };
        self.atomic_header && self.head_for(rows).is_some()
    }

    /// The in-place header for `rows` rows: the current one's text with
    /// only the count changed (see [`keep_text_header`]).
    fn head_for(&self, rows: u64) -> Option<Vec<u8>> {
        keep_text_header(&self.head_bytes, &self.header, self.axis, rows)
    }

    /// Makes sure `add` more rows (or, for `None`, any number) can be
    /// committed, switching to a fresh file when the header cannot take the
    /// new shape in place. Call before writing the data; `add` counts every
    /// row not yet committed, pending ones included. Moving to a fresh file
    /// needs nothing pending: commit first (see [`Grower::fits_in_place`]).
    /// `progress` sees the old data copied, if a fresh file is needed.
    pub fn reserve(&mut self, add: Option<u64>, progress: &mut dyn FnMut(u64)) -> Result<()> {
        if add == Some(0) {
            return Ok(());
        }
        let rows = match add {
            Some(n) => self
                .rows()
                .checked_add(n)
                .ok_or_else(|| Error::invalid("the row count would overflow").at(&self.path))?,
            None => u64::MAX,
        };
        let layout = self.layout_with_rows(rows);
        if add.is_some() {
            layout.data_bytes().map_err(|e| {
                Error::invalid(format!("cannot grow to {rows} rows: {e}")).at(&self.path)
            })?;
        }
        if matches!(self.dst, Dst::Fresh { .. }) {
            return Ok(());
        }
        if self.atomic_header && self.head_for(rows).is_some() {
            return Ok(());
        }
        if self.written_end != self.committed_end {
            return Err(
                Error::invalid("internal error: a header rewrite with bytes pending")
                    .at(&self.path),
            );
        }
        self.go_fresh(progress)
    }

    /// Starts a replacement file: numpy's header for the current shape
    /// (which leaves room for any row count), then the committed data.
    fn go_fresh(&mut self, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let p = self.path.display().to_string();
        let layout = self.header.layout();
        let head = layout.to_npy_header();
        let version = Version::from_bytes(head[6], head[7]).expect("we wrote a known version");
        let nf = NewFile::replacing(&self.path, &self.lock.file)?;
        let held = nf
            .file()
            .try_clone()
            .and_then(|h| h.try_lock().map_err(io::Error::from).map(|_| h))
            .doing("cannot lock the new file")
            .at(&p)?;
        nf.file()
            .write_all_at(&head, 0)
            .doing("cannot write the new file")
            .at(&p)?;
        let data = self.committed_end - self.header.header_len;
        copy_range(
            &self.lock.file,
            self.header.header_len,
            nf.file(),
            head.len() as u64,
            data,
            progress,
        )
        .map_err(io::Error::from)
        .doing("cannot copy into the new file")
        .at(&p)?;
        self.header.version = version;
        self.header.header_len = head.len() as u64;
        self.head_bytes = head.clone();
        self.committed_end = head.len() as u64 + data;
        self.written_end = self.committed_end;
        self.dst = Dst::Fresh { nf, held };
        Ok(())
    }

    /// Appends `len` bytes of `src` (named `src_name`) from `off`.
    pub fn append_range(
        &mut self,
        src: &File,
        src_name: &Path,
        off: u64,
        len: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        copy_range(src, off, self.dst_file(), self.written_end, len, progress)
            .map_err(|e| e.named(src_name, &self.path, "cannot write"))?;
        self.written_end += len;
        Ok(())
    }

    /// Appends up to `len` bytes from a stream; returns how many it got
    /// (fewer only when the stream ended).
    pub fn append_stream(
        &mut self,
        src: &mut dyn Read,
        len: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let at = self.written_end;
        let got = copy_stream(src, self.dst_file(), at, len, progress)
            .map_err(io::Error::from)
            .doing("cannot write")
            .at(&self.path)?;
        self.written_end += got;
        Ok(got)
    }

    /// Appends bytes from memory.
    pub fn append_bytes(&mut self, buf: &[u8]) -> Result<()> {
        self.dst_file()
            .write_all_at(buf, self.written_end)
            .doing("cannot write")
            .at(&self.path)?;
        self.written_end += buf.len() as u64;
        Ok(())
    }

    /// Bytes written but not committed.
    pub fn pending(&self) -> u64 {
        self.written_end - self.committed_end
    }

    /// Drops uncommitted bytes beyond the first `keep`.
    pub fn truncate_pending(&mut self, keep: u64) -> Result<()> {
        if keep >= self.pending() {
            return Ok(());
        }
        let end = self.committed_end + keep;
        self.dst_file()
            .set_len(end)
            .doing("cannot truncate")
            .at(&self.path)?;
        self.written_end = end;
        Ok(())
    }

    /// Commits the first `add` rows pending: data synced, then the header
    /// rewritten (in place) or the new file renamed over the target (fresh).
    /// Bytes pending beyond them (part of a row still arriving) stay pending.
    pub fn commit(&mut self, add: u64) -> Result<()> {
        // Nothing to add: the target stays exactly as it is. (A fresh file
        // prepared by `reserve` is not renamed over it; its drop removes it.)
        if add == 0 {
            return Ok(());
        }
        let p = self.path.display().to_string();
        let want = add
            .checked_mul(self.row_bytes)
            .ok_or_else(|| Error::invalid("internal error: pending size overflows").at(&p))?;
        if want > self.pending() {
            return Err(Error::invalid(format!(
                "internal error: committing {add} rows ({want} bytes) with {} bytes pending",
                self.pending()
            ))
            .at(&p));
        }
        let rows = self
            .rows()
            .checked_add(add)
            .ok_or_else(|| Error::invalid("the row count would overflow").at(&p))?;
        let layout = self.layout_with_rows(rows);
        let no_fit =
            || Error::invalid("internal error: the new shape does not fit the header").at(&p);
        let head = match &self.dst {
            Dst::InPlace => self.head_for(rows),
            Dst::Fresh { .. } => {
                layout.to_header_of_len(self.header.version, self.header.header_len)
            }
        }
        .ok_or_else(no_fit)?;
        match std::mem::replace(&mut self.dst, Dst::InPlace) {
            Dst::InPlace => {
                let f = &self.lock.file;
                if self.sync {
                    f.sync_data().doing("cannot sync").at(&p)?;
                }
                // Write only the bytes that change: within one page (checked
                // by `reserve`), so a kill leaves the old header or the new
                // one, never a mix.
                let (off, bytes) = header_patch(&self.head_bytes, &head).ok_or_else(|| {
                    Error::invalid("internal error: the header change spans two pages").at(&p)
                })?;
                f.write_all_at(bytes, off)
                    .doing("cannot rewrite the header")
                    .at(&p)?;
                if self.sync {
                    f.sync_data().doing("cannot sync").at(&p)?;
                }
            }
            Dst::Fresh { nf, held } => {
                nf.file()
                    .write_all_at(&head, 0)
                    .doing("cannot write the new file")
                    .at(&p)?;
                nf.commit(self.sync)?;
                // The path now names the new file, which we already hold
                // locked; the old lock goes with the old handle.
                self.lock = Locked {
                    file: held,
                    path: self.path.clone(),
                };
                self.atomic_header = header_patch_is_atomic(
                    &layout.to_header(self.header.version, self.header.header_len),
                    &head,
                );
            }
        }
        self.head_bytes = head;
        self.header.shape = layout.shape;
        self.committed_end += want;
        Ok(())
    }
}

impl Drop for Grower {
    fn drop(&mut self) {
        // A failed or refused append leaves the file as it was: bytes past
        // the committed end are removed, including those of a copy that
        // failed midway (a full disk, a file-size limit), which never reached
        // `written_end`; so the file's real length is what is checked. (A
        // fresh file is removed by its own drop.)
        if matches!(self.dst, Dst::InPlace) {
            let len = self.lock.file.metadata().map(|m| m.len());
            if len.map_or(true, |n| n > self.committed_end) {
                let _ = self.lock.file.set_len(self.committed_end);
            }
        }
    }
}

/// `old`, the bytes of `header`, with the count of the growth axis `axis`
/// set to `rows` and every other byte of the dict text kept (comments, key
/// order, spacing, how the other numbers are written): the count, whatever
/// its spelling (`0x3`, `3L`), becomes plain decimal, and the spaces before
/// the final newline absorb the change in length. `None` when the text has
/// too few such spaces to take a longer count (then the header must grow,
/// through a fresh file), or when the result would not read back as the
/// same header with `rows` rows.
fn keep_text_header(old: &[u8], header: &Header, axis: usize, rows: u64) -> Option<Vec<u8>> {
    let span = count_span(old, header, axis)?;
    let (text_end, body_end) = text_ends(old, span.end);
    let num = rows.to_string();
    let pad = (body_end - text_end + span.len()).checked_sub(num.len())?;
    let mut out = Vec::with_capacity(old.len());
    out.extend_from_slice(&old[..span.start]);
    out.extend_from_slice(num.as_bytes());
    out.extend_from_slice(&old[span.end..text_end]);
    out.extend(std::iter::repeat_n(b' ', pad));
    out.extend_from_slice(&old[body_end..]);
    // Checked, not assumed: the new bytes parse as the old header with the
    // new count.
    let pre = parse_preamble(&out).ok()?;
    let got = parse_dict(pre, &out[header.version.prefix_len()..]).ok()?;
    let mut want = header.layout();
    want.shape[axis] = rows;
    (got.layout == want && out.len() == old.len()).then_some(out)
}

/// Where the growth-axis count is written in the header bytes `bytes`.
fn count_span(bytes: &[u8], header: &Header, axis: usize) -> Option<Range<usize>> {
    let prefix = header.version.prefix_len();
    let text = bytes.get(prefix..header.header_len as usize)?;
    let spans = super::header::shape_spans(header.version, text)?;
    if spans.len() != header.shape.len() {
        return None;
    }
    let r = spans.get(axis)?;
    Some(prefix + r.start..prefix + r.end)
}

/// For header bytes whose count ends at `from`: where the text ends (the
/// start of the spaces before the final newline) and where those spaces end
/// (the final newline, or the end when there is none).
fn text_ends(bytes: &[u8], from: usize) -> (usize, usize) {
    let body_end = bytes.len() - usize::from(bytes.last() == Some(&b'\n'));
    let spaces = bytes[from..body_end]
        .iter()
        .rev()
        .take_while(|&&c| c == b' ')
        .count();
    (body_end - spaces, body_end)
}

/// Whether rewriting `header` (whose bytes in the file are `bytes`) for any
/// row count touches bytes within a single page only.
///
/// Only the growth-axis count and the text after it can change (see
/// [`keep_text_header`]): from the count's first byte to the end of the
/// longer of the old text and the text with a count of 20 digits (the most
/// a `u64` has); past both, old and new are padding.
fn header_patch_is_atomic(header: &Header, bytes: &[u8]) -> bool {
    if header.header_len <= PAGE {
        return true;
    }
    let Some(span) = header
        .growth_axis()
        .and_then(|ax| count_span(bytes, header, ax))
    else {
        return false;
    };
    let text_end = text_ends(bytes, span.end).0;
    let hi = text_end.max(text_end - span.len() + 20);
    within_one_page(span.start as u64, hi as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::io::{lock_existing, Wait};
    use crate::npy::pylit::Py;
    use crate::npy::scan::{scan_file, FileStatus};

    fn layout(shape: &[u64]) -> Layout {
        Layout::new(Py::Str("<i2".into()), false, shape.to_vec()).unwrap()
    }

    fn file_with(path: &Path, head: &[u8], data: &[u8]) {
        let mut b = head.to_vec();
        b.extend_from_slice(data);
        std::fs::write(path, b).unwrap();
    }

    fn grower(path: &Path) -> Grower {
        let l = lock_existing(path, Wait::NoWait).unwrap();
        let s = scan_file(&l.file).unwrap();
        assert_eq!(s.status, FileStatus::Ok);
        Grower::new(l, s.header, false).unwrap()
    }

    #[test]
    fn in_place_matches_numpy_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        assert!(create_empty(&p, &layout(&[5, 2]), false).unwrap());
        assert!(!create_empty(&p, &layout(&[5, 2]), false).unwrap());
        let mut g = grower(&p);
        g.reserve(Some(3), &mut |_| {}).unwrap();
        g.append_bytes(&[1u8; 12]).unwrap();
        g.commit(3).unwrap();
        drop(g);
        let mut want = layout(&[3, 2]).to_npy_header();
        want.extend_from_slice(&[1u8; 12]);
        assert_eq!(std::fs::read(&p).unwrap(), want);
    }

    #[test]
    fn tight_header_goes_fresh_and_drop_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        // A header with no spare room: 9 rows, then 10 do not fit.
        let l = layout(&[9]);
        let text_len = l.dict_text().len() as u64 + 1 + 10;
        let tight = l.to_header_of_len(VERSION1, text_len).unwrap();
        file_with(&p, &tight, &[7u8; 18]);
        let before = std::fs::read(&p).unwrap();
        {
            let mut g = grower(&p);
            g.reserve(Some(1), &mut |_| {}).unwrap();
            g.append_bytes(&[8u8; 2]).unwrap();
            // dropped uncommitted
        }
        assert_eq!(std::fs::read(&p).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut g = grower(&p);
        g.reserve(Some(1), &mut |_| {}).unwrap();
        g.append_bytes(&[8u8; 2]).unwrap();
        g.commit(1).unwrap();
        // Continues in place on the new file.
        g.reserve(Some(1), &mut |_| {}).unwrap();
        g.append_bytes(&[9u8; 2]).unwrap();
        g.commit(1).unwrap();
        drop(g);
        let mut want = layout(&[11]).to_npy_header();
        want.extend_from_slice(&[7u8; 18]);
        want.extend_from_slice(&[8u8; 2]);
        want.extend_from_slice(&[9u8; 2]);
        assert_eq!(std::fs::read(&p).unwrap(), want);
    }

    const VERSION1: Version = crate::npy::header::VERSIONS[0];

    #[test]
    fn in_place_rollback_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        file_with(&p, &layout(&[2]).to_npy_header(), &[1, 2, 3, 4]);
        let before = std::fs::read(&p).unwrap();
        {
            let mut g = grower(&p);
            g.reserve(Some(5), &mut |_| {}).unwrap();
            g.append_bytes(&[0u8; 7]).unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }

    /// A version 1.0 header holding `text` as written.
    fn hand_header(text: &str) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text.as_bytes());
        b
    }

    #[test]
    fn in_place_keeps_the_header_text() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        // (old text, rows added, new text): only the count changes, the
        // spaces before the newline take up the difference.
        let cases = [
            (
                "{'shape': (0x3, 2), # rows\n 'descr': '<i2', 'fortran_order': False}   \n",
                2,
                "{'shape': (5, 2), # rows\n 'descr': '<i2', 'fortran_order': False}     \n",
            ),
            (
                "{'descr':'<i2','fortran_order':False,'shape':(3L,2L)}  \n",
                7,
                "{'descr':'<i2','fortran_order':False,'shape':(10,2L)}  \n",
            ),
            (
                "{'descr': '<i2', 'fortran_order': True, 'shape': ( 2 , 3 ), }\n",
                1,
                "{'descr': '<i2', 'fortran_order': True, 'shape': ( 2 , 4 ), }\n",
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (1, 2), 'shape': (9, 2)}  \n",
                91,
                "{'descr': '<i2', 'fortran_order': False, 'shape': (1, 2), 'shape': (100, 2)}\n",
            ),
        ];
        for (i, (old, add, new)) in cases.into_iter().enumerate() {
            let p = dir.path().join(format!("{i}.npy"));
            let head = hand_header(old);
            let h = parse_dict(parse_preamble(&head).unwrap(), &head[10..]).unwrap();
            let (old_bytes, row) = (h.data_bytes().unwrap(), h.row_bytes().unwrap());
            file_with(&p, &hand_header(old), &vec![1u8; old_bytes as usize]);
            let ino = std::fs::metadata(&p).unwrap().ino();
            let mut g = grower(&p);
            g.reserve(Some(add), &mut |_| {}).unwrap();
            g.append_bytes(&vec![5u8; (row * add) as usize]).unwrap();
            g.commit(add).unwrap();
            drop(g);
            let mut want = hand_header(new);
            want.extend(vec![1u8; old_bytes as usize]);
            want.extend(vec![5u8; (row * add) as usize]);
            assert_eq!(std::fs::read(&p).unwrap(), want, "case {i}");
            assert_eq!(std::fs::metadata(&p).unwrap().ino(), ino, "case {i}");
        }
        // No spare spaces for a longer count: the header grows, through a
        // fresh file with numpy's header.
        let p = dir.path().join("tight.npy");
        file_with(
            &p,
            &hand_header("{'descr':'<i2','fortran_order':False,'shape':(9,)}\n"),
            &[1u8; 18],
        );
        let mut g = grower(&p);
        g.reserve(Some(1), &mut |_| {}).unwrap();
        g.append_bytes(&[5u8; 2]).unwrap();
        g.commit(1).unwrap();
        drop(g);
        let mut want = layout(&[10]).to_npy_header();
        want.extend_from_slice(&[1u8; 18]);
        want.extend_from_slice(&[5u8; 2]);
        assert_eq!(std::fs::read(&p).unwrap(), want);
    }

    #[test]
    fn header_patch_across_a_page_goes_through_a_fresh_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let layout_k = |k: usize, rows: u64| {
            let descr = Py::List(vec![Py::Tuple(vec![
                Py::Str("x".repeat(k)),
                Py::Str("<i2".into()),
            ])]);
            Layout::new(descr, false, vec![rows]).unwrap()
        };
        // numpy's header whose growth number starts just before byte 4096,
        // so a longer number crosses into the next page; and one far from it.
        let v1 = crate::npy::header::VERSIONS[0];
        let straddles = |k: usize| {
            let l = layout_k(k, 5);
            let digit = v1.prefix_len() + l.dict_text().find("(5,").unwrap() + 1;
            (4080..4096).contains(&digit) && l.to_npy_header().len() > 4096
        };
        let k = (3900..4200).find(|&k| straddles(k)).unwrap();
        for (k, fresh) in [(k, true), (k + 150, false)] {
            let p = dir.path().join(format!("k{k}.npy"));
            let head = layout_k(k, 5).to_npy_header();
            assert!(head.len() > 4096, "k {k}: {}", head.len());
            file_with(&p, &head, &[1u8; 10]);
            let ino = std::fs::metadata(&p).unwrap().ino();
            let mut g = grower(&p);
            assert_eq!(!g.atomic_header, fresh, "k {k}");
            g.reserve(Some(123_456), &mut |_| {}).unwrap();
            g.append_bytes(&vec![2u8; 246_912]).unwrap();
            g.commit(123_456).unwrap();
            drop(g);
            let mut want = layout_k(k, 123_461).to_npy_header();
            want.extend_from_slice(&[1u8; 10]);
            want.extend_from_slice(&vec![2u8; 246_912]);
            assert!(std::fs::read(&p).unwrap() == want, "k {k}");
            assert_eq!(std::fs::metadata(&p).unwrap().ino() != ino, fresh, "k {k}");
        }
    }
}
