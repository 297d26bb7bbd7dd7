//! Test harness: run the `npy` binary in a temp dir and check status,
//! stdout, stderr and the files afterwards; call numpy through
//! `tests/numpy/oracle.py` and `tests/numpy/cases.py`.
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

pub fn tempdir() -> TempDir {
    tempfile::tempdir().expect("tempdir")
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

/// Runs `tests/numpy/oracle.py ARGS` and parses its JSON output.
#[track_caller]
pub fn oracle(py: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/oracle.py"))
        .args(args)
        .output()
        .expect("run oracle.py");
    assert!(
        out.status.success(),
        "oracle.py {:?} failed:\n{}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
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
    let out = Command::new(py)
        .arg(repo().join("tests/numpy/cases.py"))
        .arg(dir)
        .output()
        .expect("run cases.py");
    assert!(
        out.status.success(),
        "cases.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = std::fs::read(dir.join("manifest.json")).expect("manifest");
    serde_json::from_slice::<Vec<serde_json::Value>>(&m).expect("manifest JSON")
}

/// Writes a `.npy` file from a header made by our own writer and raw data.
pub fn write_npy(path: &Path, descr: &str, fortran: bool, shape: &[u64], data: &[u8]) {
    let l = npy_tools::npy::Layout::new(
        npy_tools::npy::pylit::parse(descr).unwrap(),
        fortran,
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
