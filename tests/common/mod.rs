//! Test harness: run the `npy` binary in a temp dir and check status,
//! stdout, stderr and the files afterwards; call numpy through
//! `tests/numpy/oracle.py` and `tests/numpy/cases.py`, through long-lived
//! `oracle.py serve` processes (numpy is imported once per process, not once
//! per call).
//!
//! numpy tests need a Python with numpy: `NPY_PYTHON` names it (`.ci/run`
//! sets it to its venv), else `python3` is tried. When neither has numpy the
//! numpy tests are skipped with a message, except under `CI=true`, where
//! they fail: CI must never pass by skipping the oracle.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use tempfile::TempDir;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_npy"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command under test, run in a working directory.
pub fn npy(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run npy")
}

/// Result of a run, with assertion helpers that print everything on failure.
pub struct Run {
    pub out: Output,
    pub args: String,
}

impl Run {
    pub fn new(dir: &Path, args: &[&str]) -> Run {
        Run {
            out: npy(dir, args),
            args: args.join(" "),
        }
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "npy {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }
    #[track_caller]
    pub fn fails(&self) -> &Self {
        self.expect_code(1);
        let err = self.stderr();
        assert!(err.starts_with("npy: "), "error not prefixed: {err}");
        assert!(!err.contains("panicked"), "panic: {err}");
        self
    }
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr().contains(needle),
            "stderr of `npy {}` lacks {needle:?}:\n{}",
            self.args,
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout().contains(needle),
            "stdout of `npy {}` lacks {needle:?}:\n{}",
            self.args,
            self.stdout()
        );
        self
    }
    /// stdout parsed as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
            .collect()
    }
}

pub fn run(dir: &Path, args: &[&str]) -> Run {
    Run::new(dir, args)
}

/// A scratch directory, removed when dropped. It is made under
/// [`scratch_root`].
pub fn tempdir() -> TempDir {
    match scratch_root() {
        Some(root) => tempfile::tempdir_in(root),
        None => tempfile::tempdir(),
    }
    .expect("tempdir")
}

/// A directory for data the tests of one run share, made once and kept in
/// a static (which Rust never drops, so a `TempDir` there would never be
/// removed): `npy-tests-TAG-PID` under the scratch root. Directories that
/// earlier runs left behind (their process is gone) are removed when a new
/// one is made.
pub struct RunDir(PathBuf);

impl RunDir {
    pub fn new(tag: &str) -> RunDir {
        let root = scratch_root()
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let prefix = format!("npy-tests-{tag}-");
        for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix(&prefix).and_then(|p| p.parse().ok()) else {
                continue;
            };
            // SAFETY: signal 0 only asks whether the process exists.
            let gone = unsafe { libc::kill(pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if gone {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = root.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the run's directory");
        RunDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Where [`tempdir`] makes directories: `NPY_TEST_TMPDIR` when set; else
/// `/dev/shm` when it is a writable tmpfs, not noexec, with at least 4 GiB
/// free; else `None`, the system's temporary directory.
///
/// Every command `npy` runs syncs what it writes (twice for an append), and
/// the suite runs thousands of them: on a disk each sync waits for the
/// device, on tmpfs it returns at once. What is tested does not change: the
/// same calls are made in the same order, and a SIGKILL leaves the page cache
/// as it leaves tmpfs (power loss is not something a test can cause).
pub fn scratch_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(d) = std::env::var_os("NPY_TEST_TMPDIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d));
        }
        // Only Linux's /dev/shm is known to be a tmpfs.
        #[cfg(not(target_os = "linux"))]
        return None;
        #[cfg(target_os = "linux")]
        {
            let shm = Path::new("/dev/shm");
            let c = std::ffi::CString::new("/dev/shm").unwrap();
            // SAFETY: statfs is plain old data; all zeroes is a valid value.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: a NUL-terminated path and a struct we own to write into.
            if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
                return None;
            }
            // SAFETY: as above; statvfs for the mount flags.
            let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
            // SAFETY: a NUL-terminated path and a struct we own to write into.
            if unsafe { libc::statvfs(c.as_ptr(), &mut vfs) } != 0 {
                return None;
            }
            const TMPFS_MAGIC: i64 = 0x0102_1994;
            let free = st.f_bavail as u64 * st.f_bsize as u64;
            // Tests may run scripts they write: not on a noexec mount.
            let ok = st.f_type as i64 == TMPFS_MAGIC
                && vfs.f_flag & libc::ST_NOEXEC == 0
                && free >= 4 << 30
                && tempfile::tempdir_in(shm).is_ok();
            ok.then(|| shm.to_path_buf())
        }
    })
    .as_deref()
}

/// The Python interpreter with numpy, or `None` (and a note) when there is
/// none outside CI. Under `CI=true` a missing numpy is a failure.
pub fn python() -> Option<&'static str> {
    static PY: OnceLock<Option<String>> = OnceLock::new();
    let found = PY.get_or_init(|| {
        let mut candidates = vec![];
        if let Ok(p) = std::env::var("NPY_PYTHON") {
            candidates.push(p);
        }
        candidates.push("python3".to_string());
        for c in candidates {
            let ok = Command::new(&c)
                .args(["-c", "import numpy"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                return Some(c);
            }
        }
        None
    });
    match found {
        Some(p) => Some(p.as_str()),
        None => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("numpy is required under CI=true: set NPY_PYTHON to a Python with numpy");
            }
            eprintln!("note: numpy not found (set NPY_PYTHON); skipping numpy oracle test");
            None
        }
    }
}

/// What one oracle call exited with and printed.
pub struct OracleOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One `oracle.py serve` process: numpy imported once, then one JSON line
/// in and one out per call.
struct OracleServer {
    py: String,
    // Kept so the process is not reaped early; it ends when stdin closes.
    _child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl OracleServer {
    fn start(py: &str) -> OracleServer {
        use std::process::Stdio;
        let mut child = Command::new(py)
            .arg(repo().join("tests/numpy/oracle.py"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start oracle.py serve");
        OracleServer {
            py: py.to_string(),
            stdin: child.stdin.take().unwrap(),
            stdout: std::io::BufReader::new(child.stdout.take().unwrap()),
            _child: child,
        }
    }

    fn call(&mut self, args: &[&str]) -> std::io::Result<OracleOutput> {
        use std::io::{BufRead as _, Write as _};
        let mut req = serde_json::to_string(args).expect("request JSON");
        req.push('\n');
        self.stdin.write_all(req.as_bytes())?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("oracle.py serve ended"));
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| std::io::Error::other(format!("bad reply {line:?}: {e}")))?;
        Ok(OracleOutput {
            code: v["code"].as_i64().unwrap_or(-1) as i32,
            stdout: v["stdout"].as_str().unwrap_or_default().to_string(),
            stderr: v["stderr"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// Idle oracle servers. A call takes one (or starts one when all are busy,
/// so tests running in parallel never wait for each other) and puts it back
/// after: a test binary starts as many Pythons as it makes oracle calls at
/// once, instead of one per call. They exit when the test binary does.
fn oracle_pool() -> &'static std::sync::Mutex<Vec<OracleServer>> {
    static POOL: OnceLock<std::sync::Mutex<Vec<OracleServer>>> = OnceLock::new();
    POOL.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

/// Runs `tests/numpy/oracle.py ARGS` (through a long-lived server process)
/// and returns its exit code and output, whatever they are.
pub fn oracle_output(py: &str, args: &[&str]) -> OracleOutput {
    let idle = {
        let mut pool = oracle_pool().lock().unwrap_or_else(|e| e.into_inner());
        pool.iter()
            .position(|s| s.py == py)
            .map(|i| pool.swap_remove(i))
    };
    let mut server = idle.unwrap_or_else(|| OracleServer::start(py));
    let out = server
        .call(args)
        .unwrap_or_else(|e| panic!("oracle.py {args:?}: {e}"));
    oracle_pool()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(server);
    out
}

/// Runs `tests/numpy/oracle.py ARGS` and parses its JSON output.
#[track_caller]
pub fn oracle(py: &str, args: &[&str]) -> serde_json::Value {
    let out = oracle_output(py, args);
    assert!(
        out.code == 0,
        "oracle.py {:?} failed:\n{}",
        args,
        out.stderr
    );
    serde_json::from_str(&out.stdout).expect("oracle JSON")
}

/// The oracle, allowed to refuse: `None` when numpy raised (exit 1).
#[track_caller]
pub fn try_oracle(py: &str, args: &[&str]) -> Option<serde_json::Value> {
    let out = oracle_output(py, args);
    match out.code {
        0 => Some(serde_json::from_str(&out.stdout).expect("oracle JSON")),
        1 => None,
        c => panic!("oracle.py {args:?}: exit {c}:\n{}", out.stderr),
    }
}

/// Does numpy load `file`? Returns its (descr, shape, fortran_order) as JSON.
#[track_caller]
pub fn np_load(py: &str, file: &Path) -> serde_json::Value {
    oracle(py, &["load", file.to_str().unwrap()])
}

/// Asserts numpy loads both files as the same array (dtype, shape, bytes).
#[track_caller]
pub fn assert_np_equal(py: &str, a: &Path, b: &Path) {
    let v = oracle(py, &["equal", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(
        v["equal"],
        true,
        "{} and {} differ as arrays",
        a.display(),
        b.display()
    );
}

/// Generates numpy's test arrays (tests/numpy/cases.py) into `dir` and
/// returns the manifest.
pub fn numpy_cases(py: &str, dir: &Path) -> Vec<serde_json::Value> {
    let out = oracle_output(py, &["cases", dir.to_str().unwrap()]);
    assert!(out.code == 0, "cases.py failed:\n{}", out.stderr);
    let m = std::fs::read(dir.join("manifest.json")).expect("manifest");
    serde_json::from_slice::<Vec<serde_json::Value>>(&m).expect("manifest JSON")
}

/// Writes a `.npy` file from a header made by our own writer and raw data.
pub fn write_npy(path: &Path, descr: &str, fortran_order: bool, shape: &[u64], data: &[u8]) {
    let l = npy_tools::npy::Layout::new(
        npy_tools::npy::pylit::parse(descr).unwrap(),
        fortran_order,
        shape.to_vec(),
    )
    .unwrap();
    let mut b = l.to_npy_header();
    b.extend_from_slice(data);
    std::fs::write(path, b).unwrap();
}

/// Little-endian f8 bytes of 0..n as floats.
pub fn f8_bytes(range: std::ops::Range<u32>) -> Vec<u8> {
    range.flat_map(|i| (i as f64).to_le_bytes()).collect()
}

/// Runs `npy ARGS` in `dir` with `input` on stdin (fed from a thread, so a
/// command that stops reading early cannot deadlock the test).
pub fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Run {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn npy");
    let mut sin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait npy");
    feeder.join().unwrap();
    Run {
        out,
        args: args.join(" "),
    }
}

/// Every regular file in `d` with its bytes, sorted by name: to check that a
/// refused command changed nothing and left no stray file.
pub fn dir_listing(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs `npy ARGS` in `dir` (output discarded) and sends it SIGKILL after
/// `delay_us` microseconds; its exit status (killed, or finished first).
pub fn run_killed_after<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    args: &[S],
    delay_us: u64,
) -> std::process::ExitStatus {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_micros(delay_us));
    let _ = child.kill();
    child.wait().unwrap()
}

/// xorshift64*: a small seeded generator (no dependency), so a randomized
/// test can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    /// A generator from any seed (0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The seed of a randomized test: `NPY_SEED` when set, else the clock.
/// Printed, so a failure (libtest shows the test's output) can be replayed.
pub fn seed_for(test: &str) -> u64 {
    let seed = std::env::var("NPY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                ^ ((std::process::id() as u64) << 32)
        });
    eprintln!("{test}: seed {seed} (replay with NPY_SEED={seed})");
    seed
}

/// Runs `npy ARGS` in `dir` `trials` times, SIGKILLed after a random delay
/// within the time a full run takes; after each, `check(seed)` judges the
/// files, and `reset()` puts them back. Temporary files a kill leaves are
/// counted and removed. (The crash tests proper are in tests/reliability.rs;
/// this is for the few paths they do not take.)
pub fn kill_trials(
    dir: &Path,
    args: &[&str],
    trials: u64,
    seed0: u64,
    reset: &dyn Fn(),
    check: &dyn Fn(u64),
) {
    use std::os::unix::process::ExitStatusExt as _;
    use std::time::Instant;
    reset();
    let t = Instant::now();
    let out = npy(dir, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = t.elapsed().as_micros() as u64 + 1;
    check(seed0);
    let (mut killed, mut mid_write) = (0, 0);
    for k in 0..trials {
        let seed = seed0 + k;
        reset();
        let delay = Rng::new(seed).below(full + full / 4);
        let status = run_killed_after(dir, args, delay);
        if status.signal() == Some(9) {
            killed += 1;
        } else {
            assert!(status.success(), "seed {seed}: npy failed: {status:?}");
        }
        check(seed);
        // A kill while writing leaves the temporary file (never OUTPUT).
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".npy-tmp") {
                mid_write += 1;
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    eprintln!(
        "{args:?}: {trials} trials (seeds {seed0}..{}), {killed} killed, {mid_write} while writing; full run {full} us",
        seed0 + trials
    );
    assert!(killed > 0, "no trial was interrupted (full run {full} us)");
}

/// Writes an executable script `name` with `body` into `dir`.
pub fn write_script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}
