//! `npy diff`: numpy is the oracle (cases from
//! tests/numpy/stats_diff_cases.py, shared with tests/stats.rs): the exit
//! status, the count of differing elements, the first differing indices and
//! the largest absolute difference agree with what numpy computes with
//! `==`, `np.isclose` and `np.isnan`.

use serde_json::Value;

use crate::common::{run, tempdir, write_npy};
use crate::stats::cases;

#[test]
fn agrees_with_numpy_on_every_case() {
    let Some((dir, manifest)) = cases() else {
        return;
    };
    let mut failures = vec![];
    let list = manifest["diff"].as_array().unwrap();
    assert!(list.len() >= 25, "too few cases");
    for case in list {
        let (a, b) = (case["a"].as_str().unwrap(), case["b"].as_str().unwrap());
        let mut args = vec!["diff", "--json"];
        let extra: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        args.extend(&extra);
        args.extend([a, b]);
        let label = format!("diff {} {a} {b}", extra.join(" "));
        let want = &case["expect"];
        let r = run(dir.path(), &args);
        let equal = want["equal"].as_bool().unwrap();
        if r.code() != if equal { 0 } else { 1 } {
            failures.push(format!("{label}: exit {} ({})", r.code(), r.stderr()));
            continue;
        }
        let got: Value = serde_json::from_str(&r.stdout()).expect("one JSON object");
        if got["equal"] != want["equal"] {
            failures.push(format!(
                "{label}: equal {} want {}",
                got["equal"], want["equal"]
            ));
        }
        let reason = got.get("reason").cloned().unwrap_or(Value::Null);
        if reason != want["reason"] {
            failures.push(format!("{label}: reason {reason} want {}", want["reason"]));
        }
        if want["reason"] == "dtype" || want["reason"] == "shape" {
            continue;
        }
        if got["differing"] != want["differing"] {
            failures.push(format!(
                "{label}: differing {} want {}",
                got["differing"], want["differing"]
            ));
        }
        let first: Vec<Value> = got
            .get("first")
            .and_then(Value::as_array)
            .map(|f| f.iter().map(|d| d["index"].clone()).collect())
            .unwrap_or_default();
        if Value::Array(first.clone()) != want["first"] {
            failures.push(format!("{label}: first {first:?} want {}", want["first"]));
        }
        if let Some(m) = want.get("max_abs") {
            let g = &got["max_abs"]["value"];
            let same = match (g.as_f64(), m.as_f64()) {
                (Some(x), Some(y)) if g.is_f64() || m.is_f64() => (x - y).abs() <= 1e-15 * y.abs(),
                _ => g == m,
            };
            if !same {
                failures.push(format!("{label}: max_abs {g} want {m}"));
            }
            if let Some(i) = want.get("max_abs_index") {
                if &got["max_abs"]["index"] != i {
                    failures.push(format!(
                        "{label}: max_abs index {} want {i}",
                        got["max_abs"]["index"]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn f8(xs: &[f64]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn human_report_and_silence_when_equal() {
    let d = tempdir();
    write_npy(
        &d.path().join("a.npy"),
        "'<f8'",
        false,
        &[2, 2],
        &f8(&[1.0, 2.0, 3.0, 4.0]),
    );
    write_npy(
        &d.path().join("b.npy"),
        "'<f8'",
        false,
        &[2, 2],
        &f8(&[1.0, 2.5, 3.0, 2.0]),
    );
    let r = run(d.path(), &["diff", "a.npy", "a.npy"]);
    r.ok();
    assert_eq!(r.stdout(), "");
    let r = run(d.path(), &["diff", "a.npy", "b.npy"]);
    r.expect_code(1);
    assert_eq!(
        r.stdout(),
        "a.npy and b.npy differ: 2 of 4 elements\n\
         largest absolute difference 2.0 at (1, 1)\n\
         largest relative difference 1.0 at (1, 1)\n\
         index   a.npy  b.npy\n\
         (0, 1)  2.0    2.5\n\
         (1, 1)  4.0    2.0\n"
    );
    let r = run(d.path(), &["diff", "--first", "1", "a.npy", "b.npy"]);
    r.expect_code(1).stdout_has("... and 1 more\n");
    let r = run(d.path(), &["diff", "--json", "a.npy", "a.npy"]);
    r.ok();
    assert_eq!(r.json_lines()[0]["equal"], true);
}

#[test]
fn trouble_exits_2_with_the_file_named() {
    let d = tempdir();
    write_npy(
        &d.path().join("a.npy"),
        "'<f8'",
        false,
        &[2],
        &f8(&[1.0, 2.0]),
    );
    write_npy(
        &d.path().join("t.npy"),
        "'<f8'",
        false,
        &[3],
        &f8(&[1.0, 2.0]),
    );
    let r = run(d.path(), &["diff", "a.npy", "missing.npy"]);
    r.expect_code(2).stderr_has("npy: missing.npy: cannot open");
    let r = run(d.path(), &["diff", "a.npy", "t.npy"]);
    r.expect_code(2)
        .stderr_has("npy: t.npy: truncated")
        .stderr_has("npy repair t.npy");
    let r = run(d.path(), &["diff", "--rtol", "-1", "a.npy", "a.npy"]);
    r.expect_code(2).stderr_has("non-negative");
    run(d.path(), &["diff", "a.npy"]).expect_code(2);
    assert!(!r.stderr().contains("panicked"));
}

#[test]
fn shape_and_dtype_differences_are_reported() {
    let d = tempdir();
    write_npy(
        &d.path().join("a.npy"),
        "'<f8'",
        false,
        &[2],
        &f8(&[1.0, 2.0]),
    );
    write_npy(
        &d.path().join("b.npy"),
        "'<f8'",
        false,
        &[2, 1],
        &f8(&[1.0, 2.0]),
    );
    let be: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|x| x.to_be_bytes()).collect();
    write_npy(&d.path().join("c.npy"), "'>f8'", false, &[2], &be);
    run(d.path(), &["diff", "a.npy", "b.npy"])
        .expect_code(1)
        .stdout_has("a.npy and b.npy differ in shape: (2,) vs (2, 1)");
    run(d.path(), &["diff", "a.npy", "c.npy"])
        .expect_code(1)
        .stdout_has(
            "differ in dtype: float64, little-endian ('<f8') vs float64, big-endian ('>f8')",
        );
}
