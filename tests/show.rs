//! `npy show`: numpy is the oracle. One Python process writes every array
//! (numpy's format-test dtypes, random and edge values, every float width,
//! strings, datetimes, records) with what `print(a[INDEX])` prints for each
//! index and print option; `npy show` must print the same bytes. CSV output
//! is read back by numpy (one more process) and must give the same values.

use crate::common::*;
use std::path::Path;
use std::process::Command;

fn show_cases(py: &str, dir: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/show_cases.py"))
        .args(["make", dir.to_str().unwrap()])
        .output()
        .expect("run show_cases.py");
    assert!(
        out.status.success(),
        "show_cases.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = std::fs::read(dir.join("manifest.json")).expect("manifest");
    serde_json::from_slice(&m).expect("manifest JSON")
}

/// Runs every case on a few threads; returns (case, stdout, stderr, code).
fn run_all(dir: &Path, cases: &[serde_json::Value]) -> Vec<(usize, String, String, i32)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                let mut args = vec!["show".to_string(), c["file"].as_str().unwrap().to_string()];
                for a in c["args"].as_array().unwrap() {
                    args.push(a.as_str().unwrap().to_string());
                }
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = run(dir, &argv);
                results
                    .lock()
                    .unwrap()
                    .push((i, r.stdout(), r.stderr(), r.code()));
            });
        }
    });
    let mut v = results.into_inner().unwrap();
    v.sort_by_key(|r| r.0);
    v
}

/// The first differing line of two outputs, with its neighbours.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    let from = i.saturating_sub(2);
    let near = |v: &[&str]| v[from.min(v.len())..(i + 3).min(v.len())].join("\n");
    format!(
        "first difference at line {}:\n--- numpy\n{}\n--- npy\n{}",
        i + 1,
        near(&w),
        near(&g)
    )
}

#[test]
fn prints_what_numpy_prints() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let cases = show_cases(py, dir.path());
    assert!(cases.len() > 500, "only {} cases", cases.len());
    let results = run_all(dir.path(), &cases);
    let mut failures = Vec::new();
    let mut csv_runs = Vec::new();
    for (i, out, err, code) in &results {
        let c = &cases[*i];
        let what = format!("npy show {} {}", c["file"], c["args"]);
        if c["kind"] == "refused" {
            let want = c["expected"].as_str().unwrap();
            if *code != 1 || !err.contains(want) {
                failures.push(format!(
                    "{what}: want exit 1 with {want:?}, got exit {code}: {err}"
                ));
            }
            continue;
        }
        if *code != 0 {
            failures.push(format!("{what}: exit {code}: {err}"));
            continue;
        }
        match c["kind"].as_str().unwrap() {
            "text" => {
                let want = c["expected"].as_str().unwrap();
                if out != want {
                    failures.push(format!("{what}:\n{}", first_difference(want, out)));
                }
            }
            "json" => match serde_json::from_str::<serde_json::Value>(out) {
                Ok(got) if got == c["expected"] => {}
                Ok(got) => failures.push(format!(
                    "{what}:\n--- numpy\n{}\n--- npy\n{got}",
                    c["expected"]
                )),
                Err(e) => failures.push(format!("{what}: not JSON ({e}): {out}")),
            },
            _ => csv_runs.push(serde_json::json!({"file": c["file"], "out": out})),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from numpy; the first:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(8)].join("\n")
    );
    std::fs::write(
        dir.path().join("csv.json"),
        serde_json::to_vec(&csv_runs).unwrap(),
    )
    .unwrap();
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/show_cases.py"))
        .args(["check", dir.path().to_str().unwrap()])
        .output()
        .expect("run show_cases.py check");
    assert!(
        out.status.success(),
        "check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad: Vec<String> = serde_json::from_slice(&out.stdout).expect("check JSON");
    assert!(
        bad.is_empty(),
        "CSV does not read back:\n{}",
        bad.join("\n")
    );
    assert!(csv_runs.len() > 100, "only {} CSV cases", csv_runs.len());
}

fn f8_file(dir: &Path, name: &str, n: u32) {
    write_npy(
        &dir.join(name),
        "'<f8'",
        false,
        &[n as u64],
        &f8_bytes(0..n),
    );
}

#[test]
fn negative_indices_are_not_flags() {
    let d = tempdir();
    f8_file(d.path(), "a.npy", 10);
    run(d.path(), &["show", "a.npy", "-3:"])
        .ok()
        .stdout_has("[7. 8. 9.]\n");
    let r = run(d.path(), &["show", "a.npy", "-1", "--json"]);
    r.ok();
    assert_eq!(r.stdout(), "9.0\n");
    let r = run(d.path(), &["show", "a.npy", "::-4"]);
    assert_eq!(r.stdout(), "[9. 5. 1.]\n");
    let r = run(d.path(), &["show", "--tail", "2", "a.npy", "[1:-1]"]);
    assert_eq!(r.stdout(), "[7. 8.]\n");
}

#[test]
fn bad_indices_fail_like_numpy() {
    let d = tempdir();
    f8_file(d.path(), "a.npy", 4);
    for (index, msg) in [
        (
            "10",
            "npy: a.npy: index 10 is out of bounds for axis 0 with size 4",
        ),
        (
            "-5",
            "npy: a.npy: index -5 is out of bounds for axis 0 with size 4",
        ),
        (
            "1, 2",
            "too many indices for array: array is 1-dimensional, but 2 were indexed",
        ),
        ("::0", "slice step cannot be zero"),
        ("..., ...", "an index can only have a single ellipsis"),
        ("x", "invalid index: \"x\""),
    ] {
        let r = run(d.path(), &["show", "a.npy", index]);
        r.fails().stderr_has(msg);
        assert!(r.stdout().is_empty(), "{index}: {}", r.stdout());
    }
    run(d.path(), &["show", "--head", "1", "--tail", "1", "a.npy"]).expect_code(2);
    run(d.path(), &["show", "--header", "a.npy"]).expect_code(2);
    run(d.path(), &["show", "--csv", "--header", "a.npy"])
        .fails()
        .stderr_has("--header names the fields of a structured array");
    run(d.path(), &["show", "a.npy", "0", "--head", "1"])
        .fails()
        .stderr_has("0-d");
}

#[test]
fn refuses_what_it_cannot_show() {
    let d = tempdir();
    f8_file(d.path(), "a.npy", 100);
    let full = std::fs::read(d.path().join("a.npy")).unwrap();
    std::fs::write(d.path().join("cut.npy"), &full[..full.len() - 12]).unwrap();
    run(d.path(), &["show", "cut.npy"])
        .fails()
        .stderr_has("npy: cut.npy: truncated: header says 100 rows, file holds 98 whole rows")
        .stderr_has("run `npy repair cut.npy`");
    let fixtures = repo().join("tests/fixtures");
    run(&fixtures, &["show", "longdouble.npy"])
        .fails()
        .stderr_has("longdouble values are not supported");
    write_npy(&d.path().join("obj.npy"), "'|O'", false, &[0], &[]);
    run(d.path(), &["show", "obj.npy"])
        .fails()
        .stderr_has("pickled Python objects");
    run(d.path(), &["show", "missing.npy"])
        .fails()
        .stderr_has("missing.npy: cannot open");
    run(d.path(), &["show", "."])
        .fails()
        .stderr_has("not a regular file");
    write_npy(
        &d.path().join("c.npy"),
        "'<f8'",
        false,
        &[2, 2, 2],
        &f8_bytes(0..8),
    );
    run(d.path(), &["show", "--csv", "c.npy"])
        .fails()
        .stderr_has("this one is 3-D");
    run(d.path(), &["show", "--csv", "c.npy", "0"]).ok();
}

#[test]
fn stacked_and_trailing_files_show_the_first_array_as_np_load() {
    let d = tempdir();
    f8_file(d.path(), "one.npy", 3);
    let one = std::fs::read(d.path().join("one.npy")).unwrap();
    let mut two = one.clone();
    two.extend_from_slice(&one);
    std::fs::write(d.path().join("stacked.npy"), &two).unwrap();
    let mut trailing = one.clone();
    trailing.extend_from_slice(b"junk");
    std::fs::write(d.path().join("trailing.npy"), &trailing).unwrap();
    for f in ["stacked.npy", "trailing.npy"] {
        let r = run(d.path(), &["show", f]);
        r.ok();
        assert_eq!(r.stdout(), "[0. 1. 2.]\n", "{f}");
    }
}

/// A header claiming 2**37 float64 (1 TiB) over a sparse file: the head and
/// the tail are read, nothing else (the bench times it; here, the output).
#[test]
fn huge_sparse_file_shows_its_edges() {
    let d = tempdir();
    let path = d.path().join("huge.npy");
    let n: u64 = 1 << 37;
    write_npy(&path, "'<f8'", false, &[n], &[]);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let header = f.metadata().unwrap().len();
    if f.set_len(header + 8 * n).is_err() {
        eprintln!("note: filesystem refuses a 1 TiB sparse file; skipping");
        return;
    }
    use std::os::unix::fs::FileExt;
    f.write_all_at(&2.5f64.to_le_bytes(), header + 8 * (n - 1))
        .unwrap();
    f.write_all_at(&(-1.0f64).to_le_bytes(), header).unwrap();
    drop(f);
    let r = run(d.path(), &["show", "huge.npy"]);
    r.ok();
    assert_eq!(r.stdout(), "[-1.   0.   0.  ...  0.   0.   2.5]\n");
    let r = run(d.path(), &["show", "huge.npy", "-2:", "--json"]);
    assert_eq!(r.stdout(), "[0.0,2.5]\n");
    let r = run(d.path(), &["show", "--head", "2", "--csv", "huge.npy"]);
    assert_eq!(r.stdout(), "-1.0\n0.0\n");
    run(d.path(), &["show", "huge.npy", "137438953472"])
        .fails()
        .stderr_has("index 137438953472 is out of bounds for axis 0 with size 137438953472");
}
