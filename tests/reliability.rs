//! Reliability: tries hard to break npy's "nothing is lost" promise
//! (docs/RELIABILITY.md lists the promises and these tests' figures).
//!
//! - Crash tests SIGKILL `append` (in place, and one that must grow the
//!   header), `concat`, `convert-stacked` (to a new file and in place) and
//!   `repair` at random moments, on files of several MiB whose every row is
//!   recognisable (element j of the row with id r holds `r*K + j + 1`), then
//!   check: the target loads (our scan, and numpy on some trials) or
//!   `npy repair` makes it load; every committed row is intact; no row is
//!   torn; outputs are whole or absent; and a rerun works despite whatever
//!   temporary file the killed process left.
//! - Full disk (a 2 MiB tmpfs; needs root, else the test says why and
//!   returns) and RLIMIT_FSIZE: exit 1, a clear message, the target byte for
//!   byte as it was, no temporary file left.
//! - Concurrency: 8 writers on one file, repair racing appends, `concat -f`
//!   and `convert-stacked --in-place` replacing a file being appended to, numpy
//!   readers (`mmap_mode='r'` during in-place appends, plain `np.load`
//!   during header rewrites) that must always see a whole array.
//! - Whole-file fuzzing (proptest): truncations, bit flips, shape edits and
//!   junk, through every command: never a panic, exit 0 or 1, and on exit 1
//!   every input byte for byte unchanged.
//! - Regression inputs found by `cargo fuzz` (fuzz/run.sh).
//!
//! Trial counts are small by default (a few minutes in a debug build);
//! `NPY_TRIALS=N` multiplies them and `NPY_SEED=S` replays a run (every test
//! prints its seed). Each test prints a `FIGURES` line (see with
//! `--nocapture`); docs/RELIABILITY.md records them.

use std::fs;
use std::io;
use std::ops::Range;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use npy_tools::npy::{self, header::VERSIONS, pylit, Layout};
use proptest::prelude::*;

use crate::common::*;

// ---------------------------------------------------------------------------
// Knobs, seeds, randomness

/// `NPY_TRIALS` (a positive number, default 1) multiplies every trial count.
fn multiplier() -> f64 {
    std::env::var("NPY_TRIALS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|m| *m > 0.0)
        .unwrap_or(1.0)
}

fn trials(n: u32) -> u32 {
    ((n as f64 * multiplier()).ceil() as u32).max(1)
}

/// The seed of a test: `NPY_SEED`, else the clock. Printed, so a failure
/// (whose captured output libtest shows) can be replayed.
fn seed_for(test: &str) -> u64 {
    let seed = std::env::var("NPY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            t ^ ((std::process::id() as u64) << 32)
        });
    eprintln!("{test}: seed {seed} (replay with NPY_SEED={seed})");
    seed
}

/// xorshift64: small, seeded, good enough to pick kill moments and bits.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
    /// A moment to kill a command that takes about `d`: half the time
    /// anywhere in `[0, 1.25 d]`, half in `[0.7 d, 1.1 d]`, where it syncs,
    /// renames and patches headers. Some land after it finished.
    fn moment(&mut self, d: Duration) -> Duration {
        let us = (d.as_micros() as u64).max(1);
        let at = if self.chance(1, 2) {
            self.below(us * 5 / 4 + 1)
        } else {
            us * 7 / 10 + self.below(us * 4 / 10 + 1)
        };
        Duration::from_micros(at)
    }
}

// ---------------------------------------------------------------------------
// Recognisable rows

const U8: &str = "'<u8'";

/// Files of shape `(n, k)`, dtype `<u8`, where the row with id `r` holds
/// `r*k + j + 1` in column `j`: a torn, shifted, zeroed or misplaced row
/// never passes for a whole one.
#[derive(Clone, Copy)]
struct Rows {
    k: u64,
}

impl Rows {
    fn value(&self, id: u64, j: u64) -> u64 {
        id * self.k + j + 1
    }
    fn row_bytes(&self) -> u64 {
        self.k * 8
    }
    fn data(&self, ids: impl IntoIterator<Item = u64>) -> Vec<u8> {
        let mut v = Vec::new();
        for id in ids {
            for j in 0..self.k {
                v.extend_from_slice(&self.value(id, j).to_le_bytes());
            }
        }
        v
    }
    fn layout(&self, n: u64) -> Layout {
        Layout::new(pylit::parse(U8).unwrap(), false, vec![n, self.k]).unwrap()
    }
    /// A file as `np.save` writes it.
    fn file(&self, ids: Range<u64>) -> Vec<u8> {
        let mut b = self.layout(ids.end - ids.start).to_npy_header();
        b.extend(self.data(ids));
        b
    }
    /// A header of `rows` rows with no spare byte (version 1.0): one more
    /// digit in the row count needs a rewrite of the whole file.
    fn tight_header(&self, rows: u64) -> Vec<u8> {
        let l = self.layout(rows);
        let v = VERSIONS[0];
        let len = (v.prefix_len() + l.dict_text().len() + 1) as u64;
        l.to_header_of_len(v, len).expect("tight header")
    }
    fn tight_file(&self, ids: Range<u64>) -> Vec<u8> {
        let mut b = self.tight_header(ids.end - ids.start);
        b.extend(self.data(ids));
        b
    }
    /// The row ids of a whole (`ok`) file, or what is wrong with it.
    fn read(&self, path: &Path) -> Result<Vec<u64>, String> {
        let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.parse(&bytes)
    }
    fn parse(&self, bytes: &[u8]) -> Result<Vec<u64>, String> {
        let h = npy::read_header(&mut &bytes[..])
            .map_err(|e| format!("header: {e}"))?
            .ok_or("empty file")?;
        if h.descr != pylit::parse(U8).unwrap()
            || h.fortran_order
            || h.shape.len() != 2
            || h.shape[1] != self.k
        {
            return Err(format!(
                "unexpected header {} {:?}",
                h.descr.repr(),
                h.shape
            ));
        }
        let data = &bytes[h.header_len as usize..];
        let n = h.shape[0];
        if data.len() as u64 != n * self.row_bytes() {
            return Err(format!("{} data bytes for {n} rows", data.len()));
        }
        let mut ids = Vec::with_capacity(n as usize);
        for (i, row) in data.chunks_exact(self.row_bytes() as usize).enumerate() {
            let first = u64::from_le_bytes(row[..8].try_into().unwrap());
            if first == 0 || (first - 1) % self.k != 0 {
                return Err(format!("row {i} of {n} is torn: it starts with {first}"));
            }
            let id = (first - 1) / self.k;
            for (j, el) in row.chunks_exact(8).enumerate() {
                if u64::from_le_bytes(el.try_into().unwrap()) != self.value(id, j as u64) {
                    return Err(format!("row {i} of {n} (id {id}) is torn at column {j}"));
                }
            }
            ids.push(id);
        }
        Ok(ids)
    }
}

#[track_caller]
fn assert_ids(ids: &[u64], want: impl IntoIterator<Item = u64>, ctx: &str) {
    let want: Vec<u64> = want.into_iter().collect();
    if ids != want {
        let at = ids.iter().zip(&want).position(|(a, b)| a != b);
        panic!(
            "{ctx}: rows differ: {} rows, want {}; first difference at {:?}",
            ids.len(),
            want.len(),
            at.map(|i| (i, ids[i], want[i]))
        );
    }
}

#[track_caller]
fn assert_consecutive(ids: &[u64], ctx: &str) {
    if let Some(i) = ids.iter().enumerate().position(|(i, &id)| id != i as u64) {
        panic!(
            "{ctx}: row {i} holds id {} (rows lost or misplaced)",
            ids[i]
        );
    }
}

// ---------------------------------------------------------------------------
// Running npy

struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    args: String,
}

impl Out {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
    fn show(&self) -> String {
        format!(
            "`npy {}` -> {:?} (signal {:?})\n--- stdout\n{}--- stderr\n{}",
            self.args,
            self.code(),
            self.status.signal(),
            self.stdout,
            self.stderr
        )
    }
    /// Whatever is on stderr starts `npy: `; a failure (exit 1 other than a
    /// `--check` finding something) says why.
    fn explained(&self) -> bool {
        let check = self.args.split(' ').any(|a| a == "--check");
        if self.stderr.is_empty() {
            self.code() != Some(1) || check
        } else {
            self.stderr.starts_with("npy: ")
        }
    }
    /// Exit 0 or 1; never a panic (101) or a signal; errors explained.
    #[track_caller]
    fn assert_sane(&self, ctx: &str) -> i32 {
        let code = self.code();
        assert!(
            matches!(code, Some(0) | Some(1)) && !self.stderr.contains("panicked"),
            "{ctx}: {}",
            self.show()
        );
        assert!(
            self.explained(),
            "{ctx}: error not explained: {}",
            self.show()
        );
        code.unwrap()
    }
    #[track_caller]
    fn assert_ok(&self, ctx: &str) -> &Self {
        assert_eq!(self.code(), Some(0), "{ctx}: {}", self.show());
        self
    }
}

/// Resource limits for the child, set between fork and exec.
#[derive(Default, Clone, Copy)]
struct Limits {
    /// RLIMIT_FSIZE, with SIGXFSZ ignored so a write past it fails EFBIG.
    fsize: Option<u64>,
    /// RLIMIT_AS: a hostile header must not make npy allocate gigabytes.
    address_space: Option<u64>,
}

fn command(dir: &Path, args: &[&str], lim: Limits) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if lim.fsize.is_some() || lim.address_space.is_some() {
        // SAFETY: the hook runs in the forked child before exec and calls
        // only async-signal-safe functions (setrlimit, signal) on values
        // copied into the closure.
        unsafe {
            c.pre_exec(move || {
                let set = |res, v: u64| {
                    let l = libc::rlimit {
                        rlim_cur: v as libc::rlim_t,
                        rlim_max: v as libc::rlim_t,
                    };
                    if libc::setrlimit(res, &l) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                };
                if let Some(v) = lim.fsize {
                    set(libc::RLIMIT_FSIZE, v)?;
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                }
                if let Some(v) = lim.address_space {
                    set(libc::RLIMIT_AS, v)?;
                }
                Ok(())
            });
        }
    }
    c
}

/// Runs npy to the end; a run longer than `timeout` is killed and fails the
/// test as a hang.
fn exec_with(dir: &Path, args: &[&str], lim: Limits, timeout: Duration) -> Out {
    exec_fed(dir, args, lim, timeout, None)
}

/// [`exec_with`], with stdin read from `stdin` when given.
fn exec_fed(
    dir: &Path,
    args: &[&str],
    lim: Limits,
    timeout: Duration,
    stdin: Option<&Path>,
) -> Out {
    let mut cmd = command(dir, args, lim);
    if let Some(p) = stdin {
        cmd.stdin(fs::File::open(p).expect("open stdin file"));
    }
    let child = cmd.spawn().expect("spawn npy");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(timeout) {
        Ok(out) => out.expect("wait for npy"),
        Err(_) => {
            // SAFETY: kill has no memory preconditions; the child is not yet
            // reaped (its waiter thread is still blocked), so the pid is ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("`npy {}` hung for {timeout:?}", args.join(" "));
        }
    };
    Out {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.join(" "),
    }
}

fn exec(dir: &Path, args: &[&str]) -> Out {
    exec_with(dir, args, Limits::default(), Duration::from_secs(120))
}

/// What `npy inspect --json` says of a file: its `status`, or `error: ...`.
fn status_of(dir: &Path, file: &str) -> String {
    let o = exec(dir, &["inspect", "--json", file]);
    match o.assert_sane(&format!("inspect {file}")) {
        0 => {
            let v: serde_json::Value = serde_json::from_str(o.stdout.trim()).expect("inspect JSON");
            v["status"].as_str().expect("status").to_string()
        }
        _ => format!("error: {}", o.stderr.trim()),
    }
}

enum Fate {
    Finished(Out),
    Killed,
}

/// Starts npy, and SIGKILLs it after `after` unless it has finished.
fn run_and_kill(dir: &Path, args: &[&str], after: Duration) -> Fate {
    run_and_kill_fed(dir, args, None, after)
}

/// [`run_and_kill`], with `stdin` fed from another thread when given.
fn run_and_kill_fed(
    dir: &Path,
    args: &[&str],
    stdin: Option<Arc<Vec<u8>>>,
    after: Duration,
) -> Fate {
    let mut cmd = command(dir, args, Limits::default());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn npy");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            // A killed reader closes the pipe: EPIPE is expected then.
            let _ = pipe.write_all(&bytes);
        })
    });
    std::thread::sleep(after);
    let finished = child.try_wait().expect("try_wait").is_some();
    if !finished {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("wait");
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    if out.status.signal() == Some(libc::SIGKILL) {
        return Fate::Killed;
    }
    Fate::Finished(Out {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.join(" "),
    })
}

/// Temporary files npy leaves beside its targets (`.NAME.XXXX.npy-tmp`).
fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".npy-tmp"))
        .collect();
    v.sort();
    v
}

/// Every name in `dir` that is neither expected nor a temporary file.
fn strays(dir: &Path, expected: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".npy-tmp") && !expected.contains(&n.as_str()))
        .collect()
}

/// numpy's view of a file: `Some(rows)` when `np.load` takes it.
fn numpy_rows(py: &str, path: &Path) -> Option<u64> {
    let v = np_load(py, path);
    if v["ok"] == true {
        v["shape"][0].as_u64()
    } else {
        None
    }
}

/// What the crash trials of one test saw; printed as a `FIGURES` line.
#[derive(Default)]
struct Tally {
    trials: u32,
    killed: u32,
    /// Killed, and the file(s) were exactly as before.
    as_before: u32,
    /// Killed (or not), and the result was complete.
    as_after: u32,
    /// Killed with a loadable result holding part of the new rows.
    partial: u32,
    /// Killed, and `npy repair` was needed (and worked).
    repaired: u32,
    temps_left: u32,
    reruns: u32,
    numpy_loads: u32,
    full_run: Duration,
}

impl Tally {
    fn report(&self, name: &str) {
        println!(
            "FIGURES {name}: trials={} killed={} as_before={} as_after={} partial={} repaired={} \
             temp_files_left={} reruns_ok={} numpy_loads={} full_run_ms={:.1}",
            self.trials,
            self.killed,
            self.as_before,
            self.as_after,
            self.partial,
            self.repaired,
            self.temps_left,
            self.reruns,
            self.numpy_loads,
            self.full_run.as_secs_f64() * 1e3
        );
    }
}

/// How long a full run takes: the median of 3, `reset` before each. The
/// last run's result stays for the caller to check.
fn timed(dir: &Path, args: &[&str], ctx: &str, reset: impl Fn()) -> Duration {
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            reset();
            let t = Instant::now();
            exec(dir, args).assert_ok(ctx);
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[1]
}

// ---------------------------------------------------------------------------
// Crash tests

/// SIGKILL `npy append T S1 S2 S3` (header with room: data then header, in
/// place) at random moments; every fourth trial streams the same arrays
/// through stdin (`npy append T -`).
#[test]
fn crash_append_in_place() {
    crash_append("crash_append_in_place", false, trials(70));
}

/// SIGKILL `npy append` on a target whose header has no spare byte, so the
/// new row count (one more digit) forces a rewrite + rename.
#[test]
fn crash_append_growing_header() {
    crash_append("crash_append_growing_header", true, trials(40));
}

fn crash_append(name: &str, tight: bool, n: u32) {
    let seed = seed_for(name);
    let mut rng = Rng::new(seed);
    let py = python();
    let rows = Rows { k: 64 };
    let dir = tempdir();
    let d = dir.path();
    let target = d.join("t.npy");
    // 512-byte rows: a 6 MiB (in place) or 5 MiB (tight, 9999 rows) target.
    let (n0, per_src, nsrc) = if tight {
        (9_999u64, 2_048, 2)
    } else {
        (12_288, 3_072, 3)
    };
    let base = if tight {
        rows.tight_file(0..n0)
    } else {
        rows.file(0..n0)
    };
    let mut names = vec![];
    let mut next = n0;
    for s in 0..nsrc {
        let p = format!("s{s}.npy");
        fs::write(d.join(&p), rows.file(next..next + per_src)).unwrap();
        next += per_src;
        names.push(p);
    }
    let total = next;
    let src_bytes: Vec<Vec<u8>> = names.iter().map(|p| fs::read(d.join(p)).unwrap()).collect();
    let mut args = vec!["append", "t.npy"];
    args.extend(names.iter().map(|s| s.as_str()));
    let mut expected_names = vec!["t.npy"];
    expected_names.extend(names.iter().map(|s| s.as_str()));

    let mut tally = Tally {
        full_run: timed(d, &args, name, || fs::write(&target, &base).unwrap()),
        ..Tally::default()
    };
    assert_consecutive(&rows.read(&target).unwrap(), name);
    assert_eq!(rows.read(&target).unwrap().len() as u64, total);

    // Every fourth trial streams the sources through stdin (`-`) instead.
    let stream = Arc::new(src_bytes.concat());
    let piped = ["append", "t.npy", "-"];
    for trial in 0..n {
        let ctx = format!("{name}: seed {seed} trial {trial}");
        fs::write(&target, &base).unwrap();
        let at = rng.moment(tally.full_run);
        let fate = if trial % 4 == 3 {
            run_and_kill_fed(d, &piped, Some(stream.clone()), at)
        } else {
            run_and_kill(d, &args, at)
        };
        tally.trials += 1;
        let killed = match &fate {
            Fate::Finished(o) => {
                o.assert_ok(&ctx);
                false
            }
            Fate::Killed => true,
        };
        tally.killed += killed as u32;
        for (p, b) in names.iter().zip(&src_bytes) {
            assert!(
                fs::read(d.join(p)).unwrap() == *b,
                "{ctx}: source {p} changed"
            );
        }
        let unchanged = fs::read(&target).unwrap() == base;
        let st = status_of(d, "t.npy");
        let mut repaired = false;
        if st != "ok" {
            assert!(killed, "{ctx}: finished append left status {st}");
            let o = exec(d, &["repair", "t.npy"]);
            o.assert_ok(&format!("{ctx}: target was {st}; npy repair"));
            let st2 = status_of(d, "t.npy");
            assert_eq!(st2, "ok", "{ctx}: after repair of a {st} target");
            repaired = true;
        }
        let ids = rows
            .read(&target)
            .unwrap_or_else(|e| panic!("{ctx}: target (status {st}, repaired {repaired}): {e}"));
        assert_consecutive(&ids, &ctx);
        let got = ids.len() as u64;
        assert!(
            (n0..=total).contains(&got),
            "{ctx}: {got} rows, committed {n0}, at most {total}"
        );
        if !killed {
            assert_eq!(got, total, "{ctx}: finished append lost rows");
        }
        if killed {
            if repaired {
                tally.repaired += 1;
            } else if unchanged {
                tally.as_before += 1;
            } else if got == total {
                tally.as_after += 1;
            } else {
                tally.partial += 1;
            }
        } else {
            tally.as_after += 1;
        }
        assert!(
            strays(d, &expected_names).is_empty(),
            "{ctx}: stray files {:?}",
            strays(d, &expected_names)
        );
        let left = temps(d);
        tally.temps_left += left.len() as u32;
        if let Some(py) = py {
            if trial % 10 == 0 || repaired {
                assert_eq!(numpy_rows(py, &target), Some(got), "{ctx}: numpy disagrees");
                tally.numpy_loads += 1;
            }
        }
        // The next run must not trip on what this one left.
        if !left.is_empty() || repaired || rng.chance(1, 3) {
            exec(d, &args).assert_ok(&format!("{ctx}: rerun"));
            let again = rows
                .read(&target)
                .unwrap_or_else(|e| panic!("{ctx}: after rerun: {e}"));
            assert_ids(&again, (0..got).chain(n0..total), &format!("{ctx}: rerun"));
            tally.reruns += 1;
        }
        for t in temps(d) {
            fs::remove_file(t).unwrap();
        }
    }
    tally.report(name);
}

/// SIGKILL `npy concat -o out.npy c0..c7`: inputs untouched, output whole
/// or absent.
#[test]
fn crash_concat() {
    let name = "crash_concat";
    let seed = seed_for(name);
    let mut rng = Rng::new(seed);
    let py = python();
    let rows = Rows { k: 64 };
    let dir = tempdir();
    let d = dir.path();
    let per = 2_048u64; // 1 MiB chunks, 8 MiB out
    let names: Vec<String> = (0..8).map(|i| format!("c{i}.npy")).collect();
    for (i, p) in names.iter().enumerate() {
        let i = i as u64;
        fs::write(d.join(p), rows.file(i * per..(i + 1) * per)).unwrap();
    }
    let total = 8 * per;
    let inputs: Vec<Vec<u8>> = names.iter().map(|p| fs::read(d.join(p)).unwrap()).collect();
    let mut args = vec!["concat", "-o", "out.npy"];
    args.extend(names.iter().map(|s| s.as_str()));
    let mut rerun = vec!["concat", "--force", "-o", "out.npy"];
    rerun.extend(names.iter().map(|s| s.as_str()));
    let mut expected_names = vec!["out.npy"];
    expected_names.extend(names.iter().map(|s| s.as_str()));
    let out = d.join("out.npy");

    let mut tally = Tally {
        full_run: timed(d, &args, name, || {
            let _ = fs::remove_file(&out);
        }),
        ..Tally::default()
    };
    assert_consecutive(&rows.read(&out).unwrap(), name);
    for trial in 0..trials(60) {
        let ctx = format!("{name}: seed {seed} trial {trial}");
        let _ = fs::remove_file(&out);
        let fate = run_and_kill(d, &args, rng.moment(tally.full_run));
        tally.trials += 1;
        let killed = match &fate {
            Fate::Finished(o) => {
                o.assert_ok(&ctx);
                false
            }
            Fate::Killed => true,
        };
        tally.killed += killed as u32;
        for (p, b) in names.iter().zip(&inputs) {
            assert!(
                fs::read(d.join(p)).unwrap() == *b,
                "{ctx}: input {p} changed"
            );
        }
        if out.exists() {
            let ids = rows
                .read(&out)
                .unwrap_or_else(|e| panic!("{ctx}: output exists but is not whole: {e}"));
            assert_ids(&ids, 0..total, &ctx);
            tally.as_after += 1;
            if let Some(py) = py {
                if trial % 10 == 0 {
                    assert_eq!(numpy_rows(py, &out), Some(total), "{ctx}: numpy");
                    tally.numpy_loads += 1;
                }
            }
        } else {
            assert!(killed, "{ctx}: finished concat wrote no output");
            tally.as_before += 1;
        }
        assert!(
            strays(d, &expected_names).is_empty(),
            "{ctx}: stray files {:?}",
            strays(d, &expected_names)
        );
        let left = temps(d);
        tally.temps_left += left.len() as u32;
        if !left.is_empty() || rng.chance(1, 3) {
            exec(d, &rerun).assert_ok(&format!("{ctx}: rerun"));
            assert_ids(
                &rows.read(&out).unwrap(),
                0..total,
                &format!("{ctx}: rerun"),
            );
            tally.reruns += 1;
        }
        for t in temps(d) {
            fs::remove_file(t).unwrap();
        }
    }
    tally.report(name);
}

/// SIGKILL `npy convert-stacked` (`-o` and `--in-place`) on ~6 MiB of
/// arrays saved back to back: the input is as it was or (in place) whole
/// converted; an output is whole or absent.
/// `concat --force -o c0.npy c0.npy c1.npy ...`, the output one of its own
/// inputs (and so locked and replaced), killed at random moments: c0.npy is
/// always either exactly as it was or the whole join, never a mix, never
/// missing; the other inputs never change.
#[test]
fn crash_concat_force_onto_an_input() {
    let name = "crash_concat_force_onto_an_input";
    let seed = seed_for(name);
    let mut rng = Rng::new(seed);
    let rows = Rows { k: 64 };
    let dir = tempdir();
    let d = dir.path();
    let per = 2_048u64;
    let names: Vec<String> = (0..8).map(|i| format!("c{i}.npy")).collect();
    for (i, p) in names.iter().enumerate() {
        let i = i as u64;
        fs::write(d.join(p), rows.file(i * per..(i + 1) * per)).unwrap();
    }
    let total = 8 * per;
    let inputs: Vec<Vec<u8>> = names.iter().map(|p| fs::read(d.join(p)).unwrap()).collect();
    let mut args = vec!["concat", "--force", "-o", "c0.npy"];
    args.extend(names.iter().map(|s| s.as_str()));
    let out = d.join("c0.npy");
    let reset = || fs::write(&out, &inputs[0]).unwrap();
    let mut tally = Tally {
        full_run: timed(d, &args, name, reset),
        ..Tally::default()
    };
    assert_ids(&rows.read(&out).unwrap(), 0..total, name);
    for trial in 0..trials(40) {
        let ctx = format!("{name}: seed {seed} trial {trial}");
        reset();
        let fate = run_and_kill(d, &args, rng.moment(tally.full_run));
        tally.trials += 1;
        match &fate {
            Fate::Finished(o) => {
                o.assert_ok(&ctx);
            }
            Fate::Killed => tally.killed += 1,
        }
        for (p, b) in names.iter().zip(&inputs).skip(1) {
            assert!(
                fs::read(d.join(p)).unwrap() == *b,
                "{ctx}: input {p} changed"
            );
        }
        let ids = rows
            .read(&out)
            .unwrap_or_else(|e| panic!("{ctx}: c0.npy is not whole: {e}"));
        if ids.len() as u64 == per {
            assert!(
                matches!(fate, Fate::Killed),
                "{ctx}: finished, yet c0.npy is as before"
            );
            assert_ids(&ids, 0..per, &ctx);
            tally.as_before += 1;
        } else {
            assert_ids(&ids, 0..total, &ctx);
            tally.as_after += 1;
        }
        let left = temps(d);
        tally.temps_left += left.len() as u32;
        for t in left {
            fs::remove_file(t).unwrap();
        }
    }
    tally.report(name);
}

#[test]
fn crash_convert_stacked() {
    let name = "crash_convert_stacked";
    let seed = seed_for(name);
    let mut rng = Rng::new(seed);
    let py = python();
    let rows = Rows { k: 64 };
    let dir = tempdir();
    let d = dir.path();
    let mut stacked = Vec::new();
    let mut total = 0u64;
    let mut arrays = 0;
    while stacked.len() < 6 << 20 {
        let r = 1 + rng.below(128);
        stacked.extend(rows.file(total..total + r));
        total += r;
        arrays += 1;
    }
    eprintln!(
        "{name}: {arrays} arrays, {total} rows, {} bytes",
        stacked.len()
    );
    let input = d.join("in.npy");
    let out = d.join("out.npy");
    let to_out = ["convert-stacked", "in.npy", "-o", "out.npy"];
    let in_place = ["convert-stacked", "--in-place", "in.npy"];

    fs::write(&input, &stacked).unwrap();
    let d_out = timed(d, &to_out, name, || {
        let _ = fs::remove_file(&out);
    });
    assert_ids(&rows.read(&out).unwrap(), 0..total, name);
    let d_in = timed(d, &in_place, name, || fs::write(&input, &stacked).unwrap());
    assert_ids(&rows.read(&input).unwrap(), 0..total, name);
    let mut tally = Tally {
        full_run: d_out.max(d_in),
        ..Tally::default()
    };

    for trial in 0..trials(60) {
        let ctx = format!("{name}: seed {seed} trial {trial}");
        let inplace = trial % 2 == 1;
        let _ = fs::remove_file(&out);
        fs::write(&input, &stacked).unwrap();
        let (args, dur): (&[&str], _) = if inplace {
            (&in_place, d_in)
        } else {
            (&to_out, d_out)
        };
        let fate = run_and_kill(d, args, rng.moment(dur));
        tally.trials += 1;
        let killed = match &fate {
            Fate::Finished(o) => {
                o.assert_ok(&ctx);
                false
            }
            Fate::Killed => true,
        };
        tally.killed += killed as u32;
        let now = fs::read(&input).unwrap();
        let whole = |p: &Path| {
            let ids = rows
                .read(p)
                .unwrap_or_else(|e| panic!("{ctx}: {} not whole: {e}", p.display()));
            assert_ids(&ids, 0..total, &ctx);
        };
        let done = if inplace {
            assert!(!out.exists());
            if now == stacked {
                assert!(killed, "{ctx}: finished convert left the input stacked");
                false
            } else {
                whole(&input);
                true
            }
        } else {
            assert!(now == stacked, "{ctx}: input changed");
            if out.exists() {
                whole(&out);
                true
            } else {
                assert!(killed, "{ctx}: finished convert wrote no output");
                false
            }
        };
        if done {
            tally.as_after += 1;
        } else {
            tally.as_before += 1;
        }
        if let (Some(py), true) = (py, done && trial % 10 < 2) {
            let f = if inplace { &input } else { &out };
            assert_eq!(numpy_rows(py, f), Some(total), "{ctx}: numpy");
            tally.numpy_loads += 1;
        }
        assert!(
            strays(d, &["in.npy", "out.npy"]).is_empty(),
            "{ctx}: stray files"
        );
        let left = temps(d);
        tally.temps_left += left.len() as u32;
        if !done && (!left.is_empty() || rng.chance(1, 2)) {
            exec(d, args).assert_ok(&format!("{ctx}: rerun"));
            whole(if inplace { &input } else { &out });
            tally.reruns += 1;
        }
        for t in temps(d) {
            fs::remove_file(t).unwrap();
        }
    }
    tally.report(name);
}

/// SIGKILL `npy repair` on three kinds of damage: header behind its data
/// (room in the header), header behind its data with no room (rewrite +
/// rename), header ahead of its data (a truncated copy); each with a partial
/// last row. Killed or not, a second `npy repair` ends with every whole row.
#[test]
fn crash_repair() {
    let name = "crash_repair";
    let seed = seed_for(name);
    let mut rng = Rng::new(seed);
    let py = python();
    let rows = Rows { k: 64 };
    let dir = tempdir();
    let d = dir.path();
    let f = d.join("r.npy");
    let partial = |ids: Range<u64>| rows.data(ids)[..200].to_vec();
    // (damaged bytes, whole rows present)
    let variants: Vec<(Vec<u8>, u64)> = vec![
        {
            let mut b = rows.layout(8_192).to_npy_header();
            b.extend(rows.data(0..12_288));
            b.extend(partial(12_288..12_289));
            (b, 12_288)
        },
        {
            let mut b = rows.tight_header(9_999);
            b.extend(rows.data(0..12_000));
            b.extend(partial(12_000..12_001));
            (b, 12_000)
        },
        {
            let mut b = rows.layout(12_288).to_npy_header();
            b.extend(rows.data(0..10_000));
            b.extend(partial(10_000..10_001));
            (b, 10_000)
        },
    ];
    let mut durs = vec![];
    for (i, (b, n)) in variants.iter().enumerate() {
        let ctx = format!("{name} variant {i}");
        durs.push(timed(d, &["repair", "r.npy"], &ctx, || {
            fs::write(&f, b).unwrap()
        }));
        assert_ids(&rows.read(&f).unwrap(), 0..*n, name);
    }
    let mut tally = Tally {
        full_run: *durs.iter().max().unwrap(),
        ..Tally::default()
    };
    for trial in 0..trials(60) {
        let v = (trial % 3) as usize;
        let ctx = format!("{name}: seed {seed} trial {trial} variant {v}");
        let (bytes, n) = &variants[v];
        fs::write(&f, bytes).unwrap();
        let fate = run_and_kill(d, &["repair", "r.npy"], rng.moment(durs[v]));
        tally.trials += 1;
        let killed = match &fate {
            Fate::Finished(o) => {
                o.assert_ok(&ctx);
                false
            }
            Fate::Killed => true,
        };
        tally.killed += killed as u32;
        let now = fs::read(&f).unwrap();
        let st = status_of(d, "r.npy");
        if now == *bytes {
            assert!(killed, "{ctx}: finished repair changed nothing");
            tally.as_before += 1;
        } else if st == "ok" {
            tally.as_after += 1;
        } else {
            assert!(killed, "{ctx}: finished repair left status {st}");
            tally.partial += 1;
        }
        let left = temps(d);
        tally.temps_left += left.len() as u32;
        if st != "ok" {
            exec(d, &["repair", "r.npy"])
                .assert_ok(&format!("{ctx}: second repair of a {st} file"));
            tally.reruns += 1;
            if now != *bytes {
                tally.repaired += 1;
            }
        }
        let ids = rows
            .read(&f)
            .unwrap_or_else(|e| panic!("{ctx}: after repair (status was {st}): {e}"));
        assert_ids(&ids, 0..*n, &ctx);
        if let (Some(py), true) = (py, trial % 10 == 0) {
            assert_eq!(numpy_rows(py, &f), Some(*n), "{ctx}: numpy");
            tally.numpy_loads += 1;
        }
        assert!(strays(d, &["r.npy"]).is_empty(), "{ctx}: stray files");
        for t in temps(d) {
            fs::remove_file(t).unwrap();
        }
    }
    tally.report(name);
}

// ---------------------------------------------------------------------------
// Full disk and file-size limits

/// A small tmpfs mounted on a temp dir, unmounted on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) when mounting is not possible here.
    fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempdir();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                eprintln!(
                    "{test}: skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("{test}: skipped: cannot run mount: {e}");
                None
            }
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily (`-l`): a child another test forks at this moment holds
        // copies of our descriptors until it execs, and a plain umount
        // then fails as busy, leaving the mount behind.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[track_caller]
fn assert_refused_cleanly(
    o: &Out,
    ctx: &str,
    dir: &Path,
    file: &Path,
    before: Option<&[u8]>,
    why: &str,
) {
    assert_eq!(o.assert_sane(ctx), 1, "{ctx}: {}", o.show());
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        o.stderr.contains(why),
        "{ctx}: message does not say {why:?}: {}",
        o.show()
    );
    assert!(
        o.stderr.contains(&*name),
        "{ctx}: message does not name {name}: {}",
        o.show()
    );
    match before {
        Some(b) => {
            let now = fs::read(file).unwrap();
            assert!(
                now == b,
                "{ctx}: {} changed: {} bytes before, {} now, inspect says {}",
                file.display(),
                b.len(),
                now.len(),
                status_of(dir, file.to_str().unwrap())
            )
        }
        None => assert!(!file.exists(), "{ctx}: {} was created", file.display()),
    }
    assert!(
        temps(dir).is_empty(),
        "{ctx}: temporary files left: {:?}",
        temps(dir)
    );
}

/// Out of space: a 2 MiB tmpfs for the file written, sources elsewhere.
/// Each refusal must say "no space left on device", name the file, leave it
/// byte for byte as it was (or absent) and remove its temporary file.
const NO_SPACE: &str = "no space left on device";

/// The small filesystem, a big directory for sources, and 128-byte rows.
fn full_disk_setup(test: &str) -> Option<(Tmpfs, TempDir, Rows)> {
    let small = Tmpfs::mount("2m", test)?;
    Some((small, tempdir(), Rows { k: 16 }))
}

/// In-place append of 2 MiB onto a 1 MiB target; afterwards the space is
/// really free again (a small append works).
#[test]
fn full_disk_append_in_place() {
    let Some((small, big, rows)) = full_disk_setup("full_disk_append_in_place") else {
        return;
    };
    let (s, b) = (small.path(), big.path());
    let t = s.join("t.npy");
    fs::write(&t, rows.file(0..8_192)).unwrap();
    fs::write(b.join("s.npy"), rows.file(8_192..24_576)).unwrap();
    let before = fs::read(&t).unwrap();
    let src = b.join("s.npy");
    let o = exec(s, &["append", "t.npy", src.to_str().unwrap()]);
    assert_refused_cleanly(&o, "append in place", s, &t, Some(&before), NO_SPACE);
    fs::write(b.join("few.npy"), rows.file(8_192..8_202)).unwrap();
    let few = b.join("few.npy");
    exec(s, &["append", "t.npy", few.to_str().unwrap()]).assert_ok("small append after");
    assert_ids(&rows.read(&t).unwrap(), 0..8_202, "small append after");
}

/// Append onto a 1.2 MiB target whose header has no spare byte: the
/// rewrite needs as much space again.
#[test]
fn full_disk_append_growing_header() {
    let Some((small, big, rows)) = full_disk_setup("full_disk_append_growing_header") else {
        return;
    };
    let (s, b) = (small.path(), big.path());
    let t = s.join("t.npy");
    fs::write(&t, rows.tight_file(0..9_999)).unwrap();
    fs::write(b.join("s.npy"), rows.file(9_999..10_099)).unwrap();
    let before = fs::read(&t).unwrap();
    let src = b.join("s.npy");
    let o = exec(s, &["append", "t.npy", src.to_str().unwrap()]);
    assert_refused_cleanly(
        &o,
        "append growing the header",
        s,
        &t,
        Some(&before),
        NO_SPACE,
    );
}

/// Repair of a header behind its data that has no room: the rewrite does
/// not fit.
#[test]
fn full_disk_repair_rewrite() {
    let Some((small, _big, rows)) = full_disk_setup("full_disk_repair_rewrite") else {
        return;
    };
    let s = small.path();
    let t = s.join("t.npy");
    let mut damaged = rows.tight_header(9_999);
    damaged.extend(rows.data(0..10_050));
    fs::write(&t, &damaged).unwrap();
    let o = exec(s, &["repair", "t.npy"]);
    assert_refused_cleanly(&o, "repair with a rewrite", s, &t, Some(&damaged), NO_SPACE);
}

/// concat of 3 MiB into the 2 MiB filesystem.
#[test]
fn full_disk_concat() {
    let Some((small, big, rows)) = full_disk_setup("full_disk_concat") else {
        return;
    };
    let (s, b) = (small.path(), big.path());
    let mut args = vec!["concat".to_string(), "-o".into(), "out.npy".into()];
    for i in 0..3u64 {
        let p = b.join(format!("c{i}.npy"));
        fs::write(&p, rows.file(i * 8_192..(i + 1) * 8_192)).unwrap();
        args.push(p.to_string_lossy().into_owned());
    }
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let o = exec(s, &args);
    assert_refused_cleanly(&o, "concat", s, &s.join("out.npy"), None, NO_SPACE);
}

/// convert-stacked of 3 MiB into the 2 MiB filesystem, and in place on it.
#[test]
fn full_disk_convert_stacked() {
    let Some((small, big, rows)) = full_disk_setup("full_disk_convert_stacked") else {
        return;
    };
    let (s, b) = (small.path(), big.path());
    let mut stacked = Vec::new();
    for i in 0..24u64 {
        stacked.extend(rows.file(i * 1_024..(i + 1) * 1_024));
    }
    let st = b.join("stacked.npy");
    fs::write(&st, &stacked).unwrap();
    let o = exec(
        s,
        &["convert-stacked", st.to_str().unwrap(), "-o", "out.npy"],
    );
    assert_refused_cleanly(
        &o,
        "convert-stacked -o",
        s,
        &s.join("out.npy"),
        None,
        NO_SPACE,
    );
    assert!(fs::read(&st).unwrap() == stacked);

    let inp = s.join("in.npy");
    let half: Vec<u8> = stacked[..stacked.len() / 2].to_vec();
    fs::write(&inp, &half).unwrap();
    let o = exec(s, &["convert-stacked", "--in-place", "in.npy"]);
    assert_refused_cleanly(
        &o,
        "convert-stacked --in-place",
        s,
        &inp,
        Some(&half),
        NO_SPACE,
    );
}

/// RLIMIT_FSIZE of 1.5 MiB, SIGXFSZ ignored, so a write past it fails
/// EFBIG: "file too large", nothing changed, no temporary file.
const TOO_LARGE: &str = "file too large";

fn fsize_limit() -> Limits {
    Limits {
        fsize: Some(3 << 19),
        ..Limits::default()
    }
}

#[test]
fn file_size_limit_append_in_place() {
    let dir = tempdir();
    let d = dir.path();
    let rows = Rows { k: 16 };
    let t = d.join("t.npy");
    fs::write(&t, rows.file(0..8_192)).unwrap(); // 1 MiB
    fs::write(d.join("s.npy"), rows.file(8_192..16_384)).unwrap();
    let before = fs::read(&t).unwrap();
    let args = ["append", "t.npy", "s.npy"];
    let o = exec_with(d, &args, fsize_limit(), Duration::from_secs(60));
    assert_refused_cleanly(&o, "append in place", d, &t, Some(&before), TOO_LARGE);
}

#[test]
fn file_size_limit_append_growing_header() {
    let dir = tempdir();
    let d = dir.path();
    let rows = Rows { k: 16 };
    let t = d.join("t.npy");
    fs::write(&t, rows.tight_file(0..9_999)).unwrap(); // 1.2 MiB
    fs::write(d.join("s.npy"), rows.file(9_999..14_000)).unwrap();
    let before = fs::read(&t).unwrap();
    let args = ["append", "t.npy", "s.npy"];
    let o = exec_with(d, &args, fsize_limit(), Duration::from_secs(60));
    assert_refused_cleanly(
        &o,
        "append growing the header",
        d,
        &t,
        Some(&before),
        TOO_LARGE,
    );
}

#[test]
fn file_size_limit_concat() {
    let dir = tempdir();
    let d = dir.path();
    let rows = Rows { k: 16 };
    fs::write(d.join("a.npy"), rows.file(0..8_192)).unwrap();
    fs::write(d.join("b.npy"), rows.file(8_192..16_384)).unwrap();
    let args = ["concat", "-o", "out.npy", "a.npy", "b.npy"];
    let o = exec_with(d, &args, fsize_limit(), Duration::from_secs(60));
    assert_refused_cleanly(&o, "concat", d, &d.join("out.npy"), None, TOO_LARGE);
}

#[test]
fn file_size_limit_zip_and_unzip() {
    let dir = tempdir();
    let d = dir.path();
    let rows = Rows { k: 16 };
    fs::write(d.join("a.npy"), rows.file(0..16_384)).unwrap(); // 2 MiB
    exec(d, &["zip", "-o", "a.npz", "a.npy"]).assert_ok("zip");
    fs::create_dir(d.join("out")).unwrap();
    let o = exec_with(
        d,
        &["zip", "-o", "b.npz", "a.npy"],
        fsize_limit(),
        Duration::from_secs(60),
    );
    assert_refused_cleanly(&o, "zip", d, &d.join("b.npz"), None, TOO_LARGE);
    let args = ["unzip", "a.npz", "-d", "out"];
    let o = exec_with(d, &args, fsize_limit(), Duration::from_secs(60));
    assert_refused_cleanly(
        &o,
        "unzip",
        &d.join("out"),
        &d.join("out/a.npy"),
        None,
        TOO_LARGE,
    );
    // A deflated member is streamed: its write failure names the output too.
    exec(d, &["zip", "--compress", "-o", "c.npz", "a.npy"]).assert_ok("zip --compress");
    let args = ["unzip", "c.npz", "-d", "out"];
    let o = exec_with(d, &args, fsize_limit(), Duration::from_secs(60));
    assert_refused_cleanly(
        &o,
        "unzip deflated",
        &d.join("out"),
        &d.join("out/a.npy"),
        None,
        TOO_LARGE,
    );
}

// ---------------------------------------------------------------------------
// Concurrency

/// Parses rows made of blocks: `base` rows `0..base`, then whole copies of
/// the writers' sources (writer w's rows have ids `(w+1)*1e6 + 0..len`).
/// Returns how many copies of each writer's block were found.
fn count_blocks(ids: &[u64], base: u64, lens: &[u64], ctx: &str) -> Vec<u64> {
    assert_consecutive(&ids[..base.min(ids.len() as u64) as usize], ctx);
    let mut counts = vec![0; lens.len()];
    let mut p = base as usize;
    while p < ids.len() {
        let w = (ids[p] / 1_000_000) as usize;
        assert!(
            w >= 1 && w <= lens.len(),
            "{ctx}: row {p} holds id {} of no writer",
            ids[p]
        );
        let w = w - 1;
        let start = (w as u64 + 1) * 1_000_000;
        let want: Vec<u64> = (start..start + lens[w]).collect();
        let end = p + lens[w] as usize;
        assert!(
            end <= ids.len() && ids[p..end] == want[..],
            "{ctx}: block of writer {w} at row {p} is interleaved or torn"
        );
        counts[w] += 1;
        p = end;
    }
    counts
}

/// 8 writers append to one file at once, starting from a missing target
/// (they race to create it) and from a header with no spare byte (the
/// first append renames a rewritten file over the path the others wait on).
#[test]
fn concurrent_appenders() {
    let name = "concurrent_appenders";
    let py = python();
    let rows = Rows { k: 16 };
    let writers = 8usize;
    let rounds = trials(6) as u64;
    for start in ["missing", "tight"] {
        let dir = tempdir();
        let d = dir.path().to_path_buf();
        let lens: Vec<u64> = (0..writers as u64).map(|w| 50 + 7 * w).collect();
        for (w, len) in lens.iter().enumerate() {
            let s = (w as u64 + 1) * 1_000_000;
            fs::write(d.join(format!("w{w}.npy")), rows.file(s..s + len)).unwrap();
        }
        let base = if start == "tight" {
            fs::write(d.join("t.npy"), rows.tight_file(0..9)).unwrap();
            9
        } else {
            0
        };
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let d = d.clone();
                std::thread::spawn(move || {
                    for r in 0..rounds {
                        let src = format!("w{w}.npy");
                        exec(&d, &["append", "t.npy", &src])
                            .assert_ok(&format!("{name} ({start}): writer {w} round {r}"));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("writer thread");
        }
        let ctx = format!("{name} ({start})");
        assert_eq!(status_of(&d, "t.npy"), "ok", "{ctx}");
        let ids = rows
            .read(&d.join("t.npy"))
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let counts = count_blocks(&ids, base, &lens, &ctx);
        assert_eq!(counts, vec![rounds; writers], "{ctx}: appends lost");
        assert!(
            temps(&d).is_empty(),
            "{ctx}: temporary files left: {:?}",
            temps(&d)
        );
        if let Some(py) = py {
            assert_eq!(
                numpy_rows(py, &d.join("t.npy")),
                Some(ids.len() as u64),
                "{ctx}: numpy"
            );
        }
        println!(
            "FIGURES {name} ({start}): {writers} writers x {rounds} appends, {} rows, none lost or torn",
            ids.len()
        );
    }
}

/// `npy repair` in a loop (with `repair --check` and `inspect` now and
/// then) while 4 writers append. The target starts damaged (its header 50
/// rows behind its data, plus a partial row), so the writers are refused
/// ("run npy repair") until the repairer fixes it, then race it: repair
/// takes the append lock, so it never "repairs" an append in flight. No row
/// is lost or torn; the 150 whole rows present at the start are all kept.
#[test]
fn repair_races_appends() {
    let name = "repair_races_appends";
    let rows = Rows { k: 16 };
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let writers = 4usize;
    let rounds = trials(25) as u64;
    let lens: Vec<u64> = (0..writers as u64).map(|w| 2_000 + 100 * w).collect();
    for (w, len) in lens.iter().enumerate() {
        let s = (w as u64 + 1) * 1_000_000;
        fs::write(d.join(format!("w{w}.npy")), rows.file(s..s + len)).unwrap();
    }
    let mut damaged = rows.layout(100).to_npy_header();
    damaged.extend(rows.data(0..150));
    damaged.extend(&rows.data(150..151)[..40]);
    fs::write(d.join("t.npy"), &damaged).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let repairs = Arc::new(AtomicU64::new(0));
    let refusals = Arc::new(AtomicU64::new(0));
    let repairer = {
        let (d, stop, repairs) = (d.clone(), stop.clone(), repairs.clone());
        let refusals = refusals.clone();
        std::thread::spawn(move || {
            // Let the writers meet the damaged file first.
            let t = Instant::now();
            while refusals.load(Ordering::Relaxed) < 4 && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                exec(&d, &["repair", "t.npy"]).assert_ok(&format!("{name}: repair {i}"));
                if i % 4 == 3 {
                    exec(&d, &["repair", "--check", "t.npy"]).assert_sane(name);
                    exec(&d, &["inspect", "--json", "t.npy"]).assert_sane(name);
                }
                i += 1;
                repairs.store(i, Ordering::Relaxed);
            }
        })
    };
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (d, refusals) = (d.clone(), refusals.clone());
            std::thread::spawn(move || {
                let src = format!("w{w}.npy");
                for r in 0..rounds {
                    let t = Instant::now();
                    loop {
                        let o = exec(&d, &["append", "t.npy", &src]);
                        if o.code() == Some(1)
                            && o.stderr.contains("npy repair")
                            && t.elapsed() < Duration::from_secs(30)
                        {
                            refusals.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                        o.assert_ok(&format!("{name}: writer {w} round {r}"));
                        break;
                    }
                }
            })
        })
        .collect();
    let mut failed = None;
    for h in handles {
        if let Err(e) = h.join() {
            failed = Some(e);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let rep = repairer.join();
    if let Some(e) = failed {
        std::panic::resume_unwind(e);
    }
    if let Err(e) = rep {
        std::panic::resume_unwind(e);
    }
    assert_eq!(status_of(&d, "t.npy"), "ok");
    let ids = rows
        .read(&d.join("t.npy"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let counts = count_blocks(&ids, 150, &lens, name);
    assert_eq!(counts, vec![rounds; writers], "{name}: appends lost");
    println!(
        "FIGURES {name}: {writers} writers x {rounds} appends raced by {} repairs \
         ({} refusals before the first repair), {} rows, none lost or torn",
        repairs.load(Ordering::Relaxed),
        refusals.load(Ordering::Relaxed),
        ids.len()
    );
}

/// `npy concat` in a loop while other processes append to its inputs: every
/// output it writes is whole and consistent — each input appears as the
/// rows it held at some moment (its first 1,000 rows plus whole appended
/// blocks of 200, never part of one), in input order — and a refusal
/// (exit 1) leaves the previous output whole.
#[test]
fn concat_races_appends_to_inputs() {
    let name = "concat_races_appends_to_inputs";
    let rows = Rows { k: 16 };
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let chunks = 4u64;
    let rounds = trials(15) as u64;
    let (first, per) = (1_000u64, 200u64);
    for c in 0..chunks {
        let s = c * 1_000_000;
        fs::write(d.join(format!("c{c}.npy")), rows.file(s..s + first)).unwrap();
        for r in 0..rounds {
            let a = s + first + r * per;
            fs::write(d.join(format!("s{c}_{r}.npy")), rows.file(a..a + per)).unwrap();
        }
    }
    let check = move |ids: &[u64], ctx: &str| {
        let mut p = 0;
        for c in 0..chunks {
            let s = c * 1_000_000;
            let n = ids[p..]
                .iter()
                .take_while(|&&id| id / 1_000_000 == c)
                .count() as u64;
            assert!(
                n >= first && (n - first).is_multiple_of(per),
                "{ctx}: input {c} contributed {n} rows, not 1000 + whole blocks of {per}"
            );
            assert_ids(&ids[p..p + n as usize], s..s + n, ctx);
            p += n as usize;
        }
        assert_eq!(p, ids.len(), "{ctx}: rows after the last input");
    };
    let stop = Arc::new(AtomicBool::new(false));
    let joiner = {
        let (d, stop) = (d.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut args = vec!["concat", "--force", "-o", "out.npy"];
            let names: Vec<String> = (0..chunks).map(|c| format!("c{c}.npy")).collect();
            args.extend(names.iter().map(|s| s.as_str()));
            let (mut ok, mut refused, mut i) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let ctx = format!("{name}: concat {i}");
                let o = exec(&d, &args);
                if o.assert_sane(&ctx) == 0 {
                    ok += 1;
                } else {
                    if refused == 0 {
                        eprintln!("{name}: first refusal: {}", o.stderr.trim());
                    }
                    refused += 1;
                }
                if d.join("out.npy").exists() {
                    let ids = rows
                        .read(&d.join("out.npy"))
                        .unwrap_or_else(|e| panic!("{ctx}: output not whole: {e}"));
                    check(&ids, &ctx);
                }
                i += 1;
            }
            (ok, refused)
        })
    };
    let appenders: Vec<_> = (0..chunks)
        .map(|c| {
            let d = d.clone();
            std::thread::spawn(move || {
                for r in 0..rounds {
                    let (t, s) = (format!("c{c}.npy"), format!("s{c}_{r}.npy"));
                    exec(&d, &["append", &t, &s]).assert_ok(&format!("{name}: append {c}/{r}"));
                }
            })
        })
        .collect();
    let mut failed = None;
    for h in appenders {
        if let Err(e) = h.join() {
            failed = Some(e);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let joined = joiner.join();
    if let Some(e) = failed {
        std::panic::resume_unwind(e);
    }
    let (ok, refused) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let mut args = vec!["concat", "--force", "-o", "out.npy"];
    let names: Vec<String> = (0..chunks).map(|c| format!("c{c}.npy")).collect();
    args.extend(names.iter().map(|s| s.as_str()));
    exec(&d, &args).assert_ok(name);
    let ids = rows.read(&d.join("out.npy")).unwrap();
    check(&ids, name);
    assert_eq!(ids.len() as u64, chunks * (first + rounds * per));
    println!(
        "FIGURES {name}: {chunks} inputs x {rounds} appends raced by {} concats \
         ({ok} written, {refused} refused), every output whole",
        ok + refused
    );
}

/// Commands that replace TARGET by a rename race appends to it: `concat -f
/// -o t.npy t.npy extra.npy` (the output is one of its own inputs) and
/// `convert-stacked --in-place t.npy`, each in a loop while 2 writers
/// append. Both replacers hold the lock `npy append` takes from before they
/// read until after the rename, so no append commits into a file about to be
/// replaced: every appended block is in the final file exactly once, and so
/// is the extra block of every concat that succeeded. (Before issue #11's
/// fix, concat's rename threw away the rows appended while it read.)
/// The target starts with a header with no spare byte, so the first append
/// also rewrites and renames.
#[test]
fn replacing_commands_race_appends() {
    let name = "replacing_commands_race_appends";
    let rows = Rows { k: 16 };
    let writers = 2usize;
    let rounds = trials(30) as u64;
    for replacer in ["concat -f", "convert-stacked --in-place"] {
        let dir = tempdir();
        let d = dir.path().to_path_buf();
        // Writer w's block has ids (w+1)*1e6..; concat's extra block is
        // "writer" 3's, so count_blocks counts both.
        let lens: Vec<u64> = vec![300, 310, 40];
        for (w, len) in lens.iter().enumerate() {
            let s = (w as u64 + 1) * 1_000_000;
            fs::write(d.join(format!("w{w}.npy")), rows.file(s..s + len)).unwrap();
        }
        fs::write(d.join("t.npy"), rows.tight_file(0..500)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let joiner = {
            let (d, stop) = (d.clone(), stop.clone());
            std::thread::spawn(move || {
                let args: Vec<&str> = match replacer {
                    "concat -f" => vec!["concat", "-f", "-o", "t.npy", "t.npy", "w2.npy"],
                    _ => vec!["convert-stacked", "--in-place", "t.npy"],
                };
                let (mut ok, mut i) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) || i < 3 {
                    let ctx = format!("{name} ({replacer}): run {i}");
                    exec(&d, &args).assert_ok(&ctx);
                    ok += 1;
                    i += 1;
                }
                ok
            })
        };
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let d = d.clone();
                std::thread::spawn(move || {
                    for r in 0..rounds {
                        exec(&d, &["append", "t.npy", &format!("w{w}.npy")])
                            .assert_ok(&format!("{name} ({replacer}): writer {w} round {r}"));
                    }
                })
            })
            .collect();
        let mut failed = None;
        for h in handles {
            if let Err(e) = h.join() {
                failed = Some(e);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let replaced = joiner.join();
        if let Some(e) = failed {
            std::panic::resume_unwind(e);
        }
        let replaced = replaced.unwrap_or_else(|e| std::panic::resume_unwind(e));
        let ctx = format!("{name} ({replacer})");
        assert_eq!(status_of(&d, "t.npy"), "ok", "{ctx}");
        let ids = rows
            .read(&d.join("t.npy"))
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let counts = count_blocks(&ids, 500, &lens, &ctx);
        let extra = if replacer == "concat -f" { replaced } else { 0 };
        assert_eq!(
            counts,
            vec![rounds, rounds, extra],
            "{ctx}: rows lost (or doubled): blocks found per writer, concat extras last"
        );
        assert!(temps(&d).is_empty(), "{ctx}: temporary files left");
        println!(
            "FIGURES {name} ({replacer}): {writers} writers x {rounds} appends raced by \
             {replaced} replacements, {} rows, none lost, doubled or torn",
            ids.len()
        );
    }
}

/// A numpy reader looping over `np.load(PATH[, mmap_mode='r'])` until a stop
/// file appears, checking every load: dtype `<u8`, `k` columns, row `i`
/// holding `i*k + j + 1`, and (mmap mode) never fewer rows than before. Prints
/// `LOADS LAST_ROWS`; exits non-zero on the first bad view.
const READER: &str = r#"
import os, sys, numpy as np
path, stop, ready, k, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
open(ready, 'w').close()
loads, last = 0, 0
def check():
    global loads, last
    a = np.load(path, mmap_mode='r') if mode == 'mmap' else np.load(path)
    if a.dtype != np.dtype('<u8') or a.ndim != 2 or a.shape[1] != k:
        sys.exit(f"load {loads}: bad array {a.dtype} {a.shape}")
    n = a.shape[0]
    want = np.arange(n, dtype=np.uint64)[:, None] * np.uint64(k) + np.arange(k, dtype=np.uint64) + np.uint64(1)
    bad = np.nonzero(~(np.asarray(a) == want).all(axis=1))[0]
    if len(bad):
        sys.exit(f"load {loads}: row {bad[0]} of {n} is torn")
    if n < last and mode == 'mmap':
        sys.exit(f"load {loads}: {n} rows after {last}")
    last = n
    loads += 1
    del a
while not os.path.exists(stop):
    check()
check()
print(loads, last)
"#;

/// Runs `work` while the numpy reader loops over `dir/t.npy`; returns how
/// many loads it made, failing on any bad view.
fn with_numpy_reader(py: &str, dir: &Path, k: u64, mode: &str, work: impl FnOnce()) -> u64 {
    let stop = dir.join("stop");
    let ready = dir.join("ready");
    let mut reader = Command::new(py)
        .args(["-c", READER])
        .arg(dir.join("t.npy"))
        .arg(&stop)
        .arg(&ready)
        .arg(k.to_string())
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    let t = Instant::now();
    while !ready.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "python reader did not start"
        );
        if let Some(st) = reader.try_wait().unwrap() {
            panic!("python reader exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    fs::write(&stop, b"").unwrap();
    let out = reader.wait_with_output().unwrap();
    if let Err(e) = worked {
        std::panic::resume_unwind(e);
    }
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "numpy reader ({mode}) saw a bad array: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said.split_whitespace().next().unwrap().parse().unwrap()
}

/// numpy's `np.load(mmap_mode='r')` in a loop while appends grow the file in
/// place (a header with room, as numpy and npy write them): every load is a
/// valid array whose rows are all whole, and it never shrinks.
#[test]
fn numpy_mmap_reader_during_appends() {
    let name = "numpy_mmap_reader_during_appends";
    let Some(py) = python() else { return };
    let rows = Rows { k: 16 };
    let dir = tempdir();
    let d = dir.path();
    let n_src = trials(60) as u64;
    let per = 200u64;
    fs::write(d.join("t.npy"), rows.file(0..999)).unwrap();
    for i in 0..n_src {
        let s = 999 + i * per;
        fs::write(d.join(format!("s{i}.npy")), rows.file(s..s + per)).unwrap();
    }
    let loads = with_numpy_reader(py, d, rows.k, "mmap", || {
        for i in 0..n_src {
            let src = format!("s{i}.npy");
            exec(d, &["append", "t.npy", &src]).assert_ok(&format!("{name}: append {i}"));
        }
    });
    assert_ids(
        &rows.read(&d.join("t.npy")).unwrap(),
        0..999 + n_src * per,
        name,
    );
    println!("FIGURES {name}: {n_src} appends, {loads} numpy mmap loads, all valid");
}

/// A numpy reader (`np.load`, which reads header and data through one open
/// file) in a loop while appends must rewrite the header (a fresh file
/// renamed over the path each time): every load is the old array or the
/// new one, whole. `mmap_mode='r'` is not used here: numpy opens the path
/// three times by name (np.load, open_memmap, np.memmap), so a rename
/// between its header read and its mapping gives it the new file at the
/// old data offset — numpy's race, which no writer can prevent
/// (docs/RELIABILITY.md).
#[test]
fn numpy_reader_during_header_rewrites() {
    let name = "numpy_reader_during_header_rewrites";
    let Some(py) = python() else { return };
    let rows = Rows { k: 16 };
    let dir = tempdir();
    let d = dir.path();
    let rounds = trials(30);
    fs::write(d.join("s.npy"), rows.file(999..1_199)).unwrap();
    let tight = rows.tight_file(0..999);
    fs::write(d.join("t.npy"), &tight).unwrap();
    let loads = with_numpy_reader(py, d, rows.k, "plain", || {
        for r in 0..rounds {
            // A tight target again, renamed into place whole.
            fs::write(d.join("t.next"), &tight).unwrap();
            fs::rename(d.join("t.next"), d.join("t.npy")).unwrap();
            exec(d, &["append", "t.npy", "s.npy"]).assert_ok(&format!("{name}: round {r}"));
            assert!(temps(d).is_empty(), "{name}: temporary files left");
        }
    });
    assert_ids(&rows.read(&d.join("t.npy")).unwrap(), 0..1_199, name);
    println!("FIGURES {name}: {rounds} header rewrites, {loads} numpy loads, all valid");
}

// ---------------------------------------------------------------------------
// Whole-file fuzzing

/// Valid files to start from, and for each a source that can be appended
/// to it (same dtype and non-growth dims).
fn fuzz_bases() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let rows = Rows { k: 4 };
    let f4 = |n: u64, fortran_order: bool, shape: Vec<u64>| {
        let l = Layout::new(pylit::parse("'<f4'").unwrap(), fortran_order, shape).unwrap();
        let mut b = l.to_npy_header();
        b.extend((0..n).flat_map(|i| (i as f32).to_le_bytes()));
        b
    };
    let rec = |n: u64| {
        let l = Layout::new(
            pylit::parse("[('a', '<i4'), ('b', '|S3')]").unwrap(),
            false,
            vec![n],
        )
        .unwrap();
        let mut b = l.to_npy_header();
        b.extend((0..n).flat_map(|i| {
            let mut r = (i as i32).to_le_bytes().to_vec();
            r.extend(b"xyz");
            r
        }));
        b
    };
    let v2 = |ids: Range<u64>| {
        let l = rows.layout(ids.end - ids.start);
        let text = l.dict_text().len() + 1;
        let len = (VERSIONS[1].prefix_len() + text).div_ceil(64) * 64;
        let mut b = l.to_header_of_len(VERSIONS[1], len as u64).unwrap();
        b.extend(rows.data(ids));
        b
    };
    let mut stacked = rows.file(0..3);
    stacked.extend(rows.file(3..8));
    stacked.extend(rows.file(8..9));
    vec![
        ("c_u8", rows.file(0..20), rows.file(20..25)),
        ("tight_u8", rows.tight_file(0..9), rows.file(9..12)),
        ("v2_u8", v2(0..6), rows.file(6..8)),
        (
            "fortran_f4",
            f4(3 * 7, true, vec![3, 7]),
            f4(3 * 2, true, vec![3, 2]),
        ),
        ("record", rec(10), rec(3)),
        ("zero_d", f4(1, false, vec![]), f4(1, false, vec![])),
        ("stacked", stacked, rows.file(20..22)),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the file to this fraction (in 1/65536) of its length.
    Truncate(u16),
    /// Flip bit `bit` of the byte at this position (header-biased when the
    /// flag is set).
    Flip(u32, u8, bool),
    /// Replace the shape tuple with these dims; when the flag is set, fix the
    /// header-length field to the new text length.
    Shape(Vec<String>, bool),
    /// Overwrite the header-length field.
    HeaderLen(u32),
    /// Add bytes at the end.
    Junk(Vec<u8>),
    /// Cut the file inside its data (this fraction of it, in 1/65536).
    CutData(u16),
    /// Set this byte to a value.
    Poke(u32, u8),
}

fn dim_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..30).prop_map(|d| d.to_string()),
        any::<u64>().prop_map(|d| d.to_string()),
        Just("18446744073709551616".to_string()),
        Just("99999999999999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("3L".to_string()),
        Just("1.5".to_string()),
        Just("'a'".to_string()),
        Just("True".to_string()),
        Just("(1,)".to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<u16>().prop_map(Mutation::Truncate),
        (any::<u32>(), 0u8..8, any::<bool>()).prop_map(|(p, b, h)| Mutation::Flip(p, b, h)),
        (prop::collection::vec(dim_text(), 0..4), any::<bool>())
            .prop_map(|(d, f)| Mutation::Shape(d, f)),
        prop_oneof![any::<u32>(), 0u32..300].prop_map(Mutation::HeaderLen),
        prop::collection::vec(any::<u8>(), 1..100).prop_map(Mutation::Junk),
        any::<u16>().prop_map(Mutation::CutData),
        (any::<u32>(), any::<u8>()).prop_map(|(p, v)| Mutation::Poke(p, v)),
    ]
}

/// The data offset of a file's first header, as far as it can be read.
fn header_len_of(b: &[u8]) -> usize {
    if b.len() >= 10 && b.starts_with(b"\x93NUMPY") {
        if b[6] == 1 {
            10 + u16::from_le_bytes([b[8], b[9]]) as usize
        } else if b.len() >= 12 {
            12 + u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize
        } else {
            b.len()
        }
    } else {
        b.len()
    }
    .min(b.len())
}

fn mutate(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Truncate(f) => {
            let n = b.len() * *f as usize / 65536;
            b.truncate(n);
        }
        Mutation::Flip(p, bit, head) => {
            let span = if *head {
                header_len_of(&b).max(1)
            } else {
                b.len()
            };
            if !b.is_empty() {
                let i = *p as usize % span.min(b.len());
                b[i] ^= 1 << bit;
            }
        }
        Mutation::Poke(p, v) => {
            if !b.is_empty() {
                let i = *p as usize % header_len_of(&b).clamp(1, b.len());
                b[i] = *v;
            }
        }
        Mutation::Shape(dims, fix) => {
            let hl = header_len_of(&b);
            let key = b"'shape': (";
            let at = b[..hl].windows(key.len()).position(|w| w == key);
            if let (Some(s), true) = (at, b.len() >= 10) {
                let open = s + key.len() - 1;
                if let Some(close) = b[open..hl].iter().position(|&c| c == b')') {
                    let close = open + close + 1;
                    let new = match dims.len() {
                        1 => format!("({},)", dims[0]),
                        _ => format!("({})", dims.join(", ")),
                    };
                    let mut nb = b[..open].to_vec();
                    nb.extend(new.as_bytes());
                    nb.extend(&b[close..]);
                    let delta = new.len() as i64 - (close - open) as i64;
                    if *fix && b[6] == 1 {
                        let old = u16::from_le_bytes([b[8], b[9]]) as i64;
                        let v = (old + delta).clamp(0, u16::MAX as i64) as u16;
                        nb[8..10].copy_from_slice(&v.to_le_bytes());
                    } else if *fix && b.len() >= 12 {
                        let old = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as i64;
                        let v = (old + delta).clamp(0, u32::MAX as i64) as u32;
                        nb[8..12].copy_from_slice(&v.to_le_bytes());
                    }
                    b = nb;
                }
            }
        }
        Mutation::HeaderLen(v) => {
            if b.len() >= 12 && b[6] != 1 {
                b[8..12].copy_from_slice(&v.to_le_bytes());
            } else if b.len() >= 10 {
                b[8..10].copy_from_slice(&(*v as u16).to_le_bytes());
            }
        }
        Mutation::Junk(j) => b.extend(j),
        Mutation::CutData(f) => {
            let hl = header_len_of(&b);
            let n = hl + (b.len() - hl) * *f as usize / 65536;
            b.truncate(n);
        }
    }
    b
}

/// Command runs over damaged files that exited 0 / not 0 (figures).
static FUZZ_EXIT0: AtomicU64 = AtomicU64::new(0);
static FUZZ_EXIT1: AtomicU64 = AtomicU64::new(0);
static FUZZ_CASES: AtomicU64 = AtomicU64::new(0);
/// `append g.npy -` runs that failed after appending some arrays.
static FUZZ_STREAM_PARTIAL: AtomicU64 = AtomicU64::new(0);

/// Runs every command over a damaged file `m` (with `good`, a valid base,
/// and `src`, a source that fits the base): exit 0 or 1 only, never a
/// panic, a signal or a hang, at most 256 MiB of address space; on exit 1
/// every input is byte for byte unchanged and no output or temporary file
/// appears; on exit 0 a written file loads (`inspect --check`).
fn run_all_commands(m: &[u8], good: &[u8], src: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempdir();
    let d = dir.path();
    let lim = Limits {
        address_space: Some(256 << 20),
        ..Limits::default()
    };
    // `append g.npy -` reads the damaged file as a stream on stdin.
    let run = |args: &[&str]| {
        let stdin = args.contains(&"-").then(|| d.join("m.npy"));
        exec_fed(d, args, lim, Duration::from_secs(30), stdin.as_deref())
    };
    let reset = |files: &[(&str, &[u8])]| {
        for e in fs::read_dir(d).unwrap() {
            fs::remove_file(e.unwrap().path()).unwrap();
        }
        for (n, b) in files {
            fs::write(d.join(n), b).unwrap();
        }
    };
    let loads = |f: &str| -> Result<(), TestCaseError> {
        let o = run(&["inspect", "--check", f]);
        prop_assert_eq!(
            o.code(),
            Some(0),
            "{} does not load afterwards: {}",
            f,
            o.show()
        );
        Ok(())
    };
    // (args, inputs to compare, output that must not appear on failure, file to load on success)
    type Case<'a> = (
        Vec<&'a str>,
        Vec<(&'a str, &'a [u8])>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            vec!["inspect", "--json", "m.npy"],
            vec![("m.npy", m)],
            None,
            None,
        ),
        (
            vec!["inspect", "--check", "m.npy"],
            vec![("m.npy", m)],
            None,
            None,
        ),
        (
            vec!["repair", "--check", "m.npy"],
            vec![("m.npy", m)],
            None,
            None,
        ),
        (
            vec!["repair", "m.npy"],
            vec![("m.npy", m)],
            None,
            Some("m.npy"),
        ),
        (
            vec!["append", "m.npy", "src.npy"],
            vec![("m.npy", m), ("src.npy", src)],
            None,
            Some("m.npy"),
        ),
        (
            vec!["append", "g.npy", "-"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("g.npy"),
        ),
        (
            vec!["append", "g.npy", "m.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("g.npy"),
        ),
        (
            vec!["append", "new.npy", "m.npy"],
            vec![("m.npy", m)],
            Some("new.npy"),
            Some("new.npy"),
        ),
        (
            vec!["concat", "-o", "out.npy", "m.npy"],
            vec![("m.npy", m)],
            Some("out.npy"),
            Some("out.npy"),
        ),
        (
            vec!["concat", "-o", "out.npy", "g.npy", "m.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            Some("out.npy"),
            Some("out.npy"),
        ),
        (
            vec!["convert-stacked", "m.npy", "-o", "out.npy"],
            vec![("m.npy", m)],
            Some("out.npy"),
            Some("out.npy"),
        ),
        (
            vec!["convert-stacked", "--in-place", "m.npy"],
            vec![("m.npy", m)],
            None,
            Some("m.npy"),
        ),
        // Issue #11: replacing a file that is also an input (under the
        // append lock), rebuilding a header with --like, and stdout.
        (
            vec!["concat", "-f", "-o", "g.npy", "g.npy", "m.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("g.npy"),
        ),
        (
            vec!["concat", "-f", "-o", "m.npy", "m.npy", "g.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("m.npy"),
        ),
        (
            vec!["convert-stacked", "-f", "m.npy", "-o", "m.npy"],
            vec![("m.npy", m)],
            None,
            Some("m.npy"),
        ),
        (
            vec!["convert-stacked", "-f", "m.npy", "-o", "g.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("g.npy"),
        ),
        (
            vec!["repair", "--like", "g.npy", "m.npy"],
            vec![("g.npy", good), ("m.npy", m)],
            None,
            Some("m.npy"),
        ),
        (
            vec!["convert-stacked", "m.npy", "-o", "-"],
            vec![("m.npy", m)],
            Some("-"),
            None,
        ),
    ];
    for (args, inputs, output, written) in &cases {
        reset(inputs);
        let o = run(args);
        let code = o.code();
        match code {
            Some(0) => FUZZ_EXIT0.fetch_add(1, Ordering::Relaxed),
            _ => FUZZ_EXIT1.fetch_add(1, Ordering::Relaxed),
        };
        prop_assert!(
            matches!(code, Some(0) | Some(1)) && !o.stderr.contains("panicked"),
            "{}",
            o.show()
        );
        if code == Some(1) {
            prop_assert!(o.explained(), "error not explained: {}", o.show());
            let streamed = args.contains(&"-");
            for (n, b) in inputs {
                // A stream is committed array by array: a bad array after
                // good ones leaves those appended (and says so), the target
                // whole and loadable.
                if streamed && *n == "g.npy" && fs::read(d.join(n)).unwrap() != *b {
                    prop_assert!(
                        o.stderr.contains("was not appended"),
                        "stream partly appended without saying so: {}",
                        o.show()
                    );
                    loads(n)?;
                    FUZZ_STREAM_PARTIAL.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                prop_assert!(
                    fs::read(d.join(n)).unwrap() == *b,
                    "refused, yet {} changed: {}",
                    n,
                    o.show()
                );
            }
            if let Some(out) = output {
                prop_assert!(
                    !d.join(out).exists(),
                    "refused, yet {} was written: {}",
                    out,
                    o.show()
                );
            }
        } else if let Some(w) = written {
            loads(w)?;
        }
        prop_assert!(temps(d).is_empty(), "temporary files left by {}", o.show());
    }
    // A stream onto a missing TARGET: refused before its first whole array,
    // TARGET does not exist afterwards (issue #11); refused later, it holds
    // the arrays before, and the message says so.
    reset(&[("m.npy", m)]);
    let o = run(&["append", "new.npy", "-"]);
    let code = o.code();
    prop_assert!(
        matches!(code, Some(0) | Some(1)) && !o.stderr.contains("panicked"),
        "{}",
        o.show()
    );
    if code == Some(1) && d.join("new.npy").exists() {
        prop_assert!(
            o.stderr.contains("appended)"),
            "refused, yet new.npy was left: {}",
            o.show()
        );
        loads("new.npy")?;
    } else if code == Some(0) {
        loads("new.npy")?;
    }
    prop_assert!(temps(d).is_empty(), "temporary files left by {}", o.show());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: trials(150),
        ..ProptestConfig::default()
    })]

    /// Damaged files through every command: never a panic, never a change
    /// on refusal, a loadable result on success.
    #[test]
    fn damaged_files_through_every_command(
        base in 0usize..7,
        muts in prop::collection::vec(mutation(), 0..4),
    ) {
        let bases = fuzz_bases();
        let (_, good, src) = &bases[base];
        let m = muts.iter().fold(good.clone(), mutate);
        run_all_commands(&m, good, src)?;
        if FUZZ_CASES.fetch_add(1, Ordering::Relaxed) + 1 == trials(150) as u64 {
            println!(
                "FIGURES damaged_files_through_every_command: {} files, {} command runs \
                 exited 0, {} exited 1 ({} of them streams partly appended), none \
                 panicked or changed an input on refusal",
                trials(150),
                FUZZ_EXIT0.load(Ordering::Relaxed),
                FUZZ_EXIT1.load(Ordering::Relaxed),
                FUZZ_STREAM_PARTIAL.load(Ordering::Relaxed)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: trials(3000),
        ..ProptestConfig::default()
    })]

    /// In-process: damaged headers through the readers never panic, and the
    /// stream and file readers agree.
    #[test]
    fn damaged_headers_never_panic(
        base in 0usize..7,
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let bases = fuzz_bases();
        let m = muts.iter().fold(bases[base].1.clone(), mutate);
        let streamed = npy::read_header(&mut &m[..]);
        let f = tempfile::tempfile().unwrap();
        use std::os::unix::fs::FileExt;
        f.write_all_at(&m, 0).unwrap();
        if !m.is_empty() {
            let at = npy::read_header_at(&f, 0, m.len() as u64);
            match (&streamed, &at) {
                (Ok(Some(a)), Ok(b)) => prop_assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                (s, a) => prop_assert!(false, "stream reader: {:?}, file reader: {:?}", s, a),
            }
            let _ = npy::scan::scan_file(&f);
            let _ = npy::scan::summarize_stack(&f, m.len() as u64);
        }
    }
}

// ---------------------------------------------------------------------------
// cargo fuzz regressions (fuzz/run.sh): each input it found, checked through
// the readers in process and through every command.

/// Inputs cargo fuzz found to crash or disagree; see docs/RELIABILITY.md.
const FUZZ_FOUND: &[(&str, &[u8])] = &[];

#[test]
fn fuzz_regressions() {
    let bases = fuzz_bases();
    let (_, good, src) = &bases[0];
    for (what, input) in FUZZ_FOUND {
        let _ = npy::read_header(&mut &input[..]);
        if let Ok(s) = std::str::from_utf8(input) {
            let _ = pylit::parse(s);
        }
        run_all_commands(input, good, src).unwrap_or_else(|e| panic!("fuzz input {what}: {e}"));
    }
}
