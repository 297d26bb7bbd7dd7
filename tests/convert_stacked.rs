//! `npy convert-stacked` integration tests: files made by calling `np.save`
//! repeatedly on one handle, converted byte-identical to `np.save` of
//! numpy's vstack / concatenate / stack; refusals that write nothing;
//! `--in-place`, `--drop-incomplete`; SIGKILL at random moments.

use std::path::{Path, PathBuf};

use crate::common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A stacked file: `np.save` of each piece on one handle is exactly the
/// pieces' `np.save` bytes back to back (checked against the oracle's
/// `stack-save` in `stack_save_is_concatenated_saves`).
fn stacked(out: &Path, pieces: &[PathBuf]) {
    let mut b = Vec::new();
    for p in pieces {
        b.extend(std::fs::read(p).unwrap());
    }
    std::fs::write(out, b).unwrap();
}

/// Converts `st` with `flags` and compares with `oracle convert MODE`:
/// byte-identical, or both refuse. Returns whether both joined.
fn check_convert(
    py: &str,
    dir: &Path,
    tag: &str,
    st: &Path,
    flags: &[&str],
    mode: &[&str],
) -> bool {
    let ours = dir.join(format!("{tag}_ours.npy"));
    let theirs = dir.join(format!("{tag}_numpy.npy"));
    let mut args = vec!["convert-stacked", s(st), "-o", s(&ours)];
    args.extend_from_slice(flags);
    let r = run(dir, &args);
    let mut oargs = vec!["convert", s(&theirs)];
    oargs.extend_from_slice(mode);
    oargs.push(s(st));
    let numpy = try_oracle(py, &oargs);
    match (r.code(), numpy) {
        (0, Some(_)) => {
            let (a, b) = (
                std::fs::read(&ours).unwrap(),
                std::fs::read(&theirs).unwrap(),
            );
            assert!(
                a == b,
                "{tag} {flags:?}: differs from numpy ({} vs {} bytes)\nours:  {:?}\nnumpy: {:?}",
                a.len(),
                b.len(),
                String::from_utf8_lossy(&a[..a.len().min(128)]),
                String::from_utf8_lossy(&b[..b.len().min(128)])
            );
            true
        }
        (0, None) => panic!("{tag} {flags:?}: numpy refuses, npy converted"),
        (_, None) => {
            r.fails().stderr_has("array ").stderr_has("byte offset");
            assert!(!ours.exists());
            false
        }
        (_, Some(_)) => panic!("{tag} {flags:?}: numpy joins, npy refused:\n{}", r.stderr()),
    }
}

#[test]
fn numpy_cases_saved_in_parts_convert_byte_identical() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    let cases_dir = d.join("cases");
    let cases = numpy_cases(py, &cases_dir);
    let (mut vstack, mut concat, mut stack, mut middle) = (0, 0, 0, 0);
    for c in &cases {
        if c["object"] == true || c["name"] == "rec_wide_v2" {
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
        let nd = shape.len();
        // Pieces along the growth axis, saved one after the other.
        let pieces = if c["chunkable"] == true {
            let g = if fortran_order { "-1" } else { "0" };
            let v = oracle(
                py,
                &["split", s(&file), g, "3", s(&d.join(format!("{name}_p")))],
            );
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| PathBuf::from(p.as_str().unwrap()))
                .collect()
        } else {
            vec![file.clone(), file.clone()]
        };
        let st = d.join(format!("{name}_stacked.npy"));
        stacked(&st, &pieces);
        if check_convert(py, d, &format!("{name}_v"), &st, &[], &["vstack"]) {
            vstack += 1;
        }
        if nd >= 1 {
            let g = if fortran_order { "-1" } else { "0" };
            if check_convert(
                py,
                d,
                &format!("{name}_c"),
                &st,
                &["--axis", g],
                &["concatenate", g],
            ) {
                concat += 1;
            }
        }
        // np.stack of three copies.
        let same = d.join(format!("{name}_same.npy"));
        stacked(&same, &[file.clone(), file.clone(), file.clone()]);
        if check_convert(py, d, &format!("{name}_s"), &same, &["--stack"], &["stack"]) {
            stack += 1;
        }
        // A middle axis of C arrays: pieces split along it.
        if !fortran_order && nd >= 2 && shape[1] >= 2 && c["itemsize"].as_u64().unwrap() > 0 {
            let v = oracle(
                py,
                &["split", s(&file), "1", "3", s(&d.join(format!("{name}_m")))],
            );
            let ps: Vec<PathBuf> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| PathBuf::from(p.as_str().unwrap()))
                .collect();
            let st = d.join(format!("{name}_mid.npy"));
            stacked(&st, &ps);
            assert!(check_convert(
                py,
                d,
                &format!("{name}_m"),
                &st,
                &["--axis", "1"],
                &["concatenate", "1"]
            ));
            middle += 1;
        }
    }
    assert!(
        vstack >= 40 && concat >= 40 && stack >= 50 && middle >= 5,
        "{vstack} {concat} {stack} {middle}"
    );
}

#[test]
fn stack_save_is_concatenated_saves() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("z.npy"), "'<f8'", false, &[2], &[0; 16]);
    write_npy(
        &d.join("o.npy"),
        "'<f8'",
        false,
        &[2],
        &[1f64.to_le_bytes(), 1f64.to_le_bytes()].concat(),
    );
    // The question's example: np.save(f, np.zeros(2)); np.save(f, np.ones(2)).
    oracle(
        py,
        &[
            "stack-save",
            s(&d.join("st.npy")),
            s(&d.join("z.npy")),
            s(&d.join("o.npy")),
        ],
    );
    stacked(&d.join("mine.npy"), &[d.join("z.npy"), d.join("o.npy")]);
    assert_eq!(
        std::fs::read(d.join("st.npy")).unwrap(),
        std::fs::read(d.join("mine.npy")).unwrap()
    );
    run(d, &["convert-stacked", "st.npy", "-o", "out.npy"]).ok();
    let v = np_load(py, &d.join("out.npy"));
    assert_eq!(v["shape"], serde_json::json!([2, 2]), "{v}");
    let mut data = vec![0u8; 16];
    data.extend([1f64.to_le_bytes(), 1f64.to_le_bytes()].concat());
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[2, 2], &data);
    assert_eq!(
        std::fs::read(d.join("out.npy")).unwrap(),
        std::fs::read(d.join("expect.npy")).unwrap()
    );
    assert_np_equal(py, &d.join("out.npy"), &d.join("expect.npy"));
    oracle(
        py,
        &[
            "convert",
            s(&d.join("numpy.npy")),
            "vstack",
            s(&d.join("st.npy")),
        ],
    );
    assert_eq!(
        std::fs::read(d.join("out.npy")).unwrap(),
        std::fs::read(d.join("numpy.npy")).unwrap()
    );
}

fn array(descr: &str, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let l = npy_tools::npy::Layout::new(
        npy_tools::npy::pylit::parse(descr).unwrap(),
        false,
        shape.to_vec(),
    )
    .unwrap();
    let mut b = l.to_npy_header();
    b.extend_from_slice(data);
    b
}

fn rows(n: u32, width: u32, start: u32) -> Vec<u8> {
    array(
        "'<f8'",
        &[n as u64, width as u64],
        &f8_bytes(start..start + n * width),
    )
}

#[track_caller]
fn refused(d: &Path, args: &[&str], needles: &[&str]) {
    let before = dir_listing(d);
    let r = run(d, args);
    r.fails();
    for n in needles {
        r.stderr_has(n);
    }
    assert_eq!(
        dir_listing(d),
        before,
        "a refused convert-stacked changed the directory"
    );
}

#[test]
fn bad_stacks_are_refused_with_index_and_offset() {
    let dir = tempdir();
    let d = dir.path();
    let a = rows(2, 3, 0);
    let b = rows(1, 3, 6);
    let c = rows(3, 3, 9);
    let off_c = (a.len() + b.len()).to_string();
    let good = [a.clone(), b.clone(), c.clone()].concat();
    std::fs::write(d.join("good.npy"), &good).unwrap();

    std::fs::write(d.join("trunc.npy"), &good[..good.len() - 7]).unwrap();
    refused(
        d,
        &["convert-stacked", "trunc.npy", "-o", "out.npy"],
        &[
            "trunc.npy",
            "array 2",
            &off_c,
            "truncated",
            "--drop-incomplete",
        ],
    );
    refused(
        d,
        &["convert-stacked", "--in-place", "trunc.npy"],
        &["array 2"],
    );
    // A header cut short is incomplete too.
    std::fs::write(d.join("cut_header.npy"), &good[..a.len() + b.len() + 30]).unwrap();
    refused(
        d,
        &["convert-stacked", "cut_header.npy", "-o", "out.npy"],
        &["array 2", &off_c],
    );

    let i4 = array("'<i4'", &[1, 3], &[0; 12]);
    std::fs::write(d.join("dtype.npy"), [a.clone(), b.clone(), i4].concat()).unwrap();
    refused(
        d,
        &["convert-stacked", "dtype.npy", "-o", "out.npy"],
        &["array 2", &off_c, "'<i4'"],
    );
    let be = array("'>f8'", &[1, 3], &[0; 24]);
    std::fs::write(d.join("order.npy"), [a.clone(), b.clone(), be].concat()).unwrap();
    refused(
        d,
        &["convert-stacked", "order.npy", "-o", "out.npy"],
        &["array 2", "'>f8'"],
    );
    let wide = rows(1, 4, 0);
    std::fs::write(
        d.join("dims.npy"),
        [a.clone(), b.clone(), wide.clone()].concat(),
    )
    .unwrap();
    refused(
        d,
        &["convert-stacked", "dims.npy", "-o", "out.npy"],
        &["array 2", &off_c, "(1, 4)"],
    );
    refused(
        d,
        &["convert-stacked", "--stack", "good.npy", "-o", "out.npy"],
        &["array 1", "np.stack"],
    );
    let obj = array("'|O'", &[2], &[0; 16]);
    std::fs::write(d.join("obj.npy"), [a.clone(), obj, b.clone()].concat()).unwrap();
    refused(
        d,
        &["convert-stacked", "obj.npy", "-o", "out.npy"],
        &["array 1", "objects"],
    );
    std::fs::write(
        d.join("junk_between.npy"),
        [a.clone(), b"garbage!".to_vec(), b.clone()].concat(),
    )
    .unwrap();
    refused(
        d,
        &["convert-stacked", "junk_between.npy", "-o", "out.npy"],
        &["not a .npy array", &a.len().to_string()],
    );
    refused(
        d,
        &[
            "convert-stacked",
            "--drop-incomplete",
            "junk_between.npy",
            "-o",
            "out.npy",
        ],
        &["not a .npy array"],
    );
    std::fs::write(
        d.join("junk_after.npy"),
        [good.clone(), b"\n".to_vec()].concat(),
    )
    .unwrap();
    refused(
        d,
        &["convert-stacked", "junk_after.npy", "-o", "out.npy"],
        &["not a .npy array", &good.len().to_string()],
    );
    std::fs::write(d.join("not_npy.npy"), b"hello").unwrap();
    refused(
        d,
        &["convert-stacked", "not_npy.npy", "-o", "out.npy"],
        &["not_npy.npy", "not a .npy file"],
    );
    std::fs::write(d.join("empty.npy"), b"").unwrap();
    refused(
        d,
        &["convert-stacked", "empty.npy", "-o", "out.npy"],
        &["empty"],
    );
    refused(
        d,
        &[
            "convert-stacked",
            "--axis",
            "2",
            "good.npy",
            "-o",
            "out.npy",
        ],
        &["axis 2", "out of bounds"],
    );
    // An existing OUTPUT needs --force.
    std::fs::write(d.join("out.npy"), b"old").unwrap();
    refused(
        d,
        &["convert-stacked", "good.npy", "-o", "out.npy"],
        &["already exists", "--force"],
    );
    run(
        d,
        &["convert-stacked", "good.npy", "-o", "out.npy", "--force"],
    )
    .ok();
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), rows(6, 3, 0));
}

#[test]
fn drop_incomplete_converts_the_complete_arrays() {
    let dir = tempdir();
    let d = dir.path();
    let good = [rows(2, 3, 0), rows(1, 3, 6), rows(3, 3, 9)].concat();
    let cut = good.len() - 7;
    std::fs::write(d.join("trunc.npy"), &good[..cut]).unwrap();
    let r = run(
        d,
        &[
            "convert-stacked",
            "--drop-incomplete",
            "trunc.npy",
            "-o",
            "out.npy",
        ],
    );
    r.ok();
    let left = cut - (rows(2, 3, 0).len() + rows(1, 3, 6).len());
    r.stderr_has(&format!("left out the last {left} bytes"))
        .stderr_has("array 2");
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), rows(3, 3, 0));
    // In place too; the input becomes the joined complete arrays.
    run(
        d,
        &[
            "convert-stacked",
            "--drop-incomplete",
            "--in-place",
            "trunc.npy",
        ],
    )
    .ok();
    assert_eq!(std::fs::read(d.join("trunc.npy")).unwrap(), rows(3, 3, 0));
}

#[test]
fn in_place_and_single_arrays() {
    let dir = tempdir();
    let d = dir.path();
    let one_d = |v: &[f64]| {
        array(
            "'<f8'",
            &[v.len() as u64],
            &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
        )
    };
    std::fs::write(
        d.join("log.npy"),
        [one_d(&[1.0, 2.0]), one_d(&[3.0, 4.0]), one_d(&[5.0, 6.0])].concat(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("log.npy"), std::fs::Permissions::from_mode(0o640)).unwrap();
    run(d, &["convert-stacked", "--in-place", "log.npy"]).ok();
    assert_eq!(
        std::fs::read(d.join("log.npy")).unwrap(),
        array("'<f8'", &[3, 2], &f8_bytes(1..7))
    );
    let mode = std::fs::metadata(d.join("log.npy"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    // A plain file holding one array converts as np.vstack([a]) would.
    std::fs::write(d.join("single.npy"), one_d(&[7.0, 8.0])).unwrap();
    run(d, &["convert-stacked", "single.npy", "-o", "single2d.npy"]).ok();
    assert_eq!(
        std::fs::read(d.join("single2d.npy")).unwrap(),
        array("'<f8'", &[1, 2], &f8_bytes(7..9))
    );
    run(
        d,
        &[
            "convert-stacked",
            "--axis",
            "0",
            "single.npy",
            "-o",
            "same.npy",
        ],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("same.npy")).unwrap(),
        std::fs::read(d.join("single.npy")).unwrap()
    );
    // 0-d arrays: vstack makes rows of one, stack a 1-D array.
    let z = |x: f64| array("'<f8'", &[], &x.to_le_bytes());
    std::fs::write(d.join("scalars.npy"), [z(1.0), z(2.0), z(3.0)].concat()).unwrap();
    run(d, &["convert-stacked", "scalars.npy", "-o", "col.npy"]).ok();
    assert_eq!(
        std::fs::read(d.join("col.npy")).unwrap(),
        array("'<f8'", &[3, 1], &f8_bytes(1..4))
    );
    run(
        d,
        &["convert-stacked", "--stack", "scalars.npy", "-o", "vec.npy"],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("vec.npy")).unwrap(),
        array("'<f8'", &[3], &f8_bytes(1..4))
    );
    refused(
        d,
        &[
            "convert-stacked",
            "--axis",
            "0",
            "scalars.npy",
            "-o",
            "x.npy",
        ],
        &["zero-dimensional"],
    );
}

#[test]
fn many_arrays_and_the_rewalk_path() {
    let dir = tempdir();
    let d = dir.path();
    // 20,000 saves of one row: one run in the plan.
    let n = 20_000u32;
    let mut st = Vec::new();
    for i in 0..n {
        st.extend(array("'<f8'", &[4], &f8_bytes(4 * i..4 * i + 4)));
    }
    std::fs::write(d.join("rows.npy"), &st).unwrap();
    run(d, &["convert-stacked", "rows.npy", "-o", "out.npy"]).ok();
    assert_eq!(
        std::fs::read(d.join("out.npy")).unwrap(),
        array("'<f8'", &[n as u64, 4], &f8_bytes(0..4 * n))
    );
    // Alternating sizes: more runs than the plan keeps, so the copy walks
    // the headers again; along axis 1 too (interleaved).
    let mut st = Vec::new();
    let mut expect = Vec::new();
    let mut k = 0u32;
    for i in 0..6000u32 {
        let r = 1 + i % 2;
        st.extend(rows(r, 2, k));
        expect.extend(f8_bytes(k..k + 2 * r));
        k += 2 * r;
    }
    std::fs::write(d.join("alt.npy"), &st).unwrap();
    run(d, &["convert-stacked", "alt.npy", "-o", "alt_out.npy"]).ok();
    assert_eq!(
        std::fs::read(d.join("alt_out.npy")).unwrap(),
        array("'<f8'", &[9000, 2], &expect)
    );
    let mut st = Vec::new();
    let mut cols: Vec<Vec<u8>> = vec![Vec::new(), Vec::new()];
    for i in 0..6000u32 {
        let w = 1 + i % 2;
        let a: Vec<f64> = (0..2 * w).map(|j| (i * 10 + j) as f64).collect();
        st.extend(array(
            "'<f8'",
            &[2, w as u64],
            &a.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
        ));
        for (r, col) in cols.iter_mut().enumerate() {
            for j in 0..w as usize {
                col.extend(a[r * w as usize + j].to_le_bytes());
            }
        }
    }
    std::fs::write(d.join("altc.npy"), &st).unwrap();
    run(
        d,
        &[
            "convert-stacked",
            "--axis",
            "1",
            "altc.npy",
            "-o",
            "altc_out.npy",
        ],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("altc_out.npy")).unwrap(),
        array("'<f8'", &[2, 9000], &cols.concat())
    );
}

/// SIGKILL while joining along axis 1 (the interleaved copy), to a new file
/// and in place: OUTPUT absent or whole, INPUT as it was or converted.
/// tests/reliability.rs (crash_convert_stacked) kills the default vstack.
#[test]
fn sigkill_leaves_output_absent_or_complete() {
    let dir = tempdir();
    let d = dir.path();
    // 2,000 saves of 1 KiB (2 MiB), joined along axis 1.
    let mut st = Vec::new();
    for i in 0..2000u32 {
        st.extend(array("'<f8'", &[2, 64], &f8_bytes(128 * i..128 * (i + 1))));
    }
    let input = d.join("st.npy");
    {
        let (flags, seed0) = (vec!["--axis", "1"], 4000u64);
        std::fs::write(&input, &st).unwrap();
        let mut a = vec!["convert-stacked", "st.npy", "-o", "expect.npy"];
        a.extend(&flags);
        run(d, &a).ok();
        let expect = std::fs::read(d.join("expect.npy")).unwrap();
        std::fs::remove_file(d.join("expect.npy")).unwrap();
        let out = d.join("out.npy");
        let mut args = vec!["convert-stacked", "st.npy", "-o", "out.npy"];
        args.extend(&flags);
        kill_trials(
            d,
            &args,
            25,
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
                assert!(
                    std::fs::read(&input).unwrap() == st,
                    "seed {seed}: input changed"
                );
            },
        );
        // In place: the input is either as it was or converted.
        kill_trials(
            d,
            &{
                let mut a = vec!["convert-stacked", "--in-place", "st.npy"];
                a.extend(&flags);
                a
            },
            15,
            seed0 + 500,
            &|| std::fs::write(&input, &st).unwrap(),
            &|seed| {
                let got = std::fs::read(&input).unwrap();
                assert!(
                    got == st || got == expect,
                    "seed {seed}: in-place left {} bytes, neither input nor result",
                    got.len()
                );
            },
        );
    }
}

#[test]
fn fortran_arrays_after_a_plain_row_join_in_fortran_order() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let d = dir.path();
    // A (1, 4) row (C- and F-contiguous) then Fortran-order (3, 4) and (2, 4):
    // numpy's vstack result is Fortran-ordered, so the copy started while
    // reading the headers is abandoned for the interleaved one.
    write_npy(&d.join("row.npy"), "'<f8'", false, &[1, 4], &f8_bytes(0..4));
    write_npy(&d.join("f3.npy"), "'<f8'", true, &[3, 4], &f8_bytes(4..16));
    write_npy(&d.join("f2.npy"), "'<f8'", true, &[2, 4], &f8_bytes(16..24));
    let st = d.join("st.npy");
    stacked(
        &st,
        &[d.join("row.npy"), d.join("f3.npy"), d.join("f2.npy")],
    );
    assert!(check_convert(py, d, "mixed", &st, &[], &["vstack"]));
    let v = oracle(py, &["info", s(&d.join("mixed_ours.npy"))]);
    assert_eq!(v["fortran_order"], true, "{v}");
}

#[test]
fn transposing_is_bounded() {
    let dir = tempdir();
    let d = dir.path();
    // np.stack of Fortran-order (2, 3) arrays: numpy's result is saved in C
    // order, so each array is transposed (in memory, being small).
    let f = |start: u32| {
        let mut b = npy_tools::npy::Layout::new(
            npy_tools::npy::pylit::parse("'<f8'").unwrap(),
            true,
            vec![2, 3],
        )
        .unwrap()
        .to_npy_header();
        b.extend(f8_bytes(start..start + 6));
        b
    };
    std::fs::write(d.join("f.npy"), [f(0), f(6)].concat()).unwrap();
    run(d, &["convert-stacked", "--stack", "f.npy", "-o", "s.npy"]).ok();
    // Element (k, i, j) of array k (Fortran bytes: i + 2 j) in C order.
    let mut expect = Vec::new();
    for k in 0..2u32 {
        for i in 0..2u32 {
            for j in 0..3u32 {
                expect.extend(f8_bytes(6 * k + i + 2 * j..6 * k + i + 2 * j + 1));
            }
        }
    }
    assert_eq!(
        std::fs::read(d.join("s.npy")).unwrap(),
        array("'<f8'", &[2, 2, 3], &expect)
    );
    // Arrays of any size are transposed, out of core: 9 MB each here, in a
    // pattern that a wrong element order would not reproduce.
    let big = |seed: u32| {
        let mut b = npy_tools::npy::Layout::new(
            npy_tools::npy::pylit::parse("'|u1'").unwrap(),
            true,
            vec![3000, 3000],
        )
        .unwrap()
        .to_npy_header();
        b.extend((0..9_000_000u32).map(|k| (k % 251 + seed) as u8));
        b
    };
    let one = big(1);
    std::fs::write(d.join("big.npy"), [one.clone(), big(2)].concat()).unwrap();
    run(
        d,
        &["convert-stacked", "--stack", "big.npy", "-o", "out.npy"],
    )
    .ok();
    let out = std::fs::read(d.join("out.npy")).unwrap();
    let hl = out.len() - 18_000_000;
    for (k, i, j) in [
        (0u32, 0u32, 1u32),
        (0, 2999, 0),
        (1, 17, 2998),
        (1, 1234, 567),
    ] {
        // C order: (k, i, j) at k 9e6 + 3000 i + j; Fortran source: i + 3000 j.
        let got = out[hl + (k * 9_000_000 + 3000 * i + j) as usize];
        assert_eq!(got, ((i + 3000 * j) % 251 + k + 1) as u8, "({k}, {i}, {j})");
    }
    // Joined along their Fortran growth axis they need no transpose.
    run(
        d,
        &[
            "convert-stacked",
            "--axis",
            "-1",
            "big.npy",
            "-o",
            "wide.npy",
        ],
    )
    .ok();
    assert_eq!(
        std::fs::metadata(d.join("wide.npy")).unwrap().len(),
        18_000_000 + 128
    );
}

#[test]
fn no_sync_writes_the_same_bytes() {
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("a.npy"), "'<f8'", false, &[3], &f8_bytes(0..3));
    let one = std::fs::read(d.join("a.npy")).unwrap();
    std::fs::write(d.join("st.npy"), [one.clone(), one].concat()).unwrap();
    run(d, &["convert-stacked", "st.npy", "-o", "synced.npy"]).ok();
    run(
        d,
        &[
            "convert-stacked",
            "--no-sync",
            "st.npy",
            "-o",
            "unsynced.npy",
        ],
    )
    .ok();
    let synced = std::fs::read(d.join("synced.npy")).unwrap();
    assert_eq!(synced, std::fs::read(d.join("unsynced.npy")).unwrap());
    let mut data = f8_bytes(0..3);
    data.extend(f8_bytes(0..3));
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[2, 3], &data);
    assert_eq!(synced, std::fs::read(d.join("expect.npy")).unwrap());
}

/// Replacing a file through a symlink replaces what it points to; the link
/// stays a link (as `np.save` through the link would write).
/// See: code review of 2026-11-30.
#[test]
fn in_place_and_force_follow_symlinks() {
    let dir = tempdir();
    let d = dir.path();
    write_npy(&d.join("a.npy"), "'<f8'", false, &[2], &f8_bytes(0..2));
    let one = std::fs::read(d.join("a.npy")).unwrap();
    std::fs::write(d.join("real.npy"), [one.clone(), one.clone()].concat()).unwrap();
    std::os::unix::fs::symlink("real.npy", d.join("link.npy")).unwrap();
    run(d, &["convert-stacked", "--in-place", "link.npy"]).ok();
    assert!(std::fs::symlink_metadata(d.join("link.npy"))
        .unwrap()
        .file_type()
        .is_symlink());
    let mut data = f8_bytes(0..2);
    data.extend(f8_bytes(0..2));
    write_npy(&d.join("expect.npy"), "'<f8'", false, &[2, 2], &data);
    let expect = std::fs::read(d.join("expect.npy")).unwrap();
    assert_eq!(std::fs::read(d.join("real.npy")).unwrap(), expect);
    // concat --force through a link, too.
    std::os::unix::fs::symlink("real.npy", d.join("link2.npy")).unwrap();
    run(d, &["concat", "-f", "-o", "link2.npy", "a.npy", "a.npy"]).ok();
    assert!(std::fs::symlink_metadata(d.join("link2.npy"))
        .unwrap()
        .file_type()
        .is_symlink());
    let mut joined = f8_bytes(0..2);
    joined.extend(f8_bytes(0..2));
    write_npy(&d.join("expect2.npy"), "'<f8'", false, &[4], &joined);
    assert_eq!(
        std::fs::read(d.join("real.npy")).unwrap(),
        std::fs::read(d.join("expect2.npy")).unwrap()
    );
}
