//! The core's one error type: [`Error`], a file (or another name a
//! message starts with, such as `<stdin>`) and an [`ErrorKind`] saying what
//! went wrong. The kinds wrap the small typed errors of the value-level
//! parsers ([`FormatError`], [`NpzError`], [`IndexError`], ...) through
//! `From`, so `?` lifts them, and the name is attached one way:
//! [`Error::at`] or, on a result, [`ResultExt::at`].
//!
//! `Display` is `NAME: what is wrong` (just the words when no name is
//! known); `source()` is the cause under those words (an `io::Error`, for
//! instance), so the command layer prints the chain as
//! `npy: NAME: what: cause` and finds a broken pipe in it.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::index::IndexError;
use super::map::Shrank;
use super::npz::NpzError;
use super::part::{PartError, SpecError};
use super::scan::WalkError;
use super::stats::StatsError;
use super::values::ValueError;
use super::view::OpenError;

/// A result of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and with which file.
#[derive(Debug)]
pub struct Error {
    path: Option<PathBuf>,
    kind: ErrorKind,
}

/// What went wrong, in words short enough to follow `npy: FILE: `.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An IO call failed: what was being done (`cannot open`), and why.
    /// With no words, just the IO error's.
    Io {
        doing: Cow<'static, str>,
        source: io::Error,
    },
    /// What is wrong with a file's bytes.
    Format(FormatError),
    /// What is wrong with an archive or one of its members.
    Npz(NpzError),
    /// Why a walk over back-to-back arrays stopped.
    Walk(WalkError),
    /// A join run as parts (`concat --part`).
    Part(PartError),
    /// A `--part K/N` that does not parse.
    Spec(SpecError),
    /// Index text, or an index out of range.
    Index(IndexError),
    /// Values of a type that cannot be decoded.
    Value(ValueError),
    /// Statistics that cannot be computed.
    Stats(StatsError),
    /// A file whose values cannot be read.
    Open(OpenError),
    /// A file that shrank under a mapping.
    Shrank(Shrank),
    /// Arrays that do not join as asked, in numpy's words.
    Join(String),
    /// A file `repair` must not touch, with the reason.
    Refused(String),
    /// What is wrong with a file, a stream or an argument, in words.
    Invalid(String),
    /// An error that already names a file, under another name (an input
    /// named, then the output it was being written to).
    Within(Box<Error>),
}

impl Error {
    /// An error with no name yet (see [`Error::at`]).
    pub fn new(kind: ErrorKind) -> Error {
        Error { path: None, kind }
    }

    /// What is wrong, in words.
    pub fn invalid(words: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid(words.into()))
    }

    /// Arrays that do not join, in numpy's words.
    pub fn join(words: impl Into<String>) -> Error {
        Error::new(ErrorKind::Join(words.into()))
    }

    /// A file `repair` must not touch, with the reason.
    pub fn refused(words: impl Into<String>) -> Error {
        Error::new(ErrorKind::Refused(words.into()))
    }

    /// An IO error, with what was being done (`cannot open`).
    pub fn io(doing: impl Into<Cow<'static, str>>, source: io::Error) -> Error {
        Error::new(ErrorKind::Io {
            doing: doing.into(),
            source,
        })
    }

    /// Names the file (or stream) the error concerns. An error that already
    /// names that file is left as it is (the name is said once); one that
    /// names another is kept whole under the new name, which comes first
    /// (`NEW: OLD: what`).
    pub fn at(self, path: impl AsRef<Path>) -> Error {
        let path = path.as_ref();
        match &self.path {
            None => Error {
                path: Some(path.to_path_buf()),
                ..self
            },
            Some(p) if p == path => self,
            Some(_) => Error {
                path: Some(path.to_path_buf()),
                kind: ErrorKind::Within(Box::new(self)),
            },
        }
    }

    /// The file the error names, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The same error with other words for what was being done, when it is
    /// an IO error (`cannot open` becoming `cannot open for writing`).
    pub fn doing(self, words: &'static str) -> Error {
        match self.kind {
            ErrorKind::Io { source, .. } => Error {
                kind: ErrorKind::Io {
                    doing: words.into(),
                    source,
                },
                ..self
            },
            _ => self,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io { doing, source } if doing.is_empty() => f.write_str(&io_words(source)),
            ErrorKind::Io { doing, .. } => f.write_str(doing),
            ErrorKind::Format(e) => e.fmt(f),
            ErrorKind::Npz(e) => e.fmt(f),
            ErrorKind::Walk(e) => e.fmt(f),
            ErrorKind::Part(e) => e.fmt(f),
            ErrorKind::Spec(e) => e.fmt(f),
            ErrorKind::Index(e) => e.fmt(f),
            ErrorKind::Value(e) => e.fmt(f),
            ErrorKind::Stats(e) => e.fmt(f),
            ErrorKind::Open(e) => e.fmt(f),
            ErrorKind::Shrank(e) => e.fmt(f),
            ErrorKind::Join(m) | ErrorKind::Refused(m) | ErrorKind::Invalid(m) => f.write_str(m),
            ErrorKind::Within(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    /// The cause under the words `Display` gives (not the kind itself,
    /// whose words `Display` already includes).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Format(e) => e.source(),
            ErrorKind::Npz(e) => e.source(),
            ErrorKind::Walk(_) => None,
            ErrorKind::Part(e) => e.source(),
            ErrorKind::Spec(e) => e.source(),
            ErrorKind::Index(e) => e.source(),
            ErrorKind::Value(e) => e.source(),
            ErrorKind::Stats(e) => e.source(),
            ErrorKind::Open(e) => e.source(),
            ErrorKind::Shrank(_) => None,
            ErrorKind::Join(_) | ErrorKind::Refused(_) | ErrorKind::Invalid(_) => None,
            ErrorKind::Within(e) => e.source(),
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

/// An IO error with no words of its own (the name usually says enough:
/// `<stdin>: ...`).
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::io("", e)
    }
}

macro_rules! kind_from {
    ($($t:ty => $k:ident),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::new(ErrorKind::$k(e))
            }
        }
    )*};
}

kind_from! {
    FormatError => Format,
    NpzError => Npz,
    WalkError => Walk,
    PartError => Part,
    SpecError => Spec,
    IndexError => Index,
    ValueError => Value,
    StatsError => Stats,
    OpenError => Open,
    Shrank => Shrank,
}

/// Naming the file on a result: `read(...).at(path)?`, and IO results with
/// what was being done: `file.sync_all().doing("cannot sync").at(path)?`.
pub trait ResultExt<T> {
    /// Names the file the error concerns (see [`Error::at`]).
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.into().at(path))
    }
}

/// What was being done when an IO call failed.
pub trait IoResultExt<T> {
    /// The error as an [`ErrorKind::Io`] with these words.
    fn doing(self, words: impl Into<Cow<'static, str>>) -> Result<T>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn doing(self, words: impl Into<Cow<'static, str>>) -> Result<T> {
        self.map_err(|e| Error::io(words, e))
    }
}

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
                    super::header::MAX_HEADER_LEN
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

/// An IO error in words: "no such file or directory", without Rust's
/// "(os error 2)" suffix, and lower-case so it reads inside a sentence.
pub fn io_words(e: &io::Error) -> String {
    let s = e.to_string();
    let s = match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    };
    lower_first(&s)
}

/// `s` with its first letter lower-cased when it starts a capitalised word.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Only a capitalised word ("No such file"), not an acronym ("EOF").
        Some(f) if f.is_uppercase() && c.clone().next().is_some_and(char::is_lowercase) => {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}
