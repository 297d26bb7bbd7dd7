//! The copy paths built for speed, checked for exactness: inputs stored in
//! the other memory order than numpy's result, transposed out of core at any
//! size (every dtype size, N-D, any axis), and convert-stacked's mapped,
//! vectored copy — each compared byte for byte with what numpy writes.
//! (How fast they are is measured in bench/, not here.)

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Inputs made by numpy: `name -> (dtype, shape, order)`, filled with a
/// pattern in which every element differs from its neighbours.
const MAKE: &str = r#"
import sys, json, numpy as np
out = sys.argv[1]
spec = json.loads(sys.argv[2])
for name, (dt, shape, order) in spec.items():
    dt = np.dtype(eval(dt) if dt.startswith(("[", "{")) else dt)
    n = int(np.prod(shape)) * dt.itemsize
    raw = (np.arange(n, dtype=np.uint64) * 2654435761 >> 7).astype(np.uint8)
    a = raw.view(dt).reshape(shape)
    np.save(f"{out}/{name}.npy", np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a))
"#;

fn make(py: &str, dir: &Path, spec: &serde_json::Value) {
    let o = Command::new(py)
        .args(["-c", MAKE, s(dir), &spec.to_string()])
        .output()
        .expect("run python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn paths(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| dir.join(format!("{n}.npy"))).collect()
}

/// `npy concat --axis AXIS` of `inputs` equals numpy's file, byte for byte.
#[track_caller]
fn concat_like_numpy(py: &str, dir: &Path, inputs: &[PathBuf], axis: i64, tag: &str) {
    let ours = dir.join(format!("{tag}_ours.npy"));
    let theirs = dir.join(format!("{tag}_numpy.npy"));
    let ax = axis.to_string();
    let mut args = vec!["concat", "-q", "--axis", &ax, "-o", s(&ours)];
    args.extend(inputs.iter().map(|p| s(p)));
    run(dir, &args).ok();
    let mut o = vec![s(&theirs), ax.as_str()];
    o.extend(inputs.iter().map(|p| s(p)));
    let mut oa = vec!["concat"];
    oa.extend(o);
    oracle(py, &oa);
    let (a, b) = (
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap(),
    );
    assert!(a == b, "{tag}: npy concat differs from numpy");
    std::fs::remove_file(&ours).unwrap();
    std::fs::remove_file(&theirs).unwrap();
}

/// Big inputs (over the 8 MiB that used to be the limit) in Fortran order,
/// joined with C-order ones into numpy's C-order result, along several axes.
#[test]
fn fortran_inputs_of_any_size_are_transposed_like_numpy() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let spec = serde_json::json!({
        "c2": ["<f8", [1200, 1000], "C"],
        "f2": ["<f8", [1300, 1000], "F"],
        "f3": ["<f4", [40, 600, 100], "F"],
        "c3": ["<f4", [40, 200, 100], "C"],
        "f4a": ["<i2", [3, 4, 5, 60], "F"],
        "f4b": ["<i2", [3, 4, 5, 7], "F"],
        "c4": ["<i2", [3, 4, 5, 10], "C"],
        "f5": ["|u1", [2, 3, 1, 4, 5], "F"],
        "c5": ["|u1", [2, 3, 1, 4, 2], "C"],
    });
    make(py, d, &spec);
    // 9.6 MB C + 10.4 MB Fortran along axis 0.
    concat_like_numpy(py, d, &paths(d, &["c2", "f2", "c2"]), 0, "big2d");
    // Along axis 1: the Fortran input's blocks interleave with the C ones.
    concat_like_numpy(py, d, &paths(d, &["f3", "c3"]), 1, "axis1");
    concat_like_numpy(py, d, &paths(d, &["f4a", "c4", "f4b"]), -1, "axis_last");
    concat_like_numpy(py, d, &paths(d, &["c5", "f5"]), 4, "five_d");
    // All Fortran: numpy's result is Fortran too, nothing to transpose.
    concat_like_numpy(py, d, &paths(d, &["f4a", "f4b"]), 3, "all_f");
}

/// Every item size from 1 to 32 bytes, structured ones with padding
/// included, and both byte orders.
#[test]
fn every_item_size_is_transposed_like_numpy() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let dtypes = [
        "|u1",
        ">i2",
        "|S3",
        "<f4",
        "|V5",
        ">f8",
        "<c8",
        "|S12",
        "<c16",
        "[('a', '<f8'), ('b', '|S24')]",
        "{'names': ['x', 'y'], 'formats': ['u1', '<f8'], 'offsets': [0, 8], 'itemsize': 16}",
        "[('p', '<i4', (3,)), ('q', '|u1')]",
    ];
    let mut spec = serde_json::Map::new();
    for (i, dt) in dtypes.iter().enumerate() {
        spec.insert(format!("f{i}"), serde_json::json!([dt, [37, 53, 3], "F"]));
        spec.insert(format!("c{i}"), serde_json::json!([dt, [11, 53, 3], "C"]));
    }
    make(py, d, &serde_json::Value::Object(spec));
    for i in 0..dtypes.len() {
        let (f, c) = (format!("f{i}"), format!("c{i}"));
        concat_like_numpy(py, d, &paths(d, &[&f, &c]), 0, &format!("dt{i}"));
    }
}

/// convert-stacked: a stacked file of Fortran arrays (one over 8 MiB)
/// joined by vstack, concatenate along another axis, and stack, as numpy
/// would; `inspect` calls it convertible.
#[test]
fn stacked_fortran_arrays_convert_like_numpy() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let spec = serde_json::json!({
        "a": ["<f8", [1100, 1000], "F"],
        "b": ["<f8", [300, 1000], "C"],
        "c": ["<f8", [7, 1000], "F"],
        "s1": ["<i4", [30, 20, 3], "F"],
        "s2": ["<i4", [30, 20, 3], "F"],
    });
    make(py, d, &spec);
    let st = d.join("st.npy");
    let sv = d.join("sv.npy");
    oracle(
        py,
        &[
            "stack-save",
            s(&st),
            s(&d.join("a.npy")),
            s(&d.join("b.npy")),
            s(&d.join("c.npy")),
        ],
    );
    oracle(
        py,
        &[
            "stack-save",
            s(&sv),
            s(&d.join("s1.npy")),
            s(&d.join("s2.npy")),
            s(&d.join("s1.npy")),
        ],
    );
    let j = &run(d, &["inspect", "--json", s(&st)]).json_lines()[0];
    assert_eq!(j["convertible"], true, "{j}");
    let cases: [(&Path, &[&str], &[&str]); 4] = [
        (&st, &[], &["vstack"]),
        (&st, &["--axis", "-1"], &["concatenate", "-1"]),
        (&sv, &["--stack"], &["stack"]),
        (&sv, &["--axis", "1"], &["concatenate", "1"]),
    ];
    for (k, (input, ours_args, mode)) in cases.iter().enumerate() {
        let ours = d.join(format!("ours{k}.npy"));
        let theirs = d.join(format!("numpy{k}.npy"));
        let mut a = vec!["convert-stacked", "-q"];
        a.extend_from_slice(ours_args);
        a.extend([s(input), "-o", s(&ours)]);
        let r = run(d, &a);
        let mut o = vec!["convert", s(&theirs)];
        o.extend_from_slice(mode);
        o.push(s(input));
        let v = Command::new(py)
            .arg(repo().join("tests/numpy/oracle.py"))
            .args(&o)
            .output()
            .unwrap();
        if !v.status.success() {
            // numpy refuses (shapes do not join along that axis): so must we.
            r.fails();
            continue;
        }
        r.ok();
        assert!(
            std::fs::read(&ours).unwrap() == std::fs::read(&theirs).unwrap(),
            "case {k} ({ours_args:?}) differs from numpy"
        );
    }
}

/// The mapped, vectored copy of many small arrays: runs of identical
/// headers broken by other shapes, 1-D arrays (vstack's atleast_2d), and
/// an empty one, equal to numpy's vstack; the interrupted last save is left
/// out only when asked.
#[test]
fn many_small_saves_convert_like_numpy() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let spec = serde_json::json!({
        "r": ["<f8", [1, 128], "C"],
        "t": ["<f8", [3, 128], "C"],
        "z": ["<f8", [0, 128], "C"],
        "v": ["<f8", [128], "C"],
    });
    make(py, d, &spec);
    let mut order = Vec::new();
    for i in 0..3000 {
        order.push(match i % 500 {
            7 => "t",
            100 => "z",
            300 => "v",
            _ => "r",
        });
    }
    let st = d.join("st.npy");
    let mut bytes = Vec::new();
    for n in &order {
        bytes.extend(std::fs::read(d.join(format!("{n}.npy"))).unwrap());
    }
    std::fs::write(&st, &bytes).unwrap();
    run(d, &["convert-stacked", "-q", s(&st), "-o", "ours.npy"]).ok();
    oracle(py, &["convert", s(&d.join("numpy.npy")), "vstack", s(&st)]);
    assert!(
        std::fs::read(d.join("ours.npy")).unwrap() == std::fs::read(d.join("numpy.npy")).unwrap(),
        "convert-stacked differs from numpy's vstack"
    );
    // Cut inside the last array's data: refused, then converted without it.
    let cut = d.join("cut.npy");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    run(d, &["convert-stacked", s(&cut), "-o", "cut_out.npy"])
        .fails()
        .stderr_has("--drop-incomplete");
    assert!(!d.join("cut_out.npy").exists());
    run(
        d,
        &[
            "convert-stacked",
            "--drop-incomplete",
            s(&cut),
            "-o",
            "cut_out.npy",
        ],
    )
    .ok();
    let all = std::fs::read(d.join("ours.npy")).unwrap();
    let part = std::fs::read(d.join("cut_out.npy")).unwrap();
    // One row of 128 f8 fewer, and the same rows before it.
    let hl = |b: &[u8]| 10 + u16::from_le_bytes([b[8], b[9]]) as usize;
    let (ha, hp) = (hl(&all), hl(&part));
    assert_eq!(all.len() - ha - (part.len() - hp), 1024);
    assert_eq!(all[ha..all.len() - 1024], part[hp..]);
}

/// An input truncated by another process while it is read through a map
/// (here: a Fortran-order input being transposed) ends in a clear error,
/// exit 1, not a silent death by SIGBUS. The output is a pipe the test
/// stops reading, so the truncation lands after the map is made and before
/// most of it is read.
#[test]
fn input_truncated_under_the_map_is_an_error_not_a_signal() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempdir();
    let d = dir.path();
    let rows = 131_072u64; // 16 MiB of f8 in Fortran order
    let data: Vec<u8> = (0..rows * 16)
        .flat_map(|i| (i as f64).to_le_bytes())
        .collect();
    write_npy(&d.join("f.npy"), "'<f8'", true, &[rows, 16], &data);
    write_npy(&d.join("c.npy"), "'<f8'", false, &[4, 16], &data[..512]);
    let mut child = Command::new(bin())
        .args(["concat", "-q", "-o", "-", "f.npy", "c.npy"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    // The first bytes of data come from the map: it exists now.
    let mut first = vec![0u8; 1 << 16];
    out.read_exact(&mut first).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("f.npy"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let mut rest = Vec::new();
    out.read_to_end(&mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains("npy: f.npy: shrank while being read"),
        "stderr: {err}"
    );
    assert!((first.len() + rest.len()) < 128 + data.len());
}
