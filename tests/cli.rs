//! The command line as a whole: exit codes, help, generated completions and
//! man page kept in step with the clap definition.

use crate::common::*;

mod man;

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
    for (name, page) in man::man_pages().unwrap() {
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

/// Man pages: SYNOPSIS as typed (`npy append ...` with option values and the
/// global `-q`), SEE ALSO only to pages that exist, examples one per line,
/// and a paragraph after a list not run into its last item.
#[test]
fn man_pages_read_as_typed() {
    let pages = man::man_pages().unwrap();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    for (name, page) in &pages {
        let text = String::from_utf8(page.clone()).unwrap();
        let synopsis = text
            .split(".SH SYNOPSIS\n")
            .nth(1)
            .and_then(|s| s.split("\n.SH ").next())
            .unwrap_or_else(|| panic!("{name}: no SYNOPSIS"));
        let cmd = name.trim_end_matches(".1").replacen('-', " ", 1);
        assert!(
            synopsis.starts_with(&format!("\\fB{}\\fR", cmd.replace('-', "\\-"))),
            "{name}: synopsis {synopsis:?}"
        );
        assert!(
            synopsis.contains("[\\-q|\\-\\-quiet]"),
            "{name}: {synopsis:?}"
        );
        // Every `npy-x(1)` a page points to exists.
        for (i, _) in text.match_indices("(1)") {
            let start = text[..i]
                .rfind(|c: char| c.is_whitespace() || c == 'R')
                .map_or(0, |s| s + 1);
            let target = text[start..i].replace("\\-", "-").replace("\\fB", "");
            if target.starts_with("npy") {
                assert!(
                    names.contains(&format!("{target}.1")),
                    "{name}: points to {target}(1), which has no page"
                );
            }
        }
        if let Some(ex) = text.split(".SH EXAMPLES\n").nth(1) {
            assert!(
                ex.starts_with(".nf\n"),
                "{name}: examples not kept as lines"
            );
        }
    }
    let page =
        |n: &str| String::from_utf8(pages.iter().find(|(p, _)| p == n).unwrap().1.clone()).unwrap();
    let append = page("npy-append.1");
    assert!(append.contains("[\\-\\-dtype <DESCR>]"), "{append}");
    assert!(!page("npy.1").contains("npy\\-help"));
    // The paragraph after repair's list starts a new paragraph.
    let repair = page("npy-repair.1");
    assert!(repair.contains(".IP \\(bu 2\n"), "{repair}");
    assert!(
        repair.contains("\n.PP\nA file holding several arrays"),
        "{repair}"
    );
}

/// Usage lines show what is required.
#[test]
fn usage_shows_what_is_required() {
    let dir = tempdir();
    run(dir.path(), &["convert-stacked", "--help"])
        .ok()
        .stdout_has("Usage: npy convert-stacked [OPTIONS] <--output <OUTPUT>|--in-place> <INPUT>");
    run(dir.path(), &["convert-stacked", "a.npy"])
        .expect_code(2)
        .stderr_has("<--output <OUTPUT>|--in-place>");
    run(dir.path(), &["concat", "--help"])
        .ok()
        .stdout_has("npy concat [OPTIONS] --output <OUTPUT> <INPUTS>...");
    run(dir.path(), &["concat", "-o", "x.npy"])
        .expect_code(2)
        .stderr_has("<INPUTS>...");
    assert!(!dir.path().join("x.npy").exists());
}
