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
        if *code != 0 {
            failures.push(format!("{what}: exit {code}: {err}"));
            continue;
        }
        match c["kind"].as_str().unwrap() {
            "text" => {
                let want = c["expected"].as_str().unwrap();
                if out != want {
                    failures.push(format!("{what}:\n--- numpy\n{want}--- npy\n{out}"));
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
