//! The `.npy` format and the IO that must not lose data.
//!
//! - [`pylit`]: the Python literal syntax of the header dict;
//! - [`dtype`]: what a `descr` means (item size, object or not, in words);
//! - [`header`]: reading and writing headers exactly as numpy does;
//! - [`scan`]: what a file holds (one array, a truncated one, several back to
//!   back) from its headers and size alone;
//! - [`repair`]: what a repair of a file would change, from headers and
//!   sizes alone;
//! - [`grow`]: growing a locked file along its growth axis, in place or
//!   through a fresh file (the `append` write protocol); [`append`]: what
//!   may be appended, a target appended to itself, streams and raw rows;
//! - [`plan`]: checking, header by header, that arrays join and working out
//!   the result as numpy would (what [`scan`] judges a stacked file by);
//!   [`join`]: copying a join of arrays (concat, convert-stacked) as numpy
//!   would lay it out, block by block;
//! - [`limits`]: what numpy can hold (64 dimensions, sizes that fit), checked
//!   for every result shape before it is written;
//! - [`index`]: numpy basic-indexing text and the strided selection it
//!   makes of an array;
//! - [`values`]: decoding elements of every dtype from their bytes, read
//!   with positioned reads;
//! - [`print`](mod@print): numpy's array printing, ported; [`export`]: values as CSV
//!   cells and JSON;
//! - [`npz`]: `.npz` archives (zip files of `.npy` members) and `ARCHIVE:NAME`
//!   paths;
//! - [`part`]: one join written by N independent processes sharing a
//!   filesystem (`concat --part K/N`): the cut, the staging directory, the
//!   completion record and the publication;
//! - [`io`]: locking, temporary file + rename, data-then-header, fsync and
//!   copies of byte ranges, for every command that writes; [`sys`]: the
//!   Linux-only system calls, each with its portable fallback; [`sink`]:
//!   the output of a join (a new file, its writeback started as it is
//!   written, or a stream); [`map`]: memory maps of inputs that survive the
//!   file shrinking;
//! - [`view`], [`elem`]: reading values: a whole array mapped under a shared
//!   lock, and the decoding of every simple type;
//! - [`stats`], [`diff`]: one-pass statistics, and comparison of two arrays;
//! - [`index`]: numpy basic indexing text (`5`, `-3:`, `..., ::2`).
//!
//! Every file-level function here returns [`Result`]: one typed [`Error`]
//! that names the file it concerns ([`Error::at`], [`ResultExt::at`]) and
//! says what went wrong as an [`ErrorKind`], which wraps the small typed
//! errors of the value-level parsers ([`FormatError`], `NpzError`, ...).
//! The commands (`src/cmd`) add their own context on top (see
//! `docs/ARCHITECTURE.md`).

pub mod append;
pub mod diff;
pub mod dtype;
pub mod elem;
pub mod error;
pub mod export;
pub mod grow;
pub mod header;
pub mod index;
pub mod io;
pub mod join;
pub mod limits;
pub mod map;
pub mod npz;
pub mod part;
pub mod plan;
pub mod print;
pub mod printable;
pub mod pylit;
pub mod repair;
pub mod scan;
pub mod sink;
pub mod stats;
pub mod sys;
pub mod values;
pub mod view;

pub use dtype::Dtype;
pub use error::{Error, ErrorKind, FormatError, IoResultExt, Result, ResultExt};
pub use header::{read_header, read_header_at, Header, Layout, Version};
pub use scan::{FileStatus, Scan};

/// Where the core reports how far a long job has got: the bytes done so
/// far (of a total the caller knows). The command layer shows it (a
/// progress bar on a terminal); the core never knows how.
pub trait Progress {
    /// Sets the bytes done so far.
    fn set(&mut self, done: u64);
}

/// No report: for callers with nothing to show.
impl Progress for () {
    fn set(&mut self, _done: u64) {}
}
