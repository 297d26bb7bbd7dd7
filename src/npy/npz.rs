//! `.npz` archives: zip files whose members are `.npy` files, as
//! `np.savez` (members stored) and `np.savez_compressed` (members deflated)
//! write them, and as other zip writers (Python's `zipfile`, `zip(1)`) do.
//!
//! The central directory is parsed by the `zip` crate; member data is read
//! here, with positioned reads, so that a stored member's bytes can be used
//! where they lie (a byte range of the archive), copied with their CRC
//! computed on the way ([`copy_with_crc`]).
//!
//! # API for commands that read arrays
//!
//! A command-line path is either a file or `ARCHIVE:NAME`:
//!
//! - [`resolve`] turns the path string into a [`Source`]: a plain file (also
//!   whenever a file of that exact name exists, even one whose name holds a
//!   `:`), or a member of an archive;
//! - [`locate`] goes one step further and returns the `.npy` bytes of a
//!   member as a [`Located`] byte range — `(File, offset, len)` — ready for
//!   positioned reads: a stored member is a range of the archive itself
//!   (nothing is extracted), a deflated one is inflated once, CRC-checked,
//!   into an unnamed temporary file (memory stays flat; disk use is the
//!   member's size). Plain files give `None` and are opened as before;
//! - [`scan_range`] judges the `.npy` bytes of a range the way
//!   [`scan_file`] judges a whole file.
//!
//! So a command that reads one array does
//! `let (file, offset, len) = npz::open_array(path)?;` then
//! `let scan = npz::scan_range(&file, offset, len)?;` and reads its data at
//! `offset + scan.header.header_len` (what [`open_array`] does: [`locate`],
//! or else the plain file from offset 0). [`locate`] and [`open_array`]
//! return the core's [`Error`](super::Error) naming `path`; the functions
//! over an open file or archive return [`NpzError`]s, to which the caller
//! adds the path with [`ResultExt::at`](super::ResultExt::at).
//!
//! For whole archives: [`Archive::open`] lists the [`Member`]s,
//! [`Archive::scan`] judges one from its header alone (inflating only the
//! first bytes of a deflated one), [`Archive::data`] gives its bytes as a
//! range or a CRC-checking stream, [`Archive::extract`] writes them to a file
//! (stored: kernel copy with the CRC computed alongside; deflated: streamed),
//! and [`write_archive`] builds an archive from `.npy` files.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use zip::CompressionMethod;

use super::header::{read_header, read_header_at, Header, MAGIC};
use super::io::{copy_blocks, copy_range, copy_stream, copy_to_writer, CopyError};
use super::scan::{judge, scan_file, FileStatus, Scan};
use super::{FormatError, ResultExt as _};

/// Zip method numbers npy reads.
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

/// Sizes from which a member needs ZIP64 fields.
const ZIP64_LIMIT: u64 = 0xFFFF_FFFF;

/// What is wrong with an archive or one of its members, in words short
/// enough to follow `npy: ARCHIVE: ` or `npy: ARCHIVE:NAME: `.
#[derive(Debug)]
pub enum NpzError {
    /// Not a zip file, or its central directory is damaged or cut short.
    Archive(String),
    /// No member of that name.
    NoMember {
        name: String,
        known: Vec<String>,
    },
    /// A compression method other than stored and deflated.
    Method(u16),
    /// Deflated data that does not inflate.
    Inflate(String),
    Encrypted,
    /// The member's bytes lie past the end of the archive.
    CutShort {
        end: u64,
        archive_len: u64,
    },
    /// A member name that would land outside the output directory.
    UnsafeName(String),
    /// Data that does not match the CRC the archive records.
    Crc {
        recorded: u32,
        computed: u32,
    },
    /// Data whose length is not what the archive records.
    Size {
        recorded: u64,
        found: u64,
    },
    /// The member's bytes are not a readable `.npy` file.
    Format(FormatError),
    Io(io::Error),
    /// Reading an input of `zip` failed (`name`: the input as given).
    Input {
        name: String,
        source: io::Error,
    },
    /// Writing the member's bytes out failed: the output is at fault, not
    /// the archive (callers say "cannot write" and name the output).
    Write(io::Error),
}

impl std::fmt::Display for NpzError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NpzError::Archive(m) => write!(f, "damaged or not a .npz (zip) archive: {m}"),
            NpzError::NoMember { name, known } => {
                write!(f, "no member named {name:?}")?;
                if known.is_empty() {
                    write!(f, " (the archive is empty)")
                } else {
                    write!(f, " (members: {})", known.join(", "))
                }
            }
            NpzError::Method(m) => write!(
                f,
                "member compressed with zip method {m}; npy reads stored (0) and deflated (8) members"
            ),
            NpzError::Encrypted => write!(f, "member is encrypted"),
            NpzError::Inflate(m) => write!(f, "cannot inflate the member (damaged data): {m}"),
            NpzError::CutShort { end, archive_len } => write!(
                f,
                "member data runs to byte {end}, past the end of the archive ({archive_len} bytes): the archive is cut short"
            ),
            NpzError::UnsafeName(n) => write!(
                f,
                "member name {n:?} would be written outside the output directory; refused"
            ),
            NpzError::Crc { recorded, computed } => write!(
                f,
                "CRC mismatch: the archive records {recorded:08x}, the data gives {computed:08x} (damaged data)"
            ),
            NpzError::Size { recorded, found } => write!(
                f,
                "member holds {found} bytes where the archive records {recorded} (damaged data)"
            ),
            NpzError::Format(e) => write!(f, "{e}"),
            NpzError::Io(e) => write!(f, "{e}"),
            NpzError::Write(e) => write!(f, "{e}"),
            NpzError::Input { name, source } => write!(f, "{name}: cannot read: {source}"),
        }
    }
}

// No `source`: Display already says all of it, and `{:#}` would say it twice.
impl std::error::Error for NpzError {}

impl From<io::Error> for NpzError {
    fn from(e: io::Error) -> Self {
        // A decompressor or CRC check reports through io::Error; keep ours.
        if e.get_ref().is_some_and(|i| i.is::<NpzError>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<NpzError>().expect("checked above");
        }
        NpzError::Io(e)
    }
}

impl From<FormatError> for NpzError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Io(io) => NpzError::from(io),
            e => NpzError::Format(e),
        }
    }
}

impl From<zip::result::ZipError> for NpzError {
    fn from(e: zip::result::ZipError) -> Self {
        use zip::result::ZipError as Z;
        match e {
            Z::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
                NpzError::Archive("the archive ends early".into())
            }
            Z::Io(io) => NpzError::Io(io),
            Z::CompressionMethodNotSupported(m) => NpzError::Method(m),
            e => NpzError::Archive(e.to_string()),
        }
    }
}

/// Whether `first` (the first bytes of a file) starts a zip archive, as
/// `np.load` decides it: a local file header, or the end record of an empty
/// archive.
pub fn is_zip(first: &[u8]) -> bool {
    first.starts_with(b"PK\x03\x04") || first.starts_with(b"PK\x05\x06")
}

/// Whether the file starts like a zip archive.
pub fn file_is_zip(file: &File) -> io::Result<bool> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match file.read_at(&mut b[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(is_zip(&b[..got]))
}

/// One entry of an archive, from the central directory.
#[derive(Debug, Clone)]
pub struct Member {
    /// Position in the central directory.
    pub index: usize,
    /// The entry's name in the zip (`x.npy`, `a/b.npy`).
    pub entry: String,
    /// The name `np.load(A).files` lists: the entry without `.npy`.
    pub name: String,
    /// Zip compression method (0 stored, 8 deflated).
    pub method: u16,
    pub encrypted: bool,
    pub is_dir: bool,
    /// Uncompressed size: the `.npy` file's length.
    pub size: u64,
    pub compressed_size: u64,
    pub crc32: u32,
    /// Offset of the local header in the archive.
    pub header_start: u64,
}

impl Member {
    /// Whether the member is deflated (what `np.savez_compressed` writes).
    pub fn compressed(&self) -> bool {
        self.method != STORED
    }
}

/// An open archive and its members, in central-directory order.
pub struct Archive {
    file: File,
    len: u64,
    zip: zip::ZipArchive<File>,
    members: Vec<Member>,
}

/// The bytes of one member.
pub enum MemberData {
    /// Stored: `len` bytes of `file` from `offset` (not CRC-checked).
    Range { file: File, offset: u64, len: u64 },
    /// Deflated: an inflating stream that fails at its end when the data
    /// does not match the recorded size and CRC.
    Stream(Box<dyn Read + Send>),
}

impl Archive {
    /// Reads the central directory of the archive in `file`.
    pub fn open(file: File) -> Result<Archive, NpzError> {
        let len = file.metadata()?.len();
        let zip = zip::ZipArchive::new(file.try_clone()?)?;
        if zip.has_duplicate_names() {
            return Err(NpzError::Archive("two members have the same name".into()));
        }
        let mut members = Vec::with_capacity(zip.len());
        for index in 0..zip.len() {
            let e = zip.by_index_data(index)?;
            let entry = e.name()?.into_owned();
            let name = entry.strip_suffix(".npy").unwrap_or(&entry).to_string();
            members.push(Member {
                index,
                name,
                method: compression_number(e.compression()),
                encrypted: e.encrypted(),
                is_dir: e.is_dir(),
                size: e.size(),
                compressed_size: e.compressed_size(),
                crc32: e.crc32(),
                header_start: e.header_start(),
                entry,
            });
        }
        Ok(Archive {
            file,
            len,
            zip,
            members,
        })
    }

    /// Opens the archive at `path`.
    pub fn open_path(path: &Path) -> super::Result<Archive> {
        File::open(path)
            .map_err(NpzError::from)
            .and_then(Archive::open)
            .at(path)
    }

    /// Every entry, directories included, in central-directory order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The archive file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The member `name` names: its `np.load` key (`x`) or its entry (`x.npy`).
    pub fn find(&self, name: &str) -> Result<&Member, NpzError> {
        self.members
            .iter()
            .find(|m| m.name == name && !m.is_dir)
            .or_else(|| self.members.iter().find(|m| m.entry == name && !m.is_dir))
            .ok_or_else(|| NpzError::NoMember {
                name: name.to_string(),
                known: self
                    .members
                    .iter()
                    .filter(|m| !m.is_dir)
                    .map(|m| m.name.clone())
                    .collect(),
            })
    }

    /// Offset of the member's data in the archive, checked to lie within it.
    pub fn data_start(&mut self, m: &Member) -> Result<u64, NpzError> {
        if m.encrypted {
            return Err(NpzError::Encrypted);
        }
        if m.method != STORED && m.method != DEFLATED {
            return Err(NpzError::Method(m.method));
        }
        let start = self
            .zip
            .by_index_raw(m.index)?
            .data_start()
            .ok_or_else(|| NpzError::Archive("member without a local header".into()))?;
        let end = start.saturating_add(m.compressed_size);
        if end > self.len {
            return Err(NpzError::CutShort {
                end,
                archive_len: self.len,
            });
        }
        if m.method == STORED && m.compressed_size != m.size {
            return Err(NpzError::Archive(format!(
                "stored member {:?} records {} bytes compressed and {} uncompressed",
                m.entry, m.compressed_size, m.size
            )));
        }
        Ok(start)
    }

    /// The member's bytes: a range of the archive (stored) or a stream.
    pub fn data(&mut self, m: &Member) -> Result<MemberData, NpzError> {
        let offset = self.data_start(m)?;
        let file = self.file.try_clone()?;
        Ok(if m.method == STORED {
            MemberData::Range {
                file,
                offset,
                len: m.size,
            }
        } else {
            MemberData::Stream(Box::new(inflater(file, offset, m)))
        })
    }

    /// The member's `.npy` header; for a deflated member only the first
    /// bytes are inflated.
    pub fn header(&mut self, m: &Member) -> Result<Header, NpzError> {
        match self.data(m)? {
            MemberData::Range { file, offset, len } => {
                Ok(read_header_at(&file, offset, offset + len)?)
            }
            MemberData::Stream(mut r) => {
                let mut r = (&mut r).take(m.size);
                match read_header(&mut r)? {
                    Some(h) => Ok(h),
                    None => Err(FormatError::Empty.into()),
                }
            }
        }
    }

    /// What the member holds, judged as `inspect` judges a file: from its
    /// header and recorded size. Only a member with bytes past its array
    /// (stacked or trailing) is read further, to tell which.
    pub fn scan(&mut self, m: &Member) -> Result<Scan, NpzError> {
        if let MemberData::Range { file, offset, len } = self.data(m)? {
            return scan_range(&file, offset, len);
        }
        let header = self.header(m)?;
        let scan = judge(header, m.size)?;
        if scan.status != FileStatus::Trailing {
            return Ok(scan);
        }
        let spooled = self.spool(m)?;
        Ok(scan_file(&spooled)?)
    }

    /// The member's bytes in an unnamed temporary file, CRC-checked.
    pub fn spool(&mut self, m: &Member) -> Result<File, NpzError> {
        let tmp = tempfile::tempfile()?;
        self.extract(m, &tmp, &mut |_| {})?;
        Ok(tmp)
    }

    /// Writes the member's bytes to `dst` from offset 0 and checks them
    /// against the recorded CRC. A stored member is copied by
    /// [`copy_with_crc`], which computes the CRC on the way; a deflated one
    /// is inflated as a stream.
    pub fn extract(
        &mut self,
        m: &Member,
        dst: &File,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), NpzError> {
        match self.data(m)? {
            MemberData::Range { file, offset, len } => {
                let computed = copy_with_crc(&file, offset, dst, 0, len, progress)?;
                if computed != m.crc32 {
                    return Err(NpzError::Crc {
                        recorded: m.crc32,
                        computed,
                    });
                }
                Ok(())
            }
            MemberData::Stream(mut r) => {
                // One byte more than recorded, to notice a longer stream.
                let n = copy_stream(&mut r, dst, 0, m.size.saturating_add(1), progress).map_err(
                    |e| match e {
                        CopyError::Write(e) => NpzError::Write(e),
                        e => NpzError::Io(e.into_io()),
                    },
                )?;
                if n != m.size {
                    return Err(NpzError::Size {
                        recorded: m.size,
                        found: n,
                    });
                }
                // Read to the end, where the CRC is checked.
                let mut rest = [0u8; 1];
                if r.read(&mut rest)? != 0 {
                    return Err(NpzError::Size {
                        recorded: m.size,
                        found: m.size + 1,
                    });
                }
                Ok(())
            }
        }
    }
}

fn compression_number(c: CompressionMethod) -> u16 {
    #[allow(deprecated)]
    match c {
        CompressionMethod::Stored => STORED,
        CompressionMethod::Deflated => DEFLATED,
        CompressionMethod::Unsupported(n) => n,
        // Methods the crate knows by name but npy does not read.
        _ => 0xFFFF,
    }
}

/// Positioned reads over `len` bytes of a file from `offset`.
struct RangeReader {
    file: File,
    pos: u64,
    left: u64,
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.pos)?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a member",
            ));
        }
        self.pos += got as u64;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Inflates a deflated member and checks size and CRC at its end.
struct Checked<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    seen: u64,
    size: u64,
    crc: u32,
    done: bool,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::InvalidData {
                io::Error::other(NpzError::Inflate(e.to_string()))
            } else {
                e
            }
        })?;
        if n == 0 {
            self.done = true;
            if self.seen != self.size {
                return Err(io::Error::other(NpzError::Size {
                    recorded: self.size,
                    found: self.seen,
                }));
            }
            let computed = self.hasher.clone().finalize();
            if computed != self.crc {
                return Err(io::Error::other(NpzError::Crc {
                    recorded: self.crc,
                    computed,
                }));
            }
            return Ok(0);
        }
        self.seen += n as u64;
        if self.seen > self.size {
            self.done = true;
            return Err(io::Error::other(NpzError::Size {
                recorded: self.size,
                found: self.seen,
            }));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn inflater(
    file: File,
    offset: u64,
    m: &Member,
) -> Checked<flate2::read::DeflateDecoder<RangeReader>> {
    let raw = RangeReader {
        file,
        pos: offset,
        left: m.compressed_size,
    };
    Checked {
        inner: flate2::read::DeflateDecoder::new_with_buf(raw, vec![0u8; 256 << 10]),
        hasher: crc32fast::Hasher::new(),
        seen: 0,
        size: m.size,
        crc: m.crc32,
        done: false,
    }
}

/// Copies `len` bytes of `src` from `src_off` to `dst` at `dst_off` and
/// returns their CRC-32, reading each byte from memory once: the CRC is
/// computed in [`copy_blocks`]' reading thread while each block is in the
/// CPU cache. A kernel-side copy (`copy_file_range`) plus a second read for
/// the CRC was slower: a member's bytes rarely start on a page boundary in
/// the archive, where the kernel's copy costs half as much again.
pub fn copy_with_crc(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<u32, NpzError> {
    super::sys::preallocate(dst, dst_off, len);
    let mut h = crc32fast::Hasher::new();
    copy_blocks(src, src_off, dst, dst_off, len, progress, &mut |b| {
        h.update(b)
    })
    .map_err(|e| match e {
        CopyError::Write(e) => NpzError::Write(e),
        e => NpzError::Io(e.into_io()),
    })?;
    Ok(h.finalize())
}

/// Judges the `.npy` bytes `len` bytes long at `offset` of `file` as
/// [`scan_file`] judges a whole file. Bytes past the first array are copied
/// to a temporary file and walked there, to tell stacked from trailing.
pub fn scan_range(file: &File, offset: u64, len: u64) -> Result<Scan, NpzError> {
    let header = read_header_at(file, offset, offset + len)?;
    let scan = judge(header, len)?;
    if scan.status != FileStatus::Trailing {
        return Ok(scan);
    }
    let next = offset + scan.header.header_len + scan.expected_bytes;
    let mut magic = [0u8; 6];
    if offset + len - next < MAGIC.len() as u64 {
        return Ok(scan);
    }
    file.read_exact_at(&mut magic, next)?;
    if &magic != MAGIC {
        return Ok(scan);
    }
    let tmp = tempfile::tempfile()?;
    copy_range(file, offset, &tmp, 0, len, &mut |_| {}).map_err(io::Error::from)?;
    Ok(scan_file(&tmp)?)
}

/// What a command-line path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file (or something that does not exist, to be reported as such).
    File(PathBuf),
    /// `ARCHIVE:NAME`: member NAME of the archive ARCHIVE.
    Member { archive: PathBuf, name: String },
}

/// Splits `ARCHIVE:NAME`. A path that exists as it is stays a file, however
/// many `:` it holds; otherwise the first `:` whose left side is an existing
/// file (not a directory) splits it.
pub fn resolve(arg: &Path) -> Source {
    use std::os::unix::ffi::OsStrExt;
    let bytes = arg.as_os_str().as_bytes();
    if !bytes.contains(&b':') || std::fs::symlink_metadata(arg).is_ok() {
        return Source::File(arg.to_path_buf());
    }
    for (i, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b':') {
        let archive = Path::new(std::ffi::OsStr::from_bytes(&bytes[..i]));
        if i == 0 || i + 1 == bytes.len() {
            continue;
        }
        if std::fs::metadata(archive).is_ok_and(|m| !m.is_dir()) {
            if let Ok(name) = std::str::from_utf8(&bytes[i + 1..]) {
                return Source::Member {
                    archive: archive.to_path_buf(),
                    name: name.to_string(),
                };
            }
        }
    }
    Source::File(arg.to_path_buf())
}

/// The `.npy` bytes of an archive member, as a byte range of a file.
pub struct Located {
    /// The archive (stored member) or an unnamed temporary file holding
    /// the inflated member (deflated).
    pub file: File,
    /// Where the member's `.npy` bytes start in `file`.
    pub offset: u64,
    /// Their length.
    pub len: u64,
    /// The archive's path.
    pub archive: PathBuf,
    /// The member's name as given after the `:`.
    pub name: String,
    /// Whether the member was deflated (and `file` is a temporary copy).
    pub compressed: bool,
}

/// Where the `.npy` bytes `arg` names lie, when `arg` names an archive
/// member (`A.npz:NAME`); `None` for a plain file, which the caller opens
/// as usual. A deflated member is inflated (and CRC-checked) into an unnamed
/// temporary file; a stored one is used in place.
pub fn locate(arg: &Path) -> super::Result<Option<Located>> {
    let Source::Member { archive, name } = resolve(arg) else {
        return Ok(None);
    };
    locate_member(archive, name).map(Some).at(arg)
}

fn locate_member(archive: PathBuf, name: String) -> Result<Located, NpzError> {
    let mut a = Archive::open(File::open(&archive)?)?;
    let m = a.find(&name)?.clone();
    let located = match a.data(&m)? {
        MemberData::Range { file, offset, len } => Located {
            file,
            offset,
            len,
            archive,
            name,
            compressed: false,
        },
        MemberData::Stream(_) => Located {
            file: a.spool(&m)?,
            offset: 0,
            len: m.size,
            archive,
            name,
            compressed: true,
        },
    };
    Ok(located)
}

/// The `.npy` bytes any command-line path names, as `(file, offset, len)`:
/// a plain file from offset 0, or an archive member as [`locate`] finds it.
/// Commands that read one array (`show`, `stats`, `diff`) can take every
/// input through this and [`scan_range`], reading at `offset + header_len`.
pub fn open_array(arg: &Path) -> super::Result<(File, u64, u64)> {
    if let Some(l) = locate(arg)? {
        return Ok((l.file, l.offset, l.len));
    }
    let file = File::open(arg).map_err(NpzError::from).at(arg)?;
    let meta = file.metadata().map_err(NpzError::from).at(arg)?;
    if meta.is_dir() {
        return Err(NpzError::Io(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )))
        .at(arg);
    }
    Ok((file, 0, meta.len()))
}

/// The path a member is extracted to under `dir`: `dir/ENTRY`, refused when
/// the entry name is absolute or climbs out with `..`.
pub fn extraction_path(dir: &Path, entry: &str) -> Result<PathBuf, NpzError> {
    let unsafe_name = || NpzError::UnsafeName(entry.to_string());
    if entry.is_empty() || entry.contains('\0') || entry.contains('\\') {
        return Err(unsafe_name());
    }
    let rel = Path::new(entry);
    let mut out = dir.to_path_buf();
    let mut parts = 0;
    for c in rel.components() {
        match c {
            Component::Normal(p) => {
                out.push(p);
                parts += 1;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_name())
            }
        }
    }
    if parts == 0 {
        return Err(unsafe_name());
    }
    Ok(out)
}

/// One `.npy` file to put in an archive.
pub struct NewMember<'a> {
    /// The entry name (`x.npy`).
    pub entry: String,
    /// The input as given, for messages.
    pub name: String,
    pub file: &'a File,
    /// Where its bytes start in `file` (0 for a `.npy` file, the data
    /// offset for a stored member of another archive).
    pub offset: u64,
    pub len: u64,
    /// Modification time (seconds since the epoch, UTC), recorded in the
    /// entry as zip does (to 2 seconds, from 1980 on).
    pub mtime: Option<i64>,
}

/// Writes an archive holding `members`, each byte-identical to its file,
/// to `out` (from offset 0). Stored members are copied by [`copy_with_crc`]
/// (the CRC computed on the way); `compress` deflates them
/// instead (level 6, as Python's zipfile does). Members of 4 GiB or more
/// (less a margin for deflate's worst-case growth) get ZIP64 fields. `progress` gets the input bytes done so far.
pub fn write_archive(
    out: &File,
    members: &[NewMember<'_>],
    compress: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<(), NpzError> {
    write_archive_zip64_from(out, members, compress, ZIP64_LIMIT - (1 << 20), progress)
}

/// [`write_archive`], giving ZIP64 fields to members of `zip64_from` bytes
/// or more (tests use 0 to check ZIP64 archives without writing 4 GiB).
pub fn write_archive_zip64_from(
    out: &File,
    members: &[NewMember<'_>],
    compress: bool,
    zip64_from: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(), NpzError> {
    let mut zw = zip::ZipWriter::new(out);
    match add_members(&mut zw, members, compress, zip64_from, progress) {
        Ok(()) => {
            zw.finish()?;
            Ok(())
        }
        Err(e) => {
            // Dropped, the writer would finish the abandoned archive and
            // print to stderr if that failed; it holds only a borrowed file.
            std::mem::forget(zw);
            Err(e)
        }
    }
}

fn add_members(
    zw: &mut zip::ZipWriter<&File>,
    members: &[NewMember<'_>],
    compress: bool,
    zip64_from: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(), NpzError> {
    use zip::write::SimpleFileOptions;
    let mut done = 0u64;
    for m in members {
        let mut opts = SimpleFileOptions::default()
            .unix_permissions(0o644)
            .large_file(m.len >= zip64_from);
        if let Some(t) = m.mtime.and_then(zip_time) {
            opts = opts.last_modified_time(t);
        }
        if compress {
            opts = opts
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(6));
            zw.start_file(m.entry.as_str(), opts)?;
            copy_to_writer(m.file, m.offset, m.len, zw, &mut |n| progress(done + n)).map_err(
                |e| match e {
                    CopyError::Read(e) => input_error(m, e),
                    e => NpzError::from(e.into_io()),
                },
            )?;
        } else {
            zw.start_file(
                m.entry.as_str(),
                opts.compression_method(CompressionMethod::Stored),
            )?;
            // SAFETY: not a memory-safety contract: the crate asks that the
            // archive stay consistent. We write the member's data at the
            // current end, leave the position after it, and then tell the
            // crate its exact length and CRC (set_file_metadata below).
            let w: &mut &File = unsafe { zw.get_mut() }
                .ok_or_else(|| NpzError::Archive("the archive writer is closed".into()))?;
            let start = w.stream_position()?;
            let base = done;
            let crc = copy_with_crc(m.file, m.offset, w, start, m.len, &mut |n| {
                progress(base + n)
            })
            .map_err(|e| match e {
                NpzError::Io(e) => input_error(m, e),
                e => e,
            })?;
            w.seek(SeekFrom::Start(start + m.len))?;
            // SAFETY: as above: `m.len` bytes were written for this entry and
            // `crc` is their CRC-32.
            unsafe { zw.set_file_metadata(m.len, crc) }?;
        }
        done += m.len;
    }
    Ok(())
}

/// An input of `zip` that could not be read, or ended early.
fn input_error(m: &NewMember<'_>, e: io::Error) -> NpzError {
    let source = if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "ended before the bytes its header promises (changed while being read?)",
        )
    } else {
        e
    };
    NpzError::Input {
        name: m.name.clone(),
        source,
    }
}

/// A zip timestamp (UTC civil time) for seconds since the epoch; `None`
/// before 1980 or after 2107, which zip cannot record.
fn zip_time(secs: i64) -> Option<zip::DateTime> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    zip::DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
    .ok()
}

/// What `npy inspect` shows of an archive: one member's scan (or why it
/// could not be read), or the archive's own error.
pub struct Record {
    /// `A.npz:NAME`, or `A.npz` for the archive's error.
    pub shown: String,
    /// The archive, as named.
    pub archive: String,
    pub scan: super::Result<Scan>,
    pub member: Option<Member>,
}

/// The records of an `.npz` archive (every member) or of one member
/// (`A.npz:NAME`); `None` when `path` is neither, to be inspected as a file.
pub fn records(path: &Path) -> Option<Vec<Record>> {
    if path == Path::new("-") {
        return None;
    }
    let (archive, only) = match resolve(path) {
        Source::Member { archive, name } => (archive, Some(name)),
        Source::File(p) => {
            let f = File::open(&p).ok()?;
            if !f.metadata().ok()?.is_file() || !file_is_zip(&f).ok()? {
                return None;
            }
            (p, None)
        }
    };
    let shown = archive.display().to_string();
    let mut a = match Archive::open_path(&archive) {
        Ok(a) => a,
        Err(e) => {
            let e = match e.kind() {
                // It starts like a zip file: say what it is not, too.
                super::ErrorKind::Npz(NpzError::Archive(m)) => {
                    super::Error::invalid(format!("a damaged .npz archive (not a .npy file): {m}"))
                        .at(&shown)
                }
                _ => e,
            };
            return Some(vec![Record {
                archive: shown.clone(),
                shown,
                scan: Err(e),
                member: None,
            }]);
        }
    };
    let members: Vec<Member> = match &only {
        Some(n) => match a.find(n) {
            Ok(m) => vec![m.clone()],
            Err(e) => {
                return Some(vec![Record {
                    archive: shown.clone(),
                    shown: shown.clone(),
                    scan: Err(super::Error::from(e).at(shown)),
                    member: None,
                }])
            }
        },
        None => a.members().iter().filter(|m| !m.is_dir).cloned().collect(),
    };
    Some(
        members
            .into_iter()
            .map(|m| {
                let rec_name = format!("{shown}:{}", m.name);
                Record {
                    scan: a.scan(&m).at(&rec_name),
                    shown: rec_name,
                    archive: shown.clone(),
                    member: Some(m),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input shorter than its member: an error naming the input, for a
    /// stored member and a deflated one.
    #[test]
    fn short_inputs_are_named() {
        let src = tempfile::tempfile().unwrap();
        src.write_all_at(&vec![1u8; 300_000], 0).unwrap();
        for compress in [false, true] {
            let out = tempfile::tempfile().unwrap();
            let m = NewMember {
                entry: "x.npy".into(),
                name: "in.npy".into(),
                file: &src,
                offset: 0,
                len: 400_000,
                mtime: None,
            };
            let e = write_archive(&out, &[m], compress, &mut |_| {}).unwrap_err();
            let NpzError::Input { name, source } = &e else {
                panic!("compress {compress}: {e}")
            };
            assert_eq!(name, "in.npy");
            assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        }
    }

    #[test]
    fn copy_with_crc_copies_and_hashes_every_step() {
        let step = 4u64 << 20;
        let size = 3 * step + 12_345;
        let bytes: Vec<u8> = (0..size)
            .map(|i| ((i * 2_654_435_761) >> 13) as u8)
            .collect();
        let src = tempfile::tempfile().unwrap();
        src.write_all_at(&bytes, 0).unwrap();
        for (off, len) in [
            (0, 0),
            (7, 1),
            (0, step - 1),
            (1, step),
            (0, step + 1),
            (5, size - 5),
        ] {
            let dst = tempfile::tempfile().unwrap();
            dst.write_all_at(b"head", 0).unwrap();
            let mut seen = 0;
            let crc = copy_with_crc(&src, off, &dst, 4, len, &mut |n| seen = n).unwrap();
            let want = &bytes[off as usize..(off + len) as usize];
            assert_eq!(crc, crc32fast::hash(want), "off {off} len {len}");
            assert_eq!(seen, len);
            let mut got = vec![0u8; len as usize + 4];
            dst.read_exact_at(&mut got, 0).unwrap();
            assert_eq!(&got[..4], b"head");
            assert!(got[4..] == *want, "off {off} len {len}: bytes differ");
            assert_eq!(dst.metadata().unwrap().len(), len + 4);
        }
        // A source shorter than asked: an error, not a hang or a CRC.
        let dst = tempfile::tempfile().unwrap();
        let e = copy_with_crc(&src, step, &dst, 0, size, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, NpzError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{e}"
        );
        // A destination that refuses writes: its error, not a hang.
        let path = tempfile::NamedTempFile::new().unwrap();
        let ro = File::open(path.path()).unwrap();
        let e = copy_with_crc(&src, 0, &ro, 0, size, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, NpzError::Write(e) if e.raw_os_error() == Some(libc::EBADF)),
            "{e}"
        );
    }

    #[test]
    fn extraction_paths_stay_inside() {
        let d = Path::new("out");
        assert_eq!(extraction_path(d, "x.npy").unwrap(), Path::new("out/x.npy"));
        assert_eq!(
            extraction_path(d, "a/./b.npy").unwrap(),
            Path::new("out/a/b.npy")
        );
        for bad in [
            "../x.npy",
            "/etc/x.npy",
            "a/../../x",
            "",
            ".",
            "a\\..\\x",
            "a/..",
        ] {
            assert!(extraction_path(d, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn open_array_reads_files_and_members() {
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("x.npy");
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        let dict = "{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }";
        bytes.extend_from_slice(format!("{dict:<117}\n").as_bytes());
        bytes.extend_from_slice(&[7, 8, 9]);
        std::fs::write(&npy, &bytes).unwrap();
        let src = File::open(&npy).unwrap();
        for compress in [false, true] {
            let a = dir.path().join(format!("a{compress}.npz"));
            let out = File::create(&a).unwrap();
            let m = NewMember {
                entry: "x.npy".into(),
                name: npy.display().to_string(),
                file: &src,
                offset: 0,
                len: bytes.len() as u64,
                mtime: None,
            };
            write_archive(&out, &[m], compress, &mut |_| {}).unwrap();
            let arg = PathBuf::from(format!("{}:x", a.display()));
            let (f, off, len) = open_array(&arg).unwrap();
            let scan = scan_range(&f, off, len).unwrap();
            assert_eq!(scan.status, FileStatus::Ok);
            assert_eq!(scan.header.shape, [3]);
            let mut data = [0u8; 3];
            f.read_exact_at(&mut data, off + scan.header.header_len)
                .unwrap();
            assert_eq!(data, [7, 8, 9]);
            let e = open_array(Path::new(&format!("{}:y", a.display()))).unwrap_err();
            assert!(matches!(
                e.kind(),
                crate::npy::ErrorKind::Npz(NpzError::NoMember { .. })
            ));
            assert_eq!(e.path(), Some(Path::new(&format!("{}:y", a.display()))));
        }
        let (_, off, len) = open_array(&npy).unwrap();
        assert_eq!((off, len), (0, bytes.len() as u64));
        assert!(open_array(dir.path()).is_err());
    }

    #[test]
    fn zip_times() {
        let t = zip_time(1_700_000_000).unwrap(); // 2023-11-14 22:13:20 UTC
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2023, 11, 14, 22, 13, 20)
        );
        assert!(zip_time(0).is_none());
    }

    #[test]
    fn resolve_prefers_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npz");
        std::fs::write(&a, b"").unwrap();
        let colon = dir.path().join("b.npz:x");
        std::fs::write(&colon, b"").unwrap();
        let m = PathBuf::from(format!("{}:y:z", a.display()));
        assert_eq!(
            resolve(&m),
            Source::Member {
                archive: a.clone(),
                name: "y:z".into()
            }
        );
        assert_eq!(resolve(&colon), Source::File(colon.clone()));
        let missing = dir.path().join("c.npz:x");
        assert_eq!(resolve(&missing), Source::File(missing.clone()));
        assert_eq!(resolve(dir.path()), Source::File(dir.path().to_path_buf()));
    }
}
