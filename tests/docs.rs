//! The console examples in README.md and docs/*.md run as shown.
//!
//! In a ```` ```console ```` block, `$ ` starts a command, `> ` continues it
//! (a line of its own: multi-line Python), and the lines up to the next
//! command are exactly what it prints, stdout and stderr interleaved as a
//! terminal shows them. The blocks of one file run in order, each command in
//! its own `bash -c` (with `$?` set to the previous command's exit status,
//! so `echo $?` works), in a scratch copy of the repository's README.md,
//! docs/ and examples/ (one per file, so files cannot collide), from its
//! root, with this build's `npy` and a `python3` that has numpy first on
//! PATH. Other fences (```` ```sh ````, plain) are not run.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// One `$` command of a console block and what the doc says it prints.
#[derive(Debug)]
struct Example {
    /// 1-based line of the `$ ` line in the Markdown file.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The commands of every ```` ```console ```` block of `text`, in order.
fn parse(text: &str) -> Result<Vec<Example>, String> {
    let mut out: Vec<Example> = vec![];
    let mut in_console = false;
    let mut in_other = false;
    let mut continuing = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            if in_console || in_other {
                if trimmed.trim() != "```" {
                    return Err(format!("line {n}: a fence inside a code block"));
                }
                in_console = false;
                in_other = false;
            } else if trimmed.trim() == "```console" {
                in_console = true;
            } else {
                in_other = true;
            }
            continuing = false;
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(cmd) = raw.strip_prefix("$ ") {
            out.push(Example {
                line: n,
                command: cmd.to_string(),
                expected: vec![],
            });
            continuing = true;
        } else if continuing && (raw.starts_with("> ") || raw == ">") {
            let last = out.last_mut().unwrap();
            last.command.push('\n');
            last.command.push_str(raw.get(2..).unwrap_or(""));
        } else {
            let Some(last) = out.last_mut() else {
                return Err(format!("line {n}: output before any `$ ` command"));
            };
            last.expected.push(raw.to_string());
            continuing = false;
        }
    }
    if in_console || in_other {
        return Err("a code block is not closed".into());
    }
    Ok(out)
}

/// Copies the directory tree `from` to `to` (regular files and folders).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if t.is_dir() {
            copy_tree(&e.path(), &dst);
        } else if t.is_file() {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A scratch copy of what the docs may use: README.md, docs/, examples/.
fn scratch_checkout() -> TempDir {
    let d = tempdir();
    std::fs::copy(repo().join("README.md"), d.path().join("README.md")).unwrap();
    copy_tree(&repo().join("docs"), &d.path().join("docs"));
    copy_tree(&repo().join("examples"), &d.path().join("examples"));
    d
}

/// A folder with `npy` (this build) and `python3` (the one with numpy).
fn tool_dir(py: &str) -> TempDir {
    // Beside the build, not in tempdir(): /dev/shm is often mounted noexec.
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    std::os::unix::fs::symlink(bin(), d.path().join("npy")).unwrap();
    let py = if py.contains('/') {
        PathBuf::from(py)
    } else {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {py}")])
            .output()
            .unwrap();
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    };
    // A script, not a symlink: a venv's python finds its packages by the
    // path it is started as.
    write_script(
        d.path(),
        "python3",
        &format!("#!/bin/sh\nexec '{}' \"$@\"\n", py.display()),
    );
    d
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` with bash in `dir`, stdout and stderr into one pipe.
/// Returns (exit status, output).
fn sh(dir: &Path, path_env: &str, prev_status: i32, command: &str) -> (i32, String) {
    let script = format!("exec 2>&1\n(exit {prev_status})\n{command}\n");
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir)
        .env("PATH", path_env)
        .env("LC_ALL", "C")
        .env("TERM", "dumb")
        .env("COLUMNS", "80")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run bash");
    let mut pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = vec![];
        let _ = pipe.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = reader.join().unwrap();
    (status, String::from_utf8_lossy(&out).into_owned())
}

/// Runs every console example of the Markdown `text` (named `name`) in
/// `dir`, in order; returns one report per example whose output differs.
fn check(name: &str, text: &str, dir: &Path, tools: &Path) -> Vec<String> {
    let examples = match parse(text) {
        Ok(e) => e,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let path_env = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bad = vec![];
    let mut status = 0;
    for ex in &examples {
        let (st, got) = sh(dir, &path_env, status, &ex.command);
        status = st;
        let got = got.strip_suffix('\n').unwrap_or(&got);
        let want = ex.expected.join("\n");
        if got != want {
            bad.push(format!(
                "{name}:{}: $ {}\n--- expected\n{want}\n--- actual (exit {st})\n{got}\n",
                ex.line,
                ex.command.replace('\n', "\n> ")
            ));
        }
    }
    bad
}

/// The files [`console_examples_run_as_shown`] runs: [`doc_files`], or only
/// those named in `NPY_DOCS` (comma-separated, e.g. `NPY_DOCS=README.md`),
/// to work on one document.
fn files_to_run() -> Vec<String> {
    match std::env::var("NPY_DOCS") {
        Ok(v) if !v.is_empty() => v.split(',').map(str::to_string).collect(),
        _ => doc_files(),
    }
}

/// README.md and docs/*.md, as paths relative to the repository root.
fn doc_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    v.sort();
    v.insert(0, "README.md".into());
    v
}

#[test]
fn console_examples_run_as_shown() {
    let Some(py) = python() else { return };
    let tools = tool_dir(py);
    let files = files_to_run();
    let reports: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|f| {
                let tools = tools.path();
                s.spawn(move || {
                    let text = std::fs::read_to_string(repo().join(f)).unwrap();
                    let scratch = scratch_checkout();
                    check(f, &text, scratch.path(), tools)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let bad: Vec<String> = reports.into_iter().flatten().collect();
    assert!(
        bad.is_empty(),
        "{} console example(s) do not print what the docs show:\n\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every doc's console blocks parse, and README.md and the per-command
/// guides (the docs/ files named in lower case: append.md, ...) show at least
/// three commands each, so a guide cannot lose its runnable examples.
#[test]
fn readme_and_every_guide_have_console_examples() {
    for f in doc_files() {
        let text = std::fs::read_to_string(repo().join(&f)).unwrap();
        let ex = parse(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        let is_guide =
            !f.starts_with("docs/") || f.chars().nth(5).is_some_and(|c| c.is_ascii_lowercase());
        if is_guide {
            assert!(ex.len() >= 3, "{f}: only {} console examples", ex.len());
        }
    }
}

#[test]
fn the_harness_catches_a_wrong_example() {
    let Some(py) = python() else { return };
    let tools = tool_dir(py);
    let dir = tempdir();
    let doc = "\
# t

```sh
$ not run
```

```console
$ echo one; echo two >&2
one
two
$ false
$ echo $?
1
$ python3 -c \"import numpy as np
> print(np.arange(3))\"
[0 1 2]
$ npy inspect nothing.npy
npy: nothing.npy: wrong
$ echo 'multi
> line'
multi
line
```
";
    let ex = parse(doc).unwrap();
    assert_eq!(ex.len(), 6, "{ex:?}");
    assert_eq!(ex[0].line, 8);
    assert_eq!(
        ex[3].command,
        "python3 -c \"import numpy as np\nprint(np.arange(3))\""
    );
    let bad = check("t.md", doc, dir.path(), tools.path());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].starts_with("t.md:17: $ npy inspect nothing.npy\n"),
        "{}",
        bad[0]
    );
    assert!(
        bad[0].contains("--- expected\nnpy: nothing.npy: wrong\n"),
        "{}",
        bad[0]
    );
    assert!(
        bad[0].contains("--- actual (exit 1)\nnpy: nothing.npy: "),
        "{}",
        bad[0]
    );

    assert!(parse("```console\noutput first\n```\n").is_err());
    assert!(parse("```console\n$ echo\n").is_err());
}
