//! `npy stats`: numpy is the oracle. One Python process
//! (tests/numpy/stats_diff_cases.py) writes every case and its expected
//! results; each case is run through `npy stats --json` and compared:
//! counts and integer extremes exactly, float extremes as the shortest repr
//! of their own width, mean and std to 1e-12 relative.

use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{python, run, tempdir, write_npy, RunDir};

/// The generated cases (made once per test run, in a [`RunDir`]), or `None`
/// without numpy.
pub fn cases() -> Option<&'static (RunDir, Value)> {
    static CASES: OnceLock<Option<(RunDir, Value)>> = OnceLock::new();
    CASES
        .get_or_init(|| {
            let py = python()?;
            let dir = RunDir::new("stats-cases");
            let out = std::process::Command::new(py)
                .arg(crate::common::repo().join("tests/numpy/stats_diff_cases.py"))
                .arg(dir.path())
                .output()
                .expect("run stats_diff_cases.py");
            assert!(
                out.status.success(),
                "stats_diff_cases.py failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let m = std::fs::read(dir.path().join("manifest.json")).expect("manifest");
            Some((dir, serde_json::from_slice(&m).expect("manifest JSON")))
        })
        .as_ref()
}

fn close(got: f64, want: f64, scale: f64) -> bool {
    (got - want).abs() <= 1e-12 * want.abs() + 1e-15 * scale
}

/// Compares one result object with numpy's; returns what differs.
fn check(got: &Value, want: &Value) -> Vec<String> {
    let mut bad = vec![];
    for k in ["count", "nan", "inf", "min", "max"] {
        if got[k] != want[k] {
            // Floats: the same number, however serde_json spells it.
            let same = matches!((got[k].as_f64(), want[k].as_f64()), (Some(a), Some(b)) if a == b)
                && got[k].is_f64() == want[k].is_f64();
            if !same {
                bad.push(format!("{k}: got {} want {}", got[k], want[k]));
            }
        }
    }
    let scale = want["scale"].as_f64().unwrap_or(0.0);
    for k in ["mean", "std"] {
        match (got[k].as_f64(), want[k].as_f64()) {
            (Some(g), Some(w)) if close(g, w, scale) => {}
            (None, None) if got[k].is_null() && want[k].is_null() => {}
            _ => bad.push(format!("{k}: got {} want {}", got[k], want[k])),
        }
    }
    bad
}

/// Splits `--axis 0` JSON (keys holding nested arrays) into one object per
/// result position, in C order.
fn per_position(v: &Value, n: usize) -> Vec<Value> {
    fn flatten(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
            other => out.push(other.clone()),
        }
    }
    let keys = ["count", "nan", "inf", "min", "max", "mean", "std"];
    let cols: Vec<Vec<Value>> = keys
        .iter()
        .map(|k| {
            let mut out = vec![];
            flatten(&v[*k], &mut out);
            out
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut m = serde_json::Map::new();
            for (k, c) in keys.iter().zip(&cols) {
                m.insert(k.to_string(), c.get(i).cloned().unwrap_or(Value::Null));
            }
            Value::Object(m)
        })
        .collect()
}

#[test]
fn agrees_with_numpy_on_every_case() {
    let Some((dir, manifest)) = cases() else {
        return;
    };
    let mut failures = vec![];
    let list = manifest["stats"].as_array().unwrap();
    assert!(list.len() > 100, "too few cases");
    for case in list {
        let file = case["file"].as_str().unwrap();
        let axis = case["axis"].as_bool().unwrap();
        let mut args = vec!["stats", "--json", file];
        if let Some(i) = case.get("index").and_then(Value::as_str) {
            args.push(i);
        }
        if axis {
            args.extend(["--axis", "0"]);
        }
        let r = run(dir.path(), &args);
        r.ok();
        let got: Value = serde_json::from_str(&r.stdout()).expect("one JSON object");
        let want = &case["expect"];
        let label = format!("{file}[{}] (axis {axis}, {})", case["index"], case["dtype"]);
        if !axis || want["shape"].as_array().unwrap().is_empty() {
            let want = if axis { &want["results"][0] } else { want };
            for b in check(&got, want) {
                failures.push(format!("{label}: {b}"));
            }
        } else {
            let results = want["results"].as_array().unwrap();
            let shape: Vec<u64> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            // The JSON nests like ndarray.tolist() of the result shape.
            let mut nested = &got["count"];
            for d in &shape {
                assert_eq!(
                    nested.as_array().map(Vec::len),
                    Some(*d as usize),
                    "{label}"
                );
                nested = &nested[0];
            }
            for (i, (g, w)) in per_position(&got, results.len())
                .iter()
                .zip(results)
                .enumerate()
            {
                for b in check(g, w) {
                    failures.push(format!("{label} position {i}: {b}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn human_output() {
    let d = tempdir();
    let data: Vec<u8> = [1.0f64, f64::NAN, 4.0, f64::NEG_INFINITY]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    write_npy(&d.path().join("a.npy"), "'<f8'", false, &[4], &data);
    let r = run(d.path(), &["stats", "a.npy"]);
    r.ok();
    assert_eq!(
        r.stdout(),
        "a.npy: float64, little-endian, shape (4,)\n  count  4\n  nan    1\n  inf    1\n  \
         min    -inf\n  max    4.0\n  mean   2.5\n  std    1.5\n"
    );
    let r = run(d.path(), &["stats", "--axis", "0", "a.npy"]);
    r.ok().stdout_has("count  4").stdout_has("mean   2.5");
}

#[test]
fn refuses_what_it_cannot_summarise() {
    let d = tempdir();
    write_npy(&d.path().join("s.npy"), "'|S3'", false, &[2], b"abcdef");
    run(d.path(), &["stats", "s.npy"])
        .fails()
        .stderr_has("s.npy: stats needs bool, integer or float values, not bytes of length 3");
    write_npy(&d.path().join("c.npy"), "'<c8'", false, &[1], &[0; 8]);
    run(d.path(), &["stats", "c.npy"])
        .fails()
        .stderr_has("not complex64");
    write_npy(&d.path().join("o.npy"), "'|O'", false, &[1], &[0; 8]);
    run(d.path(), &["stats", "o.npy"])
        .fails()
        .stderr_has("pickled Python objects");
    write_npy(&d.path().join("z.npy"), "'<f8'", false, &[], &[0; 8]);
    run(d.path(), &["stats", "--axis", "0", "z.npy"])
        .fails()
        .stderr_has("z.npy: a 0-d array has no axis 0");
    run(d.path(), &["stats", "--axis", "1", "z.npy"]).expect_code(2);
    write_npy(&d.path().join("v.npy"), "'<f8'", false, &[3], &[0; 24]);
    run(d.path(), &["stats", "v.npy", "5"])
        .fails()
        .stderr_has("v.npy: index 5 is out of bounds for axis 0 with size 3");
    run(d.path(), &["stats", "v.npy", "0, 1"])
        .fails()
        .stderr_has("too many indices for array: array is 1-dimensional, but 2 were indexed");
    run(d.path(), &["stats", "v.npy", "x:"]).expect_code(2);
    run(d.path(), &["stats", "v.npy", "::0"])
        .fails()
        .stderr_has("slice step cannot be zero");
    run(d.path(), &["stats", "missing.npy"])
        .fails()
        .stderr_has("missing.npy: cannot open");
    std::fs::write(d.path().join("junk.npy"), b"hello").unwrap();
    run(d.path(), &["stats", "junk.npy"])
        .fails()
        .stderr_has("junk.npy: not a .npy file");
}

#[test]
fn damaged_files_get_inspects_advice() {
    let d = tempdir();
    let data: Vec<u8> = (0..10u8).flat_map(|x| (x as f64).to_le_bytes()).collect();
    write_npy(&d.path().join("t.npy"), "'<f8'", false, &[12], &data);
    run(d.path(), &["stats", "t.npy"])
        .fails()
        .stderr_has("t.npy: truncated")
        .stderr_has("run `npy repair t.npy`");
    let one = std::fs::read(d.path().join("t.npy")).unwrap();
    write_npy(&d.path().join("one.npy"), "'<f8'", false, &[10], &data);
    let mut two = std::fs::read(d.path().join("one.npy")).unwrap();
    two.extend(two.clone());
    std::fs::write(d.path().join("two.npy"), two).unwrap();
    run(d.path(), &["stats", "two.npy"])
        .fails()
        .stderr_has("2 arrays stored back to back")
        .stderr_has("npy convert-stacked");
    // Nothing was written or changed.
    assert_eq!(std::fs::read(d.path().join("t.npy")).unwrap(), one);
}

#[test]
fn waits_for_an_append_in_flight() {
    // A reader takes the shared lock: while another process holds the
    // exclusive one (as `npy append` does), stats waits instead of reading
    // a file mid-change.
    let d = tempdir();
    let data: Vec<u8> = (0..4u8).flat_map(|x| (x as f64).to_le_bytes()).collect();
    let p = d.path().join("a.npy");
    write_npy(&p, "'<f8'", false, &[4], &data);
    let f = std::fs::File::open(&p).unwrap();
    f.lock().unwrap();
    let mut child = std::process::Command::new(crate::common::bin())
        .args(["stats", "--json", "a.npy"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stats did not wait for the lock"
    );
    f.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mean"], 1.5);
}
