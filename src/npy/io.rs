//! IO that must not lose data, in one place: advisory locks that survive a
//! rename of the locked path, new files that appear whole or not at all
//! (temporary file beside the target, synced, renamed, directory synced),
//! and copies of byte ranges ([`copy_range`]: the kernel's where offsets
//! line up within a page, [`copy_blocks`] elsewhere).
//!
//! Ordering rule for growing a file in place: data first (written past the
//! old end, synced), header last (rewritten in place, synced). A crash
//! between the two leaves a header behind its data, which `npy repair`
//! turns back into a loadable array holding every row.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::error::{Error, IoResultExt, Result, ResultExt};

/// Buffer size for copies from streams and to writers. Large enough that
/// syscall overhead vanishes, small enough to keep memory flat.
pub const COPY_BUF: usize = 4 << 20;

/// A file opened read-write and exclusively locked (`flock`), whose path was
/// checked after locking to still name it.
pub struct Locked {
    pub file: File,
    pub path: PathBuf,
}

/// How to wait for a lock held by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Block,
    NoWait,
}

/// Opens `path` read-write and takes an exclusive advisory lock on it.
///
/// A writer that rewrites a file renames a new inode over the path while we
/// wait; after locking we therefore check that the path still names the
/// inode we hold and, if not, start again with the new file. Only a regular
/// file is locked: a FIFO or a device is refused, never grown or replaced.
pub fn lock_existing(path: &Path, wait: Wait) -> Result<Locked> {
    lock_path(path, wait, true)
}

/// Takes the exclusive lock `npy append` takes on the regular file `path`,
/// opened read-only: what a command that replaces `path` by a rename holds
/// from before it reads anything until after the rename, so that no append
/// commits rows into the file it is about to replace (they wait for it, and
/// then follow the rename to the new file).
pub fn lock_for_replace(path: &Path, wait: Wait) -> Result<Locked> {
    lock_path(path, wait, false)
}

fn lock_path(path: &Path, wait: Wait, write: bool) -> Result<Locked> {
    use std::os::unix::fs::OpenOptionsExt;
    loop {
        // O_NONBLOCK: opening a FIFO must not wait for a peer; it is refused
        // just below, once fstat says what it is.
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .doing("cannot open")
            .at(path)?;
        let kind = file.metadata().doing("cannot stat").at(path)?.file_type();
        if !kind.is_file() {
            return Err(Error::invalid(format!("{}; nothing changed", not_regular(kind))).at(path));
        }
        match wait {
            Wait::Block => file.lock().doing("cannot lock").at(path)?,
            Wait::NoWait => match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::invalid(
                        "locked by another process (an npy command writing it, \
                         or any program holding a flock on it); --no-wait given, nothing changed",
                    )
                    .at(path))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).doing("cannot lock").at(path)
                }
            },
        }
        if still_names(path, &file).doing("cannot stat").at(path)? {
            return Ok(Locked {
                file,
                path: path.to_path_buf(),
            });
        }
        // Replaced (or removed) while we waited: lock whatever is there now.
    }
}

/// What a file that is not a regular file is, in words for a refusal.
pub fn not_regular(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "is a directory"
    } else if kind.is_fifo() {
        "is a named pipe (FIFO), not a regular file"
    } else if kind.is_char_device() {
        "is a character device, not a regular file"
    } else if kind.is_block_device() {
        "is a block device, not a regular file"
    } else if kind.is_socket() {
        "is a socket, not a regular file"
    } else {
        "is not a regular file"
    }
}

/// Opens `path` read-only under a shared advisory lock (the lock `npy append`
/// takes exclusively), so a reader never looks at a file mid-append. Follows
/// a rename of the path while waiting, as [`lock_existing`] does.
pub fn lock_shared(path: &Path) -> io::Result<File> {
    loop {
        let file = File::open(path)?;
        file.lock_shared()?;
        if still_names(path, &file)? {
            return Ok(file);
        }
    }
}

/// Whether `path` still names the inode `file` has open (false when it was
/// replaced or removed meanwhile).
fn still_names(path: &Path, file: &File) -> io::Result<bool> {
    let held = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A new file being written beside its final path. Dropped without
/// [`NewFile::commit`], it is removed; committed, it replaces the target
/// in one rename.
pub struct NewFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl NewFile {
    /// Creates a temporary file in the directory of `target`, for a new
    /// file: mode 0666 less the umask, as a plain `open(..., 'wb')` gives
    /// it. A `target` that is a symlink is followed: the new file replaces
    /// what it points to, and the link stays a link (as writing through it
    /// would).
    pub fn beside(target: &Path) -> Result<NewFile> {
        use std::os::unix::fs::PermissionsExt;
        Self::create(target, std::fs::Permissions::from_mode(0o666))
    }

    /// Like [`NewFile::beside`], for a file that replaces `like`: the new
    /// file gets the permission bits of `like`, and is never more readable
    /// than that, not even while it is being written.
    pub fn replacing(target: &Path, like: &File) -> Result<NewFile> {
        let perm = like.metadata().at(target)?.permissions();
        let nf = Self::create(target, perm.clone())?;
        // Created with `perm` less the umask; now exactly `perm`.
        nf.file().set_permissions(perm).at(target)?;
        Ok(nf)
    }

    fn create(target: &Path, perm: std::fs::Permissions) -> Result<NewFile> {
        let target = &resolve_link(target);
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".npy-tmp")
            .permissions(perm)
            .tempfile_in(&dir)
            .doing(format!(
                "cannot create a temporary file in {}",
                dir.display()
            ))
            .at(target)?;
        Ok(NewFile {
            tmp,
            target: target.to_path_buf(),
        })
    }

    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    pub fn file_mut(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the data and renames the file over the target, then syncs the
    /// directory so the rename survives a power loss.
    pub fn commit(self, sync: bool) -> Result<()> {
        if sync {
            self.tmp
                .as_file()
                .sync_all()
                .doing("cannot sync")
                .at(&self.target)?;
        }
        let target = self.target.clone();
        self.tmp
            .persist(&target)
            .map_err(|e| e.error)
            .doing("cannot rename the new file into place")
            .at(&target)?;
        if sync {
            sync_dir(&target)?;
        }
        Ok(())
    }

    /// Like [`NewFile::commit`], for a target that `held` locks (see
    /// [`lock_for_replace`]): refuses, replacing nothing, when the path no
    /// longer names the locked file (a program that ignores the lock put
    /// another file there meanwhile).
    pub fn commit_over(self, held: &Locked, sync: bool) -> Result<()> {
        if !still_names(&self.target, &held.file)
            .doing("cannot stat")
            .at(&self.target)?
        {
            return Err(Error::invalid(
                "was replaced or removed by another program while npy worked on it; \
                 not replacing that file (run the command again)",
            )
            .at(&self.target));
        }
        self.commit(sync)
    }

    /// Like [`NewFile::commit`], but fails with `AlreadyExists` instead of
    /// replacing a file that appeared at the target meanwhile.
    pub fn commit_new(self, sync: bool) -> Result<Result<(), io::Error>> {
        if sync {
            self.tmp
                .as_file()
                .sync_all()
                .doing("cannot sync")
                .at(&self.target)?;
        }
        let target = self.target.clone();
        match self.tmp.persist_noclobber(&target) {
            Ok(_) => {
                if sync {
                    sync_dir(&target)?;
                }
                Ok(Ok(()))
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(Err(e.error)),
            Err(e) => Err(e.error).doing("cannot create").at(&target),
        }
    }
}

/// Opens an input to be read at offsets. A pipe (a FIFO, `<(curl ...)`,
/// `/dev/stdin`) can be neither sized nor read at offsets: its bytes are
/// first spooled to an unnamed temporary file (memory stays flat), which is
/// returned instead. A directory is refused.
pub fn open_input(path: &Path) -> Result<File> {
    let mut f = File::open(path).doing("cannot open").at(path)?;
    let kind = f.metadata().doing("cannot stat").at(path)?.file_type();
    if kind.is_dir() {
        return Err(Error::invalid("is a directory").at(path));
    }
    // A block device reads at offsets like a file.
    if kind.is_file() || std::os::unix::fs::FileTypeExt::is_block_device(&kind) {
        return Ok(f);
    }
    spool(&mut f, path)
}

/// Copies a stream to an unnamed temporary file and returns it.
pub fn spool(r: &mut dyn Read, name: &Path) -> Result<File> {
    let mut tmp = tempfile::tempfile().doing("cannot create a temporary file")?;
    io::copy(r, &mut tmp).doing("cannot read").at(name)?;
    // Readers that read in order start at the beginning.
    io::Seek::rewind(&mut tmp).doing("cannot rewind a temporary file")?;
    Ok(tmp)
}

/// Where a command's result goes (`-o OUTPUT`).
pub enum Dest {
    /// `-o -`: standard output.
    Stdout,
    /// An existing FIFO, character device or socket (`/dev/null`,
    /// `>(gzip > x)`): written through, as `cp` and a shell's `>` do; never
    /// replaced, and nothing to `--force`.
    Stream(PathBuf),
    /// An existing regular file, `--force` given: a new file beside it is
    /// renamed over it, under the lock `npy append` takes (held from before
    /// any input is read until after the rename).
    Replace(Locked),
    /// No file there yet: a new file appears there whole, or not at all,
    /// never replacing one that appeared meanwhile.
    Create(PathBuf),
}

impl Dest {
    /// Decides where `path` (`-` for stdout) is written and, for a file to
    /// replace, locks it; call before reading any input. A symlink is
    /// followed (what it points to is replaced, the link stays); a dangling
    /// one is refused, as `cp` refuses it.
    pub fn open(path: &Path, force: bool) -> Result<Dest> {
        if path == Path::new("-") {
            return Ok(Dest::Stdout);
        }
        let real = resolve_link(path);
        let meta = match std::fs::metadata(&real) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Ok(to) = std::fs::read_link(path) {
                    return Err(Error::invalid(format!(
                        "is a symbolic link to {}, which does not exist; \
                         not writing through it (remove the link, or name another output)",
                        to.display()
                    ))
                    .at(path));
                }
                return Ok(Dest::Create(real));
            }
            Err(e) => return Err(e).doing("cannot stat").at(path),
        };
        if meta.is_dir() {
            return Err(Error::invalid("is a directory").at(path));
        }
        if !meta.is_file() {
            return Ok(Dest::Stream(real));
        }
        if !force {
            return Err(Error::invalid("already exists (give --force to replace it)").at(path));
        }
        Ok(Dest::Replace(lock_for_replace(&real, Wait::Block)?))
    }

    /// The name messages use for it.
    pub fn name(&self, given: &Path) -> String {
        match self {
            Dest::Stdout => "<stdout>".to_string(),
            _ => given.display().to_string(),
        }
    }

    /// Whether the file it names is `f` (a command reading its own output).
    pub fn is(&self, f: &File) -> bool {
        match self {
            Dest::Replace(l) => file_id(&l.file).ok() == file_id(f).ok(),
            _ => false,
        }
    }

    /// Opens a [`Dest::Stream`] for writing (waiting for a FIFO's reader,
    /// as `cp` does); call once every input has been checked.
    pub fn open_stream(path: &Path) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .open(path)
            .doing("cannot open for writing")
            .at(path)
    }

    /// Renames `new` into place: over the locked file, or where no file was
    /// (refusing, replacing nothing, when one appeared meanwhile). Not for
    /// stdout or a stream, which are written directly.
    pub fn commit(&self, new: NewFile, sync: bool) -> Result<()> {
        match self {
            Dest::Replace(held) => new.commit_over(held, sync),
            Dest::Create(p) => {
                if new.commit_new(sync)?.is_err() {
                    return Err(Error::invalid(
                        "a file appeared there while npy was writing (another program \
                         created it); it was not replaced, nothing changed: run the command again",
                    )
                    .at(p));
                }
                Ok(())
            }
            Dest::Stdout | Dest::Stream(_) => Err(Error::invalid(
                "internal error: a stream output has no file to rename",
            )),
        }
    }
}

/// `p`, or what it points to when it is a symlink: the file a command that
/// replaces `p` by a rename must replace.
pub fn resolve_link(p: &Path) -> PathBuf {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
        }
        _ => p.to_path_buf(),
    }
}

/// The directory holding `p` (`.` for a bare name).
pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Syncs the directory `dir` itself (its entries: a rename or a creation
/// in it becomes durable).
pub fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Syncs the directory holding `path`, making a rename or creation durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    sync_directory(&dir).doing("cannot sync directory").at(&dir)
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off`.
/// `progress` is called with the bytes copied so far.
///
/// Where both offsets lie at the same place within a page, the kernel copies
/// (`copy_file_range`, see [`super::sys`]): one pass, no thread. Elsewhere,
/// or where the kernel cannot, [`copy_via_memory`] does: the kernel's copy
/// between offsets at different places in a page (a `.npy` whose data size
/// is not a multiple of 4 KiB, appended after another) costs about 1.7x an
/// aligned one, and both ways through memory beat it.
pub fn copy_range(
    src: &File,
    mut src_off: u64,
    dst: &File,
    mut dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), CopyError> {
    let page = super::map::page_size() as u64;
    let mut left = len;
    if src_off % page == dst_off % page {
        while left > 0 {
            let chunk = left.min(1 << 30) as usize;
            match super::sys::copy_file_range(src, &mut src_off, dst, &mut dst_off, chunk)
                .map_err(CopyError::Kernel)?
            {
                Some(0) => return Err(CopyError::Read(source_ended())),
                Some(n) => {
                    left -= n as u64;
                    progress(len - left);
                }
                None => break,
            }
        }
    }
    if left == 0 {
        return Ok(());
    }
    let done = len - left;
    copy_via_memory(src, src_off, dst, dst_off, left, &mut |n| {
        progress(done + n)
    })
}

/// Steps of the copies that write from maps of cached pages: long enough
/// that a write's fixed costs (and, for [`copy_shared`], the handing over
/// of the file's lock) are small, short enough that the map stays small.
const MAP_STEP: u64 = 2 << 20;
/// Bytes copied through blocks once a step is found not cached, before the
/// cache is looked at again.
const COLD_RUN: u64 = 32 << 20;

/// Copies through memory: each 2 MiB step whose source pages are all
/// cached is written from a map of them
/// ([`super::sys::write_from_cached`]: one copy, by the kernel), a step
/// that is not through [`copy_blocks`] (two threads; the reads wait for the
/// disk while the writes go on), 32 MiB at a time. Between offsets at
/// different places in a page, one 512 MiB copy from cached chunks took
/// 95 ms this way against 132 ms through blocks alone.
fn copy_via_memory(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), CopyError> {
    if super::sys::portable() {
        // No maps there: one block copy for the whole range (one thread
        // started, not one per 32 MiB).
        return copy_blocks(src, src_off, dst, dst_off, len, progress, &mut |_| {});
    }
    copy_in_steps(
        src,
        src_off,
        dst,
        dst_off,
        len,
        progress,
        &mut |at, left| {
            let run = COLD_RUN.min(left);
            copy_blocks(
                src,
                src_off + at,
                dst,
                dst_off + at,
                run,
                &mut |_| {},
                &mut |_| {},
            )?;
            Ok(run)
        },
    )
}

/// Copies in 2 MiB steps, each step whose source pages are all cached from
/// a map of them; at a step that is not, `cold(bytes done, bytes left)`
/// copies some bytes from there and says how many.
fn copy_in_steps(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
    cold: &mut dyn FnMut(u64, u64) -> std::result::Result<u64, CopyError>,
) -> std::result::Result<(), CopyError> {
    let mut done = 0u64;
    while done < len {
        let n = MAP_STEP.min(len - done);
        done += if write_cached(src, src_off + done, dst, dst_off + done, n)? {
            n
        } else {
            cold(done, len - done)?
        };
        progress(done);
    }
    Ok(())
}

/// [`super::sys::write_from_cached`] with its errors as a copy's.
fn write_cached(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
) -> std::result::Result<bool, CopyError> {
    super::sys::write_from_cached(src, src_off, dst, dst_off, len as usize).map_err(|e| match e {
        super::sys::MappedError::Read(e) => CopyError::Read(e),
        super::sys::MappedError::Write(e) => CopyError::Write(e),
    })
}

/// Copies like [`copy_range`], for a writer that other processes may be
/// writing other ranges of `dst` alongside (the parts of a split concat
/// run at once on one machine).
///
/// Writes into one file take turns (ext4, like most filesystems, holds
/// the file's inode lock for a whole buffered write), so what counts is
/// how little work each write does while it holds the lock. The kernel's
/// copy does all of its work there, reading included; two parts copying
/// that way take turns at everything, and the waiting one spins. Here each
/// 2 MiB step whose source pages are all cached is written from a map of
/// them with the page tables filled beforehand
/// ([`super::sys::write_from_cached`]), even where the kernel could copy
/// it: the write only copies, and the other part prepares its next step
/// meanwhile. From a step not cached on, 32 MiB go through [`copy_range`],
/// whose reads the kernel's readahead keeps ahead of the disk. Where the
/// destination's filesystem can copy on its server (NFS, SMB, CephFS:
/// [`super::sys::copies_on_server`]), and on the portable path, the whole
/// range goes through [`copy_range`], as in a plain concat.
pub fn copy_shared(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), CopyError> {
    if super::sys::portable() || super::sys::copies_on_server(dst) {
        return copy_range(src, src_off, dst, dst_off, len, progress);
    }
    copy_in_steps(
        src,
        src_off,
        dst,
        dst_off,
        len,
        progress,
        &mut |at, left| {
            let n = COLD_RUN.min(left);
            copy_range(src, src_off + at, dst, dst_off + at, n, &mut |_| {})?;
            Ok(n)
        },
    )
}

/// Which side of a copy failed.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the source (`UnexpectedEof`: it ended early).
    Read(io::Error),
    /// Writing the destination.
    Write(io::Error),
    /// The kernel's copy, which does not say which side failed.
    Kernel(io::Error),
}

impl CopyError {
    /// The IO error, whichever side it came from.
    pub fn into_io(self) -> io::Error {
        match self {
            CopyError::Read(e) | CopyError::Write(e) | CopyError::Kernel(e) => e,
        }
    }

    /// An error naming the file at fault: `src` when reading it failed (or
    /// it ended early), else `dst`, with `doing` (`cannot write`).
    pub fn named(self, src: &Path, dst: &Path, doing: &str) -> Error {
        match self {
            CopyError::Read(e) => Error::io("cannot read", e).at(src),
            CopyError::Kernel(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Error::io("cannot read", e).at(src)
            }
            CopyError::Write(e) | CopyError::Kernel(e) => Error::io(doing.to_string(), e).at(dst),
        }
    }
}

impl From<CopyError> for io::Error {
    fn from(e: CopyError) -> io::Error {
        e.into_io()
    }
}

/// Copies `len` bytes of `src` from `src_off` to `dst` at `dst_off` through
/// four 256 KiB blocks, handing each block to `see` in order (a CRC, say).
///
/// A second thread reads a block and calls `see` while the block is in the
/// CPU cache; this one writes the blocks already read, so reading overlaps
/// writing and every byte is read from memory once. A range of one block or
/// less is copied here, without a thread.
pub fn copy_blocks(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
    see: &mut (dyn FnMut(&[u8]) + Send),
) -> std::result::Result<(), CopyError> {
    /// Small enough to stay in the cache from the read to the write.
    const BLOCK: usize = 256 << 10;
    /// Blocks in flight between the two threads.
    const BLOCKS: usize = 4;
    // One allocation of all the blocks, kept for the next copy: a fresh one
    // costs its page faults every time, which small copies notice.
    static SPARE: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(None);
    let take = || match SPARE.lock() {
        Ok(mut g) => g.take(),
        Err(p) => p.into_inner().take(),
    };
    let mut arena = take().unwrap_or_else(|| vec![0u8; BLOCK * BLOCKS]);
    let read = |buf: &mut [u8], at: u64| {
        src.read_exact_at(buf, src_off + at).map_err(|e| {
            CopyError::Read(if e.kind() == io::ErrorKind::UnexpectedEof {
                source_ended()
            } else {
                e
            })
        })
    };
    // With a second thread: `None` when the system would not start one.
    let threaded = (len > BLOCK as u64).then(|| {
        std::thread::scope(|s| {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(&mut [u8], usize)>(BLOCKS);
            let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<&mut [u8]>(BLOCKS);
            for block in arena.chunks_mut(BLOCK) {
                empty_tx.send(block).expect("the channel holds BLOCKS");
            }
            let see = &mut *see;
            let reader = std::thread::Builder::new()
                .name("npy-copy".into())
                .stack_size(256 << 10)
                .spawn_scoped(s, move || {
                    let mut at = 0u64;
                    while at < len {
                        // The writer stopped taking blocks: it failed.
                        let Ok(buf) = empty_rx.recv() else { break };
                        let n = ((len - at) as usize).min(BLOCK);
                        read(&mut buf[..n], at)?;
                        see(&buf[..n]);
                        if full_tx.send((buf, n)).is_err() {
                            break;
                        }
                        at += n as u64;
                    }
                    Ok(())
                })
                .ok()?;
            let mut written = Ok(());
            let mut at = 0u64;
            for (buf, n) in full_rx.iter() {
                written = dst.write_all_at(&buf[..n], dst_off + at);
                if written.is_err() {
                    break;
                }
                at += n as u64;
                progress(at);
                // The reader may be done and have dropped its end.
                let _ = empty_tx.send(buf);
            }
            drop(full_rx);
            drop(empty_tx);
            let done = reader.join().unwrap_or_else(|_| {
                Err(CopyError::Read(io::Error::other(
                    "the reading thread failed",
                )))
            });
            Some(done.and_then(|()| {
                written.map_err(CopyError::Write)?;
                if at != len {
                    return Err(CopyError::Read(io::Error::other("the copy stopped short")));
                }
                Ok(())
            }))
        })
    });
    let result = match threaded.flatten() {
        Some(r) => r,
        // Small, or no thread to be had: the same blocks, one after another.
        None => (|| {
            let buf = &mut arena[..BLOCK];
            let mut at = 0u64;
            while at < len {
                let n = ((len - at) as usize).min(BLOCK);
                read(&mut buf[..n], at)?;
                see(&buf[..n]);
                dst.write_all_at(&buf[..n], dst_off + at)
                    .map_err(CopyError::Write)?;
                at += n as u64;
                progress(at);
            }
            Ok(())
        })(),
    };
    if let Ok(mut g) = SPARE.lock() {
        *g = Some(arena);
    }
    result
}

/// The same error whichever way the copy went (kernel or buffer).
fn source_ended() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "source ended before the bytes its header promises",
    )
}

/// Copies exactly `len` bytes from a stream to `dst` at `dst_off`. Returns the
/// bytes copied, fewer than `len` only when the stream ended early.
pub fn copy_stream(
    src: &mut dyn Read,
    dst: &File,
    mut dst_off: u64,
    len: u64,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<u64, CopyError> {
    let mut buf = vec![0u8; COPY_BUF.min(len as usize).max(1)];
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(buf.len());
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        dst.write_all_at(&buf[..n], dst_off)
            .map_err(CopyError::Write)?;
        dst_off += n as u64;
        done += n as u64;
        progress(done);
    }
    Ok(done)
}

/// Copies `len` bytes of `src` from `src_off` to a writer (stdout, a zip
/// entry); `progress` is called with the bytes copied so far.
pub fn copy_to_writer(
    src: &File,
    src_off: u64,
    len: u64,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), CopyError> {
    let mut buf = vec![0u8; COPY_BUF.min(len as usize).max(1)];
    let mut done = 0u64;
    while done < len {
        let n = ((len - done) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], src_off + done)
            .map_err(CopyError::Read)?;
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        done += n as u64;
        progress(done);
    }
    Ok(())
}

/// Bytes a single `pwrite` is known to land all-or-nothing even when the
/// process is killed: the kernel copies a write page by page and only stops
/// between pages.
pub const PAGE: u64 = 4096;

/// First and one-past-last differing byte of two equal-length headers.
pub fn diff_span(a: &[u8], b: &[u8]) -> (usize, usize) {
    let n = a.len().min(b.len());
    let lo = (0..n).find(|&i| a[i] != b[i]).unwrap_or(n);
    let hi = (lo..n).rev().find(|&i| a[i] != b[i]).map_or(lo, |i| i + 1);
    (lo, hi)
}

/// The write that turns header bytes `old` into `new` (same length) in
/// place: only the bytes that differ, as (offset, bytes). `None` when those
/// span two pages, so that a kill could leave half of each: then the file
/// must be rewritten and renamed instead.
pub fn header_patch<'a>(old: &[u8], new: &'a [u8]) -> Option<(u64, &'a [u8])> {
    let (lo, hi) = diff_span(old, new);
    if lo >= hi {
        return Some((lo as u64, &new[lo..lo]));
    }
    within_one_page(lo as u64, hi as u64).then(|| (lo as u64, &new[lo..hi]))
}

/// Whether the non-empty byte range `lo..hi` lies within one page.
pub fn within_one_page(lo: u64, hi: u64) -> bool {
    lo / PAGE == (hi - 1) / PAGE
}

/// Identity of a file (device, inode), to tell when two paths are one file.
pub fn file_id(f: &File) -> io::Result<(u64, u64)> {
    let m = f.metadata()?;
    Ok((m.dev(), m.ino()))
}

/// Calls `f` on every `.npy` file below `dir`, depth first, each directory's
/// entries sorted by name (byte order), so every run gives the same order.
/// Symbolic links to files are followed, to directories not (no loops). A
/// directory that cannot be read is passed to `f` as an error.
/// `f`'s own errors (of any type a core [`Error`] converts to) end the walk.
pub fn walk_npy<E: From<Error>>(
    dir: &Path,
    f: &mut dyn FnMut(Result<&Path>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let entries = std::fs::read_dir(dir).and_then(|rd| {
        rd.map(|e| e.and_then(|e| Ok((e.file_name(), e.file_type()?))))
            .collect::<std::io::Result<Vec<_>>>()
    });
    let mut entries = match entries {
        Ok(e) => e,
        Err(e) => return f(Err(Error::io("cannot read the directory", e).at(dir))),
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in entries {
        let path = dir.join(name);
        if kind.is_dir() {
            walk_npy(&path, f)?;
        } else if path.extension().is_some_and(|x| x == "npy")
            && (kind.is_file() || (kind.is_symlink() && path.is_file()))
        {
            f(Ok(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_span_and_page_patches() {
        assert_eq!(diff_span(b"abcdef", b"abXdYf"), (2, 5));
        assert_eq!(diff_span(b"abc", b"abc"), (3, 3));
        let old = vec![b' '; 8192];
        let mut new = old.clone();
        new[100] = b'1';
        new[102] = b'2';
        assert_eq!(header_patch(&old, &new), Some((100, &new[100..103])));
        new[4096] = b'3';
        assert_eq!(header_patch(&old, &new), None);
    }

    #[test]
    fn copy_range_copies_exact_bytes() {
        let mut src = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        src.write_all(&data).unwrap();
        let dst = tempfile::tempfile().unwrap();
        dst.write_all_at(b"head", 0).unwrap();
        let mut last = 0;
        copy_range(&src, 10, &dst, 4, 50_000, &mut |n| last = n).unwrap();
        assert_eq!(last, 50_000);
        let mut out = vec![0u8; 50_004];
        dst.read_exact_at(&mut out, 0).unwrap();
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], &data[10..50_010]);
        assert!(copy_range(&src, 99_999, &dst, 0, 10, &mut |_| {}).is_err());
    }

    /// Aligned ranges go through the kernel, others from maps of cached
    /// pages or, the source's pages dropped from the cache, through blocks
    /// (one, several, a partial last one); the bytes and progress are the
    /// same.
    #[test]
    fn copy_range_aligned_or_not_copies_exact_bytes() {
        let size: u64 = 3 << 20;
        let data: Vec<u8> = (0..size)
            .map(|i| ((i * 2_654_435_761) >> 11) as u8)
            .collect();
        let src = disk_file();
        src.write_all_at(&data, 0).unwrap();
        let page = 4096;
        for (evict, (src_off, dst_off, len)) in [false, true].into_iter().flat_map(|e| {
            [
                (128, 128, size - 128),
                (128, 128 + page, 2_000_000),
                (128, 300, size - 128),
                (0, 1, 256 << 10),
                (1, 0, (256 << 10) + 1),
                (5, 7, 1_234_567),
            ]
            .map(|c| (e, c))
        }) {
            if evict {
                evict_from_cache(&src);
            }
            let ctx = format!("evicted {evict}: {src_off} -> {dst_off}, {len} bytes");
            let dst = tempfile::tempfile().unwrap();
            let mut seen = vec![];
            copy_range(&src, src_off, &dst, dst_off, len, &mut |n| seen.push(n)).unwrap();
            assert_eq!(seen.last(), Some(&len), "{ctx}");
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "{ctx}: progress went back"
            );
            assert_eq!(dst.metadata().unwrap().len(), dst_off + len, "{ctx}");
            let mut out = vec![0u8; len as usize];
            dst.read_exact_at(&mut out, dst_off).unwrap();
            let want = &data[src_off as usize..(src_off + len) as usize];
            assert!(out == want, "{ctx}: bytes differ");
        }
    }

    /// A file on disk (beside the crate, not in a tmpfs `/tmp`, whose pages
    /// cannot be dropped), removed once closed.
    fn disk_file() -> File {
        tempfile::tempfile_in(env!("CARGO_MANIFEST_DIR")).unwrap()
    }

    /// Drops `f`'s pages from the page cache, and checks they are gone.
    fn evict_from_cache(f: &File) {
        f.sync_all().unwrap();
        #[cfg(target_os = "linux")]
        // SAFETY: a plain syscall on a descriptor we borrow.
        unsafe {
            use std::os::fd::AsRawFd;
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
        let len = f.metadata().unwrap().len() as usize;
        assert!(
            !crate::npy::sys::cached(f, 0, len),
            "the test file's pages are still cached"
        );
    }

    /// The shared-file copy: cached 2 MiB steps written from a map, the rest
    /// (the source's pages dropped from the cache) through `copy_range`;
    /// any offsets, a partial last step, progress forward, the same bytes.
    #[test]
    fn copy_shared_copies_exact_bytes_cached_or_not() {
        let size: u64 = (5 << 20) + 777;
        let data: Vec<u8> = (0..size)
            .map(|i| ((i * 2_654_435_761) >> 13) as u8)
            .collect();
        let src = disk_file();
        src.write_all_at(&data, 0).unwrap();
        for evict in [false, true] {
            if evict {
                evict_from_cache(&src);
            }
            for (src_off, dst_off, len) in [
                (0, 0, size),
                (128, 128, size - 128),
                (100, 7, (4 << 20) + 3),
                (4097, 1 << 20, 1000),
            ] {
                let dst = tempfile::tempfile().unwrap();
                let mut seen = vec![];
                copy_shared(&src, src_off, &dst, dst_off, len, &mut |n| seen.push(n)).unwrap();
                let ctx = format!("evicted {evict}: {src_off} -> {dst_off}, {len} bytes");
                assert_eq!(seen.last(), Some(&len), "{ctx}");
                assert!(
                    seen.windows(2).all(|w| w[0] < w[1]),
                    "{ctx}: progress went back"
                );
                let mut out = vec![0u8; len as usize];
                dst.read_exact_at(&mut out, dst_off).unwrap();
                let want = &data[src_off as usize..(src_off + len) as usize];
                assert!(out == want, "{ctx}: bytes differ");
            }
        }
        // A source shorter than the range: a read error, cached or not.
        let dst = tempfile::tempfile().unwrap();
        let e = copy_shared(&src, size - 10, &dst, 0, 3 << 20, &mut |_| {}).unwrap_err();
        assert!(matches!(e, CopyError::Read(_)), "{e:?}");
    }

    /// Which side failed is kept, aligned (kernel) or not (blocks), so that
    /// messages name the file at fault.
    #[test]
    fn copy_range_names_the_failing_side() {
        let data = vec![7u8; 3 << 20];
        let src = tempfile::tempfile().unwrap();
        src.write_all_at(&data, 0).unwrap();
        let dst = tempfile::tempfile().unwrap();
        for (src_off, dst_off) in [(0, 0), (0, 5)] {
            let e =
                copy_range(&src, src_off + 100, &dst, dst_off, 3 << 20, &mut |_| {}).unwrap_err();
            let (CopyError::Read(e) | CopyError::Kernel(e)) = e else {
                panic!("{src_off} -> {dst_off}: {e:?}")
            };
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            let named = copy_range(&src, src_off + 100, &dst, dst_off, 3 << 20, &mut |_| {})
                .unwrap_err()
                .named(Path::new("in.npy"), Path::new("out.npy"), "cannot write");
            assert_eq!(named.path(), Some(Path::new("in.npy")), "{named}");
        }
        let path = tempfile::NamedTempFile::new().unwrap();
        let ro = File::open(path.path()).unwrap();
        let e = copy_range(&src, 0, &ro, 5, 1 << 20, &mut |_| {}).unwrap_err();
        let named = e.named(Path::new("in.npy"), Path::new("out.npy"), "cannot write");
        assert_eq!(named.path(), Some(Path::new("out.npy")), "{named}");
    }

    #[test]
    fn copy_blocks_sees_every_byte_and_names_the_failing_side() {
        let size = (1 << 20) + 4321;
        let data: Vec<u8> = (0..size as u32).map(|i| (i % 253) as u8).collect();
        let src = tempfile::tempfile().unwrap();
        src.write_all_at(&data, 0).unwrap();
        let dst = tempfile::tempfile().unwrap();
        let mut seen = Vec::new();
        copy_blocks(&src, 3, &dst, 0, size - 3, &mut |_| {}, &mut |b| {
            seen.extend_from_slice(b)
        })
        .unwrap();
        assert!(
            seen == data[3..],
            "the blocks seen are not the bytes copied"
        );
        // The source ends early: a read error, whatever the size.
        for len in [100, size] {
            let e =
                copy_blocks(&src, size - 50, &dst, 0, len, &mut |_| {}, &mut |_| {}).unwrap_err();
            let CopyError::Read(e) = e else {
                panic!("{len}: {e:?}")
            };
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        }
        // A destination that refuses writes: a write error, not a hang.
        let path = tempfile::NamedTempFile::new().unwrap();
        let ro = File::open(path.path()).unwrap();
        let e = copy_blocks(&src, 0, &ro, 0, size, &mut |_| {}, &mut |_| {}).unwrap_err();
        let CopyError::Write(e) = e else {
            panic!("{e:?}")
        };
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn new_files_get_the_mode_open_gives_and_replacements_the_old_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let mode = |f: &File| f.metadata().unwrap().permissions().mode() & 0o7777;
        // What a plain create gives under this process's umask.
        let plain = File::create(d.path().join("plain")).unwrap();
        let nf = NewFile::beside(&d.path().join("new.npy")).unwrap();
        assert_eq!(mode(nf.file()), mode(&plain));
        // A replacement is never wider than the file it replaces, from the start.
        for m in [0o600, 0o640, 0o444, 0o666] {
            let like = File::create(d.path().join(format!("like{m:o}"))).unwrap();
            like.set_permissions(std::fs::Permissions::from_mode(m))
                .unwrap();
            let nf = NewFile::replacing(&d.path().join("r.npy"), &like).unwrap();
            assert_eq!(mode(nf.file()), m);
        }
    }

    #[test]
    fn new_file_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.npy");
        {
            let mut nf = NewFile::beside(&target).unwrap();
            nf.file_mut().write_all(b"partial").unwrap();
            // dropped without commit
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut nf = NewFile::beside(&target).unwrap();
        nf.file_mut().write_all(b"whole").unwrap();
        nf.commit(true).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        let nf = NewFile::beside(&target).unwrap();
        assert!(nf.commit_new(false).unwrap().is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
    }

    #[test]
    fn lock_follows_renames() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        std::fs::write(&p, b"x").unwrap();
        let l = lock_existing(&p, Wait::NoWait).unwrap();
        assert!(lock_existing(&p, Wait::NoWait).is_err());
        drop(l);
        assert!(lock_existing(&p, Wait::NoWait).is_ok());
    }
}
