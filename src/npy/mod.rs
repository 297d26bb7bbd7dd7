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
//! - [`print`]: numpy's array printing, ported; [`export`]: values as CSV
//!   cells and JSON;
//! - [`npz`]: `.npz` archives (zip files of `.npy` members) and `ARCHIVE:NAME`
//!   paths;
//! - [`part`]: one join written by N independent processes sharing a
//!   filesystem (`concat --part K/N`): the cut, the staging directory, the
//!   completion record and the publication;
//! - [`io`]: locking, temporary file + rename, data-then-header, fsync and
//!   kernel-side copies, for every command that writes; [`sys`]: the
//!   Linux-only system calls, each with its portable fallback; [`sink`]:
//!   the output of a join (a new file, its writeback started as it is
//!   written, or a stream); [`map`]: memory maps of inputs that survive the
//!   file shrinking;
//! - [`view`], [`elem`]: reading values: a whole array mapped under a shared
//!   lock, and the decoding of every simple type;
//! - [`stats`], [`diff`]: one-pass statistics, and comparison of two arrays;
//! - [`index`]: numpy basic indexing text (`5`, `-3:`, `..., ::2`).
//!
//! Everything here is pure over bytes, `Read` or `File`, and returns the typed
//! [`FormatError`]; the commands add the file name with `anyhow`.

pub mod append;
pub mod diff;
pub mod dtype;
pub mod elem;
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

/// What the core refuses to do, typed (what is wrong with a file's bytes
/// is a [`FormatError`]). The words follow `npy: FILE: `; the command layer
/// adds the file name with `anyhow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Arrays that do not join as asked, in numpy's words.
    Join(String),
    /// A file `repair` must not touch, with the reason.
    Refused(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Join(m) | Error::Refused(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// What is wrong with a file's bytes, in words short enough to follow
/// `npy: FILE: `.
#[derive(Debug)]
pub enum FormatError {
    Empty,
    Magic,
    ShortHeader,
    Version(u8, u8),
    HeaderTooLong(u64),
    HeaderPastEnd { header_len: u64, available: u64 },
    Dict(String),
    Descr(String),
    Shape(String),
    Io(std::io::Error),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Empty => write!(f, "file is empty, not a .npy file"),
            FormatError::Magic => write!(f, "not a .npy file (no \\x93NUMPY magic at the start)"),
            FormatError::ShortHeader => write!(f, "file ends inside the .npy header"),
            FormatError::Version(a, b) => {
                write!(
                    f,
                    "unsupported .npy format version {a}.{b} (known: 1.0, 2.0, 3.0)"
                )
            }
            FormatError::HeaderTooLong(n) => {
                write!(
                    f,
                    "header length {n} is implausibly large (limit {})",
                    header::MAX_HEADER_LEN
                )
            }
            FormatError::HeaderPastEnd {
                header_len,
                available,
            } => write!(
                f,
                "header length {header_len} is past the end of the file ({available} bytes)"
            ),
            FormatError::Dict(m) => write!(f, "malformed header: {m}"),
            FormatError::Descr(m) => write!(f, "{m}"),
            FormatError::Shape(m) => write!(f, "invalid shape: {m}"),
            FormatError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormatError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for FormatError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FormatError::ShortHeader
        } else {
            FormatError::Io(e)
        }
    }
}
