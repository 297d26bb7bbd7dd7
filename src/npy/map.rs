//! Read-only memory maps of input files that survive the file shrinking
//! underneath.
//!
//! Reading a page of a mapping past the end of its file raises `SIGBUS`,
//! which would kill the process with no word of what happened (another
//! process truncating an input while it is being joined is enough). While a
//! [`Guarded`] map lives, its address range is registered with a `SIGBUS`
//! handler that, for a fault inside a registered range, maps a page of zeros
//! over the missing one and records the fault; the read then goes on with
//! zeros, and the caller asks [`Guarded::check`] before using what it read,
//! turning the fault into an ordinary error (so the temporary output is
//! removed and nothing is replaced). A fault anywhere else is left to the
//! default action.
//!
//! Reads are bounded in resident memory by [`Guarded::release`]: the pages a
//! mapping has touched count towards the process's RSS until dropped.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

/// Mappings registered at once (each join maps at most a few at a time).
const SLOTS: usize = 64;

static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static ENDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// Per slot: a fault happened in it.
static FAULTS: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static INSTALL: Once = Once::new();

/// The handler: only atomics and `mmap`, both async-signal-safe in practice
/// (`mmap` is a plain system call on Linux).
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid siginfo_t to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    for i in 0..SLOTS {
        let (s, e) = (
            STARTS[i].load(Ordering::SeqCst),
            ENDS[i].load(Ordering::SeqCst),
        );
        if s <= addr && addr < e {
            let page = page_size();
            let at = addr - addr % page;
            // SAFETY: replaces one page inside a mapping this process owns
            // and registered; nothing else refers to that page's contents.
            let r = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                FAULTS[i].store(true, Ordering::SeqCst);
                return;
            }
        }
    }
    // Not ours (or the page could not be replaced): the default action, as
    // if no handler were installed, when the access is retried.
    // SAFETY: resetting a signal's disposition is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

/// The system's page size (4096 if it cannot be had).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction with our handler and SA_SIGINFO is a
        // valid argument; the handler only touches atomics and calls mmap.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

/// A read-only map of `len` bytes of a file from `offset`, guarded against
/// the file shrinking.
pub struct Guarded {
    map: Mmap,
    slot: Option<usize>,
}

/// The file shrank under a mapping: its last bytes were read as zeros.
#[derive(Debug)]
pub struct Shrank;

impl std::fmt::Display for Shrank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("shrank while being read (truncated by another process?)")
    }
}

impl std::error::Error for Shrank {}

impl Guarded {
    /// Maps `len` bytes of `file` from `offset`. Fails when the file is
    /// shorter than that now.
    pub fn map(file: &File, offset: u64, len: u64) -> io::Result<Guarded> {
        let size = file.metadata()?.len();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file ended before the bytes its header promises (changed while being read?)",
            ));
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("too large to map"))?;
        install();
        // SAFETY: the map is only read; a file that changes under it yields
        // other bytes (as a concurrent writer would through read) and one
        // that shrinks is handled by the SIGBUS guard registered below.
        let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file)? };
        let (start, end) = (map.as_ptr() as usize, map.as_ptr() as usize + map.len());
        let mut slot = None;
        for i in 0..SLOTS {
            if STARTS[i]
                .compare_exchange(0, start.max(1), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                FAULTS[i].store(false, Ordering::SeqCst);
                ENDS[i].store(end, Ordering::SeqCst);
                slot = Some(i);
                break;
            }
        }
        Ok(Guarded { map, slot })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Tells the kernel the map will be read from start to end.
    pub fn sequential(&self) {
        let _ = self.map.advise(Advice::Sequential);
    }

    /// Drops the pages of `[from, to)` from the process (they stay in the
    /// page cache and are mapped again if read again), so that RSS stays
    /// bounded however much of the file has been read.
    pub fn release(&self, from: usize, to: usize) {
        let to = to.min(self.map.len());
        if from < to {
            // SAFETY: the map is shared and read-only: dropped pages read
            // back the file's bytes (or zeros past its end), and no
            // reference into the range outlives this call in a way that
            // relies on the old pages staying mapped.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from)
            };
        }
    }

    /// `Err(Shrank)` when some byte read so far lay past the file's end.
    pub fn check(&self) -> Result<(), Shrank> {
        match self.slot {
            Some(i) if FAULTS[i].load(Ordering::SeqCst) => Err(Shrank),
            _ => Ok(()),
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            ENDS[i].store(0, Ordering::SeqCst);
            FAULTS[i].store(false, Ordering::SeqCst);
            STARTS[i].store(0, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn shrinking_file_reads_zeros_and_is_reported() {
        let page = page_size();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 4 * page]).unwrap();
        let g = Guarded::map(&f, 0, 4 * page as u64).unwrap();
        assert_eq!(g.bytes()[3 * page], 7);
        g.check().unwrap();
        f.set_len(page as u64).unwrap();
        // Without the guard this read kills the process with SIGBUS.
        let sum: u64 = g.bytes()[2 * page..].iter().map(|&b| b as u64).sum();
        assert_eq!(sum, 0);
        assert!(g.check().is_err());
        drop(g);
        let g = Guarded::map(&f, 0, page as u64).unwrap();
        g.check().unwrap();
        assert!(Guarded::map(&f, 0, 2 * page as u64).is_err());
    }
}
