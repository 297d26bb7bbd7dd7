//! `npy inspect`: numpy's own files reported as numpy reads them, broken
//! files diagnosed, malformed files refused with exit 1 and no panic.

use crate::common::*;
use std::path::Path;

#[test]
fn json_matches_numpy_for_its_test_arrays() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let cases = numpy_cases(py, dir.path());
    let files: Vec<String> = cases
        .iter()
        .map(|c| c["file"].as_str().unwrap().to_string())
        .collect();
    let mut args = vec!["inspect", "--json", "--check"];
    args.extend(files.iter().map(String::as_str));
    let r = run(dir.path(), &args);
    let lines = r.json_lines();
    assert_eq!(lines.len(), cases.len());
    let any_object = cases.iter().any(|c| c["object"] == true);
    r.expect_code(if any_object { 1 } else { 0 });
    for (c, j) in cases.iter().zip(&lines) {
        let name = c["name"].as_str().unwrap();
        assert_eq!(j["path"], c["file"], "{name}");
        for key in [
            "descr",
            "shape",
            "fortran_order",
            "version",
            "header_len",
            "itemsize",
            "data_bytes",
        ] {
            assert_eq!(j[key], c[key], "{name}: {key}");
        }
        let want = if c["object"] == true { "object" } else { "ok" };
        assert_eq!(j["status"], want, "{name}");
        if want == "ok" {
            assert_eq!(j["expected_bytes"], c["data_bytes"], "{name}");
            assert!(j.get("message").is_none(), "{name}");
        }
    }
}

fn clean(dir: &Path, name: &str, rows: u32) -> Vec<u8> {
    write_npy(
        &dir.join(name),
        "'<f8'",
        false,
        &[rows as u64, 3],
        &f8_bytes(0..rows * 3),
    );
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn diagnoses_truncated_trailing_and_stacked() {
    let d = tempdir();
    let p = d.path();
    let full = clean(p, "ok.npy", 4);
    std::fs::write(p.join("cut.npy"), &full[..full.len() - 12]).unwrap();
    let mut extra = full.clone();
    extra.extend_from_slice(&f8_bytes(100..106));
    std::fs::write(p.join("behind.npy"), &extra).unwrap();
    let mut st = full.clone();
    st.extend_from_slice(&full);
    st.extend_from_slice(&full);
    std::fs::write(p.join("stacked.npy"), &st).unwrap();

    let r = run(
        p,
        &[
            "inspect",
            "--json",
            "ok.npy",
            "cut.npy",
            "behind.npy",
            "stacked.npy",
        ],
    );
    r.ok();
    let j = r.json_lines();
    assert_eq!(j[0]["status"], "ok");
    assert_eq!(j[1]["status"], "truncated");
    assert_eq!(j[1]["rows_present"], 3);
    assert_eq!(j[1]["partial_row_bytes"], 12);
    assert!(j[1]["message"].as_str().unwrap().contains("npy repair"));
    assert_eq!(j[2]["status"], "trailing");
    assert_eq!(j[2]["rows_present"], 6);
    assert!(j[2]["message"]
        .as_str()
        .unwrap()
        .contains("header says 4 rows, file holds 6"));
    assert_eq!(j[3]["status"], "stacked");
    assert_eq!(j[3]["arrays"], 3);
    assert_eq!(j[3]["convertible"], true);
    assert!(j[3]["message"]
        .as_str()
        .unwrap()
        .contains("convert-stacked"));

    run(p, &["inspect", "--check", "ok.npy"]).ok();
    run(p, &["inspect", "--check", "ok.npy", "cut.npy"]).expect_code(1);
    let h = run(p, &["inspect", "cut.npy"]);
    h.ok()
        .stdout_has("cut.npy: truncated")
        .stdout_has("header says 4 rows, file holds 3 whole rows and 12 of 24 bytes");
    run(p, &["inspect", "ok.npy"])
        .ok()
        .stdout_has("float64, little-endian ('<f8')");
}

#[test]
fn malformed_files_exit_1_naming_the_file() {
    let d = tempdir();
    let p = d.path();
    let good = clean(p, "good.npy", 2);
    let hdr = |dict: &str| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let body = format!("{dict}\n");
        b.extend_from_slice(&(body.len() as u16).to_le_bytes());
        b.extend_from_slice(body.as_bytes());
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.npy", vec![], "empty"),
        (
            "magic.npy",
            b"PK\x03\x04 not numpy".to_vec(),
            "not a .npy file",
        ),
        (
            "version.npy",
            b"\x93NUMPY\x04\x00\x10\x00{}".to_vec(),
            "version 4.0",
        ),
        ("short.npy", b"\x93NUMPY\x01".to_vec(), "ends inside"),
        (
            "past.npy",
            b"\x93NUMPY\x02\x00\xff\xff\xff\x0f{'descr'".to_vec(),
            "past the end",
        ),
        (
            "missing.npy",
            hdr("{'descr': '<f8', 'shape': (2,)}"),
            "missing key \"fortran_order\"",
        ),
        (
            "extra.npy",
            hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
            "unexpected key",
        ),
        (
            "descr.npy",
            hdr("{'descr': '<f3', 'fortran_order': False, 'shape': (2,)}"),
            "invalid descr",
        ),
        (
            "neg.npy",
            hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}"),
            "negative",
        ),
        (
            "huge.npy",
            hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
            "overflows",
        ),
        (
            "garbage.npy",
            hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), ]"),
            "malformed header",
        ),
        (
            "code.npy",
            hdr("{'descr': __import__('os'), 'fortran_order': False, 'shape': (2,)}"),
            "malformed header",
        ),
    ];
    for (name, bytes, why) in &cases {
        std::fs::write(p.join(name), bytes).unwrap();
        let r = run(p, &["inspect", name]);
        r.fails()
            .stderr_has(&format!("npy: {name}: "))
            .stderr_has(why);
        assert_eq!(
            r.stderr().lines().count(),
            1,
            "{name}: one line: {}",
            r.stderr()
        );
    }
    // A bad file among good ones: the good ones are still reported.
    let r = run(
        p,
        &["inspect", "--json", "good.npy", "magic.npy", "good.npy"],
    );
    r.expect_code(1);
    assert_eq!(r.json_lines().len(), 2);
    assert_eq!(std::fs::read(p.join("good.npy")).unwrap(), good);
    run(p, &["inspect", "nonexistent.npy"])
        .fails()
        .stderr_has("nonexistent.npy");
    run(p, &["inspect", "."]).fails();
}

#[test]
fn old_numpy_headers_python2_longs_and_odd_spacing() {
    let d = tempdir();
    let p = d.path();
    // numpy 1.x on Windows under Python 2 wrote `(2L, 3L)`, keys in any order.
    let dict = "{ 'shape':(2L, 3L) ,'descr':'<i4','fortran_order':True ,}";
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    let mut body = dict.to_string();
    while !(10 + body.len() + 1).is_multiple_of(16) {
        body.push(' ');
    }
    body.push('\n');
    b.extend_from_slice(&(body.len() as u16).to_le_bytes());
    b.extend_from_slice(body.as_bytes());
    b.extend_from_slice(&[0u8; 24]);
    std::fs::write(p.join("old.npy"), &b).unwrap();
    let j = &run(p, &["inspect", "--json", "old.npy"]).json_lines()[0];
    assert_eq!(j["status"], "ok");
    assert_eq!(j["shape"], serde_json::json!([2, 3]));
    assert_eq!(j["fortran_order"], true);
    assert_eq!(j["growth_axis"], 1);
}

#[test]
fn reads_stdin_and_ignores_closed_stdout() {
    let d = tempdir();
    let bytes = clean(d.path(), "a.npy", 3);
    let out = std::process::Command::new(bin())
        .args(["inspect", "--json", "-"])
        .stdin(std::fs::File::open(d.path().join("a.npy")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["path"], "<stdin>");
    assert_eq!(j["data_bytes"], (bytes.len() - 128) as u64);
}

#[test]
fn huge_sparse_file_is_instant() {
    // A 1 TiB sparse file: inspect reads the header only.
    let d = tempdir();
    let p = d.path().join("big.npy");
    let rows: u64 = (1 << 40) / 24;
    write_npy(&p, "'<f8'", false, &[rows, 3], &[]);
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(128 + rows * 24).unwrap();
    let j = &run(d.path(), &["inspect", "--json", "big.npy"]).json_lines()[0];
    assert_eq!(j["status"], "ok");
    assert_eq!(j["expected_bytes"], rows * 24);
}

#[test]
fn unfinished_npyz_file_points_to_repair() {
    let fx = repo().join("tests/fixtures/repair");
    run(&fx, &["inspect", "npyz_unfinished.npy"])
        .fails()
        .stderr_has("npyz_unfinished.npy: the shape is a `*` placeholder")
        .stderr_has("npy repair npyz_unfinished.npy");
}

/// `convertible` is decided by the same planner `convert-stacked` runs: a
/// stacked file that it refuses (here: arrays whose dtypes differ) is not
/// called convertible, and says why; one it converts (here: a Fortran array
/// over 8 MiB that numpy's C-ordered vstack result needs transposed) is.
#[test]
fn stacked_convertible_agrees_with_convert_stacked() {
    let d = tempdir();
    let p = d.path();
    let n = 350_000u64; // 3 x 350,000 f8 = 8.4 MB, transposed out of core
    write_npy(
        &p.join("c.npy"),
        "'<f8'",
        false,
        &[3, n],
        &vec![0u8; (3 * n * 8) as usize],
    );
    write_npy(
        &p.join("f.npy"),
        "'<f8'",
        true,
        &[3, n],
        &vec![1u8; (3 * n * 8) as usize],
    );
    let mut st = std::fs::read(p.join("c.npy")).unwrap();
    st.extend(std::fs::read(p.join("f.npy")).unwrap());
    std::fs::write(p.join("st.npy"), &st).unwrap();
    let j = &run(p, &["inspect", "--json", "st.npy"]).json_lines()[0];
    assert_eq!(j["status"], "stacked");
    assert_eq!(j["convertible"], true, "{j}");
    run(p, &["convert-stacked", "st.npy", "-o", "mixed.npy"]).ok();
    // A float array after them: dtypes differ, refused by both.
    write_npy(&p.join("i.npy"), "'<i8'", false, &[3, 2], &[0u8; 48]);
    st.extend(std::fs::read(p.join("i.npy")).unwrap());
    std::fs::write(p.join("st.npy"), &st).unwrap();
    let j = &run(p, &["inspect", "--json", "st.npy"]).json_lines()[0];
    assert_eq!(j["status"], "stacked");
    assert_eq!(j["convertible"], false);
    let msg = j["message"].as_str().unwrap();
    assert!(msg.contains("array 2 at byte offset"), "{msg}");
    run(p, &["convert-stacked", "st.npy", "-o", "out.npy"])
        .fails()
        .stderr_has("array 2 at byte offset");
    // Two C-order arrays of the same shape do convert.
    let mut ok = std::fs::read(p.join("c.npy")).unwrap();
    ok.extend(std::fs::read(p.join("c.npy")).unwrap());
    std::fs::write(p.join("ok.npy"), &ok).unwrap();
    let j = &run(p, &["inspect", "--json", "ok.npy"]).json_lines()[0];
    assert_eq!(j["convertible"], true);
    run(p, &["convert-stacked", "ok.npy", "-o", "out.npy"]).ok();
}

/// A named pipe (`npy inspect <(curl ...)`) is read like stdin.
#[test]
fn reads_process_substitution() {
    let d = tempdir();
    clean(d.path(), "a.npy", 3);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("'{}' inspect --json <(cat a.npy)", bin().display()))
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["shape"], serde_json::json!([3, 3]));
}

/// `-r`: every `.npy` below each directory, in sorted path order; other files
/// skipped; symlinked files followed, symlinked directories (a loop) not.
#[test]
fn recursive_walks_directories_in_sorted_order() {
    let d = tempdir();
    let p = d.path();
    for sub in ["data/b", "data/a/deep", "data/a10"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
    }
    let full = clean(p, "data/b/x.npy", 2);
    std::fs::write(p.join("data/a/deep/cut.npy"), &full[..full.len() - 4]).unwrap();
    clean(p, "data/z.npy", 1);
    clean(p, "data/a10/y.npy", 3);
    std::fs::write(p.join("data/a/notes.txt"), "not an array").unwrap();
    std::os::unix::fs::symlink("..", p.join("data/a/loop")).unwrap();
    std::os::unix::fs::symlink("../z.npy", p.join("data/b/link.npy")).unwrap();
    let want = [
        "data/a/deep/cut.npy",
        "data/a10/y.npy",
        "data/b/link.npy",
        "data/b/x.npy",
        "data/z.npy",
    ];
    let r = run(p, &["inspect", "--json", "-r", "data"]);
    r.ok();
    let paths: Vec<String> = r
        .json_lines()
        .iter()
        .map(|j| j["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, want);
    assert_eq!(r.json_lines()[0]["status"], "truncated");
    // --check fails on the truncated file; files and directories mix.
    run(
        p,
        &["inspect", "--check", "--recursive", "data/b", "data/z.npy"],
    )
    .ok();
    run(p, &["inspect", "--check", "-r", "data"])
        .expect_code(1)
        .stdout_has("data/a/deep/cut.npy: truncated");
    // Without -r a directory is an error that says what to do.
    run(p, &["inspect", "data"])
        .fails()
        .stderr_has("npy: data: is a directory (give -r");
    // An empty directory: nothing to report, nothing wrong.
    std::fs::create_dir(p.join("empty")).unwrap();
    let r = run(p, &["inspect", "--check", "-r", "empty"]);
    r.ok();
    assert_eq!(r.stdout(), "");
}

/// `-r` over thousands of files in one call, no xargs.
#[test]
fn recursive_checks_thousands_of_files() {
    let d = tempdir();
    let p = d.path();
    let bytes = clean(p, "one.npy", 1);
    let n = 3000;
    for i in 0..n {
        let sub = p.join(format!("set/{:02}", i % 30));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("chunk_{i:05}.npy")), &bytes).unwrap();
    }
    std::fs::write(p.join("set/07/chunk_01717.npy"), &bytes[..bytes.len() - 1]).unwrap();
    let r = run(p, &["inspect", "--json", "--check", "-r", "set"]);
    r.expect_code(1);
    let lines = r.json_lines();
    assert_eq!(lines.len(), n);
    let bad: Vec<&str> = lines
        .iter()
        .filter(|j| j["status"] != "ok")
        .map(|j| j["path"].as_str().unwrap())
        .collect();
    assert_eq!(bad, ["set/07/chunk_01717.npy"]);
    let mut sorted: Vec<&str> = lines.iter().map(|j| j["path"].as_str().unwrap()).collect();
    sorted.sort();
    let order: Vec<&str> = lines.iter().map(|j| j["path"].as_str().unwrap()).collect();
    assert_eq!(order, sorted);
}

/// `--files-from FILE` and `--files-from -`, after the command-line files,
/// read as concat reads them (empty lines skipped, `\r` dropped).
#[test]
fn files_from_a_list_or_stdin() {
    let d = tempdir();
    let p = d.path();
    clean(p, "a.npy", 1);
    clean(p, "b.npy", 2);
    let full = clean(p, "c.npy", 3);
    std::fs::write(p.join("cut.npy"), &full[..full.len() - 8]).unwrap();
    std::fs::write(p.join("list.txt"), "b.npy\r\n\ncut.npy\n").unwrap();
    let shapes = |r: &Run| -> Vec<String> {
        r.json_lines()
            .iter()
            .map(|j| format!("{} {}", j["path"].as_str().unwrap(), j["shape"]))
            .collect()
    };
    let r = run(
        p,
        &["inspect", "--json", "a.npy", "--files-from", "list.txt"],
    );
    r.ok();
    assert_eq!(shapes(&r), ["a.npy [1,3]", "b.npy [2,3]", "cut.npy [3,3]"]);
    run(p, &["inspect", "--check", "--files-from", "list.txt"])
        .expect_code(1)
        .stdout_has("cut.npy: truncated");
    let r = run_stdin(
        p,
        &["inspect", "--json", "--files-from", "-"],
        b"c.npy\na.npy\n",
    );
    r.ok();
    assert_eq!(shapes(&r), ["c.npy [3,3]", "a.npy [1,3]"]);
    // A listed directory is walked with -r.
    std::fs::create_dir(p.join("sub")).unwrap();
    clean(p, "sub/s.npy", 4);
    let r = run_stdin(
        p,
        &["inspect", "--json", "-r", "--files-from", "-"],
        b"sub\n",
    );
    assert_eq!(shapes(&r), ["sub/s.npy [4,3]"]);
    // Problems: a missing list, a missing listed file, stdin used twice.
    run(p, &["inspect", "--files-from", "nope.txt"])
        .fails()
        .stderr_has("nope.txt: cannot open");
    std::fs::write(p.join("bad.txt"), "a.npy\ngone.npy\nb.npy\n").unwrap();
    let r = run(p, &["inspect", "--json", "--files-from", "bad.txt"]);
    r.fails().stderr_has("npy: gone.npy: cannot open");
    assert_eq!(r.json_lines().len(), 2);
    run_stdin(p, &["inspect", "--files-from", "-", "-"], b"a.npy\n")
        .fails()
        .stderr_has("cannot be a file to inspect too");
    // No file at all is a usage error.
    run(p, &["inspect"]).expect_code(2);
}

/// Every field `inspect --json` can emit is in docs/inspect.md's reference
/// table, checked over files of every status (the examples, the fixtures, and
/// made ones: pickled objects, 0-d, stacked arrays that do and do not join,
/// rows of zero bytes).
#[test]
fn every_json_field_is_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/inspect.md")).unwrap();
    let documented: std::collections::BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let d = tempdir();
    let p = d.path();
    for dir in [
        "examples",
        "examples/chunks",
        "tests/fixtures",
        "tests/fixtures/repair",
        // Other writers' files: wide headers that need max_header_size
        // carry a `note`.
        "tests/fixtures/writers",
    ] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "npy") {
                let name = format!(
                    "{}_{}",
                    dir.replace('/', "_"),
                    path.file_name().unwrap().to_string_lossy()
                );
                std::fs::copy(&path, p.join(name)).unwrap();
            }
        }
    }
    write_npy(
        &p.join("object.npy"),
        "'|O'",
        false,
        &[3],
        b"\x80\x04 pickled",
    );
    write_npy(&p.join("zero_d.npy"), "'<f8'", false, &[], &[0; 8]);
    write_npy(&p.join("empty_rows.npy"), "'<f8'", false, &[3, 0], &[]);
    let a = {
        write_npy(&p.join("a.npy"), "'<f8'", false, &[2], &[0; 16]);
        std::fs::read(p.join("a.npy")).unwrap()
    };
    write_npy(&p.join("i.npy"), "'<i4'", false, &[2], &[0; 8]);
    let i = std::fs::read(p.join("i.npy")).unwrap();
    std::fs::write(p.join("stacked_mixed.npy"), [a.clone(), i].concat()).unwrap();
    std::fs::write(
        p.join("stacked_cut.npy"),
        [a.clone(), a[..a.len() - 3].to_vec()].concat(),
    )
    .unwrap();
    std::fs::write(
        p.join("stacked_junk.npy"),
        [a.clone(), a.clone(), b"junk".to_vec()].concat(),
    )
    .unwrap();

    let r = run(p, &["inspect", "--json", "-r", "."]);
    let mut lines = r.json_lines();
    // Archive members carry `compressed`.
    run(p, &["zip", "-o", "arch.npz", "a.npy"]).ok();
    lines.extend(run(p, &["inspect", "--json", "arch.npz"]).ok().json_lines());
    assert!(lines.len() > 30, "{}", r.stderr());
    let mut statuses = std::collections::BTreeSet::new();
    let mut fields = std::collections::BTreeSet::new();
    for j in &lines {
        statuses.insert(j["status"].as_str().unwrap().to_string());
        for k in j.as_object().unwrap().keys() {
            fields.insert(k.clone());
        }
    }
    let all: std::collections::BTreeSet<String> =
        ["ok", "truncated", "trailing", "stacked", "object"]
            .map(String::from)
            .into();
    assert_eq!(statuses, all, "not every status was seen");
    let undocumented: Vec<&String> = fields
        .iter()
        .filter(|f| !documented.contains(f.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/inspect.md's --json table lacks {undocumented:?}"
    );
    assert!(fields.len() >= 19, "{fields:?}");
}
