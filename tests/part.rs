//! `npy concat --part K/N`: parts run at once or one after another, in any
//! order, give the bytes of one plain concat (and of numpy); OUTPUT appears
//! only when the last part is done; killed parts are run again; parts that
//! disagree are refused; a rerun after publication changes nothing.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::*;

const MIB: u64 = 1 << 20;

/// Writes `shapes.len()` chunks `c0.npy`... of little-endian f8 (distinct
/// values throughout) into `dir`; returns their names.
fn chunks(dir: &Path, shapes: &[Vec<u64>], fortran_order: &[bool]) -> Vec<String> {
    let mut next = 0u32;
    shapes
        .iter()
        .enumerate()
        .map(|(i, shape)| {
            let n: u64 = shape.iter().product();
            let data = f8_bytes(next..next + n as u32);
            next += n as u32;
            let name = format!("c{i}.npy");
            write_npy(
                &dir.join(&name),
                "'<f8'",
                fortran_order[i % fortran_order.len()],
                shape,
                &data,
            );
            name
        })
        .collect()
}

/// `concat -o OUT ARGS... INPUTS...` as a list of strings.
fn concat_args(out: &str, extra: &[&str], inputs: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec!["concat".into(), "-o".into(), out.into()];
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(inputs.iter().cloned());
    a
}

fn run_v(dir: &Path, args: &[String]) -> Run {
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(dir, &a)
}

/// Runs part `k`/`n` of `concat -o OUT EXTRA INPUTS`.
fn part(dir: &Path, out: &str, k: u32, n: u32, extra: &[&str], inputs: &[String]) -> Run {
    let spec = format!("{k}/{n}");
    let mut e: Vec<&str> = vec!["--part", &spec];
    e.extend_from_slice(extra);
    run_v(dir, &concat_args(out, &e, inputs))
}

fn staging(dir: &Path, out: &str) -> std::path::PathBuf {
    dir.join(format!(".{out}.npy-part"))
}

/// Every name in `dir`, hidden ones too, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The plain concat of `inputs` (with `extra` flags) into `ref.npy`.
fn reference(dir: &Path, extra: &[&str], inputs: &[String]) -> Vec<u8> {
    run_v(dir, &concat_args("ref.npy", extra, inputs)).ok();
    let b = std::fs::read(dir.join("ref.npy")).unwrap();
    std::fs::remove_file(dir.join("ref.npy")).unwrap();
    b
}

/// numpy's `np.save(np.concatenate(inputs, axis))`, when numpy is here.
fn numpy_bytes(dir: &Path, axis: i64, inputs: &[String]) -> Option<Vec<u8>> {
    let py = python()?;
    let out = dir.join("numpy.npy");
    let mut args = vec![
        "concat".to_string(),
        out.to_str().unwrap().into(),
        axis.to_string(),
    ];
    args.extend(
        inputs
            .iter()
            .map(|i| dir.join(i).to_str().unwrap().to_string()),
    );
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    oracle(py, &a);
    let b = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    Some(b)
}

/// Runs the parts in `order` one after another; OUT must be absent until
/// the last, and the staging directory gone after it.
fn sequential(dir: &Path, out: &str, n: u32, order: &[u32], extra: &[&str], inputs: &[String]) {
    for (j, &k) in order.iter().enumerate() {
        let r = part(dir, out, k, n, extra, inputs);
        r.ok();
        if j + 1 < order.len() {
            assert!(!dir.join(out).exists(), "{out} exists before the last part");
            assert!(staging(dir, out).is_dir());
            r.stderr_has("waiting for");
        } else {
            r.stderr_has("published");
            assert!(!staging(dir, out).exists(), "staging left behind");
        }
    }
}

#[test]
fn parallel_parts_match_one_concat_and_numpy() {
    let dir = tempdir();
    let d = dir.path();
    // Six chunks of about 1 MiB, rows of 64 f8.
    let shapes: Vec<Vec<u64>> = (0..6).map(|i| vec![2048 + 37 * i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    if let Some(np) = numpy_bytes(d, 0, &inputs) {
        assert!(np == want, "plain concat differs from numpy");
    }
    let before = names(d);
    at_once(d, "all.npy", 4, &inputs);
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
    let mut after = before.clone();
    after.push("all.npy".into());
    after.sort();
    assert_eq!(names(d), after, "nothing but OUT is left beside it");
    // Many parts finishing at the same moment (most have nothing to write).
    for round in 0..3 {
        let out = format!("tiny{round}.npy");
        at_once(d, &out, 16, &inputs[..2]);
        assert!(std::fs::read(d.join(&out)).unwrap() == reference(d, &[], &inputs[..2]));
        assert!(!staging(d, &out).exists());
    }
}

/// Runs the `n` parts all at once; exactly one must publish.
fn at_once(d: &Path, out: &str, n: u32, inputs: &[String]) {
    let children: Vec<_> = (1..=n)
        .map(|k| {
            let spec = format!("{k}/{n}");
            let mut args = vec!["concat", "-o", out, "--part", &spec];
            args.extend(inputs.iter().map(|s| s.as_str()));
            Command::new(bin())
                .args(&args)
                .current_dir(d)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut published = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        if err.contains("published") {
            published += 1;
        }
    }
    assert_eq!(published, 1, "exactly one part publishes");
}

#[test]
fn shuffled_sequential_parts_match_one_concat() {
    let dir = tempdir();
    let d = dir.path();
    let shapes: Vec<Vec<u64>> = (0..5).map(|i| vec![3000 - 211 * i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    sequential(d, "all.npy", 5, &[3, 5, 1, 4, 2], &[], &inputs);
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
    // One part alone is a plain concat.
    sequential(d, "one.npy", 1, &[1], &[], &inputs);
    assert!(std::fs::read(d.join("one.npy")).unwrap() == want);
    // The input list from a file, sorted naturally (c10 after c9).
    let more: Vec<Vec<u64>> = (0..12).map(|i| vec![600 + 10 * i, 64]).collect();
    let sub = d.join("list");
    std::fs::create_dir(&sub).unwrap();
    let mut names = chunks(&sub, &more, &[false]);
    names.reverse();
    std::fs::write(sub.join("list.txt"), names.join("\n") + "\n").unwrap();
    let flags = ["--files-from", "list.txt", "--sort", "natural"];
    let want = reference(&sub, &flags, &[]);
    names.sort_by_key(|n| n[1..n.len() - 4].parse::<u32>().unwrap());
    assert!(
        want == reference(&sub, &[], &names),
        "the list was not sorted naturally"
    );
    sequential(&sub, "all.npy", 3, &[2, 1, 3], &flags, &[]);
    assert!(std::fs::read(sub.join("all.npy")).unwrap() == want);
}

/// Parts of joins along other axes and of Fortran-order inputs, checked
/// against one concat and numpy.
#[test]
fn other_axes_and_fortran_order() {
    let dir = tempdir();
    let d = dir.path();
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<Vec<u64>>, Vec<bool>, i64)> = vec![
        // C order along axis 1: rows interleaved.
        (
            "axis1",
            (0..4).map(|i| vec![2048, 40 + 7 * i]).collect(),
            vec![false],
            1,
        ),
        // Large rows along axis 1 (each row's runs copied one by one).
        (
            "wide",
            (0..3).map(|i| vec![3, 60_000 + 5_000 * i]).collect(),
            vec![false],
            1,
        ),
        // Fortran order along the last axis: its growth axis.
        (
            "fgrow",
            (0..4).map(|i| vec![64, 2048 + 100 * i]).collect(),
            vec![true],
            -1,
        ),
        // Fortran order along axis 0: interleaved in Fortran memory order.
        (
            "f0",
            (0..4).map(|i| vec![1500 + 300 * i, 64]).collect(),
            vec![true],
            0,
        ),
        // C and Fortran mixed: the Fortran ones are transposed.
        (
            "mixed",
            (0..4).map(|i| vec![1800 + 50 * i, 64]).collect(),
            vec![false, true],
            0,
        ),
    ];
    for (name, shapes, orders, axis) in cases {
        let sub = d.join(name);
        std::fs::create_dir(&sub).unwrap();
        let inputs = chunks(&sub, &shapes, &orders);
        let ax = axis.to_string();
        let extra = ["--axis", ax.as_str()];
        let want = reference(&sub, &extra, &inputs);
        assert!(want.len() as u64 > 3 * MIB, "{name}: too small to cut in 3");
        if let Some(np) = numpy_bytes(&sub, axis, &inputs) {
            assert!(np == want, "{name}: plain concat differs from numpy");
        }
        sequential(&sub, "all.npy", 3, &[2, 3, 1], &extra, &inputs);
        assert!(
            std::fs::read(sub.join("all.npy")).unwrap() == want,
            "{name}: parts differ from one concat"
        );
    }
}

#[test]
fn killed_part_is_run_again() {
    let dir = tempdir();
    let d = dir.path();
    // 32 MiB, so that a part takes long enough to be killed midway.
    let shapes: Vec<Vec<u64>> = (0..8).map(|i| vec![8192 - i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    let reset = || {
        let _ = std::fs::remove_file(d.join("all.npy"));
        let _ = std::fs::remove_dir_all(staging(d, "all.npy"));
    };
    let args = concat_args("all.npy", &["--part", "1/2"], &inputs);
    // How long part 1 takes when part 2 is done (it then also publishes).
    reset();
    part(d, "all.npy", 2, 2, &[], &inputs).ok();
    let t = Instant::now();
    run_v(d, &args).ok();
    let full = t.elapsed().as_micros() as u64 + 1;
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
    let (mut killed, mut midway) = (0, 0);
    let mut rng = Rng::new(0x5eed);
    for trial in 0..10 {
        reset();
        // Half the trials kill the first part of a fresh round.
        let first = trial % 2 == 0;
        if !first {
            part(d, "all.npy", 2, 2, &[], &inputs).ok();
        }
        let delay = rng.below(full + full / 4);
        let status = run_killed_after(d, &args, delay);
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(9) {
            killed += 1;
            // Killed: OUT is absent, or whole if the kill came after the
            // rename (when part 2 was already done).
            match std::fs::read(d.join("all.npy")) {
                Ok(b) => assert!(!first && b == want, "trial {trial}: a partial OUT"),
                Err(_) => midway += 1,
            }
        } else {
            assert!(status.success(), "trial {trial}: {status:?}");
        }
        // Run again: every part, as a scheduler retrying failures would.
        part(d, "all.npy", 1, 2, &[], &inputs).ok();
        part(d, "all.npy", 2, 2, &[], &inputs).ok();
        assert!(
            std::fs::read(d.join("all.npy")).unwrap() == want,
            "trial {trial} (delay {delay} us of {full})"
        );
        assert!(!staging(d, "all.npy").exists());
    }
    eprintln!("{killed} of 10 parts killed, {midway} before publication; full run {full} us");
    assert!(midway > 0, "no part was killed midway (full run {full} us)");
}

#[test]
fn parts_that_disagree_are_refused() {
    let dir = tempdir();
    let d = dir.path();
    // Equal shapes, so that --axis 1 plans too.
    let shapes: Vec<Vec<u64>> = (0..3).map(|_| vec![4096, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    part(d, "all.npy", 1, 3, &[], &inputs).ok();
    let st = staging(d, "all.npy");
    let snapshot = dir_listing(&st);
    let refused = |args: Vec<String>, needle: &str| {
        let r = run_v(d, &args);
        r.fails().stderr_has(needle).stderr_has(".all.npy.npy-part");
        assert_eq!(
            dir_listing(&st),
            snapshot,
            "a refused part changed the staging"
        );
        assert!(!d.join("all.npy").exists());
    };
    let with = |spec: &str, extra: &[&str], ins: &[String]| {
        let mut e = vec!["--part", spec];
        e.extend_from_slice(extra);
        concat_args("all.npy", &e, ins)
    };
    refused(
        with("2/4", &[], &inputs),
        "N differs: --part K/4 here, K/3 in the round",
    );
    refused(
        with("2/3", &["--axis", "1"], &inputs),
        "the axis differs: --axis 1 here, --axis 0 in the round",
    );
    let reversed: Vec<String> = inputs.iter().rev().cloned().collect();
    refused(
        with("2/3", &[], &reversed),
        "input 1 is c2.npy here, c0.npy in the round",
    );
    refused(
        with("2/3", &[], &inputs[..2]),
        "2 inputs here, 3 in the round",
    );
    refused(
        with("2/3", &["--sort", "natural"], &inputs),
        "the sort differs: --sort natural here, no --sort in the round",
    );
    // An input that grew since the round began.
    let c1 = std::fs::read(d.join("c1.npy")).unwrap();
    write_npy(
        &d.join("c1.npy"),
        "'<f8'",
        false,
        &[4097, 64],
        &f8_bytes(0..4097 * 64),
    );
    refused(
        with("2/3", &[], &inputs),
        &format!(
            "input 2 (c1.npy) has {} bytes here, {} in the round",
            c1.len() + 512,
            c1.len()
        ),
    );
    std::fs::write(d.join("c1.npy"), &c1).unwrap();
    // The same parts agree and finish.
    sequential(d, "all.npy", 3, &[3, 2], &[], &inputs);
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
}

#[test]
fn rerun_of_a_finished_part_changes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let shapes: Vec<Vec<u64>> = (0..3).map(|i| vec![4000 + i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    part(d, "all.npy", 2, 2, &[], &inputs).ok();
    let data = staging(d, "all.npy").join("data");
    let before = std::fs::metadata(&data).unwrap();
    // Again before publication: nothing written.
    part(d, "all.npy", 2, 2, &[], &inputs)
        .ok()
        .stderr_has("part 2/2 already done; 1 of 2 done, waiting for part 1");
    let again = std::fs::metadata(&data).unwrap();
    assert_eq!(
        (before.mtime(), before.mtime_nsec()),
        (again.mtime(), again.mtime_nsec())
    );
    part(d, "all.npy", 1, 2, &[], &inputs)
        .ok()
        .stderr_has("all 2 parts done, all.npy published");
    let out = std::fs::metadata(d.join("all.npy")).unwrap();
    // Again after publication: a no-op, for every part and with --force.
    for (k, extra) in [(1, vec![]), (2, vec![]), (1, vec!["--force"])] {
        part(d, "all.npy", k, 2, &extra, &inputs)
            .ok()
            .stderr_has("already published");
        let now = std::fs::metadata(d.join("all.npy")).unwrap();
        assert_eq!(
            (out.ino(), out.mtime(), out.mtime_nsec()),
            (now.ino(), now.mtime(), now.mtime_nsec())
        );
        assert!(!staging(d, "all.npy").exists());
    }
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let dir = tempdir();
    let d = dir.path();
    let shapes: Vec<Vec<u64>> = (0..3).map(|i| vec![3000 + i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    std::fs::write(d.join("all.npy"), b"old").unwrap();
    part(d, "all.npy", 1, 2, &[], &inputs)
        .fails()
        .stderr_has("all.npy: already exists and is not this join's result (give --force");
    assert!(!staging(d, "all.npy").exists());
    // With --force, the old OUT stays until the last part publishes.
    part(d, "all.npy", 1, 2, &["--force"], &inputs).ok();
    assert_eq!(std::fs::read(d.join("all.npy")).unwrap(), b"old");
    part(d, "all.npy", 2, 2, &["--force"], &inputs).ok();
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);

    // An OUT that appears during the round is not replaced without --force.
    std::fs::remove_file(d.join("all.npy")).unwrap();
    part(d, "all.npy", 1, 2, &[], &inputs).ok();
    std::fs::write(d.join("all.npy"), b"someone else's").unwrap();
    part(d, "all.npy", 2, 2, &[], &inputs)
        .fails()
        .stderr_has("all.npy: appeared while the parts ran; not replaced");
    assert_eq!(std::fs::read(d.join("all.npy")).unwrap(), b"someone else's");
    part(d, "all.npy", 2, 2, &["--force"], &inputs)
        .ok()
        .stderr_has("published");
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
    assert!(!staging(d, "all.npy").exists());
}

#[test]
fn empty_result_and_usage_errors() {
    let dir = tempdir();
    let d = dir.path();
    let inputs = chunks(d, &[vec![0, 3], vec![0, 3]], &[false]);
    let want = reference(d, &[], &inputs);
    sequential(d, "e.npy", 2, &[2, 1], &[], &inputs);
    assert_eq!(std::fs::read(d.join("e.npy")).unwrap(), want);
    for spec in ["0/2", "3/2", "1/0", "x", "1-2"] {
        let r = run(d, &["concat", "-o", "x.npy", "--part", spec, "c0.npy"]);
        r.expect_code(2);
        assert!(!d.join("x.npy").exists());
    }
    run(d, &["concat", "-o", "-", "--part", "1/2", "c0.npy"])
        .expect_code(2)
        .stderr_has("--part needs -o FILE");
    // OUTPUT among the inputs: a rerun after publication would join it again.
    let c0 = std::fs::read(d.join("c0.npy")).unwrap();
    run(
        d,
        &[
            "concat", "-f", "-o", "c0.npy", "--part", "1/1", "c0.npy", "c1.npy",
        ],
    )
    .fails()
    .stderr_has("c0.npy: is also an input");
    assert_eq!(std::fs::read(d.join("c0.npy")).unwrap(), c0);
    assert!(!staging(d, "c0.npy").exists());
}

#[test]
fn a_publisher_that_died_midway_is_finished_by_any_rerun() {
    let dir = tempdir();
    let d = dir.path();
    let shapes: Vec<Vec<u64>> = (0..3).map(|i| vec![3000 + i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false]);
    let want = reference(d, &[], &inputs);
    let st = staging(d, "all.npy");
    part(d, "all.npy", 1, 2, &[], &inputs).ok();
    let kept = d.join("kept");
    std::fs::create_dir(&kept).unwrap();
    for f in ["plan.json", "done"] {
        std::fs::copy(st.join(f), kept.join(f)).unwrap();
    }
    part(d, "all.npy", 2, 2, &[], &inputs)
        .ok()
        .stderr_has("published");
    // Died after the rename, before any removal: plan.json and done are
    // left (done marks part 1 only; the data file is now OUT).
    std::fs::create_dir(&st).unwrap();
    for f in ["plan.json", "done"] {
        std::fs::copy(kept.join(f), st.join(f)).unwrap();
    }
    part(d, "all.npy", 2, 2, &[], &inputs)
        .ok()
        .stderr_has("already published");
    assert!(!st.exists());
    // Died after removing plan.json, before done and the directory.
    std::fs::create_dir(&st).unwrap();
    std::fs::copy(kept.join("done"), st.join("done")).unwrap();
    part(d, "all.npy", 1, 2, &[], &inputs)
        .ok()
        .stderr_has("already published");
    assert!(!st.exists());
    // Died before its last rmdir.
    std::fs::create_dir(&st).unwrap();
    part(d, "all.npy", 1, 2, &[], &inputs)
        .ok()
        .stderr_has("already published");
    assert!(!st.exists());
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
    // Died between writing the header and the rename: every part is
    // done, and any rerun publishes.
    std::fs::create_dir(&st).unwrap();
    std::fs::copy(kept.join("plan.json"), st.join("plan.json")).unwrap();
    std::fs::write(st.join("done"), b"11\n").unwrap();
    std::fs::rename(d.join("all.npy"), st.join("data")).unwrap();
    part(d, "all.npy", 1, 2, &[], &inputs)
        .ok()
        .stderr_has("part 1/2 already done; all 2 parts done, all.npy published");
    assert!(!st.exists());
    assert!(std::fs::read(d.join("all.npy")).unwrap() == want);
}

/// Inputs that must be transposed are transposed out of core, whatever
/// their size: mixed C and Fortran inputs of over 8 MiB each (once the
/// limit of --part's in-memory transposition) give, part by part, the
/// bytes of one plain concat and of numpy.
#[test]
fn inputs_over_8_mib_are_transposed_out_of_core() {
    let dir = tempdir();
    let d = dir.path();
    // 17,000 rows of 64 f8: 8.3 MiB each, C, Fortran, C, Fortran.
    let shapes: Vec<Vec<u64>> = (0..4).map(|i| vec![17_000 + 100 * i, 64]).collect();
    let inputs = chunks(d, &shapes, &[false, true]);
    for name in &inputs {
        assert!(std::fs::metadata(d.join(name)).unwrap().len() > 8 * MIB);
    }
    let extra = ["--axis", "0"];
    let want = reference(d, &extra, &inputs);
    if let Some(np) = numpy_bytes(d, 0, &inputs) {
        assert!(np == want, "plain concat differs from numpy");
    }
    sequential(d, "all.npy", 3, &[3, 1, 2], &extra, &inputs);
    assert!(
        std::fs::read(d.join("all.npy")).unwrap() == want,
        "parts differ from one concat"
    );
}

/// The code block that follows `heading` in `text` (its lines, no fences).
fn block_after(text: &str, heading: &str) -> String {
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("docs/scale.md has no {heading:?}"));
    let rest = &text[from..];
    let open = rest.find("\n```").expect("a code block after the heading") + 1;
    let body = &rest[open..];
    let start = body.find('\n').unwrap() + 1;
    let end = body[start..].find("\n```").expect("the block's end") + start;
    body[start..end].to_string()
}

/// docs/scale.md's cluster examples, pasted and pointed at a folder of
/// chunks (its example paths replaced by that folder), make the file one
/// plain concat makes: the Slurm array script run as its 16 array tasks in
/// a shuffled order (OUTPUT absent until the last), the GNU parallel and
/// `xargs -P` lines (the `ssh` one too), and the Dask snippet. `parallel`,
/// `ssh` and `dask.distributed` are stand-ins that run the same commands
/// here (GNU parallel and a Dask cluster are not installed for the tests);
/// the Slurm script needs nothing but bash, since `#SBATCH` lines are
/// comments to it.
#[test]
fn scale_md_cluster_examples_make_what_one_concat_makes() {
    // The Dask snippet needs a Python, not numpy.
    let py = python().unwrap_or("python3");
    let doc = std::fs::read_to_string(repo().join("docs/scale.md")).unwrap();
    let d = tempdir();
    let dir = d.path();
    std::fs::create_dir(dir.join("chunks")).unwrap();
    let mut next = 0u32;
    // chunk_1 ... chunk_12: natural order differs from the byte order.
    for i in 1..=12u32 {
        let rows = 50 + 7 * i as u64;
        let n = rows as u32 * 4;
        write_npy(
            &dir.join(format!("chunks/chunk_{i}.npy")),
            "'<f8'",
            false,
            &[rows, 4],
            &f8_bytes(next..next + n),
        );
        next += n;
    }
    let here = dir.to_str().unwrap();
    let local = |s: &str| {
        s.replace("/scratch/$USER/run42", here)
            .replace("/scratch/me/run42", here)
            .replace("/scratch/run42", here)
    };
    // Stand-ins, first on PATH after npy's own folder (beside the build:
    // the scratch root may be mounted noexec).
    let tools = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    write_script(
        tools.path(),
        "parallel",
        r#"#!/bin/bash
# Runs `parallel -j N -S HOSTS --wd DIR --retries R CMD...` here: {} is
# each line of stdin; up to N at once; each tried R times.
jobs=1 wd=. retries=1
while [[ $1 == -* ]]; do
  case $1 in
    -j) jobs=$2; shift 2;; -S) shift 2;; --wd) wd=$2; shift 2;;
    --retries) retries=$2; shift 2;; *) echo "stand-in parallel: $1?" >&2; exit 2;;
  esac
done
cd "$wd" || exit 2
fail=0 pids=()
while read -r arg; do
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
  ( for ((t = 0; t < retries; t++)); do "${@//\{\}/$arg}" && exit 0; done; exit 1 ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
"#,
    );
    write_script(
        tools.path(),
        "ssh",
        "#!/bin/sh\n# ssh HOST CMD, run here.\nshift\nexec sh -c \"$*\"\n",
    );
    let pydir = tools.path().join("py/dask");
    std::fs::create_dir_all(&pydir).unwrap();
    std::fs::write(pydir.join("__init__.py"), "").unwrap();
    std::fs::write(
        pydir.join("distributed.py"),
        r#"# A stand-in for dask.distributed: the tasks run in threads here.
from concurrent.futures import ThreadPoolExecutor

class Client:
    def __init__(self, address):
        self.pool = ThreadPoolExecutor(4)

    def map(self, f, items, retries=0):
        def attempt(x):
            for left in range(retries, -1, -1):
                try:
                    return f(x)
                except Exception:
                    if not left:
                        raise
        return [self.pool.submit(attempt, x) for x in items]

    def gather(self, futures):
        return [fut.result() for fut in futures]
"#,
    )
    .unwrap();
    let npy_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}:{}",
        npy_dir.display(),
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sh = |cmd: &str, env: &[(&str, String)]| {
        let out = Command::new("bash")
            .args(["-c", cmd])
            .current_dir(dir)
            .env("PATH", &path)
            .env("PYTHONPATH", tools.path().join("py"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The input list, made as the docs say; the reference from it.
    sh(&local(&block_after(&doc, "## On a cluster")), &[]);
    let list = std::fs::read_to_string(dir.join("chunks.list")).unwrap();
    assert_eq!(list.lines().count(), 12, "{list}");
    run(
        dir,
        &[
            "concat",
            "-q",
            "-o",
            "ref.npy",
            "--files-from",
            "chunks.list",
            "--sort",
            "natural",
        ],
    )
    .ok();
    let reference = std::fs::read(dir.join("ref.npy")).unwrap();
    let same = |what: &str| {
        let got = std::fs::read(dir.join("all.npy"))
            .unwrap_or_else(|e| panic!("{what}: no all.npy ({e})"));
        assert!(got == reference, "{what}: all.npy differs from one concat");
        assert!(
            !dir.join(".all.npy.npy-part").exists(),
            "{what}: staging left behind"
        );
        std::fs::remove_file(dir.join("all.npy")).unwrap();
    };

    // Slurm: the script as `sbatch` would run it, once per array task.
    std::fs::write(
        dir.join("join.sh"),
        block_after(&doc, "### Slurm array job"),
    )
    .unwrap();
    let mut tasks: Vec<u32> = (1..=16).collect();
    let mut rng = Rng::new(seed_for("scale_md_slurm"));
    for i in (1..tasks.len()).rev() {
        tasks.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (i, k) in tasks.iter().enumerate() {
        assert!(
            !dir.join("all.npy").exists(),
            "all.npy before the last task"
        );
        let log = sh("bash join.sh", &[("SLURM_ARRAY_TASK_ID", k.to_string())]);
        if i == tasks.len() - 1 {
            assert!(log.contains("all.npy published"), "{log}");
        }
    }
    same("the Slurm array job");

    // GNU parallel over ssh (the stand-in runs every part here).
    sh(
        &local(&block_after(&doc, "### GNU parallel, over ssh")),
        &[],
    );
    same("GNU parallel");

    // xargs -P: on one machine, then a part per host over ssh.
    let xargs = local(&block_after(&doc, "### xargs -P"));
    let (one, over_ssh) = xargs
        .split_once("# over ssh, a part per host:\n")
        .expect("the xargs block's two examples");
    sh(one, &[]);
    same("xargs -P");
    std::fs::write(dir.join("hosts.txt"), "n1\nn2\nn3\nn4\n").unwrap();
    sh(over_ssh, &[]);
    same("xargs -P over ssh");

    // Dask: the snippet as a script.
    std::fs::write(
        dir.join("join.py"),
        local(&block_after(&doc, "### Dask (or Ray)")),
    )
    .unwrap();
    let out = Command::new(py)
        .arg("join.py")
        .current_dir(dir)
        .env("PATH", &path)
        .env("PYTHONPATH", tools.path().join("py"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(said.lines().count(), 32, "{said}");
    assert_eq!(said.matches("all.npy published").count(), 1, "{said}");
    same("Dask");
}
