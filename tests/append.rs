//! `npy append` integration tests: numpy's arrays rebuilt chunk by chunk
//! (byte-identical to `np.save` of the whole), every refusal leaving TARGET
//! untouched, stdin streams, `--raw`, headers that must grow, SIGKILL at
//! random moments, and eight writers at once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use npy_tools::npy::header::{Layout, VERSIONS};
use npy_tools::npy::pylit;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `descr` as on the command line: a type string, or a literal for records.
fn layout(descr: &str, fortran_order: bool, shape: &[u64]) -> Layout {
    let py = if descr.starts_with('[') {
        pylit::parse(descr).unwrap()
    } else {
        pylit::Py::Str(descr.to_string())
    };
    Layout::new(py, fortran_order, shape.to_vec()).unwrap()
}

/// A `.npy` file's bytes: numpy's header for the layout, then `data`.
fn npy_bytes(descr: &str, fortran_order: bool, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let mut b = layout(descr, fortran_order, shape).to_npy_header();
    b.extend_from_slice(data);
    b
}

/// numpy < 1.23 style: the header padded to 64 bytes, no spare digits.
fn tight_header(l: &Layout) -> Vec<u8> {
    let v1 = VERSIONS[0];
    let need = v1.prefix_len() as u64 + l.dict_text().len() as u64 + 1;
    let len = need.div_ceil(64) * 64;
    l.to_header_of_len(v1, len).unwrap()
}

/// i8 rows of `width` values, every value of row r equal to `base + r`.
fn i8_rows(base: i64, rows: u64, width: u64) -> Vec<u8> {
    (0..rows)
        .flat_map(|r| (0..width).flat_map(move |_| (base + r as i64).to_le_bytes()))
        .collect()
}

/// Parses a whole file: (header, data bytes).
fn parse(bytes: &[u8]) -> (npy_tools::npy::Header, Vec<u8>) {
    let h = npy_tools::npy::read_header(&mut &bytes[..])
        .unwrap()
        .unwrap();
    let data = bytes[h.header_len as usize..].to_vec();
    (h, data)
}

// ---------------------------------------------------------------- numpy cases

#[test]
fn numpy_cases_rebuilt_chunk_by_chunk_are_np_save_byte_for_byte() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let cases_dir = dir.path().join("cases");
    let cases = numpy_cases(py, &cases_dir);
    let mut tried = 0;
    for c in &cases {
        if c["object"] == true || c["chunkable"] != true {
            continue;
        }
        let name = c["name"].as_str().unwrap();
        let file = cases_dir.join(c["file"].as_str().unwrap());
        let axis = c["growth_axis"].as_u64().unwrap();
        let len = c["shape"][axis as usize].as_u64().unwrap();
        let fortran_order = c["fortran_order"] == true;
        // Fortran pieces of one column are saved C-ordered by numpy; the
        // first piece (which TARGET is created from) keeps two or more.
        let n = if fortran_order {
            (len - 1).clamp(1, 3)
        } else {
            len.min(3)
        };
        let work = dir.path().join(name);
        let chunks_dir = work.join("chunks");
        let chunks = oracle(
            py,
            &[
                "split",
                s(&file),
                &axis.to_string(),
                &n.to_string(),
                s(&chunks_dir),
            ],
        );
        let chunks: Vec<String> = chunks
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let want = std::fs::read(&file).unwrap();

        // Into a new TARGET, one chunk per call.
        let new = work.join("new.npy");
        for ch in &chunks {
            run(&work, &["append", s(&new), ch]).ok();
        }
        assert_np_equal(py, &new, &file);
        assert!(
            std::fs::read(&new).unwrap() == want,
            "{name}: new TARGET differs from np.save bytes"
        );

        // Onto a file np.save wrote (the first chunk), one chunk per call.
        let onto = work.join("onto.npy");
        std::fs::copy(&chunks[0], &onto).unwrap();
        for ch in &chunks[1..] {
            run(&work, &["append", s(&onto), ch]).ok();
        }
        assert_np_equal(py, &onto, &file);
        assert!(
            std::fs::read(&onto).unwrap() == want,
            "{name}: appended np.save file differs from np.save bytes"
        );
        tried += 1;
    }
    assert!(tried >= 40, "only {tried} numpy cases were chunkable");
}

#[test]
fn fortran_arrays_grow_along_the_last_axis() {
    let dir = tempdir();
    let d = dir.path();
    // (2, 3) Fortran: column-major bytes; append a (2, 2) Fortran piece.
    let a: Vec<u8> = f8_bytes(0..6);
    let b: Vec<u8> = f8_bytes(6..10);
    std::fs::write(d.join("a.npy"), npy_bytes("<f8", true, &[2, 3], &a)).unwrap();
    std::fs::write(d.join("b.npy"), npy_bytes("<f8", true, &[2, 2], &b)).unwrap();
    // A one-column piece numpy would save C-ordered appends too.
    std::fs::write(
        d.join("c.npy"),
        npy_bytes("<f8", false, &[2, 1], &f8_bytes(10..12)),
    )
    .unwrap();
    run(d, &["append", "a.npy", "b.npy", "c.npy"]).ok();
    let got = std::fs::read(d.join("a.npy")).unwrap();
    assert_eq!(got, npy_bytes("<f8", true, &[2, 6], &f8_bytes(0..12)));
    // A C-ordered (2, 2) piece is a different layout: refused.
    std::fs::write(
        d.join("x.npy"),
        npy_bytes("<f8", false, &[2, 2], &f8_bytes(0..4)),
    )
    .unwrap();
    run(d, &["append", "a.npy", "x.npy"])
        .fails()
        .stderr_has("x.npy: is C-ordered")
        .stderr_has("a.npy is Fortran-ordered");
    assert_eq!(std::fs::read(d.join("a.npy")).unwrap(), got);
    if let Some(py) = python() {
        let v = np_load(py, &d.join("a.npy"));
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["shape"], serde_json::json!([2, 6]));
    }
}

// ---------------------------------------------------------------- refusals

/// Writes TARGET, runs `npy append TARGET SOURCES`, expects exit 1 with all
/// of `needles` in stderr and TARGET byte-for-byte unchanged.
#[track_caller]
fn refused(d: &Path, target: &str, target_bytes: &[u8], sources: &[&str], needles: &[&str]) {
    std::fs::write(d.join(target), target_bytes).unwrap();
    let mut args = vec!["append", target];
    args.extend_from_slice(sources);
    let r = run(d, &args);
    r.fails();
    for n in needles {
        r.stderr_has(n);
    }
    assert_eq!(
        std::fs::read(d.join(target)).unwrap(),
        target_bytes,
        "npy {} changed TARGET",
        args.join(" ")
    );
    // No temporary file left behind.
    for e in std::fs::read_dir(d).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.ends_with(".npy-tmp"), "left {n}");
    }
}

#[test]
fn every_refusal_leaves_target_unchanged() {
    let dir = tempdir();
    let d = dir.path();
    let w = |name: &str, b: Vec<u8>| std::fs::write(d.join(name), b).unwrap();
    let out = npy_bytes("<f4", false, &[4, 3], &[1u8; 48]);
    w("ok.npy", npy_bytes("<f4", false, &[2, 3], &[2u8; 24]));
    w("be.npy", npy_bytes(">f4", false, &[2, 3], &[2u8; 24]));
    w("wide.npy", npy_bytes("<f4", false, &[2, 4], &[2u8; 32]));
    w("flat.npy", npy_bytes("<f4", false, &[6], &[2u8; 24]));
    w("fort.npy", npy_bytes("<f4", true, &[3, 2], &[2u8; 24]));
    w("zero_d.npy", npy_bytes("<f4", false, &[], &[2u8; 4]));
    w("obj.npy", npy_bytes("|O", false, &[2, 3], &[0u8; 48]));
    let ok = std::fs::read(d.join("ok.npy")).unwrap();
    w("trunc.npy", ok[..ok.len() - 5].to_vec());
    w("trail.npy", [ok.clone(), b"junk".to_vec()].concat());
    w("stacked.npy", [ok.clone(), ok.clone()].concat());
    w("junk.npy", b"not an array at all".to_vec());

    let t = "out.npy";
    refused(
        d,
        t,
        &out,
        &["be.npy"],
        &["be.npy: dtype '>f4' differs from out.npy's '<f4'"],
    );
    refused(
        d,
        t,
        &out,
        &["wide.npy"],
        &[
            "wide.npy: shape (2, 4) does not match out.npy's (4, 3)",
            "(N, 3)",
        ],
    );
    refused(d, t, &out, &["flat.npy"], &["flat.npy: has 1 dimensions"]);
    refused(d, t, &out, &["fort.npy"], &["fort.npy: is Fortran-ordered"]);
    refused(d, t, &out, &["zero_d.npy"], &["zero_d.npy: is a 0-d array"]);
    refused(d, t, &out, &["obj.npy"], &["obj.npy: holds Python objects"]);
    refused(d, t, &out, &["trunc.npy"], &["trunc.npy: is truncated"]);
    refused(
        d,
        t,
        &out,
        &["trail.npy"],
        &["trail.npy: has 4 bytes after"],
    );
    refused(
        d,
        t,
        &out,
        &["stacked.npy"],
        &["stacked.npy: holds 2 arrays", "convert-stacked"],
    );
    refused(d, t, &out, &["junk.npy"], &["junk.npy: not a .npy file"]);
    refused(d, t, &out, &["missing.npy"], &["missing.npy: cannot open"]);
    // A good source before a bad one: still nothing written.
    refused(d, t, &out, &["ok.npy", "be.npy"], &["be.npy: dtype"]);
    refused(d, t, &out, &["ok.npy", "-", "wide.npy"], &["wide.npy"]);

    // TARGETs that need attention first.
    refused(
        d,
        t,
        &out[..out.len() - 3],
        &["ok.npy"],
        &["out.npy: holds 45 data bytes", "npy repair out.npy"],
    );
    refused(
        d,
        t,
        &[out.clone(), vec![0; 7]].concat(),
        &["ok.npy"],
        &["out.npy: has 7 bytes past", "npy repair out.npy"],
    );
    refused(
        d,
        t,
        &[out.clone(), out.clone()].concat(),
        &["ok.npy"],
        &["out.npy: holds 2 arrays", "npy convert-stacked out.npy"],
    );
    refused(
        d,
        t,
        &npy_bytes("|O", false, &[4, 3], &[0; 96]),
        &["ok.npy"],
        &["out.npy: holds Python objects"],
    );
    refused(
        d,
        t,
        &npy_bytes("<f4", false, &[], &[0; 4]),
        &["ok.npy"],
        &["out.npy: is a 0-d array"],
    );
    refused(
        d,
        t,
        b"\x93NUMPY\x09\x00",
        &["ok.npy"],
        &["out.npy: unsupported .npy format version 9.0"],
    );

    // A missing TARGET is not created when a source is refused.
    let r = run(d, &["append", "new.npy", "ok.npy", "be.npy"]);
    r.fails()
        .stderr_has("be.npy: dtype '>f4' differs from ok.npy's '<f4'");
    assert!(!d.join("new.npy").exists());
}

#[test]
fn usage_errors() {
    let dir = tempdir();
    let d = dir.path();
    run(d, &["append", "a.npy"]).expect_code(2);
    run(d, &["append", "a.npy", "--dtype", "<f8", "-"]).expect_code(2);
    run(d, &["append", "a.npy", "-", "-"])
        .fails()
        .stderr_has("`-` is given 2 times");
    run(d, &["append", "-", "b.npy"])
        .fails()
        .stderr_has("TARGET must be a file");
}

// ---------------------------------------------------------------- behaviour

#[test]
fn new_target_and_zero_rows_and_self_append() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(
        d.join("a.npy"),
        npy_bytes("<i8", false, &[3, 2], &i8_rows(0, 3, 2)),
    )
    .unwrap();
    std::fs::write(d.join("e.npy"), npy_bytes("<i8", false, &[0, 2], &[])).unwrap();
    run(d, &["append", "t.npy", "a.npy"]).ok();
    let after_one = std::fs::read(d.join("t.npy")).unwrap();
    assert_eq!(after_one, std::fs::read(d.join("a.npy")).unwrap());
    // Zero rows: nothing changes.
    run(d, &["append", "t.npy", "e.npy"]).ok();
    assert_eq!(std::fs::read(d.join("t.npy")).unwrap(), after_one);
    // TARGET onto itself, twice: appends what it held when the command began.
    run(d, &["append", "t.npy", "t.npy", "a.npy", "t.npy"]).ok();
    let rows = i8_rows(0, 3, 2).repeat(4);
    assert_eq!(
        std::fs::read(d.join("t.npy")).unwrap(),
        npy_bytes("<i8", false, &[12, 2], &rows)
    );
    // Through a hard link it is the same file too.
    std::fs::hard_link(d.join("t.npy"), d.join("link.npy")).unwrap();
    run(d, &["append", "t.npy", "link.npy"]).ok();
    let rows = i8_rows(0, 3, 2).repeat(8);
    assert_eq!(
        std::fs::read(d.join("t.npy")).unwrap(),
        npy_bytes("<i8", false, &[24, 2], &rows)
    );
    // A new file gets ordinary permissions, not tempfile's 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("t.npy"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_ne!(mode, 0o600);
}

#[test]
fn stdin_streams_commit_each_whole_array() {
    let dir = tempdir();
    let d = dir.path();
    let arr = |base: i64, rows: u64| npy_bytes("<i8", false, &[rows, 3], &i8_rows(base, rows, 3));
    let stream = [arr(0, 2), arr(2, 1), arr(3, 4)].concat();
    // Into a new TARGET, between two files.
    std::fs::write(d.join("first.npy"), arr(100, 1)).unwrap();
    std::fs::write(d.join("last.npy"), arr(200, 2)).unwrap();
    run_stdin(
        d,
        &["append", "s.npy", "first.npy", "-", "last.npy"],
        &stream,
    )
    .ok();
    let rows = [i8_rows(100, 1, 3), i8_rows(0, 7, 3), i8_rows(200, 2, 3)].concat();
    assert_eq!(
        std::fs::read(d.join("s.npy")).unwrap(),
        npy_bytes("<i8", false, &[10, 3], &rows)
    );
    // A new TARGET created from the stream's first array.
    run_stdin(d, &["append", "n.npy", "-"], &stream).ok();
    assert_eq!(
        std::fs::read(d.join("n.npy")).unwrap(),
        npy_bytes("<i8", false, &[7, 3], &i8_rows(0, 7, 3))
    );

    // Truncated last array: the whole ones are committed, exit 1.
    let mut cut = stream.clone();
    cut.truncate(cut.len() - 5);
    let r = run_stdin(d, &["append", "t.npy", "-"], &cut);
    r.fails()
        .stderr_has("<stdin>: array 2 at byte offset")
        .stderr_has("is truncated")
        .stderr_has("the 2 arrays before it were appended");
    assert_eq!(
        std::fs::read(d.join("t.npy")).unwrap(),
        npy_bytes("<i8", false, &[3, 3], &i8_rows(0, 3, 3))
    );
    // Cut inside a header.
    let second = arr(0, 2).len();
    let r = run_stdin(d, &["append", "h.npy", "-"], &stream[..second + 30]);
    r.fails()
        .stderr_has("<stdin>: array 1")
        .stderr_has("not appended");
    assert_eq!(std::fs::read(d.join("h.npy")).unwrap(), arr(0, 2));
    // A mismatching array in the stream: refused, the ones before kept.
    let bad = [arr(0, 2), npy_bytes("<i4", false, &[1, 3], &[0; 12])].concat();
    run_stdin(d, &["append", "m.npy", "-"], &bad)
        .fails()
        .stderr_has("<stdin>: array 1 at byte offset")
        .stderr_has("dtype '<i4' differs from m.npy's '<i8'");
    assert_eq!(std::fs::read(d.join("m.npy")).unwrap(), arr(0, 2));
    // Empty stdin onto an existing TARGET: no array arrived, which is said
    // (exit 1, as np.load of an empty stream raises), TARGET unchanged.
    run_stdin(d, &["append", "m.npy", "-"], b"")
        .fails()
        .stderr_has("<stdin>: no array arrived on stdin; m.npy unchanged");
    assert_eq!(std::fs::read(d.join("m.npy")).unwrap(), arr(0, 2));
    run_stdin(d, &["append", "none.npy", "-"], b"")
        .fails()
        .stderr_has("none.npy was not created");
    assert!(!d.join("none.npy").exists());
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.join("s.npy"))["ok"], true);
        assert_eq!(np_load(py, &d.join("t.npy"))["ok"], true);
    }
}

/// Rows the header of `path` declares (0 while it does not exist).
fn declared_rows(path: &Path) -> u64 {
    match std::fs::read(path) {
        Ok(b) if !b.is_empty() => parse(&b).0.shape[0],
        _ => 0,
    }
}

#[track_caller]
fn wait_for_rows(path: &Path, rows: u64) {
    let start = Instant::now();
    while declared_rows(path) != rows {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never reached {rows} rows",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn streamed_rows_are_committed_while_the_producer_pauses() {
    let dir = tempdir();
    let d = dir.path();
    for raw in [false, true] {
        let name = if raw { "raw.npy" } else { "npy.npy" };
        let mut args = vec!["append", name];
        if raw {
            args.extend(["--raw", "--dtype", "<i8", "--shape", "2"]);
        }
        args.push("-");
        let mut child = Command::new(bin())
            .args(&args)
            .current_dir(d)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        let piece = |base: i64, rows: u64| {
            let data = i8_rows(base, rows, 2);
            if raw {
                data
            } else {
                npy_bytes("<i8", false, &[rows, 2], &data)
            }
        };
        sin.write_all(&piece(0, 2)).unwrap();
        sin.flush().unwrap();
        wait_for_rows(&d.join(name), 2);
        let mut next = piece(2, 3);
        if raw {
            // Half a row now: the whole ones are committed, it waits.
            next.extend_from_slice(&[9u8; 8]);
        }
        sin.write_all(&next).unwrap();
        sin.flush().unwrap();
        wait_for_rows(&d.join(name), 5);
        if raw {
            sin.write_all(&[9u8; 8]).unwrap();
        }
        drop(sin);
        assert!(child.wait().unwrap().success());
        let mut all = i8_rows(0, 5, 2);
        let mut rows = 5;
        if raw {
            all.extend_from_slice(&[9u8; 16]);
            rows = 6;
        }
        assert_eq!(
            std::fs::read(d.join(name)).unwrap(),
            npy_bytes("<i8", false, &[rows, 2], &all)
        );
    }
}

#[test]
fn raw_rows_from_stdin() {
    let dir = tempdir();
    let d = dir.path();
    let data = f8_bytes(0..12);
    run_stdin(
        d,
        &[
            "append", "r.npy", "--raw", "--dtype", "<f8", "--shape", "3", "-",
        ],
        &data,
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("r.npy")).unwrap(),
        npy_bytes("<f8", false, &[4, 3], &data)
    );
    // Existing TARGET: --dtype/--shape optional, checked when given.
    run_stdin(d, &["append", "r.npy", "--raw", "-"], &f8_bytes(12..15)).ok();
    run_stdin(
        d,
        &["append", "r.npy", "--raw", "--dtype", "<f4", "-"],
        &f8_bytes(0..3),
    )
    .fails()
    .stderr_has("--dtype '<f4': differs from r.npy's '<f8'");
    run_stdin(
        d,
        &["append", "r.npy", "--raw", "--shape", "4", "-"],
        &f8_bytes(0..4),
    )
    .fails()
    .stderr_has("r.npy's rows have shape (3,)");
    // A partial last row: whole rows kept, the rest dropped, exit 1.
    let mut part = f8_bytes(15..21);
    part.extend_from_slice(&[1, 2, 3]);
    run_stdin(d, &["append", "r.npy", "--raw", "-"], &part)
        .fails()
        .stderr_has("<stdin>: ended inside a row: the last 3 bytes (a row is 24 bytes)");
    assert_eq!(
        std::fs::read(d.join("r.npy")).unwrap(),
        npy_bytes("<f8", false, &[7, 3], &f8_bytes(0..21))
    );
    // Raw files are checked before anything is written.
    std::fs::write(d.join("rows.bin"), f8_bytes(21..24)).unwrap();
    std::fs::write(d.join("bad.bin"), f8_bytes(0..4)).unwrap();
    let before = std::fs::read(d.join("r.npy")).unwrap();
    run(d, &["append", "r.npy", "--raw", "rows.bin", "bad.bin"])
        .fails()
        .stderr_has("bad.bin: holds 32 bytes, not a whole number of 24-byte rows");
    assert_eq!(std::fs::read(d.join("r.npy")).unwrap(), before);
    run(d, &["append", "r.npy", "--raw", "rows.bin"]).ok();
    assert_eq!(
        std::fs::read(d.join("r.npy")).unwrap(),
        npy_bytes("<f8", false, &[8, 3], &f8_bytes(0..24))
    );
    // A 1-D TARGET of records from raw bytes.
    let rec = "[('a', '<i4'), ('b', '|u1')]";
    run_stdin(
        d,
        &["append", "rec.npy", "--raw", "--dtype", rec, "-"],
        &[7u8; 15],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("rec.npy")).unwrap(),
        npy_bytes(rec, false, &[3], &[7u8; 15])
    );
    run(d, &["append", "x.npy", "--raw", "rows.bin"])
        .fails()
        .stderr_has("--raw needs --dtype");
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.join("r.npy"))["ok"], true);
        assert_eq!(np_load(py, &d.join("rec.npy"))["ok"], true);
    }
}

#[test]
fn tight_header_is_grown_by_rewrite() {
    let dir = tempdir();
    let d = dir.path();
    // numpy-1.x style: 95 rows of a record whose header text ends exactly
    // on a 64-byte boundary, so not one more digit fits.
    let rows = 95u64;
    let descr = (1..=64)
        .map(|k| format!("[('{}', '<i8')]", "x".repeat(k)))
        .find(|d| (10 + layout(d, false, &[rows, 2]).dict_text().len() + 1).is_multiple_of(64))
        .unwrap();
    let descr = descr.as_str();
    let l = layout(descr, false, &[rows, 2]);
    let head = tight_header(&l);
    assert!(head.len() < l.to_npy_header().len());
    let mut old = head.clone();
    old.extend(i8_rows(0, rows, 2));
    std::fs::write(d.join("t.npy"), &old).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("t.npy"), std::fs::Permissions::from_mode(0o640)).unwrap();
    // Adding rows up to the next power of ten still fits: stays in place.
    let extra = 10u64.pow(rows.to_string().len() as u32) - rows;
    std::fs::write(
        d.join("a.npy"),
        npy_bytes(descr, false, &[extra, 2], &i8_rows(rows as i64, extra, 2)),
    )
    .unwrap();
    std::fs::write(
        d.join("b.npy"),
        npy_bytes(descr, false, &[1, 2], &i8_rows(-1, 1, 2)),
    )
    .unwrap();
    let total = rows + extra + 1;
    run(d, &["append", "t.npy", "a.npy", "b.npy"]).ok();
    let got = std::fs::read(d.join("t.npy")).unwrap();
    let all = [i8_rows(0, rows + extra, 2), i8_rows(-1, 1, 2)].concat();
    // Rewritten: numpy's own header now, with its room to grow.
    assert_eq!(got, npy_bytes(descr, false, &[total, 2], &all));
    let mode = std::fs::metadata(d.join("t.npy"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    // The same from a stdin stream.
    std::fs::write(d.join("s.npy"), &old).unwrap();
    let stream = [
        std::fs::read(d.join("a.npy")).unwrap(),
        std::fs::read(d.join("b.npy")).unwrap(),
    ]
    .concat();
    run_stdin(d, &["append", "s.npy", "-"], &stream).ok();
    assert_eq!(std::fs::read(d.join("s.npy")).unwrap(), got);
    // And from raw rows.
    std::fs::write(d.join("r.npy"), &old).unwrap();
    run_stdin(
        d,
        &["append", "r.npy", "--raw", "-"],
        &all[rows as usize * 16..],
    )
    .ok();
    assert_eq!(std::fs::read(d.join("r.npy")).unwrap(), got);
    // Through a symlink: the file it points to is rewritten, the link stays.
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/data.npy"), &old).unwrap();
    std::os::unix::fs::symlink("real/data.npy", d.join("link.npy")).unwrap();
    run(d, &["append", "link.npy", "a.npy", "b.npy"]).ok();
    assert!(std::fs::symlink_metadata(d.join("link.npy"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(d.join("real/data.npy")).unwrap(), got);
    // TARGET onto itself while its header must grow.
    std::fs::write(d.join("self.npy"), &old).unwrap();
    run(d, &["append", "self.npy", "self.npy"]).ok();
    let twice = [i8_rows(0, rows, 2), i8_rows(0, rows, 2)].concat();
    assert_eq!(
        std::fs::read(d.join("self.npy")).unwrap(),
        npy_bytes(descr, false, &[2 * rows, 2], &twice)
    );
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".npy-tmp")), "{names:?}");
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.join("t.npy"))["ok"], true);
    }
}

#[test]
fn no_wait_fails_fast_and_waiting_works() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(
        d.join("t.npy"),
        npy_bytes("<i8", false, &[1, 2], &i8_rows(0, 1, 2)),
    )
    .unwrap();
    std::fs::write(
        d.join("a.npy"),
        npy_bytes("<i8", false, &[1, 2], &i8_rows(1, 1, 2)),
    )
    .unwrap();
    let held = std::fs::File::open(d.join("t.npy")).unwrap();
    held.lock().unwrap();
    run(d, &["append", "--no-wait", "t.npy", "a.npy"])
        .fails()
        .stderr_has("t.npy: locked by another");
    let mut child = Command::new(bin())
        .args(["append", "t.npy", "a.npy"])
        .current_dir(d)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "did not wait for the lock"
    );
    held.unlock().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        std::fs::read(d.join("t.npy")).unwrap(),
        npy_bytes("<i8", false, &[2, 2], &i8_rows(0, 2, 2))
    );
}

// ---------------------------------------------------------------- SIGKILL

struct KillCase {
    /// TARGET before.
    old: Vec<u8>,
    old_rows: u64,
    /// Data of every row TARGET should hold after, old ones first.
    all: Vec<u8>,
    new_rows: u64,
    width: u64,
    /// Whether TARGET's header must grow (rewrite + rename).
    grows: bool,
}

/// Checks TARGET after a kill: the old file, the finished file, or (in
/// place only) the old header over its intact rows followed by a prefix of
/// the new rows — what `npy repair` turns into a loadable array.
fn check_after_kill(c: &KillCase, got: &[u8], ctx: &str) -> &'static str {
    if got == c.old {
        return "old";
    }
    let shape = [c.old_rows + c.new_rows, c.width];
    if c.grows {
        // Rewritten through a new file: numpy's header, every row.
        let done = npy_bytes("<i8", false, &shape, &c.all);
        assert!(
            got == done,
            "{ctx}: a header rewrite must leave the old or the new file, got {} bytes",
            got.len()
        );
        return "new";
    }
    // In place: the old header's length with the new shape written in.
    let (oh, _) = parse(&c.old);
    let hl = oh.header_len as usize;
    let mut done = layout("<i8", false, &shape)
        .to_header_of_len(oh.version, oh.header_len)
        .unwrap();
    done.extend_from_slice(&c.all);
    if got == done {
        return "new";
    }
    // Interrupted in place: old header, old rows intact, then part of the new.
    assert!(got.len() >= hl, "{ctx}: header lost");
    assert_eq!(
        got[..hl],
        c.old[..hl],
        "{ctx}: header changed but the data is not all there"
    );
    let data = &got[hl..];
    assert!(data.len() >= c.old.len() - hl, "{ctx}: old rows lost");
    assert!(data.len() <= c.all.len(), "{ctx}: more data than written");
    assert!(
        data == &c.all[..data.len()],
        "{ctx}: data is not the old rows followed by the new ones"
    );
    "partial"
}

/// SIGKILL `npy append --no-sync` (in place, and through a header rewrite)
/// at random moments: TARGET is the old file, the new one, or the old header
/// over its rows and a prefix of the new. The default (synced) append is
/// killed in tests/reliability.rs (crash_append_*).
#[test]
fn sigkill_at_random_moments_never_loses_a_row() {
    let seed = seed_for("append sigkill");
    let mut rng = Rng::new(seed);
    let dir = tempdir();
    let d = dir.path();
    let width = 8u64; // 64-byte rows
    let trials = 60;
    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    // Time of one uninterrupted run, so kills spread over its whole length.
    let mut full = Duration::from_millis(5);
    let mut grow_trials = 0;
    for t in 0..trials {
        // Every third trial: a header with no spare room and a count about
        // to gain a digit, so it must be rewritten.
        let tight = t % 3 == 1;
        let sync = false;
        let old_rows = if tight {
            9000 + rng.below(999)
        } else {
            2000 + rng.below(4000)
        };
        let parts = 1 + rng.below(3);
        let mut sources = vec![];
        let mut all = i8_rows(0, old_rows, width);
        let mut new_rows = 0;
        for p in 0..parts {
            let r = 1 + rng.below(3000);
            let data = i8_rows((old_rows + new_rows) as i64, r, width);
            let name = format!("src{p}.npy");
            std::fs::write(d.join(&name), npy_bytes("<i8", false, &[r, width], &data)).unwrap();
            all.extend_from_slice(&data);
            sources.push(name);
            new_rows += r;
        }
        let grows = tight && (old_rows + new_rows).to_string().len() > old_rows.to_string().len();
        grow_trials += grows as u32;
        let l = layout("<i8", false, &[old_rows, width]);
        let v1 = VERSIONS[0];
        let mut old = if tight {
            // No room for another digit at all.
            l.to_header_of_len(v1, (v1.prefix_len() + l.dict_text().len() + 1) as u64)
                .unwrap()
        } else {
            l.to_npy_header()
        };
        old.extend(i8_rows(0, old_rows, width));
        let target = d.join("t.npy");
        std::fs::write(&target, &old).unwrap();
        let c = KillCase {
            old,
            old_rows,
            all,
            new_rows,
            width,
            grows,
        };
        let mut args = vec!["append".to_string(), "t.npy".to_string()];
        if !sync {
            args.push("--no-sync".into());
        }
        args.extend(sources.iter().cloned());
        let start = Instant::now();
        let mut child = Command::new(bin())
            .args(&args)
            .current_dir(d)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Every fifth trial runs to the end and measures; the rest are killed.
        let kill = t % 5 != 0;
        if kill {
            let delay = rng.below(full.as_micros() as u64 * 9 / 10);
            std::thread::sleep(Duration::from_micros(delay));
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        if !kill {
            assert!(
                status.success(),
                "seed {seed} trial {t}: uninterrupted run failed"
            );
            full = start.elapsed();
        }
        let got = std::fs::read(&target).unwrap();
        let ctx = format!(
            "seed {seed} trial {t} (grows {grows}, sync {sync}, rows {old_rows}+{new_rows})"
        );
        let what = check_after_kill(&c, &got, &ctx);
        if !kill {
            assert_eq!(what, "new", "{ctx}");
        }
        *outcomes.entry(what).or_default() += 1;
        for e in std::fs::read_dir(d).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.ends_with(".npy-tmp") {
                assert!(n.starts_with(".t.npy."), "{ctx}: stray {n}");
                std::fs::remove_file(d.join(&n)).unwrap();
            }
        }
    }
    eprintln!("sigkill seed {seed}: outcomes {outcomes:?}");
    assert!(
        outcomes.get("new").copied().unwrap_or(0) >= trials / 5,
        "seed {seed}: {outcomes:?}"
    );
    assert!(
        grow_trials >= trials / 5,
        "seed {seed}: only {grow_trials} trials grew the header"
    );
}

/// SIGKILL during a stdin stream onto a TARGET whose header has no room
/// (so each commit rewrites it): the header counts whole arrays only, and the
/// data is the rows in order. Streams onto a roomy header are killed in
/// tests/reliability.rs (crash_append_in_place).
#[test]
fn sigkill_during_a_stdin_stream_keeps_committed_arrays() {
    let seed = seed_for("append stream sigkill");
    let mut rng = Rng::new(seed ^ 0x5eed);
    let dir = tempdir();
    let d = dir.path();
    let width = 8u64;
    let trials = 20;
    let mut partial = 0;
    let mut full = Duration::from_millis(5);
    for t in 0..trials {
        let tight = true;
        let old_rows = if tight {
            90 + rng.below(9)
        } else {
            1000 + rng.below(3000)
        };
        let mut all = i8_rows(0, old_rows, width);
        let mut stream = vec![];
        let mut cum = vec![old_rows];
        for _ in 0..1 + rng.below(4) {
            let r = 1 + rng.below(1500);
            let data = i8_rows(*cum.last().unwrap() as i64, r, width);
            stream.extend(npy_bytes("<i8", false, &[r, width], &data));
            all.extend_from_slice(&data);
            cum.push(cum.last().unwrap() + r);
        }
        let l = layout("<i8", false, &[old_rows, width]);
        let v1 = VERSIONS[0];
        let mut old = if tight {
            l.to_header_of_len(v1, (v1.prefix_len() + l.dict_text().len() + 1) as u64)
                .unwrap()
        } else {
            l.to_npy_header()
        };
        let old_head = old.clone();
        old.extend(i8_rows(0, old_rows, width));
        std::fs::write(d.join("t.npy"), &old).unwrap();
        let start = Instant::now();
        let mut child = Command::new(bin())
            .args(["append", "t.npy", "-"])
            .current_dir(d)
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        let feed = stream.clone();
        let feeder = std::thread::spawn(move || {
            let _ = sin.write_all(&feed);
        });
        let kill = t % 5 != 0;
        if kill {
            std::thread::sleep(Duration::from_micros(rng.below(full.as_micros() as u64)));
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        feeder.join().unwrap();
        let ctx = format!("seed {seed} stream trial {t} (tight {tight}, rows {cum:?})");
        if !kill {
            assert!(status.success(), "{ctx}");
            full = start.elapsed();
        }
        let got = std::fs::read(d.join("t.npy")).unwrap();
        let (h, data) = parse(&got);
        let rows = h.shape[0];
        // The header counts a whole number of arrays, and says so with
        // either the old header's length or numpy's fresh header.
        assert!(cum.contains(&rows), "{ctx}: header has {rows} rows");
        let want_head = if h.header_len as usize == old_head.len() {
            layout("<i8", false, &h.shape)
                .to_header_of_len(v1, old_head.len() as u64)
                .unwrap()
        } else {
            layout("<i8", false, &h.shape).to_npy_header()
        };
        assert_eq!(
            got[..h.header_len as usize],
            want_head[..],
            "{ctx}: header bytes"
        );
        assert!(
            data.len() as u64 >= rows * width * 8,
            "{ctx}: committed rows missing"
        );
        assert!(data.len() <= all.len(), "{ctx}: more data than sent");
        assert!(
            data == all[..data.len()],
            "{ctx}: data is not the rows in order"
        );
        if !kill {
            assert_eq!(rows, *cum.last().unwrap(), "{ctx}");
        }
        if data.len() as u64 > rows * width * 8 {
            partial += 1;
        }
        for e in std::fs::read_dir(d).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.ends_with(".npy-tmp") {
                std::fs::remove_file(d.join(&n)).unwrap();
            }
        }
    }
    eprintln!("stream sigkill seed {seed}: {partial} of {trials} left a partial array");
}

// ---------------------------------------------------------------- concurrency

fn concurrent_appends(start: Option<Vec<u8>>, extra: &[&str]) {
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let width = 4u64;
    let (procs, each) = (8i64, 50i64);
    for p in 0..procs {
        for i in 0..each {
            let v = p * 1000 + i;
            let b = npy_bytes("<i8", false, &[1, width], &i8_rows(v, 1, width));
            std::fs::write(d.join(format!("p{p}_{i}.npy")), b).unwrap();
        }
    }
    let start_rows = if let Some(b) = &start {
        std::fs::write(d.join("t.npy"), b).unwrap();
        parse(b).0.shape[0]
    } else {
        0
    };
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let threads: Vec<_> = (0..procs)
        .map(|p| {
            let d: PathBuf = d.clone();
            let extra = extra.clone();
            std::thread::spawn(move || {
                for i in 0..each {
                    let src = format!("p{p}_{i}.npy");
                    let mut args = vec!["append".to_string(), "t.npy".to_string(), src];
                    args.extend(extra.iter().cloned());
                    let out: Output = Command::new(bin())
                        .args(&args)
                        .current_dir(&d)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let got = std::fs::read(d.join("t.npy")).unwrap();
    let (h, data) = parse(&got);
    assert_eq!(h.shape, vec![start_rows + (procs * each) as u64, width]);
    assert_eq!(data.len() as u64, h.shape[0] * width * 8);
    let mut seen = std::collections::HashMap::new();
    let mut last = vec![-1i64; procs as usize];
    for (r, row) in data
        .chunks(width as usize * 8)
        .enumerate()
        .skip(start_rows as usize)
    {
        let vals: Vec<i64> = row
            .chunks(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert!(vals.iter().all(|&v| v == vals[0]), "row {r} torn: {vals:?}");
        let (p, i) = (vals[0] / 1000, vals[0] % 1000);
        assert!(
            seen.insert(vals[0], r).is_none(),
            "row {r}: value {} twice",
            vals[0]
        );
        assert!(i > last[p as usize], "process {p}'s rows out of order");
        last[p as usize] = i;
    }
    assert_eq!(seen.len() as i64, procs * each);
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.join("t.npy"))["ok"], true);
    }
}

#[test]
fn eight_writers_onto_a_missing_target() {
    concurrent_appends(None, &[]);
}

#[test]
fn eight_writers_while_the_header_must_grow() {
    // One row under a tight header: growing to 10 rows forces a rewrite +
    // rename while seven other writers wait on the old inode.
    let l = layout("<i8", false, &[1, 4]);
    let v1 = VERSIONS[0];
    let mut b = l
        .to_header_of_len(v1, (v1.prefix_len() + l.dict_text().len() + 1) as u64)
        .unwrap();
    b.extend(i8_rows(-5, 1, 4));
    concurrent_appends(Some(b), &["--no-sync"]);
}

/// A stream that fails before its first whole array leaves TARGET exactly as
/// it was, even when its header has no room and would need a rewrite; and a
/// TARGET the command created for it is removed again.
/// See: code review of 2026-11-30 (rewrite committed with 0 rows).
#[test]
fn failed_stream_changes_nothing_even_with_a_tight_header() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir();
    let d = dir.path();
    // Not a byte of room: any new shape needs a rewrite into a fresh file.
    let l = layout("<i2", false, &[9]);
    let v1 = VERSIONS[0];
    let exact = v1.prefix_len() as u64 + l.dict_text().len() as u64 + 1;
    let mut t = l.to_header_of_len(v1, exact).unwrap();
    t.extend_from_slice(&[7u8; 18]);
    std::fs::write(d.join("t.npy"), &t).unwrap();
    let ino = std::fs::metadata(d.join("t.npy")).unwrap().ino();
    // A stream whose first array is cut inside its data.
    let mut cut = npy_bytes("<i2", false, &[3], &[1, 0, 2, 0, 3, 0]);
    cut.truncate(cut.len() - 4);
    run_stdin(d, &["append", "t.npy", "-"], &cut).fails();
    assert_eq!(std::fs::read(d.join("t.npy")).unwrap(), t);
    assert_eq!(std::fs::metadata(d.join("t.npy")).unwrap().ino(), ino);
    // Raw bytes that are not a whole row.
    run_stdin(d, &["append", "--raw", "t.npy", "-"], b"x").fails();
    assert_eq!(std::fs::read(d.join("t.npy")).unwrap(), t);
    assert_eq!(std::fs::metadata(d.join("t.npy")).unwrap().ino(), ino);
    // A missing TARGET is not left behind, empty, by a failed stream.
    run_stdin(d, &["append", "new.npy", "-"], &cut).fails();
    assert!(!d.join("new.npy").exists());
    run_stdin(
        d,
        &["append", "--raw", "--dtype", "<i2", "raw.npy", "-"],
        b"x",
    )
    .fails();
    assert!(!d.join("raw.npy").exists());
    assert_eq!(
        dir_listing(d).len(),
        1,
        "stray files: {:?}",
        dir_listing(d).iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}
