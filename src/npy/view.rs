//! Reading an array's values: open a `.npy` file (or a member of a `.npz`
//! archive, `A.npz:NAME`) under a shared lock, check that it holds one whole
//! array, and map its data window by window.
//!
//! The shared lock is the one `npy append` and `npy repair` take
//! exclusively, so while a [`View`] lives no `npy` process changes the file,
//! and the size read under the lock stays true: the mapping can never reach
//! past the end of the file. A process that ignores the lock (`truncate`,
//! another program) and cuts the file while it is mapped makes the next
//! access to a vanished page raise SIGBUS, which ends the process; this is
//! the usual contract of memory-mapped readers (numpy's `mmap_mode` has the
//! same one) and is documented for the commands that read data.
//!
//! Windows are mapped one at a time and unmapped when dropped, so the pages
//! a long pass has touched do not pile up in the process's resident set.

use std::fs::File;
use std::path::Path;

use memmap2::{Advice, Mmap, MmapOptions};

use super::header::Header;
use super::npz::{self, NpzError};
use super::scan::{scan_file, FileStatus, Scan};
use super::FormatError;

/// Why a file's values cannot be read.
#[derive(Debug)]
pub enum OpenError {
    /// Opening, locking or mapping failed.
    Io(std::io::Error),
    /// Not a `.npy` file, or a header numpy would not read.
    Format(FormatError),
    /// A `.npy` file that is not one whole array (truncated, trailing
    /// bytes, several arrays, pickled objects): its scan, for the advice.
    NotWhole(Box<Scan>),
    /// An archive member that cannot be read (no such member, damaged
    /// archive, a member that is not a `.npy` file).
    Npz(NpzError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "{e}"),
            OpenError::Format(e) => write!(f, "{e}"),
            OpenError::NotWhole(s) => write!(f, "not one whole array ({})", s.status.as_str()),
            OpenError::Npz(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(e) => Some(e),
            OpenError::Format(e) => Some(e),
            OpenError::NotWhole(_) => None,
            OpenError::Npz(_) => None,
        }
    }
}

impl From<std::io::Error> for OpenError {
    fn from(e: std::io::Error) -> Self {
        OpenError::Io(e)
    }
}

/// One whole array, open under a shared lock.
pub struct View {
    file: File,
    /// Where the array's `.npy` bytes start in `file`: 0 for a `.npy`
    /// file, the member's offset for a stored archive member.
    base: u64,
    pub header: Header,
    /// Number of elements (product of the shape).
    pub elements: u64,
}

impl View {
    /// Opens `path`, takes the shared lock and checks, under it, that the
    /// file holds exactly one whole array. `path` may name an archive
    /// member, `A.npz:NAME` (see [`npz::locate`]): a stored member is
    /// mapped where it lies in the archive (locked shared like a file), a
    /// deflated one from the temporary file it is inflated to.
    ///
    /// Errors name `path`; what cannot be opened, locked or mapped is
    /// `cannot open`, with the IO error as its cause.
    pub fn open(path: &Path) -> crate::npy::Result<View> {
        if let Some(l) = npz::locate(path)? {
            return View::open_member(l).map_err(|e| opened(e).at(path));
        }
        View::open_file(path).map_err(|e| opened(e).at(path))
    }

    fn open_member(l: npz::Located) -> Result<View, OpenError> {
        l.file.lock_shared()?;
        let scan = npz::scan_range(&l.file, l.offset, l.len).map_err(OpenError::Npz)?;
        View::of_scan(l.file, l.offset, scan)
    }

    fn open_file(path: &Path) -> Result<View, OpenError> {
        let file = super::io::lock_shared(path)?;
        if file.metadata()?.is_dir() {
            return Err(OpenError::Io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory",
            )));
        }
        let scan = scan_file(&file).map_err(|e| match e {
            FormatError::Io(e) => OpenError::Io(e),
            e => OpenError::Format(e),
        })?;
        View::of_scan(file, 0, scan)
    }

    fn of_scan(file: File, base: u64, scan: Scan) -> Result<View, OpenError> {
        if scan.status != FileStatus::Ok {
            return Err(OpenError::NotWhole(Box::new(scan)));
        }
        let elements = scan.header.elements().map_err(OpenError::Format)?;
        Ok(View {
            file,
            base,
            header: scan.header,
            elements,
        })
    }

    pub fn itemsize(&self) -> u64 {
        self.header.itemsize()
    }

    /// Maps elements `first..first + count` (in storage order), read-only,
    /// advised for a sequential pass.
    pub fn map(&self, first: u64, count: u64) -> std::io::Result<Window> {
        let isz = self.itemsize();
        let start = self.base + self.header.header_len + first * isz;
        let len = count * isz;
        if len == 0 {
            return Ok(Window { map: None, skip: 0 });
        }
        let page = super::map::page_size() as u64;
        let aligned = start - start % page;
        let skip = (start - aligned) as usize;
        // SAFETY: the file is held under a shared lock that every npy writer
        // respects, and its size was checked under that lock to cover the
        // whole data, so the mapped range exists. A non-npy process that
        // truncates the file anyway makes access fault (SIGBUS); see the
        // module documentation.
        let map = unsafe {
            MmapOptions::new()
                .offset(aligned)
                .len(skip + len as usize)
                .map(&self.file)?
        };
        let _ = map.advise(Advice::Sequential);
        Ok(Window {
            map: Some(map),
            skip,
        })
    }
}

/// A mapped run of elements; unmapped when dropped.
pub struct Window {
    map: Option<Mmap>,
    skip: usize,
}

impl Window {
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(m) => &m[self.skip..],
            None => &[],
        }
    }
}

/// An [`OpenError`] as the core's error: what could not be opened, locked
/// or mapped says `cannot open`.
fn opened(e: OpenError) -> crate::npy::Error {
    match e {
        OpenError::Io(e) => crate::npy::Error::io("cannot open", e),
        e => e.into(),
    }
}

/// The index tuple of the element at storage position `pos` of an array of
/// `shape` stored in C order (last index fastest) or Fortran order (first
/// index fastest).
pub fn unravel(mut pos: u64, shape: &[u64], fortran_order: bool) -> Vec<u64> {
    let mut idx = vec![0u64; shape.len()];
    let axes: Box<dyn Iterator<Item = usize>> = if fortran_order {
        Box::new(0..shape.len())
    } else {
        Box::new((0..shape.len()).rev())
    };
    for ax in axes {
        let d = shape[ax].max(1);
        idx[ax] = pos % d;
        pos /= d;
    }
    idx
}

/// The storage position of the element at `idx` (the inverse of [`unravel`]).
pub fn ravel(idx: &[u64], shape: &[u64], fortran_order: bool) -> u64 {
    let mut pos = 0u64;
    if fortran_order {
        for ax in (0..shape.len()).rev() {
            pos = pos * shape[ax] + idx[ax];
        }
    } else {
        for ax in 0..shape.len() {
            pos = pos * shape[ax] + idx[ax];
        }
    }
    pos
}

/// An index tuple as Python writes it: `()`, `(3,)`, `(1, 2)`.
pub fn index_repr(idx: &[u64]) -> String {
    match idx {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            idx.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether storage order and logical (C) order agree: C order, or at most
/// one dimension longer than 1.
pub fn storage_is_logical(shape: &[u64], fortran_order: bool) -> bool {
    !fortran_order || shape.iter().filter(|&&d| d > 1).count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_and_ravel_invert() {
        let shape = [2u64, 3, 4];
        for f in [false, true] {
            for p in 0..24 {
                let i = unravel(p, &shape, f);
                assert_eq!(ravel(&i, &shape, f), p);
            }
        }
        assert_eq!(unravel(5, &shape, false), vec![0, 1, 1]);
        assert_eq!(unravel(5, &shape, true), vec![1, 2, 0]);
        assert_eq!(index_repr(&[3]), "(3,)");
        assert_eq!(index_repr(&[]), "()");
        assert_eq!(index_repr(&[1, 2]), "(1, 2)");
    }
}
