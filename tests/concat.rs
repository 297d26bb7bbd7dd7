//! `npy concat` integration tests: numpy's test arrays split and joined
//! again, compared byte for byte with `np.save(np.concatenate(...))`;
//! refusals that write nothing; the input-list options; SIGKILL at random
//! moments.

use std::path::{Path, PathBuf};

use crate::common::*;
// Moved to tests/common; still reachable here for tests written against the
// old paths (`crate::concat::kill_trials`).
#[allow(unused_imports)]
pub use crate::common::{kill_trials, Rng};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Splits `file` along `axis` into `n` pieces with numpy, into `dir`.
fn split(py: &str, file: &Path, axis: i64, n: usize, dir: &Path) -> Vec<PathBuf> {
    let v = oracle(
        py,
        &["split", s(file), &axis.to_string(), &n.to_string(), s(dir)],
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect()
}

/// `npy concat --axis AXIS` of `pieces` must equal numpy's, byte for byte
/// (Fortran-order pieces that numpy's result has in C order are transposed).
fn check_join(py: &str, dir: &Path, name: &str, pieces: &[PathBuf], axis: i64) {
    let ours = dir.join(format!("{name}_ours.npy"));
    let theirs = dir.join(format!("{name}_numpy.npy"));
    let mut args = vec![
        "concat".to_string(),
        "-o".into(),
        s(&ours).into(),
        "--axis".into(),
        axis.to_string(),
    ];
    args.extend(pieces.iter().map(|p| s(p).to_string()));
    let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
    run(dir, &args).ok();
    let mut oargs = vec!["concat", s(&theirs)];
    let ax = axis.to_string();
    oargs.push(&ax);
    oargs.extend(pieces.iter().map(|p| s(p)));
    oracle(py, &oargs);
    let (a, b) = (
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap(),
    );
    assert!(
        a == b,
        "{name} axis {axis}: npy concat differs from numpy ({} vs {} bytes)\nours:  {:?}\nnumpy: {:?}",
        a.len(),
        b.len(),
        String::from_utf8_lossy(&a[..a.len().min(128)]),
        String::from_utf8_lossy(&b[..b.len().min(128)])
    );
}

#[test]
fn numpy_cases_split_and_joined_are_byte_identical() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let cases_dir = dir.path().join("cases");
    let cases = numpy_cases(py, &cases_dir);
    let (mut growth, mut middle, mut fortran_other) = (0, 0, 0);
    for c in &cases {
        if c["object"] == true || c["chunkable"] != true {
            continue;
        }
        let name = c["name"].as_str().unwrap();
        let file = cases_dir.join(c["file"].as_str().unwrap());
        let shape: Vec<u64> = c["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        let fortran_order = c["fortran_order"] == true;
        let nd = shape.len() as i64;
        // The growth axis; for Fortran order given from the end.
        let g = if fortran_order { -1 } else { 0 };
        let pieces = split(py, &file, g, 3, &dir.path().join(format!("{name}_g")));
        check_join(py, dir.path(), &format!("{name}_g"), &pieces, g);
        growth += 1;
        // Every other axis: the interleaved copy.
        for ax in 0..nd {
            let is_growth = if fortran_order { ax == nd - 1 } else { ax == 0 };
            if is_growth || shape[ax as usize] < 2 {
                continue;
            }
            let tag = format!("{name}_a{ax}");
            let pieces = split(py, &file, ax, 3, &dir.path().join(&tag));
            check_join(py, dir.path(), &tag, &pieces, ax);
            if fortran_order {
                fortran_other += 1;
            } else {
                middle += 1;
            }
        }
    }
    assert!(
        growth >= 40,
        "only {growth} cases joined along the growth axis"
    );
    assert!(
        middle >= 8,
        "only {middle} joins along other axes of C arrays"
    );
    assert!(
        fortran_other >= 4,
        "only {fortran_other} joins of Fortran arrays along other axes"
    );
}

#[test]
fn joins_along_axis_zero_match_np_load() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("a.npy"), "'<f8'", false, &[2, 3], &f8_bytes(0..6));
    write_npy(&d.join("b.npy"), "'<f8'", false, &[1, 3], &f8_bytes(6..9));
    run(d, &["concat", "-o", "ab.npy", "a.npy", "b.npy"]).ok();
    let v = np_load(py, &d.join("ab.npy"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["shape"], serde_json::json!([3, 3]));
    write_npy(&d.join("all.npy"), "'<f8'", false, &[3, 3], &f8_bytes(0..9));
    assert_np_equal(py, &d.join("ab.npy"), &d.join("all.npy"));
}

fn prepared() -> TempDir {
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("a.npy"), "'<f8'", false, &[2, 3], &f8_bytes(0..6));
    write_npy(&d.join("b.npy"), "'<f8'", false, &[1, 3], &f8_bytes(6..9));
    dir
}

/// Runs a refused concat and checks that nothing was written.
#[track_caller]
fn refused(d: &Path, args: &[&str], needles: &[&str]) {
    let before: Vec<_> = dir_listing(d);
    let r = run(d, args);
    r.fails();
    for n in needles {
        r.stderr_has(n);
    }
    assert_eq!(
        dir_listing(d),
        before,
        "a refused concat changed the directory"
    );
}

#[test]
fn mismatches_are_refused_and_nothing_written() {
    let dir = prepared();
    let d = dir.path();
    write_npy(&d.join("i4.npy"), "'<i4'", false, &[1, 3], &[0; 12]);
    write_npy(&d.join("be.npy"), "'>f8'", false, &[1, 3], &[0; 24]);
    write_npy(&d.join("wide.npy"), "'<f8'", false, &[1, 4], &[0; 32]);
    write_npy(&d.join("flat.npy"), "'<f8'", false, &[3], &[0; 24]);
    write_npy(&d.join("zero_d.npy"), "'<f8'", false, &[], &[0; 8]);
    write_npy(&d.join("obj.npy"), "'|O'", false, &[2], &[0; 16]);
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "i4.npy"],
        &["i4.npy", "'<i4'", "'<f8'"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "be.npy"],
        &["be.npy", "'>f8'"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "wide.npy"],
        &["wide.npy", "(1, 4)", "(2, 3)"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "flat.npy"],
        &["flat.npy", "dimensions"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "zero_d.npy", "zero_d.npy"],
        &["zero_d.npy", "zero-dimensional"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "obj.npy"],
        &["obj.npy", "object"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "--axis", "2", "a.npy", "b.npy"],
        &["a.npy", "axis 2"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "--axis", "1", "a.npy", "b.npy"],
        &["b.npy", "(1, 3)"],
    );
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "missing.npy"],
        &["missing.npy"],
    );
    // No inputs at all is a usage error; an empty list is a failure.
    run(d, &["concat", "-o", "out.npy"])
        .expect_code(2)
        .stderr_has("<INPUTS>...");
    assert!(!d.join("out.npy").exists());
    std::fs::write(d.join("empty.txt"), "\n").unwrap();
    refused(
        d,
        &["concat", "-o", "out.npy", "--files-from", "empty.txt"],
        &["no input"],
    );
}

#[test]
fn damaged_inputs_are_refused() {
    let dir = prepared();
    let d = dir.path();
    let a = std::fs::read(d.join("a.npy")).unwrap();
    std::fs::write(d.join("trunc.npy"), &a[..a.len() - 5]).unwrap();
    let mut t = a.clone();
    t.extend_from_slice(b"xyz");
    std::fs::write(d.join("trail.npy"), &t).unwrap();
    let mut st = a.clone();
    st.extend_from_slice(&a);
    std::fs::write(d.join("stacked.npy"), &st).unwrap();
    std::fs::write(d.join("junk.npy"), b"PK\x03\x04 not numpy").unwrap();
    std::fs::write(d.join("empty.npy"), b"").unwrap();
    std::fs::write(d.join("cut_header.npy"), &a[..40]).unwrap();
    let mut bad = a.clone();
    bad[20] = b'!';
    std::fs::write(d.join("bad_dict.npy"), &bad).unwrap();
    for (f, what) in [
        ("trunc.npy", "truncated"),
        ("trail.npy", "extra bytes"),
        ("stacked.npy", "convert-stacked"),
        ("junk.npy", "not a .npy file"),
        ("empty.npy", "empty"),
        ("cut_header.npy", "past the end"),
        ("bad_dict.npy", "malformed header"),
    ] {
        refused(
            d,
            &["concat", "-o", "out.npy", "a.npy", f, "b.npy"],
            &[f, what],
        );
    }
    // An existing OUTPUT is left byte for byte as it was, even with --force.
    std::fs::write(d.join("out.npy"), b"keep me").unwrap();
    refused(
        d,
        &["concat", "-f", "-o", "out.npy", "a.npy", "trunc.npy"],
        &["trunc.npy"],
    );
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep me");
}

#[test]
fn existing_output_needs_force() {
    let dir = prepared();
    let d = dir.path();
    std::fs::write(d.join("out.npy"), b"old").unwrap();
    refused(
        d,
        &["concat", "-o", "out.npy", "a.npy", "b.npy"],
        &["out.npy", "already exists", "--force"],
    );
    run(d, &["concat", "--force", "-o", "out.npy", "a.npy", "b.npy"]).ok();
    let mut expect = Vec::new();
    write_npy(
        &d.join("expect.npy"),
        "'<f8'",
        false,
        &[3, 3],
        &f8_bytes(0..9),
    );
    expect.extend(std::fs::read(d.join("expect.npy")).unwrap());
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), expect);
    // No temporary file left behind.
    let names: Vec<String> = dir_listing(d).into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| !n.contains("npy-tmp")), "{names:?}");
}

#[test]
fn output_may_be_an_input() {
    let dir = prepared();
    let d = dir.path();
    run(
        d,
        &["concat", "-f", "-o", "a.npy", "a.npy", "b.npy", "a.npy"],
    )
    .ok();
    let mut data = f8_bytes(0..6);
    data.extend(f8_bytes(6..9));
    data.extend(f8_bytes(0..6));
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[5, 3], &data);
    assert_eq!(
        std::fs::read(d.join("a.npy")).unwrap(),
        std::fs::read(d.join("expect.npy")).unwrap()
    );
}

#[test]
fn stdout_output() {
    let dir = prepared();
    let d = dir.path();
    run(d, &["concat", "-o", "file.npy", "a.npy", "b.npy"]).ok();
    let r = run(d, &["concat", "-o", "-", "a.npy", "b.npy"]);
    r.ok();
    assert_eq!(r.out.stdout, std::fs::read(d.join("file.npy")).unwrap());
    // Along axis 1 too (interleaved), and a closed pipe is not an error.
    write_npy(&d.join("c.npy"), "'<f8'", false, &[2, 1], &f8_bytes(0..2));
    let r = run(d, &["concat", "-o", "-", "--axis", "-1", "a.npy", "c.npy"]);
    r.ok();
    std::fs::write(d.join("piped.npy"), &r.out.stdout).unwrap();
    let r2 = run(
        d,
        &["concat", "-o", "ac.npy", "--axis", "1", "a.npy", "c.npy"],
    );
    r2.ok();
    assert_eq!(std::fs::read(d.join("ac.npy")).unwrap(), r.out.stdout);
}

#[test]
fn files_from_many_small_chunks_sorted_naturally() {
    let dir = tempdir();
    let d = dir.path();
    let chunks = d.join("chunks");
    std::fs::create_dir(&chunks).unwrap();
    let n = 3000u32;
    let mut list = String::new();
    for i in 0..n {
        let name = format!("chunks/chunk_{i}.npy");
        write_npy(
            &d.join(&name),
            "'<f8'",
            false,
            &[1, 2],
            &f8_bytes(2 * i..2 * i + 2),
        );
        list.push_str(&name);
        list.push('\n');
    }
    // Lexical order, as a shell glob or `find | sort` gives it.
    let mut lexical: Vec<&str> = list.lines().collect();
    lexical.sort();
    let lexical = lexical.join("\n") + "\n";
    std::fs::write(d.join("list.txt"), &lexical).unwrap();
    write_npy(
        &d.join("expect.npy"),
        "'<f8'",
        false,
        &[n as u64, 2],
        &f8_bytes(0..2 * n),
    );
    let expect = std::fs::read(d.join("expect.npy")).unwrap();

    run(
        d,
        &[
            "concat",
            "-o",
            "all.npy",
            "--sort",
            "natural",
            "--files-from",
            "list.txt",
        ],
    )
    .ok();
    assert_eq!(std::fs::read(d.join("all.npy")).unwrap(), expect);

    // From stdin; without --sort the order is the listed one.
    let out = run_stdin(
        d,
        &["concat", "-o", "lex.npy", "--files-from", "-"],
        lexical.as_bytes(),
    );
    out.ok();
    let lex = std::fs::read(d.join("lex.npy")).unwrap();
    assert_eq!(lex.len(), expect.len());
    assert_ne!(lex, expect);
    let out = run_stdin(
        d,
        &[
            "concat",
            "-o",
            "nat.npy",
            "--sort",
            "natural",
            "--files-from",
            "-",
        ],
        lexical.as_bytes(),
    );
    out.ok();
    assert_eq!(std::fs::read(d.join("nat.npy")).unwrap(), expect);

    // Many inputs along another axis (the files are opened again per batch).
    let mut cols = Vec::new();
    for i in 0..n {
        let row = [(2 * i) as f64, (2 * i + 1) as f64];
        cols.push(row);
    }
    let mut wide = Vec::new();
    for r in 0..2 {
        for c in &cols {
            wide.extend(c[r].to_le_bytes());
        }
    }
    let mut lines = String::new();
    for i in 0..n {
        let name = format!("chunks/col_{i}.npy");
        write_npy(
            &d.join(&name),
            "'<f8'",
            false,
            &[2, 1],
            &[
                cols[i as usize][0].to_le_bytes(),
                cols[i as usize][1].to_le_bytes(),
            ]
            .concat(),
        );
        lines.push_str(&name);
        lines.push('\n');
    }
    std::fs::write(d.join("cols.txt"), lines).unwrap();
    run(
        d,
        &[
            "concat",
            "-o",
            "wide.npy",
            "--axis",
            "1",
            "--files-from",
            "cols.txt",
        ],
    )
    .ok();
    write_npy(
        &d.join("wide_expect.npy"),
        "'<f8'",
        false,
        &[2, n as u64],
        &wide,
    );
    assert_eq!(
        std::fs::read(d.join("wide.npy")).unwrap(),
        std::fs::read(d.join("wide_expect.npy")).unwrap()
    );
}

#[test]
fn positional_inputs_then_list_and_natural_sort() {
    let dir = tempdir();
    let d = dir.path();
    for i in [1u32, 2, 10, 11] {
        write_npy(
            &d.join(format!("c{i}.npy")),
            "'<f8'",
            false,
            &[1],
            &f8_bytes(i..i + 1),
        );
    }
    std::fs::write(d.join("l.txt"), "c2.npy\n\nc1.npy\r\n").unwrap();
    run(
        d,
        &[
            "concat",
            "-o",
            "o.npy",
            "c11.npy",
            "c10.npy",
            "--files-from",
            "l.txt",
        ],
    )
    .ok();
    let mut data = f8_bytes(11..12);
    data.extend(f8_bytes(10..11));
    data.extend(f8_bytes(2..3));
    data.extend(f8_bytes(1..2));
    write_npy(&d.join("e.npy"), "'<f8'", false, &[4], &data);
    assert_eq!(
        std::fs::read(d.join("o.npy")).unwrap(),
        std::fs::read(d.join("e.npy")).unwrap()
    );
    run(
        d,
        &[
            "concat",
            "-o",
            "s.npy",
            "--sort",
            "natural",
            "c11.npy",
            "c10.npy",
            "--files-from",
            "l.txt",
        ],
    )
    .ok();
    let mut data = f8_bytes(1..3);
    data.extend(f8_bytes(10..12));
    write_npy(&d.join("e2.npy"), "'<f8'", false, &[4], &data);
    assert_eq!(
        std::fs::read(d.join("s.npy")).unwrap(),
        std::fs::read(d.join("e2.npy")).unwrap()
    );
}

/// SIGKILL during the interleaved copy (along axis 1, through the buffer):
/// OUTPUT absent or whole. tests/reliability.rs (crash_concat) kills the
/// kernel-side copy along axis 0.
#[test]
fn sigkill_leaves_output_absent_or_complete() {
    let dir = tempdir();
    let d = dir.path();
    // Four 1 MiB chunks joined along axis 1.
    let rows = 1u32 << 15;
    for i in 0..4u32 {
        write_npy(
            &d.join(format!("c{i}.npy")),
            "'<f8'",
            false,
            &[rows as u64, 4],
            &f8_bytes(i * 4 * rows..(i + 1) * 4 * rows),
        );
    }
    let ins: Vec<(PathBuf, Vec<u8>)> = (0..4)
        .map(|i| {
            let p = d.join(format!("c{i}.npy"));
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    {
        let (axis, seed0) = ("1", 2000u64);
        run(
            d,
            &[
                "concat",
                "-o",
                "expect.npy",
                "--axis",
                axis,
                "c0.npy",
                "c1.npy",
                "c2.npy",
                "c3.npy",
            ],
        )
        .ok();
        let expect = std::fs::read(d.join("expect.npy")).unwrap();
        std::fs::remove_file(d.join("expect.npy")).unwrap();
        let out = d.join("out.npy");
        kill_trials(
            d,
            &[
                "concat", "-o", "out.npy", "--axis", axis, "c0.npy", "c1.npy", "c2.npy", "c3.npy",
            ],
            30,
            seed0,
            &|| {
                let _ = std::fs::remove_file(&out);
            },
            &|seed| {
                if let Ok(got) = std::fs::read(&out) {
                    assert!(
                        got == expect,
                        "seed {seed}: OUTPUT is partial ({} of {} bytes)",
                        got.len(),
                        expect.len()
                    );
                }
                for (p, b) in &ins {
                    assert!(
                        &std::fs::read(p).unwrap() == b,
                        "seed {seed}: input {} changed",
                        p.display()
                    );
                }
            },
        );
    }
}

/// Random small shapes, C and Fortran order mixed, unit and empty pieces:
/// `concat` and `convert-stacked --axis` against numpy, whose choice of
/// memory order (and the transposes it implies) this exercises.
#[test]
fn random_mixed_orders_match_numpy() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let seed0 = 77u64;
    for trial in 0..40u64 {
        let seed = seed0 + trial;
        let mut rng = Rng::new(seed);
        let mut pick = |n: u64| rng.below(n);
        let nd = 1 + pick(4) as usize;
        let base: Vec<u64> = (0..nd).map(|_| [1, 1, 2, 3, 4][pick(5) as usize]).collect();
        let axis = pick(nd as u64) as usize;
        let k = 1 + pick(4);
        let (descr, isz) = [("'<f8'", 8u64), ("'>i4'", 4), ("'|u1'", 1)][pick(3) as usize];
        let mut names = Vec::new();
        let mut stacked = Vec::new();
        for i in 0..k {
            let mut shape = base.clone();
            shape[axis] = [0, 1, 1, 2, 3][pick(5) as usize];
            let n: u64 = shape.iter().product::<u64>() * isz;
            let data: Vec<u8> = (0..n).map(|b| (b * 7 + i * 31) as u8).collect();
            let fortran_order =
                pick(2) == 1 && shape.iter().filter(|&&x| x != 1).count() > 1 && n > 0;
            let name = format!("t{trial}_{i}.npy");
            write_npy(&d.join(&name), descr, fortran_order, &shape, &data);
            stacked.extend(std::fs::read(d.join(&name)).unwrap());
            names.push(name);
        }
        let ax = if pick(2) == 1 {
            axis as i64
        } else {
            axis as i64 - nd as i64
        };
        let theirs = format!("t{trial}_numpy.npy");
        let mut oargs = vec![
            "concat".to_string(),
            s(&d.join(&theirs)).to_string(),
            axis.to_string(),
        ];
        oargs.extend(names.iter().map(|n| s(&d.join(n)).to_string()));
        let oargs: Vec<&str> = oargs.iter().map(|a| a.as_str()).collect();
        oracle(py, &oargs);
        let expect = std::fs::read(d.join(&theirs)).unwrap();
        let ours = format!("t{trial}_ours.npy");
        let axs = ax.to_string();
        let mut args = vec!["concat", "-o", &ours, "--axis", &axs];
        args.extend(names.iter().map(|n| n.as_str()));
        let r = run(d, &args);
        assert_eq!(r.code(), 0, "seed {seed}: {}", r.stderr());
        assert!(
            std::fs::read(d.join(&ours)).unwrap() == expect,
            "seed {seed}: concat differs from numpy"
        );
        let st = format!("t{trial}_stacked.npy");
        std::fs::write(d.join(&st), &stacked).unwrap();
        let conv = format!("t{trial}_conv.npy");
        let r = run(d, &["convert-stacked", &st, "-o", &conv, "--axis", &axs]);
        assert_eq!(r.code(), 0, "seed {seed}: {}", r.stderr());
        assert!(
            std::fs::read(d.join(&conv)).unwrap() == expect,
            "seed {seed}: convert-stacked differs from numpy"
        );
    }
}

#[test]
fn no_sync_writes_the_same_bytes() {
    let dir = prepared();
    let d = dir.path();
    run(d, &["concat", "-o", "synced.npy", "a.npy", "b.npy"]).ok();
    run(
        d,
        &[
            "concat",
            "--no-sync",
            "-o",
            "unsynced.npy",
            "a.npy",
            "b.npy",
        ],
    )
    .ok();
    let synced = std::fs::read(d.join("synced.npy")).unwrap();
    assert_eq!(synced, std::fs::read(d.join("unsynced.npy")).unwrap());
    let mut data = f8_bytes(0..6);
    data.extend(f8_bytes(6..9));
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[3, 3], &data);
    assert_eq!(synced, std::fs::read(d.join("expect.npy")).unwrap());
}

/// An input caught between an append's data and its header (bytes past its
/// header's data, file locked by the appender) is waited for, not refused
/// as damaged.
#[test]
fn waits_for_an_append_in_flight_on_an_input() {
    let dir = prepared();
    let d = dir.path();
    // Simulate `npy append b.npy` mid-way: locked, a row written past the
    // data, header not yet updated.
    let b = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(d.join("b.npy"))
        .unwrap();
    b.lock().unwrap();
    let end = b.metadata().unwrap().len();
    std::os::unix::fs::FileExt::write_all_at(&b, &f8_bytes(9..12), end).unwrap();
    let child = std::process::Command::new(bin())
        .args(["concat", "-o", "out.npy", "a.npy", "b.npy"])
        .current_dir(d)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(
        !d.join("out.npy").exists(),
        "concat did not wait for the lock"
    );
    // The append commits: header now says 2 rows.
    let mut whole = f8_bytes(6..9);
    whole.extend(f8_bytes(9..12));
    write_npy(&d.join("b2.npy"), "'<f8'", false, &[2, 3], &whole);
    let header = std::fs::read(d.join("b2.npy")).unwrap()[..128].to_vec();
    std::os::unix::fs::FileExt::write_all_at(&b, &header, 0).unwrap();
    b.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut data = f8_bytes(0..6);
    data.extend(whole);
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[4, 3], &data);
    assert_eq!(
        std::fs::read(d.join("out.npy")).unwrap(),
        std::fs::read(d.join("expect.npy")).unwrap()
    );
}
