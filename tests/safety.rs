//! Regression tests for issue #11 ("Nothing lost, ever"), one section per
//! hole, each testing the class the hole belongs to: every subcommand with
//! stdout or stderr closed, every command that writes `-o` pointed at a FIFO
//! or a device, every refused append that created its TARGET, every command
//! that replaces a file waiting for the append lock. (The lost-rows race
//! itself, concat -f / convert-stacked --in-place against appends, is
//! `reliability::replacing_commands_race_appends`.)

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

// ---------------------------------------------------------------------------
// Fixtures

/// `a.npy` (3, 2) and `b.npy` (2, 2) `<f8`; `t.npy` a copy of `a.npy`;
/// `behind.npy` / `behind2.npy` with headers 2 rows behind their data (need
/// repair); `s.npy` two (3, 2) arrays back to back; `raw8` 8 bytes; `z.npz`
/// an archive of `a` and `b`.
fn fixtures(d: &Path) {
    write_npy(&d.join("a.npy"), "'<f8'", false, &[3, 2], &f8_bytes(0..6));
    write_npy(&d.join("b.npy"), "'<f8'", false, &[2, 2], &f8_bytes(6..10));
    fs::copy(d.join("a.npy"), d.join("t.npy")).unwrap();
    for n in ["behind.npy", "behind2.npy"] {
        write_npy(&d.join(n), "'<f8'", false, &[1, 2], &f8_bytes(0..6));
    }
    let mut s = fs::read(d.join("a.npy")).unwrap();
    s.extend(fs::read(d.join("a.npy")).unwrap());
    fs::write(d.join("s.npy"), s).unwrap();
    fs::write(d.join("raw8"), [7u8; 8]).unwrap();
    // Fixed times, as zip records them: the archives of two runs are equal
    // (a member of z.npz zipped again takes z.npz's time).
    let fix_time = |n: &str| {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        fs::File::options()
            .write(true)
            .open(d.join(n))
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    fix_time("a.npy");
    fix_time("b.npy");
    run(d, &["zip", "-o", "z.npz", "a.npy", "b.npy"]).ok();
    fix_time("z.npz");
}

/// One invocation of every subcommand, succeeding and failing, printing to
/// stdout and not, a usage error, help and version.
const EVERY_COMMAND: &[&[&str]] = &[
    &["inspect", "a.npy", "b.npy", "behind.npy"],
    &["inspect", "--json", "a.npy", "missing.npy"],
    &["inspect", "--check", "behind.npy", "a.npy"],
    &["append", "t.npy", "b.npy"],
    &["append", "t.npy", "missing.npy"],
    &[
        "append", "new.npy", "--raw", "--dtype", "<f8", "--shape", "0", "raw8",
    ],
    &["concat", "-o", "-", "a.npy", "b.npy"],
    &["concat", "-o", "out.npy", "a.npy", "b.npy"],
    &["concat", "-f", "-o", "t.npy", "t.npy", "b.npy"],
    &["concat", "-o", "out.npy", "a.npy", "missing.npy"],
    &["concat", "-o", "p.npy", "--part", "1/2", "a.npy", "b.npy"],
    &["concat", "-o", "p.npy", "--part", "2/2", "a.npy", "b.npy"],
    &["repair", "behind.npy", "a.npy", "behind2.npy"],
    &["repair", "--check", "behind.npy", "a.npy", "behind2.npy"],
    &["repair", "missing.npy", "behind.npy"],
    &["convert-stacked", "s.npy", "-o", "-"],
    &["convert-stacked", "s.npy", "-o", "out.npy"],
    &["convert-stacked", "--in-place", "s.npy"],
    &["convert-stacked", "missing.npy", "-o", "out.npy"],
    &["show", "a.npy"],
    &["show", "--json", "a.npy"],
    &["show", "--csv", "z.npz:b", "-1:"],
    &["show", "missing.npy"],
    &["stats", "a.npy"],
    &["stats", "--json", "z.npz:a"],
    &["stats", "s.npy"],
    &["diff", "a.npy", "t.npy"],
    &["diff", "a.npy", "z.npz:b"],
    &["diff", "--json", "a.npy", "t.npy"],
    &["diff", "a.npy", "missing.npy"],
    &["zip", "-o", "y.npz", "a.npy", "b=z.npz:b"],
    &["zip", "-o", "y.npz", "missing.npy"],
    &["unzip", "z.npz", "-d", "out"],
    &["unzip", "z.npz", "nope"],
    &["completions", "bash"],
    &["concat", "a.npy"],
    &["--help"],
    &["concat", "--help"],
    &["--version"],
];

#[derive(Clone, Copy, Debug)]
enum Std {
    /// Captured normally.
    Normal,
    /// A pipe whose reader has already gone (EPIPE on the first write).
    StdoutPipeClosed,
    StderrPipeClosed,
    /// Descriptor 1 closed before exec (`>&-`).
    StdoutClosed,
    /// `/dev/null` opened read-write, as Python's `subprocess.DEVNULL`
    /// (and Rust's runtime, for a closed descriptor) opens it: not closed.
    StdoutDevNullReadWrite,
}

/// A pipe with its read end closed: writing to it fails with EPIPE.
fn dead_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[0]));
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

fn run_with(d: &Path, args: &[&str], how: Std) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match how {
        Std::Normal => {}
        Std::StdoutPipeClosed => {
            c.stdout(dead_pipe());
        }
        Std::StderrPipeClosed => {
            c.stderr(dead_pipe());
        }
        Std::StdoutDevNullReadWrite => {
            let null = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .unwrap();
            c.stdout(Stdio::from(null));
        }
        Std::StdoutClosed => {
            c.stdout(Stdio::null());
            // SAFETY: close(2) is async-signal-safe.
            unsafe {
                c.pre_exec(|| {
                    libc::close(1);
                    Ok(())
                });
            }
        }
    }
    c.output().expect("run npy")
}

fn show(args: &[&str], how: Std, o: &Output) -> String {
    format!(
        "`npy {}` with {how:?}: exit {:?}\n--- stderr\n{}",
        args.join(" "),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Issue #11, holes 2, 7 and 10: every subcommand run with stdout or stderr
/// closed never panics, exits as it does normally (a failed command still
/// exits 1), and leaves exactly the files a normal run leaves: the work is
/// finished even when no one reads what it prints. A stdout closed before
/// npy started is an error (exit 1, said on stderr) for a command that
/// prints something, and changes nothing for one that does not; a stdout
/// sent to `/dev/null` (opened read-write, as Python's `subprocess.DEVNULL`
/// does) is not closed.
#[test]
fn every_command_with_stdout_or_stderr_closed() {
    for args in EVERY_COMMAND {
        let normal_dir = tempdir();
        fixtures(normal_dir.path());
        let normal = run_with(normal_dir.path(), args, Std::Normal);
        let code = normal.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{}",
            show(args, Std::Normal, &normal)
        );
        let want_files = dir_listing(normal_dir.path());
        for how in [
            Std::StdoutPipeClosed,
            Std::StderrPipeClosed,
            Std::StdoutClosed,
            Std::StdoutDevNullReadWrite,
        ] {
            let dir = tempdir();
            fixtures(dir.path());
            let o = run_with(dir.path(), args, how);
            let ctx = show(args, how, &o);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("panicked"), "{ctx}");
            let printed = !normal.stdout.is_empty();
            match how {
                Std::StdoutClosed if printed => {
                    assert_eq!(o.status.code(), Some(1), "{ctx}");
                    assert!(
                        err.contains("npy: <stdout>: standard output is closed"),
                        "{ctx}"
                    );
                }
                _ => assert_eq!(o.status.code(), code, "{ctx}"),
            }
            assert!(
                dir_listing(dir.path()) == want_files,
                "{ctx}: the files differ from a normal run's"
            );
        }
    }
}

/// Hole 7 as reported: `npy repair a b c | head -c1` repaired only the first
/// file. A reader that reads one byte and leaves.
#[test]
fn repair_into_head_repairs_every_file() {
    let dir = tempdir();
    let d = dir.path();
    let names: Vec<String> = (0..40).map(|i| format!("f{i}.npy")).collect();
    for n in &names {
        write_npy(&d.join(n), "'<f8'", false, &[1, 2], &f8_bytes(0..6));
    }
    let mut args = vec!["repair".to_string()];
    args.extend(names.iter().cloned());
    let sh = format!(
        "set -o pipefail; {} {} | head -c1 >/dev/null",
        bin().display(),
        args.join(" ")
    );
    let o = Command::new("bash")
        .args(["-c", &sh])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    for n in &names {
        run(d, &["inspect", "--check", n]).ok();
    }
    // --check under pipefail: every file is looked at, the exit says so.
    for n in &names[..39] {
        write_npy(&d.join(n), "'<f8'", false, &[3, 2], &f8_bytes(0..6));
    }
    write_npy(
        &d.join(&names[39]),
        "'<f8'",
        false,
        &[1, 2],
        &f8_bytes(0..6),
    );
    let sh = sh.replace("repair ", "repair --check ");
    let o = Command::new("bash")
        .args(["-c", &sh])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "the last file needs repair: {o:?}"
    );
}

// ---------------------------------------------------------------------------
// Hole 5: -o at a FIFO or a device is written through, never replaced

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// Every command that writes `-o OUTPUT`, with and without `--force`: the
/// FIFO receives exactly the bytes a regular output gets, and stays a FIFO.
#[test]
fn output_to_a_fifo_is_written_through() {
    let cases: &[&[&str]] = &[
        &["concat", "-o", "OUT", "a.npy", "b.npy"],
        &["concat", "-f", "-o", "OUT", "a.npy", "b.npy"],
        &["convert-stacked", "s.npy", "-o", "OUT"],
        &["convert-stacked", "-f", "s.npy", "-o", "OUT"],
        &["convert-stacked", "--stack", "s.npy", "-o", "OUT"],
    ];
    for case in cases {
        let dir = tempdir();
        let d = dir.path();
        fixtures(d);
        let file_args: Vec<&str> = case
            .iter()
            .map(|&a| if a == "OUT" { "want.npy" } else { a })
            .filter(|&a| a != "-f")
            .collect();
        run(d, &file_args).ok();
        let want = fs::read(d.join("want.npy")).unwrap();
        mkfifo(&d.join("fifo"));
        let reader = {
            let p = d.join("fifo");
            std::thread::spawn(move || fs::read(p).unwrap())
        };
        let args: Vec<&str> = case
            .iter()
            .map(|&a| if a == "OUT" { "fifo" } else { a })
            .collect();
        run(d, &args).ok();
        assert!(reader.join().unwrap() == want, "{args:?}: bytes differ");
        let kind = fs::symlink_metadata(d.join("fifo")).unwrap().file_type();
        assert!(kind.is_fifo(), "{args:?}: the FIFO was replaced");
    }
}

/// A character device as OUTPUT (a private `/dev/null`, made with mknod when
/// the tests run as root): written through, never replaced by a file. And
/// every command that would change TARGET in place refuses a FIFO.
#[test]
fn devices_and_fifos_are_never_replaced() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let null = d.join("null");
    let c = std::ffi::CString::new(null.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path; makedev(1, 3) is /dev/null's device number.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made == 0 {
        for args in [
            &["concat", "-f", "-o", "null", "a.npy", "b.npy"][..],
            &["concat", "-o", "null", "a.npy", "b.npy"],
            &["convert-stacked", "-f", "s.npy", "-o", "null"],
        ] {
            run(d, args).ok();
            let kind = fs::symlink_metadata(&null).unwrap().file_type();
            assert!(kind.is_char_device(), "{args:?} replaced the device");
        }
    } else {
        eprintln!("devices_and_fifos_are_never_replaced: not root, no char device case");
    }
    mkfifo(&d.join("fifo"));
    for args in [
        &["append", "fifo", "a.npy"][..],
        &["append", "fifo", "--raw", "raw8"],
        &["repair", "fifo"],
        &["repair", "--like", "a.npy", "fifo"],
        &["convert-stacked", "--in-place", "fifo"],
    ] {
        let before = dir_listing(d);
        run(d, args).fails().stderr_has("fifo: ");
        assert_eq!(dir_listing(d), before, "{args:?}");
        let kind = fs::symlink_metadata(d.join("fifo")).unwrap().file_type();
        assert!(kind.is_fifo(), "{args:?}: the FIFO was replaced");
    }
}

// ---------------------------------------------------------------------------
// Hole 1, deterministic half: every command that replaces or rewrites a
// file waits for the append lock held by another process

/// Holds an exclusive flock on `path` (as `npy append` or flock(1) would)
/// while `args` runs: it must still be running after 400 ms, must finish
/// once the lock is released, and must then succeed.
fn waits_for_lock(d: &Path, path: &str, args: &[&str]) {
    let f = fs::File::open(d.join(path)).unwrap();
    f.lock().unwrap();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{args:?} did not wait for the lock on {path}"
    );
    f.unlock().unwrap();
    let t = Instant::now();
    let st = child.wait().unwrap();
    assert!(st.success(), "{args:?}: {st:?}");
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn replacing_commands_wait_for_the_append_lock() {
    for (path, args) in [
        (
            "t.npy",
            &["concat", "-f", "-o", "t.npy", "t.npy", "b.npy"][..],
        ),
        ("t.npy", &["concat", "-f", "-o", "t.npy", "a.npy"]),
        ("t.npy", &["convert-stacked", "-f", "s.npy", "-o", "t.npy"]),
        ("s.npy", &["convert-stacked", "--in-place", "s.npy"]),
        ("behind.npy", &["repair", "behind.npy"]),
        ("t.npy", &["append", "t.npy", "b.npy"]),
    ] {
        let dir = tempdir();
        fixtures(dir.path());
        waits_for_lock(dir.path(), path, args);
    }
}

/// `--no-wait` does not claim the lock holder is an npy process: here it is
/// the test itself, as it could be flock(1).
#[test]
fn no_wait_names_any_lock_holder() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let f = fs::File::open(d.join("t.npy")).unwrap();
    f.lock().unwrap();
    let before = dir_listing(d);
    let r = run(d, &["append", "--no-wait", "t.npy", "b.npy"]);
    r.fails().stderr_has("t.npy: locked by another process");
    assert!(!r.stderr().contains("npy process"), "{}", r.stderr());
    assert_eq!(dir_listing(d), before);
}

// ---------------------------------------------------------------------------
// Hole 6: a refused append leaves no TARGET it created

/// Every way an append onto a missing TARGET can be refused: TARGET does not
/// exist afterwards and no temporary file is left.
#[test]
fn refused_appends_leave_no_created_target() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let a = fs::read(d.join("a.npy")).unwrap();
    let mut ovf = Vec::new();
    {
        // A header whose shape overflows, then nothing.
        let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }";
        let mut h = text.as_bytes().to_vec();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(b' ');
        }
        h.push(b'\n');
        ovf.extend_from_slice(b"\x93NUMPY\x01\x00");
        ovf.extend_from_slice(&(h.len() as u16).to_le_bytes());
        ovf.extend(h);
    }
    fs::write(d.join("ovf.npy"), &ovf).unwrap();
    let cases: Vec<(Vec<&str>, Vec<u8>)> = vec![
        (
            vec![
                "append", "r.npy", "--raw", "--dtype", "<f8", "--shape", "0", "-",
            ],
            b"abcdefgh".to_vec(),
        ),
        (
            vec![
                "append",
                "r.npy",
                "--raw",
                "--dtype",
                "<f8",
                "--shape",
                "4611686018427387904,4",
                "-",
            ],
            b"abcdefgh".to_vec(),
        ),
        (
            vec!["append", "r.npy", "--raw", "--dtype", "<f8", "raw8", "-"],
            b"abc".to_vec(),
        ),
        (vec!["append", "r.npy", "-"], ovf.clone()),
        (vec!["append", "r.npy", "ovf.npy"], vec![]),
        (vec!["append", "r.npy", "-"], a[..a.len() - 3].to_vec()),
        (vec!["append", "r.npy", "a.npy", "-"], b"junk".to_vec()),
        (vec!["append", "r.npy", "-"], vec![]),
    ];
    for (args, input) in cases {
        let before = dir_listing(d);
        let r = run_stdin(d, &args, &input);
        r.fails();
        let after = dir_listing(d);
        // Two cases commit a file source first (raw8's row, a.npy's rows),
        // then refuse stdin: the rows committed stay, and so does TARGET.
        if args.contains(&"raw8") || args.contains(&"a.npy") {
            assert!(d.join("r.npy").exists(), "{args:?}");
            fs::remove_file(d.join("r.npy")).unwrap();
            continue;
        }
        assert!(!d.join("r.npy").exists(), "{args:?}: TARGET left behind");
        assert_eq!(after, before, "{args:?}: {}", r.stderr());
    }
}

// ---------------------------------------------------------------------------
// Holes 8 and 9

/// `-o -` means stdout for every command that takes `-o`; no file named `-`.
#[test]
fn dash_output_is_stdout_everywhere() {
    for (file_args, dash_args) in [
        (
            &["concat", "-o", "w.npy", "a.npy", "b.npy"][..],
            &["concat", "-o", "-", "a.npy", "b.npy"][..],
        ),
        (
            &["convert-stacked", "s.npy", "-o", "w.npy"],
            &["convert-stacked", "s.npy", "-o", "-"],
        ),
        (
            &["convert-stacked", "--stack", "s.npy", "-o", "w.npy"],
            &["convert-stacked", "--stack", "s.npy", "-o", "-"],
        ),
        (
            &["convert-stacked", "--axis", "1", "s.npy", "-o", "w.npy"],
            &["convert-stacked", "--axis", "1", "s.npy", "-o", "-"],
        ),
    ] {
        let dir = tempdir();
        let d = dir.path();
        fixtures(d);
        run(d, file_args).ok();
        let r = run(d, dash_args);
        r.ok();
        assert!(
            r.out.stdout == fs::read(d.join("w.npy")).unwrap(),
            "{dash_args:?}"
        );
        assert!(
            !d.join("-").exists(),
            "{dash_args:?} created a file named -"
        );
    }
}

/// Results numpy cannot hold are refused before anything is written:
/// `--stack` of 64-dimensional arrays would have 65.
#[test]
fn results_beyond_numpys_limits_are_refused() {
    let dir = tempdir();
    let d = dir.path();
    let shape = vec![1u64; 64];
    write_npy(&d.join("one.npy"), "'<f8'", false, &shape, &f8_bytes(0..1));
    let mut s = fs::read(d.join("one.npy")).unwrap();
    s.extend(fs::read(d.join("one.npy")).unwrap());
    fs::write(d.join("s64.npy"), s).unwrap();
    let before = dir_listing(d);
    run(
        d,
        &["convert-stacked", "--stack", "s64.npy", "-o", "out.npy"],
    )
    .fails()
    .stderr_has("65 dimensions")
    .stderr_has("at most 64");
    run(d, &["convert-stacked", "--stack", "s64.npy", "-o", "-"])
        .fails()
        .stderr_has("65 dimensions");
    assert_eq!(dir_listing(d), before);
    // 64 dimensions are fine, and numpy loads them.
    run(d, &["convert-stacked", "s64.npy", "-o", "out.npy"]).ok();
    if let Some(py) = python() {
        assert_eq!(np_load(py, &d.join("out.npy"))["ok"], true);
    }
}

// ---------------------------------------------------------------------------
// Hole 4: repair --like touches only recognisably broken .npy files

#[test]
fn repair_like_only_rebuilds_broken_npy_files() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let text = "# notes\n".repeat(60);
    fs::write(d.join("notes.md"), &text).unwrap();
    // A whole header whose datetime unit no numpy has ('q').
    write_npy(&d.join("ok.npy"), "'<f8'", false, &[1], &f8_bytes(0..1));
    let mut dt = fs::read(d.join("ok.npy")).unwrap();
    let from = b"'descr': '<f8'";
    let at = dt.windows(from.len()).position(|w| w == from).unwrap();
    let to = b"'descr': '<M8[1000000000q]'";
    dt.splice(at..at + from.len(), to.iter().copied());
    // Keep the 64-byte alignment: take the spaces back out of the padding.
    let extra = to.len() - from.len();
    let nl = dt.iter().position(|&b| b == b'\n').unwrap();
    dt.drain(nl - extra..nl);
    fs::write(d.join("dt.npy"), &dt).unwrap();
    // The same header with a unit numpy has (any multiplier) is healthy:
    // --like has nothing to do and leaves it alone.
    let mut good = dt.clone();
    let q = good.windows(11).position(|w| w == b"1000000000q").unwrap();
    good[q + 10] = b's';
    fs::write(d.join("dt_ok.npy"), &good).unwrap();
    let before = dir_listing(d);
    run(d, &["repair", "--like", "a.npy", "dt_ok.npy"])
        .ok()
        .stdout_has("ok, nothing to do");
    assert_eq!(dir_listing(d), before, "dt_ok.npy was changed");
    for f in ["notes.md", "dt.npy", "raw8"] {
        let before = dir_listing(d);
        run(d, &["repair", "--like", "a.npy", f])
            .fails()
            .stderr_has("--like rebuilds only the header of a broken .npy file")
            .stderr_has("nothing changed");
        assert_eq!(dir_listing(d), before, "{f} was changed");
        run(d, &["repair", "--check", "--like", "a.npy", f]).fails();
        assert_eq!(dir_listing(d), before, "{f} was changed by --check");
    }
    // Recognisably broken: zeros where the header was, an empty file, a
    // header cut by junk. Each becomes a's layout with its whole rows.
    let a = fs::read(d.join("a.npy")).unwrap();
    let hl = a.len() - 48;
    let mut zeros = vec![0u8; hl];
    zeros.extend(&a[hl..]);
    fs::write(d.join("zeros.npy"), zeros).unwrap();
    fs::write(d.join("empty.npy"), b"").unwrap();
    let mut junk = a.clone();
    junk[20..30].copy_from_slice(b"@@@@@@@@@@");
    fs::write(d.join("junk.npy"), junk).unwrap();
    for (f, rows) in [("zeros.npy", 3), ("empty.npy", 0), ("junk.npy", 3)] {
        run(d, &["repair", "--like", "a.npy", f]).ok();
        let j = run(d, &["inspect", "--json", f]).ok().json_lines();
        assert_eq!(j[0]["status"], "ok", "{f}");
        assert_eq!(j[0]["shape"], serde_json::json!([rows, 2]), "{f}");
        if let Some(py) = python() {
            assert_eq!(np_load(py, &d.join(f))["ok"], true, "{f}");
        }
    }
}

// ---------------------------------------------------------------------------
// Hole 11 and issue #12: messages

/// "cannot open" says what is wrong in words, without "(os error N)", from
/// every command.
#[test]
fn missing_files_are_said_in_words() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    for args in [
        &["inspect", "missing.npy"][..],
        &["append", "t.npy", "missing.npy"],
        &["append", "t.npy", "--raw", "missing.npy"],
        &["concat", "-o", "o.npy", "missing.npy"],
        &["convert-stacked", "missing.npy", "-o", "o.npy"],
        &["repair", "missing.npy"],
        &["repair", "--like", "missing.npy", "t.npy"],
    ] {
        let r = run(d, args);
        r.fails()
            .stderr_has("missing.npy")
            .stderr_has("no such file or directory");
        assert!(!r.stderr().contains("os error"), "{args:?}: {}", r.stderr());
    }
}

/// A FIFO or `<(...)` source is read like a file (spooled), not "empty".
#[test]
fn fifo_sources_are_read() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    run(d, &["concat", "-o", "want.npy", "a.npy", "b.npy"]).ok();
    let feed = |name: &str, from: &str| {
        let (p, bytes) = (d.join(name), fs::read(d.join(from)).unwrap());
        std::thread::spawn(move || fs::write(p, bytes).unwrap())
    };
    mkfifo(&d.join("f1"));
    let w = feed("f1", "b.npy");
    run(d, &["concat", "-o", "c.npy", "a.npy", "f1"]).ok();
    w.join().unwrap();
    assert_eq!(
        fs::read(d.join("c.npy")).unwrap(),
        fs::read(d.join("want.npy")).unwrap()
    );
    let w = feed("f1", "b.npy");
    run(d, &["append", "t.npy", "f1"]).ok();
    w.join().unwrap();
    assert_eq!(
        fs::read(d.join("t.npy")).unwrap(),
        fs::read(d.join("want.npy")).unwrap()
    );
    fs::write(d.join("rows"), f8_bytes(6..10)).unwrap();
    fs::copy(d.join("a.npy"), d.join("t2.npy")).unwrap();
    let w = feed("f1", "rows");
    run(d, &["append", "t2.npy", "--raw", "f1"]).ok();
    w.join().unwrap();
    assert_eq!(
        fs::read(d.join("t2.npy")).unwrap(),
        fs::read(d.join("want.npy")).unwrap()
    );
}

/// A dangling symlink as OUTPUT is said to be one; nothing is written.
#[test]
fn dangling_symlink_output_is_named() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    std::os::unix::fs::symlink("nowhere/x.npy", d.join("link.npy")).unwrap();
    for args in [
        &["concat", "-o", "link.npy", "a.npy", "b.npy"][..],
        &["concat", "-f", "-o", "link.npy", "a.npy", "b.npy"],
        &["convert-stacked", "s.npy", "-o", "link.npy"],
    ] {
        let before = dir_listing(d);
        run(d, args)
            .fails()
            .stderr_has("link.npy: is a symbolic link to nowhere/x.npy, which does not exist");
        assert_eq!(dir_listing(d), before);
    }
}

/// Issue #12: an empty stdin is said, with TARGET unchanged, exit 1.
#[test]
fn empty_stdin_is_said() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let before = dir_listing(d);
    run_stdin(d, &["append", "t.npy", "-"], b"")
        .fails()
        .stderr_has("npy: <stdin>: no array arrived on stdin; t.npy unchanged");
    assert_eq!(dir_listing(d), before);
    run_stdin(d, &["append", "t.npy", "b.npy", "-"], b"")
        .fails()
        .stderr_has("no array arrived on stdin; the other sources were appended");
}

/// A damaged file that is both OUTPUT (locked by the command itself) and an
/// input: refused at once, never a wait for the command's own lock.
#[test]
fn damaged_output_as_input_is_refused_not_awaited() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let mut t = fs::read(d.join("t.npy")).unwrap();
    t.extend_from_slice(b"xxxx");
    fs::write(d.join("t.npy"), &t).unwrap();
    for args in [
        &["concat", "-f", "-o", "t.npy", "t.npy", "b.npy"][..],
        &["convert-stacked", "-f", "t.npy", "-o", "t.npy"],
    ] {
        let before = dir_listing(d);
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let st = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} hung (waiting for its own lock?)");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(st.code(), Some(1), "{args:?}");
        assert_eq!(dir_listing(d), before, "{args:?}");
    }
}
