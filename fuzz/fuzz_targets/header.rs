//! Fuzzes the `.npy` header parser: `read_header` over a stream, the same
//! bytes as a file through `read_header_at`, `scan_file` and the stacked-file
//! `Walker`, and the Python-literal parser `pylit::parse` on the bytes as
//! text. Any panic, overflow (debug assertions are on), huge allocation
//! (libFuzzer's -rss_limit_mb / -malloc_limit_mb) or hang is a finding.
//!
//! Properties asserted as well:
//! - the stream and file readers agree on every input;
//! - a header that parses, rewritten by our writer, parses back to the same
//!   dtype, order and shape, with the descr np.save writes for that dtype;
//! - that canonical descr is a fixed point (its dtype is the same dtype,
//!   and it is its own canonical descr).
#![no_main]

use std::fs::File;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use npy_tools::npy::{self, pylit, scan};

/// One in-memory file (memfd) reused for every input.
fn memfile() -> &'static File {
    static F: OnceLock<File> = OnceLock::new();
    F.get_or_init(|| {
        // SAFETY: memfd_create takes a NUL-terminated name and flags; the
        // descriptor it returns is owned by the File from here on.
        unsafe {
            let fd = libc::memfd_create(c"npy-fuzz".as_ptr(), 0);
            assert!(fd >= 0, "memfd_create failed");
            File::from_raw_fd(fd)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // The dict parser on its own, on any text.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = pylit::parse(text) {
            // What we print, we parse back to the same value.
            let again = pylit::parse(&v.repr()).expect("repr parses back");
            assert_eq!(again, v, "repr round trip");
        }
    }
    let text: String = data.iter().map(|&b| b as char).collect();
    let _ = pylit::parse(&text);
    // With numpy's Python 2 filter, as for 1.0/2.0 headers.
    let _ = pylit::parse_header(&text, true);

    // The header from a stream.
    let streamed = npy::read_header(&mut &data[..]);

    // The same bytes as a file.
    let f = memfile();
    f.set_len(0).unwrap();
    f.write_all_at(data, 0).unwrap();
    let len = data.len() as u64;
    let at = if data.is_empty() {
        None
    } else {
        Some(npy::read_header_at(f, 0, len))
    };
    match (&streamed, &at) {
        (Ok(None), None) => {}
        (Ok(Some(a)), Some(Ok(b))) => assert_eq!(a, b, "stream and file readers disagree"),
        (Err(_), Some(Err(_))) => {}
        (s, a) => panic!("stream reader says {s:?}, file reader says {a:?}"),
    }
    if let Ok(Some(h)) = &streamed {
        let rewritten = h.layout().to_npy_header();
        assert_eq!(rewritten.len() % 64, 0);
        let back = npy::read_header(&mut &rewritten[..])
            .expect("our header parses")
            .expect("our header is not empty");
        assert_eq!(back.layout(), h.layout().canonical(), "rewrite changes the layout");
        assert_eq!(back.dtype, h.dtype, "canonical descr changes the dtype");
        let again = npy::dtype::canonical_descr(&back.descr).expect("canonical parses");
        assert_eq!(again, back.descr, "canonical descr is not a fixed point");
    }
    if !data.is_empty() {
        if let Ok(s) = scan::scan_file(f) {
            let _ = s.rows_present();
            let _ = s.rows_declared();
        }
        for entry in scan::Walker::new(f, len).take(10_000) {
            if entry.is_err() {
                break;
            }
        }
        let _ = scan::summarize_stack(f, len);
    }
});
