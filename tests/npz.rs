//! `.npz` archives: `inspect`, `unzip`, `zip` and `A.npz:NAME` inputs,
//! with numpy (np.savez, np.savez_compressed, np.load) and Python's zipfile
//! as the oracle. The numpy side of each test group runs in one or two
//! Python processes (tests/numpy/npz.py).

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// Runs `tests/numpy/npz.py ARGS` in `dir` and parses its JSON output.
#[track_caller]
fn npz_py(py: &str, dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/npz.py"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run npz.py");
    assert!(
        out.status.success(),
        "npz.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("npz.py JSON")
}

/// Runs the verification jobs (see npz.py `verify`) and asserts they all
/// pass, having checked `at_least` members.
#[track_caller]
fn verify(py: &str, dir: &Path, jobs: &[Value], at_least: u64) {
    let f = dir.join("jobs.json");
    std::fs::write(&f, serde_json::to_vec(jobs).unwrap()).unwrap();
    let v = npz_py(py, dir, &["verify", f.to_str().unwrap()]);
    assert_eq!(v["failures"], json!([]), "numpy disagrees");
    assert!(
        v["checked"].as_u64().unwrap() >= at_least,
        "checked only {}",
        v["checked"]
    );
}

/// The archives npz.py `make` writes, by kind.
const ARCHIVES: [&str; 8] = [
    "saved.npz",
    "comp.npz",
    "nested.npz",
    "empty.npz",
    "zip64_s.npz",
    "zip64_d.npz",
    "plain_zf.npz",
    "stream.npz",
];

#[test]
fn inspect_lists_members_as_numpy_does() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let cases = numpy_cases(py, d);
    let made = npz_py(py, d, &["make", "."]);
    let mut compared = 0;
    for a in ARCHIVES {
        let r = run(d, &["inspect", "--json", "--check", a]);
        r.ok();
        let lines = r.json_lines();
        let files: Vec<&str> = made[a]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let paths: Vec<String> = lines
            .iter()
            .map(|l| l["path"].as_str().unwrap().to_string())
            .collect();
        let want: Vec<String> = files.iter().map(|f| format!("{a}:{f}")).collect();
        assert_eq!(paths, want, "{a}: records are np.load(A).files in order");
        for (key, l) in files.iter().zip(&lines) {
            let m = &made[a]["members"][*key];
            assert_eq!(l["compressed"], m["compressed"], "{a}:{key}");
            assert_eq!(l["status"], "ok", "{a}:{key}");
            let Some(case) = m["case"].as_str() else {
                continue;
            };
            let c = cases.iter().find(|c| c["name"] == case).unwrap();
            for k in [
                "descr",
                "shape",
                "fortran_order",
                "version",
                "header_len",
                "itemsize",
                "data_bytes",
                "expected_bytes",
            ] {
                assert_eq!(l[k], c[k], "{a}:{key}: {k}");
            }
            compared += 1;
        }
    }
    let non_object = cases.iter().filter(|c| c["object"] != true).count();
    // saved, comp, zip64_s and zip64_d hold every case, plain_zf and stream
    // five each.
    assert_eq!(compared, 4 * non_object + 10);
    assert!(non_object > 30, "too few cases: {non_object}");

    // Nested names and one member by name, in the human format too.
    let r = run(d, &["inspect", "nested.npz:a/c/d", "comp.npz:two_d_c"]);
    r.ok()
        .stdout_has("nested.npz:a/c/d: ok")
        .stdout_has("shape    (2, 3)")
        .stdout_has("member   stored")
        .stdout_has("comp.npz:two_d_c: ok")
        .stdout_has("member   deflated");
    // The entry name works too, as np.load accepts it.
    run(d, &["inspect", "--json", "saved.npz:two_d_c.npy"]).ok();
    // An empty archive has no records; in words it says so.
    assert_eq!(
        run(d, &["inspect", "--json", "empty.npz"]).ok().stdout(),
        ""
    );
    run(d, &["inspect", "empty.npz"])
        .ok()
        .stdout_has("empty.npz: empty .npz archive");
    run(d, &["inspect", "saved.npz:nope"])
        .fails()
        .stderr_has("no member named \"nope\"");
}

#[test]
fn unzip_then_zip_round_trips_every_archive() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    numpy_cases(py, d);
    let made = npz_py(py, d, &["make", "."]);
    let mut jobs = vec![];
    let mut members = 0;
    for a in ARCHIVES {
        let out = format!("out_{a}");
        run(d, &["unzip", a, "-d", &out]).ok();
        jobs.push(json!({"kind": "unzip", "archive": d.join(a), "outdir": d.join(&out)}));
        let files: Vec<String> = made[a]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        members += files.len() as u64;
        if files.is_empty() {
            assert!(!d.join(&out).exists() || d.join(&out).read_dir().unwrap().count() == 0);
            continue;
        }
        // Zip the unzipped files back, stored and deflated, named NAME=FILE.
        for compress in [false, true] {
            let back = format!("back_{}_{a}", if compress { "c" } else { "s" });
            let pairs: Vec<String> = files.iter().map(|f| format!("{f}={out}/{f}.npy")).collect();
            let mut args = vec!["zip", "-o", &back];
            if compress {
                args.push("--compress");
            }
            args.extend(pairs.iter().map(String::as_str));
            run(d, &args).ok();
            let pairs: Vec<Value> = files
                .iter()
                .map(|f| json!([f, d.join(&out).join(format!("{f}.npy"))]))
                .collect();
            jobs.push(json!({"kind": "zip", "archive": d.join(&back),
                             "compressed": compress, "pairs": pairs, "zip64": false}));
        }
    }
    // Names from file stems; nested names kept as given.
    run(
        d,
        &[
            "zip",
            "-o",
            "stems.npz",
            "out_saved.npz/two_d_c.npy",
            "out_saved.npz/scalar_f2_le.npy",
        ],
    )
    .ok();
    jobs.push(json!({"kind": "zip", "archive": d.join("stems.npz"), "compressed": false,
        "pairs": [["two_d_c", d.join("out_saved.npz/two_d_c.npy")], ["scalar_f2_le", d.join("out_saved.npz/scalar_f2_le.npy")]]}));
    assert!(d.join("out_nested.npz/a/c/d.npy").is_file());
    // Members of other archives as inputs, stored and deflated.
    run(
        d,
        &[
            "zip",
            "-o",
            "from_members.npz",
            "x=saved.npz:two_d_c",
            "y=comp.npz:scalar_f2_le",
            "comp.npz:bytes_s7",
        ],
    )
    .ok();
    jobs.push(
        json!({"kind": "zip", "archive": d.join("from_members.npz"), "compressed": false,
        "pairs": [["x", d.join("out_saved.npz/two_d_c.npy")], ["y", d.join("out_comp.npz/scalar_f2_le.npy")],
                  ["bytes_s7", d.join("out_comp.npz/bytes_s7.npy")]]}),
    );
    verify(py, d, &jobs, 2 * members);
}

#[test]
fn zip64_archives_write_and_read() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    numpy_cases(py, d);
    // Every member with ZIP64 fields, as numpy writes members of unknown size.
    let names = ["two_d_c", "scalar_f2_le", "bytes_s7", "datetime_ns_le"];
    let files: Vec<std::fs::File> = names
        .iter()
        .map(|n| std::fs::File::open(d.join(format!("{n}.npy"))).unwrap())
        .collect();
    for compress in [false, true] {
        let members: Vec<_> = names
            .iter()
            .zip(&files)
            .map(|(n, f)| npy_tools::npy::npz::NewMember {
                entry: format!("{n}.npy"),
                name: format!("{n}.npy"),
                file: f,
                offset: 0,
                len: f.metadata().unwrap().len(),
                mtime: None,
            })
            .collect();
        let out = std::fs::File::create(d.join(format!("z64_{compress}.npz"))).unwrap();
        npy_tools::npy::npz::write_archive_zip64_from(&out, &members, compress, 0, &mut |_| {})
            .unwrap();
    }
    let mut jobs = vec![];
    for compress in [false, true] {
        let a = format!("z64_{compress}.npz");
        let pairs: Vec<Value> = names
            .iter()
            .map(|n| json!([n, d.join(format!("{n}.npy"))]))
            .collect();
        jobs.push(
            json!({"kind": "zip", "archive": d.join(&a), "compressed": compress,
                         "pairs": pairs, "zip64": true}),
        );
        // And npy reads back what it wrote.
        let out = format!("o_{compress}");
        run(d, &["unzip", &a, "-d", &out]).ok();
        jobs.push(json!({"kind": "unzip", "archive": d.join(&a), "outdir": d.join(&out)}));
        let r = run(d, &["inspect", "--json", "--check", &a]);
        assert_eq!(r.ok().json_lines().len(), names.len());
    }
    verify(py, d, &jobs, 4 * names.len() as u64);
}

#[test]
fn damaged_archives_are_reported_and_never_extracted() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    npz_py(py, d, &["damaged", "."]);
    let empty_dir = |p: &str| {
        let p = d.join(p);
        !p.exists() || p.read_dir().unwrap().count() == 0
    };

    for a in ["cut.npz", "badcd.npz"] {
        run(d, &["inspect", a])
            .fails()
            .stderr_has(&format!("{a}: a damaged .npz archive (not a .npy file)"));
        run(d, &["unzip", a, "-d", "o"]).fails();
        assert!(empty_dir("o"), "{a}: unzip wrote something");
        run(d, &["concat", "-o", "c.npy", &format!("{a}:x")]).fails();
        assert!(!d.join("c.npy").exists());
    }

    // A member that is not .npy: an error naming it; the others still listed.
    let r = run(d, &["inspect", "notnpy.npz"]);
    r.fails()
        .stderr_has("notnpy.npz:readme.txt: not a .npy file")
        .stdout_has("notnpy.npz:x: ok");

    // CRC mismatch: an error, and no file for that member.
    for a in ["crc_s.npz", "crc_d.npz"] {
        run(d, &["unzip", a, "x", "-d", "o"])
            .fails()
            .stderr_has(&format!("{a}:x: CRC mismatch"));
        assert!(empty_dir("o"), "{a}: a file was left behind");
    }
    run(d, &["concat", "-o", "c.npy", "crc_d.npz:x"])
        .fails()
        .stderr_has("CRC mismatch");
    assert!(!d.join("c.npy").exists());

    // Deflated data that does not inflate: the header still reads.
    run(d, &["inspect", "--check", "inflate.npz"]).ok();
    run(d, &["unzip", "inflate.npz", "-d", "o"])
        .fails()
        .stderr_has("npy: inflate.npz:x: ")
        .stderr_has("(damaged data)");
    assert!(empty_dir("o"));

    // Zip-slip: refused before anything is written.
    run(d, &["unzip", "slip.npz", "-d", "o"])
        .fails()
        .stderr_has("would be written outside the output directory");
    assert!(empty_dir("o"));
    assert!(!d.join("evil.npy").exists());
    run(d, &["unzip", "abs.npz", "-d", "o"])
        .fails()
        .stderr_has("would be written outside the output directory");
    assert!(!d.join("abs-evil.npy").exists());
    assert!(empty_dir("o"));

    // Members whose .npy bytes are cut short or run on.
    let r = run(d, &["inspect", "--json", "--check", "members.npz"]);
    r.expect_code(1);
    let l = r.json_lines();
    let status: Vec<&str> = l.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "truncated", "trailing", "stacked"]);
    assert_eq!(l[3]["arrays"], 2);
    assert!(l[1]["message"]
        .as_str()
        .unwrap()
        .contains("after `npy unzip members.npz short`"));
    run(d, &["inspect", "--check", "members.npz:whole"]).ok();
    run(d, &["concat", "-o", "c.npy", "members.npz:short"])
        .fails()
        .stderr_has("truncated");
    // Object arrays are reported, not refused; zip will not take them.
    let r = run(d, &["inspect", "--json", "--check", "obj.npz"]);
    let status: Vec<Value> = r
        .expect_code(1)
        .json_lines()
        .iter()
        .map(|j| j["status"].clone())
        .collect();
    assert_eq!(status, [json!("object"), json!("ok")]);
    run(d, &["zip", "-o", "z.npz", "obj.npz:o"])
        .fails()
        .stderr_has("pickled Python objects");
    assert!(!d.join("z.npz").exists());

    // unzip copies bytes as they are; the file is then what inspect said.
    run(d, &["unzip", "members.npz", "short", "-d", "o"]).ok();
    run(d, &["inspect", "--check", "o/short.npy"])
        .expect_code(1)
        .stdout_has("truncated");
}

#[test]
fn unzip_names_force_and_refusals() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    numpy_cases(py, d);
    npz_py(py, d, &["make", "."]);
    run(d, &["unzip", "nested.npz", "top", "a/b", "-d", "o"]).ok();
    let mut got: Vec<String> = walk(&d.join("o"));
    got.sort();
    assert_eq!(got, ["a/b.npy", "top.npy"]);
    // Existing files are not replaced without --force; nothing changes.
    std::fs::write(d.join("o/top.npy"), b"mine").unwrap();
    run(d, &["unzip", "nested.npz", "-d", "o"])
        .fails()
        .stderr_has("o/a/b.npy: already exists (give --force to replace it)");
    assert_eq!(std::fs::read(d.join("o/top.npy")).unwrap(), b"mine");
    assert!(
        !d.join("o/a/c").exists(),
        "wrote before checking every target"
    );
    run(
        d,
        &["unzip", "--force", "--no-sync", "nested.npz", "-d", "o"],
    )
    .ok();
    let mut got = walk(&d.join("o"));
    got.sort();
    assert_eq!(got, ["a/b.npy", "a/c/d.npy", "top.npy"]);
    verify(
        py,
        d,
        &[json!({"kind": "unzip", "archive": d.join("nested.npz"), "outdir": d.join("o")})],
        3,
    );
    run(d, &["unzip", "nested.npz", "zz", "-d", "p"])
        .fails()
        .stderr_has("no member named \"zz\" (members: a/b, a/c/d, top)");
    assert!(!d.join("p").exists());
    run(d, &["unzip", "two_d_c.npy"])
        .fails()
        .stderr_has("two_d_c.npy: damaged or not a .npz (zip) archive");
}

fn walk(root: &Path) -> Vec<String> {
    let mut v = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else {
                v.push(e.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    v
}

#[test]
fn zip_refuses_bad_inputs_and_existing_output() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("b")).unwrap();
    write_npy(&d.join("a.npy"), "'<f8'", false, &[4], &f8_bytes(0..4));
    write_npy(&d.join("b/a.npy"), "'<f8'", false, &[4], &f8_bytes(4..8));
    // Truncated: header says 4 rows, 3 present.
    write_npy(&d.join("t.npy"), "'<f8'", false, &[4], &f8_bytes(0..3));
    // Stacked: two arrays back to back.
    let mut stacked = std::fs::read(d.join("a.npy")).unwrap();
    stacked.extend(std::fs::read(d.join("a.npy")).unwrap());
    std::fs::write(d.join("s.npy"), stacked).unwrap();
    let before = dir_listing(d);

    run(d, &["zip", "-o", "o.npz", "a.npy", "b/a.npy"])
        .fails()
        .stderr_has("member name \"a\" is already taken by a.npy");
    run(d, &["zip", "-o", "o.npz", "a.npy", "t.npy"])
        .fails()
        .stderr_has("t.npy: truncated")
        .stderr_has("npy repair t.npy");
    run(d, &["zip", "-o", "o.npz", "s.npy"])
        .fails()
        .stderr_has("npy convert-stacked s.npy");
    run(d, &["zip", "-o", "o.npz", "../x=a.npy"])
        .fails()
        .stderr_has("would be written outside");
    run(d, &["zip", "-o", "o.npz", "missing.npy"])
        .fails()
        .stderr_has("missing.npy: cannot open");
    assert_eq!(dir_listing(d), before, "a refused zip changed something");

    // Existing output: refused, then replaced with --force.
    std::fs::write(d.join("o.npz"), b"old").unwrap();
    run(d, &["zip", "-o", "o.npz", "a.npy"])
        .fails()
        .stderr_has("o.npz: already exists (give --force to replace it)");
    assert_eq!(std::fs::read(d.join("o.npz")).unwrap(), b"old");
    run(
        d,
        &[
            "zip",
            "--force",
            "--no-sync",
            "-o",
            "o.npz",
            "a.npy",
            "x=b/a.npy",
        ],
    )
    .ok();
    let r = run(d, &["inspect", "--json", "o.npz"]);
    let paths: Vec<Value> = r
        .ok()
        .json_lines()
        .iter()
        .map(|l| l["path"].clone())
        .collect();
    assert_eq!(paths, [json!("o.npz:a"), json!("o.npz:x")]);
    // Byte-identical members, found by npy itself.
    run(d, &["unzip", "o.npz", "-d", "u"]).ok();
    assert_eq!(
        std::fs::read(d.join("u/x.npy")).unwrap(),
        std::fs::read(d.join("b/a.npy")).unwrap()
    );
}

#[test]
fn members_are_concat_inputs() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    numpy_cases(py, d);
    npz_py(py, d, &["make", "."]);
    // Stored, deflated and plain inputs mixed; members of one archive twice.
    let inputs = [
        "saved.npz:two_d_c",
        "comp.npz:two_d_c",
        "two_d_c.npy",
        "zip64_d.npz:two_d_c.npy",
    ];
    let mut args = vec!["concat", "-o", "all.npy"];
    args.extend(inputs);
    run(d, &args).ok();
    let mut a = vec!["concat", "all.npy"];
    a.extend(inputs);
    assert_eq!(npz_py(py, d, &a)["equal"], true);
    // A file whose name holds `:` is still a file.
    std::fs::copy(d.join("two_d_c.npy"), d.join("saved.npz:two_d_c")).unwrap();
    run(d, &["inspect", "--json", "saved.npz:two_d_c"])
        .ok()
        .stdout_has("\"path\":\"saved.npz:two_d_c\"")
        .stdout_has("\"status\":\"ok\"");
    let r = run(d, &["inspect", "--json", "saved.npz:two_d_c"]);
    assert!(r.json_lines()[0].get("compressed").is_none());
}

#[test]
fn many_member_inputs_are_reopened_or_kept() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    numpy_cases(py, d);
    npz_py(py, d, &["make", "."]);
    // More inputs than concat keeps open: stored members are reopened from
    // their archive, deflated ones (inflated to temporary files) kept.
    let pattern = ["saved.npz:long_1d", "comp.npz:long_1d", "long_1d.npy"];
    let inputs: Vec<&str> = (0..300).map(|i| pattern[i % 3]).collect();
    let mut args = vec!["concat", "-q", "--no-sync", "-o", "many.npy"];
    args.extend(&inputs);
    run(d, &args).ok();
    let mut a = vec!["concat", "many.npy"];
    a.extend(&inputs);
    assert_eq!(npz_py(py, d, &a)["equal"], true);
}
