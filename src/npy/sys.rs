//! The Linux-only system calls, in one place, each with a portable fallback.
//!
//! Linux gives four speed-ups the other unixes lack or spell differently:
//! copies done in the kernel (`copy_file_range`), asynchronous writeback of
//! a range of a file (`sync_file_range`), one positioned write of many
//! slices (`pwritev`) and blocks reserved without being written
//! (`fallocate`). They are called only from here, behind
//! `#[cfg(target_os = "linux")]`. Everywhere else (and on Linux too when the
//! environment sets `NPY_PORTABLE_IO=1`, which is how CI exercises it) the
//! portable path is used: positioned reads and writes through a buffer, no
//! writeback hint (the fsync before a rename is what makes data durable,
//! either way), one positioned write per slice, and no reservation (the
//! blocks are allocated as they are written). The results, byte for
//! byte, are the same.

use std::fs::File;
use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;

/// The portable path is forced: `NPY_PORTABLE_IO=1` (read once).
pub fn portable() -> bool {
    static PORTABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PORTABLE.get_or_init(|| {
        cfg!(not(target_os = "linux"))
            || std::env::var_os("NPY_PORTABLE_IO").is_some_and(|v| v == "1")
    })
}

/// One kernel-side copy of up to `len` bytes from `src` at `*src_off` to
/// `dst` at `*dst_off`, advancing both offsets. `Ok(Some(n))`: `n` bytes
/// copied (0 when the source ended); `Ok(None)`: no kernel copy here (other
/// systems, another filesystem, a file type it refuses), so the caller copies
/// through a buffer.
pub fn copy_file_range(
    src: &File,
    src_off: &mut u64,
    dst: &File,
    dst_off: &mut u64,
    len: usize,
) -> io::Result<Option<usize>> {
    if portable() {
        return Ok(None);
    }
    imp::copy_file_range(src, src_off, dst, dst_off, len)
}

/// Starts writing `len` bytes of `file` from `off` to disk without waiting,
/// so that a later fsync has little left to do. A hint: a no-op where it is
/// not available, and its failure is harmless.
pub fn start_writeback(file: &File, off: u64, len: u64) {
    if !portable() {
        imp::start_writeback(file, off, len);
    }
}

/// Reserves the blocks of `len` bytes of `file` from `off` without writing
/// them (holes read as zeros still, data is kept), so that writes into the
/// range
/// find their blocks allocated instead of allocating each block as it is
/// written: on ext4 that makes a buffered copy about a quarter cheaper in
/// CPU. A hint, like [`start_writeback`]: `false` when it did nothing
/// (other systems, a filesystem without it, no space, any error), and the
/// writes allocate as usual then. Never emulated by writing zeros (which
/// `posix_fallocate` does where the filesystem lacks it).
///
/// A range past the file's end makes the file that long (zeros until
/// written), so this is for files being made whose every byte in the range
/// is about to be written (a temporary output, a staging file): never for
/// a file that others read while it grows, such as an append's target.
pub fn preallocate(file: &File, off: u64, len: u64) -> bool {
    !portable() && len > 0 && imp::preallocate(file, off, len)
}

/// Writes all of `vecs` at `off`: few vectored writes on Linux, one
/// positioned write per slice elsewhere. `max` bounds the slices per call.
pub fn write_all_vectored_at(
    file: &File,
    mut vecs: &mut [IoSlice<'_>],
    mut off: u64,
    max: usize,
) -> io::Result<()> {
    if portable() {
        for v in vecs.iter() {
            file.write_all_at(v, off)?;
            off += v.len() as u64;
        }
        return Ok(());
    }
    while !vecs.is_empty() {
        let n = vecs.len().min(max);
        let r = match imp::pwritev(file, &vecs[..n], off) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if r == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        off += r as u64;
        IoSlice::advance_slices(&mut vecs, r);
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::io::{self, IoSlice};
    use std::os::fd::AsRawFd;

    pub fn copy_file_range(
        src: &File,
        src_off: &mut u64,
        dst: &File,
        dst_off: &mut u64,
        len: usize,
    ) -> io::Result<Option<usize>> {
        loop {
            let mut so = *src_off as libc::loff_t;
            let mut d_o = *dst_off as libc::loff_t;
            // SAFETY: both descriptors are open files borrowed for the call;
            // the offsets are local variables the kernel updates.
            let n = unsafe {
                libc::copy_file_range(src.as_raw_fd(), &mut so, dst.as_raw_fd(), &mut d_o, len, 0)
            };
            if n >= 0 {
                let n = n as usize;
                *src_off += n as u64;
                *dst_off += n as u64;
                return Ok(Some(n));
            }
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(
                    libc::EXDEV
                    | libc::ENOSYS
                    | libc::EINVAL
                    | libc::EOPNOTSUPP
                    | libc::EPERM
                    | libc::EBADF,
                ) => Ok(None),
                _ => Err(err),
            };
        }
    }

    pub fn start_writeback(file: &File, off: u64, len: u64) {
        // SAFETY: a plain syscall on a descriptor we borrow for its duration;
        // it only starts asynchronous writeback and its failure is harmless
        // (the fsync before the rename is what makes the data durable).
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                off as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }

    pub fn preallocate(file: &File, off: u64, len: u64) -> bool {
        let (Ok(off), Ok(len)) = (libc::off_t::try_from(off), libc::off_t::try_from(len)) else {
            return false;
        };
        loop {
            // SAFETY: a plain syscall on a descriptor we borrow for its
            // duration; mode 0 only allocates the holes in the range and
            // never changes the file's bytes (it extends the size to the
            // range's end when that is past it).
            let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, off, len) };
            if r == 0 {
                return true;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return false;
            }
        }
    }

    pub fn pwritev(file: &File, vecs: &[IoSlice<'_>], off: u64) -> io::Result<usize> {
        // SAFETY: IoSlice is ABI-compatible with iovec on Unix; the slices
        // are borrowed for the call and the descriptor is open.
        let r = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                vecs.as_ptr() as *const libc::iovec,
                vecs.len() as libc::c_int,
                off as libc::off_t,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r as usize)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::File;
    use std::io::{self, IoSlice};

    pub fn copy_file_range(
        _src: &File,
        _src_off: &mut u64,
        _dst: &File,
        _dst_off: &mut u64,
        _len: usize,
    ) -> io::Result<Option<usize>> {
        Ok(None)
    }

    pub fn start_writeback(_file: &File, _off: u64, _len: u64) {}

    pub fn preallocate(_file: &File, _off: u64, _len: u64) -> bool {
        false
    }

    pub fn pwritev(file: &File, vecs: &[IoSlice<'_>], off: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        match vecs.first() {
            Some(v) => file.write_at(v, off),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preallocation_keeps_every_byte_and_the_size() {
        use std::os::unix::fs::MetadataExt;
        // A sparse file: data at both ends of the range and in its middle,
        // holes between.
        let f = tempfile::tempfile().unwrap();
        let size = 8u64 << 20;
        f.set_len(size).unwrap();
        for (i, off) in [0u64, 3 << 20, size - 5000].into_iter().enumerate() {
            f.write_all_at(&vec![i as u8 + 1; 5000], off).unwrap();
        }
        let before = {
            let mut b = vec![0u8; size as usize];
            f.read_exact_at(&mut b, 0).unwrap();
            b
        };
        let reserved = preallocate(&f, 100, size - 200);
        let mut after = vec![0u8; size as usize];
        f.read_exact_at(&mut after, 0).unwrap();
        assert!(after == before, "preallocation changed the file's bytes");
        let m = f.metadata().unwrap();
        assert_eq!(m.len(), size);
        if portable() {
            assert!(!reserved, "the portable path reserves nothing");
        }
        if reserved {
            // Every block of the range is allocated now.
            assert!(m.blocks() * 512 >= size - 200, "{} blocks", m.blocks());
        }
        // Nothing to reserve, and a range past what `off_t` holds: no-ops.
        assert!(!preallocate(&f, 0, 0));
        assert!(!preallocate(&f, u64::MAX - 10, 5));
    }

    #[test]
    fn vectored_write_lands_every_slice_in_order() {
        let f = tempfile::tempfile().unwrap();
        let parts: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| vec![(i % 251) as u8; 1 + (i % 7) as usize])
            .collect();
        let mut vecs: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        write_all_vectored_at(&f, &mut vecs, 5, 1024).unwrap();
        let want: Vec<u8> = parts.concat();
        let mut got = vec![0u8; want.len()];
        f.read_exact_at(&mut got, 5).unwrap();
        assert_eq!(got, want);
    }
}
