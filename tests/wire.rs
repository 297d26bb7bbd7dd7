//! `A.npz:NAME` wherever an array is read: `show`, `stats` and `diff` of
//! members of archives written by np.savez (stored) and np.savez_compressed
//! (deflated) give what numpy gives for the array itself. The cases (and
//! numpy's expected outputs) are those of tests/show.rs and tests/stats.rs;
//! tests/numpy/wire.py packs their files into the two archive flavours.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// Packs `(NAME, FILE)` pairs into `dir/stored.npz` and `dir/deflated.npz`;
/// returns the names numpy could load and pack. Every file must load
/// except those named in `unloadable`.
fn pack(py: &str, dir: &Path, files: &[(String, String)], unloadable: &[&str]) -> Vec<String> {
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/wire.py"))
        .arg(dir)
        .current_dir(dir)
        .args(files.iter().map(|(n, f)| format!("{n}={f}")))
        .output()
        .expect("run wire.py");
    assert!(
        out.status.success(),
        "wire.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("wire.py JSON");
    let failed = v["failed"].as_object().unwrap();
    assert!(
        failed.keys().all(|k| unloadable.contains(&k.as_str())),
        "numpy could not load {} files, e.g. {:?}",
        failed.len(),
        failed.iter().next()
    );
    v["packed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// The member name for a case file: its name without `.npy`.
fn stem(file: &str) -> String {
    file.trim_end_matches(".npy").to_string()
}

/// Runs `jobs` (argument lists) in `dir` on a few threads; returns
/// (stdout, stderr, exit code) in order.
fn run_all(dir: &Path, jobs: &[Vec<String>]) -> Vec<(String, String, i32)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(args) = jobs.get(i) else { break };
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = run(dir, &argv);
                results
                    .lock()
                    .unwrap()
                    .push((i, (r.stdout(), r.stderr(), r.code())));
            });
        }
    });
    let mut v = results.into_inner().unwrap();
    v.sort_by_key(|r| r.0);
    v.into_iter().map(|r| r.1).collect()
}

#[test]
fn show_prints_members_as_numpy_prints_the_arrays() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let made = Command::new(py)
        .arg(repo().join("tests/numpy/show_cases.py"))
        .args(["make", d.to_str().unwrap()])
        .output()
        .expect("run show_cases.py");
    assert!(made.status.success(), "show_cases.py failed");
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    // Files npy refuses as np.load does (a top-level subarray descr) are
    // not packed: numpy cannot load them to pack.
    let mut files: Vec<String> = cases
        .iter()
        .filter(|c| c["kind"] != "refused")
        .map(|c| c["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    files.dedup();
    let pairs: Vec<(String, String)> = files.iter().map(|f| (stem(f), f.clone())).collect();
    let packed = pack(py, d, &pairs, &[]);
    assert_eq!(packed.len(), files.len());
    // Per file: its first text case from both archives, its first JSON case
    // from the deflated one.
    let mut jobs = vec![];
    let mut picked = vec![];
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        let file = c["file"].as_str().unwrap();
        let kind = c["kind"].as_str().unwrap();
        if kind == "csv"
            || kind == "refused"
            || !packed.contains(&stem(file))
            || !seen.insert((file.to_string(), kind.to_string()))
        {
            continue;
        }
        let archives: &[&str] = if kind == "text" {
            &["stored.npz", "deflated.npz"]
        } else {
            &["deflated.npz"]
        };
        for a in archives {
            let mut args = vec!["show".to_string(), format!("{a}:{}", stem(file))];
            for x in c["args"].as_array().unwrap() {
                args.push(x.as_str().unwrap().to_string());
            }
            jobs.push(args);
            picked.push(c);
        }
    }
    assert!(jobs.len() > 800, "only {} runs", jobs.len());
    let mut failures = vec![];
    for ((out, err, code), (args, c)) in run_all(d, &jobs).iter().zip(jobs.iter().zip(&picked)) {
        let what = format!("npy {}", args.join(" "));
        if *code != 0 {
            failures.push(format!("{what}: exit {code}: {err}"));
        } else if c["kind"] == "text" && out != c["expected"].as_str().unwrap() {
            failures.push(format!(
                "{what}:\n--- numpy\n{}--- npy\n{out}",
                c["expected"]
            ));
        } else if c["kind"] == "json"
            && serde_json::from_str::<Value>(out).ok().as_ref() != Some(&c["expected"])
        {
            failures.push(format!(
                "{what}:\n--- numpy\n{}\n--- npy\n{out}",
                c["expected"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs differ from numpy; the first:\n{}",
        failures.len(),
        jobs.len(),
        failures[..failures.len().min(6)].join("\n")
    );
}

/// The stats/diff case files of tests/stats.rs packed into `dir`.
fn packed_stats_cases(py: &str, dir: &Path) -> Option<&'static Value> {
    let (cases_dir, manifest) = crate::stats::cases()?;
    let mut files: Vec<String> = manifest["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap().to_string())
        .chain(manifest["diff"].as_array().unwrap().iter().flat_map(|c| {
            [
                c["a"].as_str().unwrap().to_string(),
                c["b"].as_str().unwrap().to_string(),
            ]
        }))
        .collect();
    files.sort();
    files.dedup();
    let pairs: Vec<(String, String)> = files
        .iter()
        .map(|f| (stem(f), cases_dir.path().join(f).display().to_string()))
        .collect();
    assert_eq!(pack(py, dir, &pairs, &[]).len(), files.len());
    Some(manifest)
}

#[test]
fn stats_of_members_are_the_stats_of_the_files() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let Some(manifest) = packed_stats_cases(py, d) else {
        return;
    };
    let (cases_dir, _) = crate::stats::cases().unwrap();
    let list = manifest["stats"].as_array().unwrap();
    assert!(list.len() > 100, "too few cases");
    let mut jobs = vec![];
    for (i, case) in list.iter().enumerate() {
        let file = case["file"].as_str().unwrap();
        let archive = ["stored.npz", "deflated.npz"][i % 2];
        let mut args = vec!["stats".to_string(), "--json".to_string()];
        if case["axis"].as_bool().unwrap() {
            args.extend(["--axis".to_string(), "0".to_string()]);
        }
        let mut plain = args.clone();
        args.push(format!("{archive}:{}", stem(file)));
        plain.push(cases_dir.path().join(file).display().to_string());
        if let Some(ix) = case.get("index").and_then(Value::as_str) {
            args.push(ix.to_string());
            plain.push(ix.to_string());
        }
        jobs.push(args);
        jobs.push(plain);
    }
    let results = run_all(d, &jobs);
    let mut failures = vec![];
    for (pair, args) in results.chunks(2).zip(jobs.chunks(2)) {
        let ((out, err, code), (want, _, wcode)) = (&pair[0], &pair[1]);
        // The plain file's output is checked against numpy by tests/stats.rs;
        // here the member's must be the same, and the run must succeed.
        if *code != 0 || *wcode != 0 || out != want {
            failures.push(format!(
                "npy {}: exit {code} {err}\n got {out} want {want}",
                args[0].join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diff_of_members_is_the_diff_of_the_files() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let Some(manifest) = packed_stats_cases(py, d) else {
        return;
    };
    let list = manifest["diff"].as_array().unwrap();
    assert!(list.len() >= 25, "too few cases");
    let mut jobs = vec![];
    for (i, case) in list.iter().enumerate() {
        let (a, b) = (case["a"].as_str().unwrap(), case["b"].as_str().unwrap());
        // Members of one archive, and of the two flavours against each other.
        let (aa, ab) = [
            ("stored.npz", "deflated.npz"),
            ("deflated.npz", "deflated.npz"),
        ][i % 2];
        let mut args = vec!["diff".to_string(), "--json".to_string()];
        for x in case["args"].as_array().unwrap() {
            args.push(x.as_str().unwrap().to_string());
        }
        args.push(format!("{aa}:{}", stem(a)));
        args.push(format!("{ab}:{}", stem(b)));
        jobs.push(args);
    }
    let mut failures = vec![];
    for ((out, err, code), (args, case)) in run_all(d, &jobs).iter().zip(jobs.iter().zip(list)) {
        let want = &case["expect"];
        let label = format!("npy {}", args.join(" "));
        let equal = want["equal"].as_bool().unwrap();
        if *code != if equal { 0 } else { 1 } {
            failures.push(format!("{label}: exit {code} ({err})"));
            continue;
        }
        let got: Value = serde_json::from_str(out).expect("one JSON object");
        let reason = got.get("reason").cloned().unwrap_or(Value::Null);
        if got["equal"] != want["equal"] || reason != want["reason"] {
            failures.push(format!("{label}: {got} want {want}"));
            continue;
        }
        if want["reason"] == "values" {
            let first: Vec<Value> = got["first"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["index"].clone())
                .collect();
            if got["differing"] != want["differing"] || Value::Array(first) != want["first"] {
                failures.push(format!("{label}: {got} want {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_members_are_named_and_paths_with_colons_still_work() {
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("x.npy"), "'<f8'", false, &[3], &f8_bytes(0..3));
    let r = run(d, &["zip", "-o", "a.npz", "x.npy"]);
    r.ok();
    // A file whose name holds a `:` and exists is a file, not a member.
    write_npy(&d.join("a.npz:x"), "'<f8'", false, &[2], &f8_bytes(5..7));
    let r = run(d, &["show", "a.npz:x"]);
    r.ok();
    assert_eq!(r.stdout(), "[5. 6.]\n");
    std::fs::remove_file(d.join("a.npz:x")).unwrap();
    let r = run(d, &["show", "a.npz:x"]);
    r.ok();
    assert_eq!(r.stdout(), "[0. 1. 2.]\n");
    let r = run(d, &["diff", "a.npz:x", "x.npy"]);
    assert_eq!((r.code(), r.stdout()), (0, String::new()), "{}", r.stderr());
    for (cmd, code) in [("show", 1), ("stats", 1), ("diff", 2)] {
        let mut args = vec![cmd, "a.npz:nope"];
        if cmd == "diff" {
            args.push("x.npy");
        }
        let r = run(d, &args);
        assert_eq!(r.code(), code, "{cmd}: {}", r.stderr());
        assert_eq!(
            r.stderr(),
            "npy: a.npz:nope: no member named \"nope\" (members: x)\n",
            "{cmd}"
        );
        assert_eq!(r.stdout(), "", "{cmd}");
    }
}

/// A top-level subarray descr is refused by `show` as np.load refuses it
/// (the header reader's rule), in a file and in an archive member alike.
#[test]
fn show_refuses_a_subarray_descr_as_numpy_does() {
    let dir = tempdir();
    let d = dir.path();
    let mut header =
        b"{'descr': ('<i2', (2, 3)), 'fortran_order': False, 'shape': (4,), }".to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    bytes.extend((0..24i16).flat_map(i16::to_le_bytes));
    std::fs::write(d.join("sub.npy"), bytes).unwrap();
    let r = run(d, &["show", "sub.npy"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().starts_with("npy: sub.npy: invalid descr ('<i2', (2, 3)): a (type, shape) subarray is not an array's dtype"),
        "{}",
        r.stderr()
    );
    if let Some(py) = python() {
        let out = Command::new(py)
            .args([
                "-c",
                "import numpy as np, sys; np.load(sys.argv[1])",
                "sub.npy",
            ])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(!out.status.success(), "numpy loads it after all");
    }
}
