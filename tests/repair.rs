//! `npy repair` integration tests: numpy's own test arrays with a header one
//! row behind the data and cut in the middle of their last row, Fortran
//! growth along the last axis, `--zero-fill`, headers that must grow, the npyz
//! `*` placeholder, `--like`, refusals that leave files byte-for-byte alone,
//! the append lock, a 1 TiB sparse file, and random damage that must be
//! either repaired or refused, never a panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use npy_tools::npy::pylit;
use npy_tools::npy::scan::{scan_file, FileStatus};
use npy_tools::npy::{read_header, Header, Layout};
use serde_json::{json, Value};

use crate::common::*;

// ---------------------------------------------------------------------------
// helpers

fn header_of(bytes: &[u8]) -> Header {
    read_header(&mut &bytes[..]).unwrap().unwrap()
}

/// `bytes` (a whole .npy file) with the growth-axis length in its header set
/// to `rows`, the header keeping its length.
fn with_rows(bytes: &[u8], rows: u64) -> Vec<u8> {
    let h = header_of(bytes);
    let mut l = h.layout();
    let ax = l.growth_axis().unwrap();
    l.shape[ax] = rows;
    let new = l.to_header_of_len(h.version, h.header_len).expect("fits");
    let mut out = new;
    out.extend_from_slice(&bytes[h.header_len as usize..]);
    out
}

/// A file's bytes and mtime, to show a command left it alone.
struct Snapshot {
    path: PathBuf,
    bytes: Vec<u8>,
    mtime: SystemTime,
}

impl Snapshot {
    /// Takes the snapshot after setting the mtime into the past, so a write
    /// within the same clock tick would still show.
    fn of(path: &Path) -> Snapshot {
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        Snapshot {
            path: path.to_path_buf(),
            bytes: fs::read(path).unwrap(),
            mtime: fs::metadata(path).unwrap().modified().unwrap(),
        }
    }

    #[track_caller]
    fn unchanged(&self) {
        assert!(
            fs::read(&self.path).unwrap() == self.bytes,
            "{} changed",
            self.path.display()
        );
        assert_eq!(
            fs::metadata(&self.path).unwrap().modified().unwrap(),
            self.mtime,
            "{} mtime changed",
            self.path.display()
        );
    }
}

fn status(path: &Path) -> FileStatus {
    scan_file(&fs::File::open(path).unwrap()).unwrap().status
}

/// Checks many repaired files with numpy in one Python run. Each job is
/// `{"file", "orig", "axis", "rows"}`: FILE must load as exactly the first
/// `rows` steps along `axis` of ORIG (same dtype, same bytes, same
/// fortran_order; with `"prefix": true`, FILE's first `rows` steps), or `{"file", "shape"}`: FILE must load with that shape.
fn numpy_check(py: &str, dir: &Path, jobs: &[Value]) {
    const SCRIPT: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import oracle
bad = []
for j in json.load(open(sys.argv[2])):
    f = j["file"]
    try:
        a = oracle.load(f)
        if "orig" not in j:
            if list(a.shape) != j["shape"]:
                bad.append(f"{f}: shape {a.shape}, expected {j['shape']}")
            continue
        o = oracle.load(j["orig"])
        ax, rows = j["axis"], j["rows"]
        exp = np.take(oracle.raw_view(o), np.arange(rows), axis=ax)
        got = oracle.raw_view(a)
        if j.get("prefix"):
            got = np.take(got, np.arange(rows), axis=ax)
        da, do = np.lib.format.dtype_to_descr(a.dtype), np.lib.format.dtype_to_descr(o.dtype)
        if da != do or a.dtype != o.dtype:
            bad.append(f"{f}: dtype {da!r} != {do!r}")
        elif got.shape != exp.shape:
            bad.append(f"{f}: shape {a.shape}, expected {exp.shape[:-1]}")
        elif not np.array_equal(got, exp):
            bad.append(f"{f}: bytes differ from the first {rows} rows of {j['orig']}")
        elif oracle.header_fortran(f) != oracle.header_fortran(j["orig"]):
            bad.append(f"{f}: fortran_order changed")
    except Exception as e:
        bad.append(f"{f}: {type(e).__name__}: {e}")
print(json.dumps(bad))
"#;
    let job_file = dir.join("numpy_jobs.json");
    fs::write(&job_file, serde_json::to_vec(jobs).unwrap()).unwrap();
    let out = Command::new(py)
        .args(["-c", SCRIPT])
        .arg(repo().join("tests/numpy"))
        .arg(&job_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "numpy check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(bad.is_empty(), "numpy disagrees:\n{}", bad.join("\n"));
}

/// numpy's test arrays that have rows to repair: not object, not 0-d, at
/// least one row, rows wider than 0 bytes.
fn repairable_cases(py: &str, dir: &Path) -> Vec<(Value, Vec<u8>)> {
    let cases = numpy_cases(py, dir);
    let mut out = vec![];
    for c in cases {
        if c["object"] == true || c["growth_axis"].is_null() {
            continue;
        }
        let bytes = fs::read(dir.join(c["file"].as_str().unwrap())).unwrap();
        let h = header_of(&bytes);
        let ax = h.growth_axis().unwrap();
        if h.shape[ax] == 0 || h.row_bytes().unwrap() == 0 {
            continue;
        }
        out.push((c, bytes));
    }
    assert!(out.len() > 60, "too few numpy cases: {}", out.len());
    out
}

fn f8_file(dir: &Path, name: &str, shape: &[u64], extra_rows: u32, partial: usize) -> PathBuf {
    let p = dir.join(name);
    let n: u64 = shape.iter().product();
    let cols: u64 = shape[1..].iter().product();
    let mut data = f8_bytes(0..(n + extra_rows as u64 * cols) as u32);
    data.extend(std::iter::repeat_n(0xAB, partial));
    write_npy(&p, "'<f8'", false, shape, &data);
    p
}

// ---------------------------------------------------------------------------
// numpy's test arrays

#[test]
fn numpy_cases_header_one_row_behind() {
    let Some(py) = python() else { return };
    let d = tempdir();
    let cases = repairable_cases(py, d.path());
    let mut jobs = vec![];
    for (c, orig) in &cases {
        let name = c["name"].as_str().unwrap();
        let h = header_of(orig);
        let ax = h.growth_axis().unwrap();
        let n = h.shape[ax];
        let f = format!("behind_{name}.npy");
        let p = d.path().join(&f);
        fs::write(&p, with_rows(orig, n - 1)).unwrap();

        let snap = Snapshot::of(&p);
        run(d.path(), &["repair", "--check", &f])
            .expect_code(1)
            .stdout_has(&format!("{f}: needs repair: header says {} row", n - 1))
            .stdout_has(&format!("{n} whole row"));
        snap.unchanged();

        run(d.path(), &["repair", &f])
            .ok()
            .stdout_has(&format!("{f}: header said {} row", n - 1));
        // The header is rewritten at numpy's own length: numpy's file again.
        assert!(
            fs::read(&p).unwrap() == *orig,
            "{name}: not byte-identical to np.save"
        );
        run(d.path(), &["repair", "--check", &f])
            .ok()
            .stdout_has("ok, nothing to do");
        jobs.push(json!({"file": p, "orig": d.path().join(c["file"].as_str().unwrap()), "axis": ax, "rows": n}));
    }
    numpy_check(py, d.path(), &jobs);
}

#[test]
fn numpy_cases_cut_in_the_middle_of_the_last_row() {
    let Some(py) = python() else { return };
    let d = tempdir();
    let cases = repairable_cases(py, d.path());
    let mut jobs = vec![];
    for (c, orig) in &cases {
        let name = c["name"].as_str().unwrap();
        let h = header_of(orig);
        let ax = h.growth_axis().unwrap();
        let n = h.shape[ax];
        let row = h.row_bytes().unwrap();
        let partial = row / 2;
        let cut = (h.header_len + (n - 1) * row + partial) as usize;
        let orig_path = d.path().join(c["file"].as_str().unwrap());

        // Dropping the partial row.
        let f = format!("cut_{name}.npy");
        let p = d.path().join(&f);
        fs::write(&p, &orig[..cut]).unwrap();
        let snap = Snapshot::of(&p);
        let chk = run(d.path(), &["repair", "--check", &f]);
        chk.expect_code(1)
            .stdout_has(&format!("{f}: needs repair: header says {n} row"));
        if partial > 0 {
            chk.stdout_has(&format!("would drop {partial} byte"));
        }
        snap.unchanged();
        let r = run(d.path(), &["repair", &f]);
        r.ok();
        if partial > 0 {
            r.stdout_has(&format!("dropped {partial} byte"));
        }
        let got = fs::read(&p).unwrap();
        let mut l = h.layout();
        l.shape[ax] = n - 1;
        let hdr = l.to_npy_header();
        assert_eq!(hdr.len() as u64, h.header_len, "{name}");
        assert!(got[..hdr.len()] == hdr[..], "{name}: header is not numpy's");
        assert!(
            got[hdr.len()..] == orig[hdr.len()..hdr.len() + ((n - 1) * row) as usize],
            "{name}: data"
        );
        run(d.path(), &["repair", "--check", &f]).ok();
        jobs.push(json!({"file": p, "orig": orig_path, "axis": ax, "rows": n - 1}));

        // --zero-fill: every byte kept, the last row completed with zeros.
        if partial > 0 {
            let f = format!("zero_{name}.npy");
            let p = d.path().join(&f);
            fs::write(&p, &orig[..cut]).unwrap();
            run(d.path(), &["repair", "--zero-fill", &f])
                .ok()
                .stdout_has(&format!("completed a partial row of {partial} byte"));
            let got = fs::read(&p).unwrap();
            assert_eq!(got.len(), orig.len(), "{name}");
            assert!(
                got[..cut] == orig[..cut],
                "{name}: bytes before the cut changed"
            );
            assert!(got[cut..].iter().all(|&b| b == 0), "{name}: tail not zeros");
            jobs.push(json!({"file": p, "shape": h.shape}));
            if n > 1 {
                jobs.push(json!({"file": p, "orig": orig_path, "axis": ax, "rows": n - 1, "prefix": true}));
            }
        }
    }
    numpy_check(py, d.path(), &jobs);
}

/// npy-append-array with `rewrite_header_on_append=False` updates the header
/// only on close: a writer killed before that leaves the header behind.
/// (Skipped where the package is not installed: CI installs numpy only.)
#[test]
fn npy_append_array_killed_before_close() {
    let Some(py) = python() else { return };
    const SCRIPT: &str = r#"
import os, sys
import numpy as np
from npy_append_array import NpyAppendArray
d = sys.argv[1]
keep = []  # a collected NpyAppendArray closes itself, writing its header
for name, order in (("c", "C"), ("f", "F")):
    parts = [np.asarray(np.arange(k, k + 6 * n, dtype="<i4").reshape(n, 6).T, order=order) if order == "F"
             else np.arange(k, k + 3 * n, dtype="<i4").reshape(n, 3) for k, n in ((0, 4), (100, 2), (200, 5))]
    axis = -1 if order == "F" else 0
    np.save(os.path.join(d, name + "_expected.npy"), np.concatenate(parts, axis=axis))
    a = NpyAppendArray(os.path.join(d, name + ".npy"), rewrite_header_on_append=False)
    for p in parts:
        a.append(p)
    a.fp.flush()
    keep.append(a)
os._exit(0)  # killed: no close(), no header update
"#;
    let have = Command::new(py)
        .args(["-c", "import npy_append_array"])
        .output();
    if !have.is_ok_and(|o| o.status.success()) {
        eprintln!("note: npy_append_array not installed; skipping");
        return;
    }
    let d = tempdir();
    let out = Command::new(py)
        .args(["-c", SCRIPT])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(d.path(), &["repair", "--check", "c.npy", "f.npy"]).expect_code(1);
    run(d.path(), &["repair", "c.npy", "f.npy"])
        .ok()
        .stdout_has("c.npy: header said 4 rows, 11 whole rows present: shape (4, 3) -> (11, 3)\n")
        .stdout_has("f.npy: header said 4 rows, 11 whole rows present: shape (6, 4) -> (6, 11)\n");
    for n in ["c", "f"] {
        let got = d.path().join(format!("{n}.npy"));
        assert_np_equal(py, &got, &d.path().join(format!("{n}_expected.npy")));
    }
}

/// Fortran order grows along the last axis: a "row" is one step along it.
#[test]
fn fortran_rows_are_steps_along_the_last_axis() {
    let d = tempdir();
    let p = d.path().join("f.npy");
    // (2, 3, 5) in Fortran order, with data for (2, 3, 6) and 10 more bytes.
    let mut data = f8_bytes(0..36);
    data.extend([7u8; 10]);
    write_npy(&p, "'<f8'", true, &[2, 3, 5], &data);
    run(d.path(), &["repair", "f.npy"])
        .ok()
        .stdout_has("f.npy: header said 5 rows, 6 whole rows present: shape (2, 3, 5) -> (2, 3, 6); dropped 10 bytes of a partial row (rows are 48 bytes)");
    let got = fs::read(&p).unwrap();
    let h = header_of(&got);
    assert_eq!(h.shape, vec![2, 3, 6]);
    assert!(h.fortran_order);
    assert!(got[h.header_len as usize..] == data[..36 * 8]);
    if let Some(py) = python() {
        let v = np_load(py, &p);
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["shape"], json!([2, 3, 6]));
        assert_eq!(v["fortran_order"], true);
    }
}

// ---------------------------------------------------------------------------
// the contract's cases, one by one

#[test]
fn header_behind_grows_and_ahead_shrinks() {
    let d = tempdir();
    f8_file(d.path(), "behind.npy", &[100, 3], 3, 0);
    f8_file(d.path(), "partial.npy", &[4, 3], 0, 12);
    let ahead = f8_file(d.path(), "ahead.npy", &[5, 3], 0, 0);
    let b = fs::read(&ahead).unwrap();
    fs::write(&ahead, &b[..b.len() - 2 * 24]).unwrap();
    run(
        d.path(),
        &["repair", "behind.npy", "ahead.npy", "partial.npy"],
    )
    .ok()
    .stdout_has(
        "behind.npy: header said 100 rows, 103 whole rows present: shape (100, 3) -> (103, 3)\n",
    )
    .stdout_has("ahead.npy: header said 5 rows, 3 whole rows present: shape (5, 3) -> (3, 3)\n")
    .stdout_has(
        "partial.npy: header said 4 rows, 4 whole rows present; dropped 12 bytes of a partial row",
    );
    for (f, rows) in [("behind.npy", 103), ("ahead.npy", 3), ("partial.npy", 4)] {
        let p = d.path().join(f);
        assert_eq!(status(&p), FileStatus::Ok, "{f}");
        assert_eq!(header_of(&fs::read(&p).unwrap()).shape, vec![rows, 3]);
        if let Some(py) = python() {
            assert_eq!(np_load(py, &p)["shape"], json!([rows, 3]));
        }
    }
    // A header saying 0 rows grows too.
    f8_file(d.path(), "zero.npy", &[0, 2], 2, 0);
    run(d.path(), &["repair", "zero.npy"])
        .ok()
        .stdout_has("shape (0, 2) -> (2, 2)");
}

/// A repair in place changes the length first and the header second. A crash
/// between the two leaves a file that a second repair brings to the same
/// result as an uninterrupted one.
#[test]
fn a_repair_cut_between_its_two_writes_is_repairable() {
    let d = tempdir();
    let dir = d.path();
    // 5 rows declared, 3 whole rows and 10 bytes on disk.
    let full = f8_file(dir, "full.npy", &[5, 3], 0, 0);
    let b = fs::read(&full).unwrap();
    let cut = &b[..128 + 3 * 24 + 10];
    for (zero, mid_len) in [(false, 128 + 3 * 24), (true, 128 + 4 * 24)] {
        fs::write(dir.join("direct.npy"), cut).unwrap();
        let mut args = vec!["repair"];
        if zero {
            args.push("--zero-fill");
        }
        args.push("direct.npy");
        run(dir, &args).ok();
        // The state after the first write: new length, old header.
        let mut mid = cut.to_vec();
        mid.resize(mid_len, 0);
        fs::write(dir.join("mid.npy"), &mid).unwrap();
        run(dir, &["repair", "mid.npy"]).ok();
        assert!(
            fs::read(dir.join("mid.npy")).unwrap() == fs::read(dir.join("direct.npy")).unwrap(),
            "zero-fill {zero}"
        );
    }
}

#[test]
fn zero_fill_keeps_every_byte() {
    let d = tempdir();
    let p = f8_file(d.path(), "z.npy", &[4, 3], 1, 5);
    let before = fs::read(&p).unwrap();
    let snap = Snapshot::of(&p);
    run(d.path(), &["repair", "--check", "--zero-fill", "z.npy"])
        .expect_code(1)
        .stdout_has("would complete a partial row of 5 bytes with 19 zero bytes")
        .stdout_has("run `npy repair --zero-fill z.npy`");
    snap.unchanged();
    run(d.path(), &["repair", "--zero-fill", "z.npy"])
        .ok()
        .stdout_has("shape (4, 3) -> (6, 3); completed a partial row of 5 bytes with 19 zero bytes so no byte is lost");
    let after = fs::read(&p).unwrap();
    let h = header_of(&after);
    assert_eq!(h.shape, vec![6, 3]);
    assert!(after[h.header_len as usize..before.len()] == before[h.header_len as usize..]);
    assert!(after[before.len()..].iter().all(|&b| b == 0));
    assert_eq!(after.len(), before.len() + 19);
    // The header said enough rows already: only the length changes.
    let p = f8_file(d.path(), "y.npy", &[5, 3], 0, 0);
    let b = fs::read(&p).unwrap();
    fs::write(&p, &b[..b.len() - 4]).unwrap();
    run(d.path(), &["repair", "--zero-fill", "y.npy"])
        .ok()
        .stdout_has("y.npy: header said 5 rows, 4 whole rows present; completed a partial row of 20 bytes with 4 zero bytes");
    let a = fs::read(&p).unwrap();
    assert_eq!(a.len(), b.len());
    assert!(a[..b.len() - 4] == b[..b.len() - 4] && a[b.len() - 4..] == [0; 4]);
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.path().join("z.npy"))["shape"], json!([6, 3]));
        assert_eq!(np_load(py, &p)["shape"], json!([5, 3]));
    }
}

/// A header written without spare room (as old writers did) cannot hold a
/// longer shape: the file is rewritten beside itself and renamed over it.
#[test]
fn header_that_must_grow_is_rewritten() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempdir();
    let p = d.path().join("tight.npy");
    let l = Layout::new(pylit::parse("'<i2'").unwrap(), false, vec![9, 2]).unwrap();
    let text_len = l.dict_text().len() as u64;
    let v1 = header_of(&l.to_npy_header()).version;
    let hdr = l.to_header_of_len(v1, 10 + text_len + 1).unwrap();
    let data: Vec<u8> = (0..40u8).collect(); // 10 rows of 2 x i2
    let mut bytes = hdr.clone();
    bytes.extend(&data);
    fs::write(&p, &bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    let snap = Snapshot::of(&p);
    run(d.path(), &["repair", "--check", "tight.npy"])
        .expect_code(1)
        .stdout_has("would rewrite into a new file with a larger header");
    snap.unchanged();
    run(d.path(), &["repair", "tight.npy"])
        .ok()
        .stdout_has("shape (9, 2) -> (10, 2); rewrote into a new file");
    let got = fs::read(&p).unwrap();
    let mut l10 = l.clone();
    l10.shape = vec![10, 2];
    let h10 = l10.to_npy_header();
    assert!(got[..h10.len()] == h10[..]);
    assert!(got[h10.len()..] == data[..]);
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let names: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left: {names:?}");
    if let Some(py) = python() {
        let v = np_load(py, &p);
        assert_eq!(v["shape"], json!([10, 2]), "{v}");
    }
    // Through a symlink, the file it points to is replaced, not the link.
    fs::write(&p, &bytes).unwrap();
    std::os::unix::fs::symlink("tight.npy", d.path().join("link.npy")).unwrap();
    run(d.path(), &["repair", "link.npy"]).ok();
    assert!(fs::symlink_metadata(d.path().join("link.npy"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read(&p).unwrap() == got);
}

/// npyz writing an array of unknown length leaves `*` where the shape goes
/// until it finishes (`FILLER_FOR_UNKNOWN_SIZE` in npyz `src/write.rs`:
/// `'shape': (` + 19 `*` + `,), }`, padded with spaces to 64, then `\n`).
fn npyz_unfinished(descr: &str, shape_text: &str, data: &[u8]) -> Vec<u8> {
    let mut text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape_text}, }}")
        .into_bytes();
    let pad = 64 - 1 - ((text.len() + 10) % 64);
    text.extend(std::iter::repeat_n(b' ', pad));
    text.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text);
    out.extend_from_slice(data);
    out
}

#[test]
fn npyz_star_placeholder() {
    let d = tempdir();
    let data = f8_bytes(0..7);
    let mut with_partial = data.clone();
    with_partial.extend([1, 2, 3]);
    let p = d.path().join("npyz.npy");
    fs::write(
        &p,
        npyz_unfinished("'<f8'", "(*******************,)", &with_partial),
    )
    .unwrap();
    let snap = Snapshot::of(&p);
    run(d.path(), &["repair", "--check", "npyz.npy"])
        .expect_code(1)
        .stdout_has("npyz.npy: needs repair: shape left as a `*` placeholder by a writer that did not finish, 7 whole rows present: would write a header with shape (7,); would drop 3 bytes");
    snap.unchanged();
    run(d.path(), &["repair", "npyz.npy"])
        .ok()
        .stdout_has("header now says shape (7,)");
    let got = fs::read(&p).unwrap();
    let h = header_of(&got);
    assert_eq!(h.shape, vec![7]);
    assert_eq!(h.header_len, 128);
    assert!(got[128..] == data[..]);
    // An N-d one, `(*****, 3)`.
    let q = d.path().join("nd.npy");
    fs::write(&q, npyz_unfinished("'<i4'", "(*****, 3)", &[5u8; 12 * 4])).unwrap();
    run(d.path(), &["repair", "nd.npy"])
        .ok()
        .stdout_has("shape (4, 3)");
    assert_eq!(status(&q), FileStatus::Ok);
    if let Some(py) = python() {
        assert_eq!(np_load(py, &p)["shape"], json!([7]));
        assert_eq!(np_load(py, &q)["shape"], json!([4, 3]));
    }
}

/// The same, from the real crate: tests/fixtures/repair/README.md says how
/// the file was made.
#[test]
fn npyz_unfinished_fixture() {
    let d = tempdir();
    let p = d.path().join("npyz.npy");
    fs::copy(repo().join("tests/fixtures/repair/npyz_unfinished.npy"), &p).unwrap();
    run(d.path(), &["repair", "npyz.npy"])
        .ok()
        .stdout_has("npyz.npy: shape left as a `*` placeholder by a writer that did not finish, 1008 whole rows present: header now says shape (1008,)\n");
    let got = fs::read(&p).unwrap();
    let h = header_of(&got);
    assert_eq!(h.shape, vec![1008]);
    assert!(got[h.header_len as usize..] == f8_bytes(0..1008)[..]);
    if let Some(py) = python() {
        assert_eq!(np_load(py, &p)["shape"], json!([1008]));
    }
}

#[test]
fn like_a_sibling_when_the_header_is_unreadable() {
    let d = tempdir();
    let r = f8_file(d.path(), "ref.npy", &[4, 3], 0, 0);
    let p = f8_file(d.path(), "broken.npy", &[2, 3], 3, 7);
    let mut b = fs::read(&p).unwrap();
    b[..128].fill(0); // a header lost to a crash
    fs::write(&p, &b).unwrap();
    let snap = Snapshot::of(&p);
    run(d.path(), &["repair", "broken.npy"])
        .fails()
        .stderr_has("npy: broken.npy: not a .npy file")
        .stderr_has("--like");
    snap.unchanged();
    run(d.path(), &["repair", "--check", "--like", "ref.npy", "broken.npy"])
        .expect_code(1)
        .stdout_has("assuming the layout of ref.npy (dtype '<f8', C order, trailing dims, header 128 bytes), 5 whole rows present: would write a header with shape (5, 3)");
    snap.unchanged();
    run(d.path(), &["repair", "--like", "ref.npy", "broken.npy"])
        .ok()
        .stdout_has("broken.npy: no readable header (zeros where the header should be)")
        .stdout_has("assumed the layout of ref.npy")
        .stdout_has("dropped 7 bytes");
    let got = fs::read(&p).unwrap();
    let h = header_of(&got);
    assert_eq!(h.shape, vec![5, 3]);
    assert!(got[128..] == b[128..128 + 5 * 24]);
    let _ = r;
    if let Some(py) = python() {
        assert_eq!(np_load(py, &p)["shape"], json!([5, 3]));
    }
    // A readable header wins over --like; a file of zeros shorter than the
    // reference's header (a header that never reached the disk, no data
    // after it) becomes an empty array; a bad reference fails before any
    // file is touched.
    f8_file(d.path(), "fine.npy", &[2, 5], 0, 0);
    run(d.path(), &["repair", "--like", "ref.npy", "fine.npy"])
        .ok()
        .stdout_has("fine.npy: ok, nothing to do");
    fs::write(d.path().join("short.npy"), [0u8; 50]).unwrap();
    run(d.path(), &["repair", "--like", "ref.npy", "short.npy"])
        .ok()
        .stdout_has("0 whole rows present: header now says shape (0, 3)")
        .stdout_has("wrote a new file (this one is shorter than the header)");
    assert_eq!(
        header_of(&fs::read(d.path().join("short.npy")).unwrap()).shape,
        vec![0, 3]
    );
    fs::write(d.path().join("junk.npy"), b"junk").unwrap();
    run(d.path(), &["repair", "--like", "junk.npy", "broken.npy"])
        .fails()
        .stderr_has("npy: junk.npy: cannot serve as --like reference");
}

#[test]
fn refusals_leave_files_byte_for_byte_unchanged() {
    let d = tempdir();
    let dir = d.path();
    // Stacked: np.save called twice on one open file.
    let a = f8_file(dir, "a.npy", &[2, 3], 0, 0);
    let mut st = fs::read(&a).unwrap();
    st.extend(fs::read(&a).unwrap());
    fs::write(dir.join("stacked.npy"), &st).unwrap();
    // Rows that happen to start with the magic: not guessed at.
    let mut mt = fs::read(&a).unwrap();
    mt.extend(b"\x93NUMPY\x01\x00garbage.");
    fs::write(dir.join("magic_tail.npy"), &mt).unwrap();
    // Object dtype (pickled payload), its header behind.
    let obj_hdr = Layout::new(pylit::parse("'|O'").unwrap(), false, vec![1])
        .unwrap()
        .to_npy_header();
    let mut obj = obj_hdr.clone();
    obj.extend(b"\x80\x04\x95pickled...");
    fs::write(dir.join("object.npy"), &obj).unwrap();
    // 0-d with too many bytes, 0-byte rows with extra bytes.
    write_npy(&dir.join("zerod.npy"), "'<f8'", false, &[], &[0; 12]);
    write_npy(&dir.join("zerowidth.npy"), "'<f8'", false, &[3, 0], &[0; 5]);
    // Malformed headers.
    fs::write(dir.join("empty.npy"), b"").unwrap();
    fs::write(dir.join("text.npy"), b"hello world, not numpy at all").unwrap();
    fs::write(dir.join("version.npy"), b"\x93NUMPY\x09\x00\x10\x00{}").unwrap();
    let mut past = fs::read(&a).unwrap();
    past[8] = 0xff;
    past[9] = 0x7f;
    fs::write(dir.join("past.npy"), &past).unwrap();
    let mut dict = fs::read(&a).unwrap();
    dict[12..17].copy_from_slice(b"XXXXX");
    fs::write(dir.join("dict.npy"), &dict).unwrap();
    let cases = [
        ("stacked.npy", "`npy convert-stacked`"),
        ("magic_tail.npy", "start with the .npy magic"),
        ("object.npy", "pickled Python objects"),
        ("zerod.npy", "0-d array"),
        ("zerowidth.npy", "0 bytes"),
        ("empty.npy", "file is empty"),
        ("text.npy", "not a .npy file"),
        ("version.npy", "unsupported .npy format version 9.0"),
        ("past.npy", "past the end of the file"),
        ("dict.npy", "malformed header"),
    ];
    for (f, why) in cases {
        let snap = Snapshot::of(&dir.join(f));
        for args in [
            vec!["repair", f],
            vec!["repair", "--check", f],
            vec!["repair", "--zero-fill", f],
        ] {
            run(dir, &args)
                .fails()
                .stderr_has(&format!("npy: {f}: "))
                .stderr_has(why)
                .stderr_has("nothing changed");
            snap.unchanged();
        }
    }
    // Object refused even with --like, since its header is readable.
    run(dir, &["repair", "--like", "a.npy", "object.npy"])
        .fails()
        .stderr_has("pickled");
    // A missing file and a directory.
    run(dir, &["repair", "missing.npy"])
        .fails()
        .stderr_has("npy: missing.npy: cannot open");
    fs::create_dir(dir.join("sub")).unwrap();
    run(dir, &["repair", "sub"])
        .fails()
        .stderr_has("npy: sub: is a directory");
    // A stream, and a FIFO (opening it would wait for a writer).
    run(dir, &["repair", "-"])
        .fails()
        .stderr_has("npy: -: a stream cannot be repaired");
    let fifo = Command::new("mkfifo").arg(dir.join("fifo.npy")).status();
    if fifo.is_ok_and(|s| s.success()) {
        run(dir, &["repair", "fifo.npy"])
            .fails()
            .stderr_has("npy: fifo.npy: not a regular file");
    }
}

#[test]
fn several_files_each_on_its_own() {
    let d = tempdir();
    let dir = d.path();
    f8_file(dir, "ok.npy", &[3, 2], 0, 0);
    f8_file(dir, "behind.npy", &[3, 2], 1, 0);
    fs::write(dir.join("bad.npy"), b"nope").unwrap();
    let ok = Snapshot::of(&dir.join("ok.npy"));
    let bad = Snapshot::of(&dir.join("bad.npy"));
    let r = run(dir, &["repair", "ok.npy", "bad.npy", "behind.npy"]);
    r.expect_code(1)
        .stdout_has("ok.npy: ok, nothing to do\n")
        .stdout_has("behind.npy: header said 3 rows, 4 whole rows present")
        .stderr_has("npy: bad.npy: ");
    assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
    ok.unchanged();
    bad.unchanged();
    assert_eq!(status(&dir.join("behind.npy")), FileStatus::Ok);
    run(dir, &["repair", "--check", "ok.npy", "behind.npy"]).ok();
}

#[test]
fn nothing_to_do_touches_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempdir();
    let p = f8_file(d.path(), "ro.npy", &[3, 2], 0, 0);
    let snap = Snapshot::of(&p);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o444)).unwrap();
    run(d.path(), &["repair", "ro.npy"])
        .ok()
        .stdout_has("ro.npy: ok, nothing to do");
    run(d.path(), &["repair", "--check", "ro.npy"]).ok();
    snap.unchanged();
}

/// repair takes the lock `npy append` takes: while another process holds it,
/// repair waits, and then works on what is there.
#[test]
fn waits_for_the_append_lock() {
    let d = tempdir();
    let p = f8_file(d.path(), "busy.npy", &[3, 2], 1, 0);
    let holder = fs::File::open(&p).unwrap();
    holder.lock().unwrap();
    let mut child = Command::new(bin())
        .args(["repair", "busy.npy"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        child.try_wait().unwrap().is_none(),
        "repair did not wait for the lock"
    );
    assert_eq!(header_of(&fs::read(&p).unwrap()).shape, vec![3, 2]);
    // The "append" finishes: it wrote its header.
    let b = fs::read(&p).unwrap();
    fs::write(&p, with_rows(&b, 4)).unwrap();
    holder.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "busy.npy: ok, nothing to do\n"
    );
}

/// Repair reads headers and sizes only: a 1 TiB (sparse) file repairs like a
/// small one.
#[test]
fn one_tib_sparse_file() {
    let d = tempdir();
    let p = d.path().join("big.npy");
    let l = Layout::new(pylit::parse("'<f8'").unwrap(), false, vec![5, 128]).unwrap();
    let hdr = l.to_npy_header();
    fs::write(&p, &hdr).unwrap();
    let f = fs::File::options().write(true).open(&p).unwrap();
    if f.set_len(hdr.len() as u64 + (1u64 << 40) + 100).is_err() {
        eprintln!("note: no sparse 1 TiB file on this filesystem; skipped");
        return;
    }
    drop(f);
    let t = std::time::Instant::now();
    run(d.path(), &["repair", "big.npy"])
        .ok()
        .stdout_has("header said 5 rows, 1073741824 whole rows present: shape (5, 128) -> (1073741824, 128); dropped 100 bytes");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let m = fs::metadata(&p).unwrap();
    assert_eq!(m.len(), hdr.len() as u64 + (1u64 << 40));
    assert_eq!(status(&p), FileStatus::Ok);
}

// ---------------------------------------------------------------------------
// random damage: repaired or refused, never a panic

#[test]
fn random_damage_is_repaired_or_refused() {
    let d = tempdir();
    let dir = d.path();
    let bases: Vec<(Vec<u8>, &str)> = {
        let mut v = vec![];
        for (descr, fortran_order, shape) in [
            ("'<f8'", false, vec![6u64, 3]),
            ("'>i2'", true, vec![2, 3, 5]),
            ("[('a', '<i4'), ('b', '|S3', (2,))]", false, vec![7]),
            ("'|u1'", false, vec![11, 1]),
        ] {
            let l = Layout::new(pylit::parse(descr).unwrap(), fortran_order, shape).unwrap();
            let mut b = l.to_npy_header();
            let n = l.data_bytes().unwrap() as usize;
            b.extend((0..n).map(|i| (i * 7 % 251) as u8));
            v.push((b, descr));
        }
        v
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut fixed = vec![];
    let (mut n_fixed, mut n_refused) = (0, 0);
    for i in 0..120 {
        let (base, descr) = &bases[rng.below(bases.len() as u64) as usize];
        let h = header_of(base);
        let mut b = base.clone();
        match rng.below(5) {
            0 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
            1 => b.extend((0..rng.below(200)).map(|_| rng.next() as u8)),
            2 | 3 => {
                // Edit the shape (any dims) within the header's length.
                let mut l = h.layout();
                for dim in l.shape.iter_mut() {
                    if rng.below(2) == 0 {
                        let top = if rng.below(8) == 0 { u64::MAX } else { 20 };
                        *dim = rng.below(top);
                    }
                }
                if let Some(hdr) = l.to_header_of_len(h.version, h.header_len) {
                    b[..hdr.len()].copy_from_slice(&hdr);
                }
                if rng.below(2) == 0 {
                    b.truncate(rng.below(b.len() as u64 + 1) as usize);
                }
            }
            _ => {
                let k = rng.below(h.header_len) as usize;
                b[k] = rng.next() as u8;
            }
        }
        let f = format!("r{i}.npy");
        let p = dir.join(&f);
        fs::write(&p, &b).unwrap();
        let zero = rng.below(3) == 0;
        let mut args = vec!["repair"];
        if zero {
            args.push("--zero-fill");
        }
        args.push(&f);
        let r = run(dir, &args);
        assert!(
            !r.stderr().contains("panicked"),
            "{descr} case {i}: {}",
            r.stderr()
        );
        match r.code() {
            0 => {
                n_fixed += 1;
                assert_eq!(
                    status(&p),
                    FileStatus::Ok,
                    "case {i} ({descr}): {}",
                    r.stdout()
                );
                let after = fs::read(&p).unwrap();
                // Whole rows kept: the data is a prefix of what was there
                // (plus zeros with --zero-fill).
                let ha = header_of(&after);
                let (da, db) = (
                    &after[ha.header_len as usize..],
                    &b[(h.header_len as usize).min(b.len())..],
                );
                let common = da.len().min(db.len());
                assert!(da[..common] == db[..common], "case {i}: data changed");
                assert!(
                    da[common..].iter().all(|&x| x == 0),
                    "case {i}: non-zero fill"
                );
                run(dir, &["repair", "--check", &f]).ok();
                fixed.push(json!({"file": p, "shape": ha.shape}));
            }
            1 => {
                n_refused += 1;
                assert!(
                    r.stderr().starts_with(&format!("npy: {f}: ")),
                    "case {i}: {}",
                    r.stderr()
                );
                assert!(fs::read(&p).unwrap() == b, "case {i}: refused but changed");
            }
            c => panic!("case {i} ({descr}): exit {c}\n{}", r.stderr()),
        }
    }
    assert!(
        n_fixed > 30 && n_refused > 5,
        "fixed {n_fixed}, refused {n_refused}"
    );
    if let Some(py) = python() {
        numpy_check(py, dir, &fixed);
    }
}

/// A header over a page long whose changed shape digits straddle a page
/// boundary is not patched in place (a kill could leave half of each page):
/// the file is rewritten and renamed instead, and loads with every row.
/// See: code review of 2026-11-30 (whole-header pwrite in repair).
#[test]
fn shape_straddling_a_page_boundary_is_rewritten_not_patched() {
    use std::os::unix::fs::MetadataExt;
    let d = tempdir();
    let dir = d.path();
    // Pad the descr with a long field name so the growth-axis digits of
    // shape (95, 1) start at byte 4095 of the file.
    let make = |name_len: usize, rows: u64| {
        let descr = format!("[('{}', '<f8')]", "n".repeat(name_len));
        Layout::new(pylit::parse(&descr).unwrap(), false, vec![rows, 1]).unwrap()
    };
    let probe = make(4000, 95).to_npy_header();
    let at = probe.windows(4).position(|w| w == b"(95,").unwrap() + 1;
    let name_len = 4000 + 4095 - at;
    let l = make(name_len, 95);
    let header = l.to_npy_header();
    assert_eq!(
        header.windows(4).position(|w| w == b"(95,").unwrap() + 1,
        4095
    );
    // Header says 95 rows; 105 whole rows follow (a killed appender).
    let mut bytes = header.clone();
    bytes.extend(f8_bytes(0..105));
    let f = dir.join("wide.npy");
    fs::write(&f, &bytes).unwrap();
    let ino = fs::metadata(&f).unwrap().ino();
    run(dir, &["repair", "wide.npy"])
        .ok()
        .stdout_has("shape (95, 1) -> (105, 1)");
    assert_ne!(
        fs::metadata(&f).unwrap().ino(),
        ino,
        "patched in place across a page"
    );
    let h = header_of(&fs::read(&f).unwrap());
    assert_eq!(h.shape, vec![105, 1]);
    assert_eq!(status(&f), FileStatus::Ok);
    let mut l2 = l.clone();
    l2.shape = vec![105, 1];
    let mut expect = l2.to_npy_header();
    expect.extend(f8_bytes(0..105));
    assert_eq!(fs::read(&f).unwrap(), expect);
}
