//! The command line as a whole: exit codes, help, generated completions and
//! man page kept in step with the clap definition.

use crate::common::*;

const SHELLS: [(&str, &str); 5] = [
    ("bash", "npy.bash"),
    ("zsh", "_npy"),
    ("fish", "npy.fish"),
    ("elvish", "npy.elv"),
    ("powershell", "_npy.ps1"),
];

/// `completions/` and `docs/man/` must match what the binary generates.
/// Regenerate with `NPY_REGENERATE=1 cargo test generated_files`.
#[test]
fn generated_files_are_fresh() {
    let regen = std::env::var("NPY_REGENERATE").is_ok();
    let dir = tempdir();
    let mut stale = vec![];
    let mut check = |rel: String, now: Vec<u8>| {
        let path = repo().join(&rel);
        if regen {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &now).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&now[..]) {
            stale.push(rel);
        }
    };
    for (shell, file) in SHELLS {
        let r = run(dir.path(), &["completions", shell]);
        r.ok();
        check(format!("completions/{file}"), r.out.stdout.clone());
    }
    for (name, page) in npy_tools::cmd::completions::man_pages().unwrap() {
        check(format!("docs/man/{name}"), page);
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `NPY_REGENERATE=1 cargo test generated_files` and commit"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir();
    run(dir.path(), &[]).expect_code(2);
    run(dir.path(), &["frobnicate"]).expect_code(2);
    run(dir.path(), &["inspect"]).expect_code(2);
    run(dir.path(), &["concat", "a.npy"]).expect_code(2);
    run(dir.path(), &["convert-stacked", "a.npy"]).expect_code(2);
}

#[test]
fn every_command_has_examples_in_help() {
    let dir = tempdir();
    for c in [
        "inspect",
        "append",
        "concat",
        "repair",
        "convert-stacked",
        "completions",
    ] {
        run(dir.path(), &[c, "--help"]).ok().stdout_has("Examples:");
    }
    run(dir.path(), &["--version"])
        .ok()
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn readme_commands_exist() {
    // The set-up commands README.md promises must name real files.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- inspect examples/*.npy"));
    assert!(readme.contains(".ci/run"));
    assert!(repo().join("examples/clean.npy").exists());
}
