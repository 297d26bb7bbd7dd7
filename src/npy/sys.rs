//! The Linux-only system calls, in one place, each with a portable fallback.
//!
//! Linux gives five speed-ups the other unixes lack or spell differently:
//! copies done in the kernel (`copy_file_range`), asynchronous writeback of
//! a range of a file (`sync_file_range`), one positioned write of many
//! slices (`pwritev`), blocks reserved without being written
//! (`fallocate`) and writes straight from a map of cached pages whose page
//! tables are filled beforehand (`mincore`, `MADV_POPULATE_READ`). They
//! are called only from here, behind
//! `#[cfg(target_os = "linux")]`. Everywhere else (and on Linux too when the
//! environment sets `NPY_PORTABLE_IO=1`, which is how CI exercises it) the
//! portable path is used: positioned reads and writes through a buffer, no
//! writeback hint (the fsync before a rename is what makes data durable,
//! either way), one positioned write per slice, no reservation (the
//! blocks are allocated as they are written) and no writes from maps. The
//! results, byte for byte, are the same.

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

/// Writes `len` bytes of `src` from `src_off` into `dst` at `dst_off`
/// straight from a read-only map of the source, if every page of that
/// range is in the page cache: the map's page tables are filled first, so
/// the write itself (which holds `dst`'s inode lock on ext4 and most
/// filesystems) does nothing but copy. `Ok(false)`: not done (a page is
/// not cached, the source cannot be mapped, or the portable path), copy
/// some other way (also when the source does not hold the whole range). A
/// source that shrank under the map fails the write with `EFAULT` (the
/// kernel's copy faults; no signal reaches us) or is found shorter after
/// it, reported as [`MappedError::Read`].
pub fn write_from_cached(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: usize,
) -> Result<bool, MappedError> {
    if portable() || len == 0 {
        return Ok(false);
    }
    imp::write_from_cached(src, src_off, dst, dst_off, len)
}

/// Whether `file` lives on a filesystem whose server can copy a range of
/// it without the data crossing the network (`copy_file_range` on NFS 4.2,
/// SMB and CephFS). `false` where unknown, and on the portable path.
pub fn copies_on_server(file: &File) -> bool {
    !portable() && imp::copies_on_server(file)
}

/// Whether every page of `len` bytes of `file` from `off` is in the page
/// cache (tests: that a copy takes the path they mean to check).
#[cfg(test)]
pub fn cached(file: &File, off: u64, len: usize) -> bool {
    #[cfg(target_os = "linux")]
    return imp::CachedMap::new(file, off, len).is_some();
    #[cfg(not(target_os = "linux"))]
    return false;
}

/// Which side of [`write_from_cached`] failed.
#[derive(Debug)]
pub enum MappedError {
    /// The source: it shrank while mapped, or its size could not be read.
    Read(io::Error),
    /// Writing the destination.
    Write(io::Error),
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

    pub fn copies_on_server(file: &File) -> bool {
        /// `f_type` of NFS, SMB 2/3, CIFS and CephFS (linux/magic.h).
        const SERVER_COPY: [u32; 4] = [0x6969, 0xFE53_4D42, 0xFF53_4D42, 0x00C3_6400];
        let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
        // SAFETY: a plain syscall on a descriptor we borrow, filling the
        // struct it is given; read only when it succeeds.
        let r = unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) };
        if r != 0 {
            return false;
        }
        // SAFETY: fstatfs succeeded, so the struct is initialised.
        let kind = unsafe { st.assume_init() }.f_type as u32;
        SERVER_COPY.contains(&kind)
    }

    pub fn write_from_cached(
        src: &File,
        src_off: u64,
        dst: &File,
        dst_off: u64,
        len: usize,
    ) -> Result<bool, super::MappedError> {
        use super::MappedError::Read;
        // Past the file's end a map reads zeros up to the end of the last
        // page, not a fault: the range must lie within the file before the
        // write (else the caller's copy reports the short source) and still
        // after it (a file cut short meanwhile is a read error).
        let Some(end) = src_off.checked_add(len as u64) else {
            return Ok(false);
        };
        let holds = || src.metadata().map(|m| m.len() >= end);
        if !holds().unwrap_or(false) {
            return Ok(false);
        }
        let Some(map) = CachedMap::new(src, src_off, len) else {
            return Ok(false);
        };
        let written = match map.write_to(dst, dst_off) {
            Ok(()) => true,
            // The kernel could not read the map: the file shrank, or
            // reading a page failed (an IO error under the page cache). In
            // the second case the caller's copy of the same step meets the
            // real error (or gets the bytes).
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => false,
            Err(e) => return Err(super::MappedError::Write(e)),
        };
        match holds() {
            Ok(true) => Ok(written),
            Ok(false) => Err(Read(shrank())),
            Err(e) => Err(Read(e)),
        }
    }

    fn shrank() -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file shrank while it was being copied",
        )
    }

    /// A read-only map of a range of a file whose pages are all cached, its
    /// page tables filled. It hands its bytes to the kernel only (no
    /// `Deref`): reading a page of it that a truncation took away would
    /// raise SIGBUS in user space, where the kernel's copy gets EFAULT.
    pub(super) struct CachedMap {
        map: memmap2::Mmap,
        /// The range's offset in the map (which starts on a page).
        lead: usize,
        len: usize,
    }

    impl CachedMap {
        /// The map of `len` bytes of `src` from `off`, or `None` when a page
        /// of them is not in the page cache (or the file cannot be mapped).
        pub(super) fn new(src: &File, off: u64, len: usize) -> Option<CachedMap> {
            let page = crate::npy::map::page_size();
            let lead = (off % page as u64) as usize;
            // SAFETY: a read-only shared map that is never read in user
            // space (see the type's doc): `mincore` looks at the page cache,
            // `write_to` gives its address to the kernel.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(off - lead as u64)
                    .len(lead + len)
                    .map(src)
            }
            .ok()?;
            let mut resident = vec![0u8; (lead + len).div_ceil(page)];
            // SAFETY: the address is the map's (page aligned), the length
            // is within it and the vector has one byte per page of it.
            let r = unsafe {
                libc::mincore(
                    map.as_ptr() as *mut libc::c_void,
                    lead + len,
                    resident.as_mut_ptr(),
                )
            };
            if r != 0 || resident.iter().any(|b| b & 1 == 0) {
                return None;
            }
            // Fill the page tables now, outside the write: a hint (older
            // kernels refuse it, and the write then faults the pages in).
            let _ = map.advise(memmap2::Advice::PopulateRead);
            Some(CachedMap { map, lead, len })
        }

        /// Writes the range into `dst` at `off`: positioned writes straight
        /// from the map until all of it is written.
        pub(super) fn write_to(&self, dst: &File, off: u64) -> io::Result<()> {
            let mut done = 0usize;
            while done < self.len {
                let at = off + done as u64;
                let Ok(at) = libc::off_t::try_from(at) else {
                    return Err(io::Error::from_raw_os_error(libc::EFBIG));
                };
                // SAFETY: the address and length lie within the map, which
                // lives for the call; only the kernel reads them.
                let r = unsafe {
                    libc::pwrite(
                        dst.as_raw_fd(),
                        self.map.as_ptr().add(self.lead + done) as *const libc::c_void,
                        self.len - done,
                        at,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                if r == 0 {
                    return Err(io::Error::from(io::ErrorKind::WriteZero));
                }
                done += r as usize;
            }
            Ok(())
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

    pub fn write_from_cached(
        _src: &File,
        _src_off: u64,
        _dst: &File,
        _dst_off: u64,
        _len: usize,
    ) -> Result<bool, super::MappedError> {
        Ok(false)
    }

    pub fn copies_on_server(_file: &File) -> bool {
        false
    }

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

    /// Freshly written pages are cached: the write comes from the map and
    /// lands exactly. A source truncated while mapped makes the write fail
    /// as a read error (EFAULT from the kernel's copy), not a SIGBUS.
    #[cfg(target_os = "linux")]
    #[test]
    fn writes_from_a_map_of_cached_pages_and_survive_the_source_shrinking() {
        let data: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 253) as u8).collect();
        let src = tempfile::tempfile().unwrap();
        src.write_all_at(&data, 0).unwrap();
        let dst = tempfile::tempfile().unwrap();
        let done = write_from_cached(&src, 4097, &dst, 3, 2 << 20).unwrap();
        assert_eq!(done, !portable(), "fresh pages are cached");
        if done {
            let mut out = vec![0u8; 2 << 20];
            dst.read_exact_at(&mut out, 3).unwrap();
            assert!(out[..] == data[4097..4097 + (2 << 20)]);
        }
        // A range past the end, even within the last (cached) page: left to
        // the caller's copy, which reports the short source.
        assert!(!write_from_cached(&src, (3 << 20) - 1, &dst, 0, 10).unwrap());
        // Truncated while mapped: the kernel's copy gets EFAULT (no signal),
        // and the whole call reports the source.
        let map = imp::CachedMap::new(&src, 4097, 2 << 20).expect("cached");
        src.set_len(8192).unwrap();
        let e = map.write_to(&dst, 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EFAULT), "{e}");
        drop(map);
        src.write_all_at(&data, 0).unwrap();
        assert_eq!(
            write_from_cached(&src, 0, &dst, 0, 1 << 20).unwrap(),
            !portable()
        );
        src.set_len(1000).unwrap();
        match write_from_cached(&src, 0, &dst, 0, 1 << 20) {
            // Refused before mapping (the range is past the end now).
            Ok(false) => {}
            other => panic!("{other:?}"),
        }
    }
}
