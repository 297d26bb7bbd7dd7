//! npy against numpy on files other writers make (cnpy, ndarray-npy, Go,
//! Julia, Python 2 numpy, hand-written headers) and on numpy's own
//! test_format.py cases: `inspect` says `ok` exactly when `np.load` reads the
//! file, and what concat/append/convert-stacked write is byte-identical to
//! `np.save` of the joined array, whatever wrote the inputs.
//!
//! The fixtures are committed in tests/fixtures/writers/, made by its
//! make.py; numpy's verdicts are computed live.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn writers() -> PathBuf {
    repo().join("tests/fixtures/writers")
}

/// Runs `make.py ARGS` and returns its stdout.
#[track_caller]
fn make(py: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg("-W")
        .arg("ignore")
        .arg(writers().join("make.py"))
        .args(args)
        .output()
        .expect("run make.py");
    assert!(
        out.status.success(),
        "make.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// A copy of the committed fixtures (make.py --verdicts writes beside them).
fn fixtures_copy() -> tempfile::TempDir {
    let d = tempdir();
    for e in std::fs::read_dir(writers()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, d.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    d
}

/// What `npy inspect --json` says of each file (one run over all of them):
/// `Some((status, note))`, or `None` when it refuses the file as not a
/// readable `.npy` (and names it on stderr).
fn inspect_all(dir: &Path, files: &[&str]) -> Vec<Option<(String, bool)>> {
    let mut args = vec!["inspect", "--json"];
    args.extend(files);
    let r = run(dir, &args);
    assert_ne!(r.code(), 101, "inspect panicked: {}", r.stderr());
    let seen: std::collections::HashMap<String, (String, bool)> = r
        .json_lines()
        .into_iter()
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_string(),
                (
                    v["status"].as_str().unwrap().to_string(),
                    v.get("note").is_some(),
                ),
            )
        })
        .collect();
    let err = r.stderr();
    files
        .iter()
        .map(|f| {
            let s = seen.get(*f).cloned();
            if s.is_none() {
                assert!(
                    err.contains(&format!("npy: {f}: ")),
                    "{f}: neither JSON nor an error"
                );
            }
            s
        })
        .collect()
}

/// For every case of `dir`'s manifest: inspect's `ok` is np.load's verdict
/// (with max_header_size raised), and the note about max_header_size
/// appears exactly when np.load needs it. Returns numpy's verdicts.
///
/// One deliberate difference: a top-level subarray descr (`'2i4'`,
/// `('<i2', (2,))`) is refused even where np.load happens to read the file
/// (a subarray of one element, or an array of none), as an array of the
/// subarray's base type; the manifest marks those cases.
fn check_statuses(py: &str, dir: &Path) -> Value {
    let v: Value = serde_json::from_str(&make(py, &["--verdicts", dir.to_str().unwrap()])).unwrap();
    let mut wrong = Vec::new();
    let m = manifest(dir);
    let cases = m["cases"].as_array().unwrap();
    let files: Vec<&str> = cases.iter().map(|c| c["file"].as_str().unwrap()).collect();
    for (c, ours) in cases.iter().zip(inspect_all(dir, &files)) {
        let name = c["name"].as_str().unwrap();
        let np = &v["cases"][name];
        let loads = np["big"].as_bool().unwrap();
        let subarray = c["subarray"].as_bool().unwrap_or(false) || c.get("known").is_some();
        let needs_limit = loads && !np["default"].as_bool().unwrap();
        let ok = matches!(&ours, Some((s, _)) if s == "ok");
        let note = matches!(&ours, Some((_, true)));
        if ok != (loads && !subarray) || (note != needs_limit && !subarray) {
            wrong.push(format!(
                "{name} ({}): np.load {} {}; npy inspect says {ours:?}",
                c["why"].as_str().unwrap_or(""),
                if loads { "reads it" } else { "refuses it" },
                np["big_error"].as_str().unwrap_or(""),
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "inspect disagrees with np.load:\n{}",
        wrong.join("\n")
    );
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    v
}

#[test]
fn committed_fixtures_are_what_make_py_writes() {
    let Some(py) = python() else { return };
    let d = tempdir();
    make(py, &[d.path().to_str().unwrap()]);
    let committed: Vec<_> = dir_listing(&writers())
        .into_iter()
        .filter(|(n, _)| n.ends_with(".npy") || n == "manifest.json")
        .collect();
    assert_eq!(dir_listing(d.path()), committed);
}

#[test]
fn inspect_ok_exactly_when_np_load_reads_other_writers_files() {
    let Some(py) = python() else { return };
    let d = fixtures_copy();
    check_statuses(py, d.path());
}

#[test]
fn inspect_ok_exactly_when_np_load_reads_numpys_test_format_cases() {
    let Some(py) = python() else { return };
    let d = tempdir();
    make(py, &["--numpy-tests", d.path().to_str().unwrap()]);
    check_statuses(py, d.path());
    let n = manifest(d.path())["cases"].as_array().unwrap().len();
    assert!(n >= 100, "only {n} cases mined from test_format.py");
}

#[test]
fn joins_are_byte_identical_to_np_save_whatever_wrote_the_inputs() {
    let Some(py) = python() else { return };
    let d = fixtures_copy();
    let dir = d.path();
    let v = check_statuses(py, dir);
    let m = manifest(dir);
    for j in m["joins"].as_array().unwrap() {
        let name = j["name"].as_str().unwrap();
        let inputs: Vec<String> = j["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{}.npy", i.as_str().unwrap()))
            .collect();
        let want = std::fs::read(v["joins"][name].as_str().unwrap()).unwrap();
        let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();

        let out = format!("concat_{name}.npy");
        let mut args = vec!["concat", "-o", &out];
        args.extend(&ins);
        run(dir, &args).ok();
        assert!(
            std::fs::read(dir.join(&out)).unwrap() == want,
            "concat {name}"
        );

        // A new TARGET is created with the descr np.save writes.
        let out = format!("append_{name}.npy");
        let mut args = vec!["append", &out];
        args.extend(&ins);
        run(dir, &args).ok();
        assert!(
            std::fs::read(dir.join(&out)).unwrap() == want,
            "append {name}"
        );

        // Appending onto a file np.save wrote, from other writers' files.
        let out = format!("onto_{name}.npy");
        let first = format!("concat_first_{name}.npy");
        run(dir, &["concat", "-o", &first, ins[0]]).ok();
        std::fs::rename(dir.join(&first), dir.join(&out)).unwrap();
        let mut args = vec!["append", &out];
        args.extend(&ins[1..]);
        run(dir, &args).ok();
        assert!(
            std::fs::read(dir.join(&out)).unwrap() == want,
            "append onto {name}"
        );

        // The same arrays saved back to back on one handle.
        let stacked: Vec<u8> = ins
            .iter()
            .flat_map(|i| std::fs::read(dir.join(i)).unwrap())
            .collect();
        let st = format!("stacked_{name}.npy");
        std::fs::write(dir.join(&st), stacked).unwrap();
        let out = format!("converted_{name}.npy");
        let axis0 = ["convert-stacked", &st, "-o", &out, "--axis", "0"];
        run(dir, &axis0).ok();
        assert!(
            std::fs::read(dir.join(&out)).unwrap() == want,
            "convert-stacked {name}"
        );
    }
}

#[test]
fn different_dtypes_to_numpy_are_refused() {
    let Some(py) = python() else { return };
    let _ = py;
    let d = fixtures_copy();
    let dir = d.path();
    for j in manifest(dir)["refused_joins"].as_array().unwrap() {
        let ins: Vec<String> = j["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{}.npy", i.as_str().unwrap()))
            .collect();
        run(dir, &["concat", "-o", "out.npy", &ins[0], &ins[1]])
            .fails()
            .stderr_has("differs");
        assert!(!dir.join("out.npy").exists());
        let before = std::fs::read(dir.join(&ins[0])).unwrap();
        run(dir, &["append", &ins[0], &ins[1]])
            .fails()
            .stderr_has("differs");
        assert_eq!(std::fs::read(dir.join(&ins[0])).unwrap(), before);
    }
}

#[test]
fn raw_dtype_takes_what_np_dtype_takes() {
    let Some(py) = python() else { return };
    let d = tempdir();
    let dir = d.path();
    std::fs::write(dir.join("rows.bin"), f8_bytes(0..6)).unwrap();
    for (i, t) in ["float64", "f8", "d", "<f8", "double", "=f8"]
        .iter()
        .enumerate()
    {
        let out = format!("r{i}.npy");
        run(
            dir,
            &[
                "append", &out, "--raw", "--dtype", t, "--shape", "2", "rows.bin",
            ],
        )
        .ok();
        let v = np_load(py, &dir.join(&out));
        assert_eq!(v["descr"], "<f8", "--dtype {t}");
        assert_eq!(v["shape"], serde_json::json!([3, 2]), "--dtype {t}");
    }
    let r = run(
        dir,
        &["append", "u.npy", "--raw", "--dtype", "u1", "rows.bin"],
    );
    r.ok();
    assert_eq!(np_load(py, &dir.join("u.npy"))["descr"], "|u1");
    for bad in ["('<f8',(2,))", "2f8", "nonsense", "<f12"] {
        run(
            dir,
            &["append", "x.npy", "--raw", "--dtype", bad, "rows.bin"],
        )
        .fails()
        .stderr_has("float64");
        assert!(!dir.join("x.npy").exists(), "--dtype {bad} left a file");
    }
}

#[test]
fn repr_escapes_what_python_str_isprintable_rejects() {
    let Some(py) = python() else { return };
    use npy_tools::npy::printable::{NOT_PRINTABLE, UNICODE_VERSION};
    let out = Command::new(py)
        .args([
            "-c",
            "import unicodedata, json, sys\n\
             r = []; s = None\n\
             for cp in range(0x110000):\n\
             \x20   bad = not chr(cp).isprintable()\n\
             \x20   if bad and s is None: s = cp\n\
             \x20   elif not bad and s is not None: r.append((s, cp - 1)); s = None\n\
             if s is not None: r.append((s, 0x10FFFF))\n\
             json.dump({'version': unicodedata.unidata_version, 'ranges': r}, sys.stdout)",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    if v["version"] != UNICODE_VERSION {
        eprintln!(
            "note: this Python has Unicode {}, the table {UNICODE_VERSION}; not compared",
            v["version"]
        );
        return;
    }
    let theirs: Vec<(u32, u32)> = serde_json::from_value(v["ranges"].clone()).unwrap();
    assert_eq!(theirs, NOT_PRINTABLE.to_vec());
}

#[test]
fn every_descr_string_read_and_written_as_numpy_does() {
    let Some(py) = python() else { return };
    let d = tempdir();
    let dir = d.path();
    make(py, &["--dtype-strings", dir.to_str().unwrap()]);
    let v = check_statuses(py, dir);
    let n = manifest(dir)["cases"].as_array().unwrap().len();
    assert!(n >= 500, "only {n} descr strings");
    // What numpy loads, npy rewrites with the descr np.save writes.
    let mut wrong = Vec::new();
    for j in manifest(dir)["joins"].as_array().unwrap() {
        let name = j["name"].as_str().unwrap();
        let want = std::fs::read(v["joins"][name].as_str().unwrap()).unwrap();
        let out = format!("{name}.out.npy");
        if run(dir, &["concat", "-o", &out, &format!("{name}.npy")]).code() != 0
            || std::fs::read(dir.join(&out)).unwrap() != want
        {
            wrong.push(name.to_string());
        }
    }
    assert!(wrong.is_empty(), "rewritten unlike np.save: {wrong:?}");
}

#[test]
fn headers_over_np_loads_limit_go_through_every_command() {
    let Some(py) = python() else { return };
    let d = fixtures_copy();
    let dir = d.path();
    // A writer died after the data of two more rows, before the header.
    let mut grown = std::fs::read(dir.join("wide_700.npy")).unwrap();
    let row = std::fs::read(dir.join("wide_700_b.npy")).unwrap();
    let h = npy_tools::npy::read_header(&mut &row[..]).unwrap().unwrap();
    let data = &row[h.header_len as usize..];
    grown.extend_from_slice(data);
    grown.extend_from_slice(data);
    grown.extend_from_slice(&data[..100]);
    std::fs::write(dir.join("grown.npy"), &grown).unwrap();
    run(dir, &["repair", "--zero-fill", "grown.npy"]).ok();
    let v = np_load(py, &dir.join("grown.npy"));
    assert_eq!(v["shape"], serde_json::json!([5]));
    let r = run(dir, &["inspect", "--json", "grown.npy"]);
    let j = &r.json_lines()[0];
    assert_eq!(j["status"], "ok");
    assert!(j["note"].as_str().unwrap().contains("max_header_size"));
    run(dir, &["inspect", "--check", "grown.npy"]).ok();
    run(dir, &["inspect", "grown.npy"])
        .ok()
        .stdout_has("max_header_size");
}

#[test]
fn random_headers_read_as_np_load_reads_them() {
    let Some(py) = python() else { return };
    let d = tempdir();
    let dir = d.path().to_str().unwrap();
    // A fixed seed keeps failures reproducible; thousands of headers cover
    // the combinations of quoting, comments, line breaks (\r too), Python 2
    // suffixes and repeated keys in every header version.
    make(py, &["--random-headers", dir, "14", "4000"]);
    check_statuses(py, d.path());
}
