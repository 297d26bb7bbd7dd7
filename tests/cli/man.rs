//! Man pages generated from the clap definition, as the test that keeps
//! `docs/man/` fresh writes them. Only this test renders them (the binary
//! has no `man` command), so clap_mangen is a dev-dependency.

use clap::CommandFactory;
use npy_tools::cli::Cli;

/// Man pages generated from the same definition: `npy.1` and one
/// `npy-<command>.1` per subcommand, as (file name, roff bytes).
///
/// clap_mangen renders the title, name, description and options; the
/// synopsis (`npy append [--raw] [--dtype <DESCR>] ... <TARGET> <SOURCES>...`,
/// from clap's own usage with `[OPTIONS]` spelled out), the notes and the
/// examples (kept as lines, lists as lists) are rendered here.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    // No `help` subcommand: it has no page of its own to point to.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let mut pages = vec![("npy.1".to_string(), man_page(&cmd, "npy", &version)?)];
    for sub in cmd.get_subcommands() {
        let name = format!("npy {}", sub.get_name());
        let file = format!("npy-{}.1", sub.get_name());
        pages.push((file, man_page(sub, &name, &version)?));
    }
    Ok(pages)
}

/// One page for `cmd`, invoked as `name` (`npy` or `npy append`).
fn man_page(cmd: &clap::Command, name: &str, version: &str) -> std::io::Result<Vec<u8>> {
    let title = name.replace(' ', "-");
    let mut cmd = cmd.clone().name(title.clone()).bin_name(name);
    let usage = cmd.render_usage().to_string();
    let man = clap_mangen::Man::new(cmd.clone())
        .title(title.clone())
        .source(format!("npy {version}"))
        .manual("npy manual");
    let mut head = Vec::new();
    man.render_title(&mut head)?;
    let preamble_len = {
        let text = String::from_utf8_lossy(&head);
        text.match_indices('\n').nth(1).map_or(0, |(i, _)| i + 1)
    };
    let mut out = head;
    let section = |f: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
                   out: &mut Vec<u8>|
     -> std::io::Result<()> {
        let mut b = Vec::new();
        f(&mut b)?;
        out.extend_from_slice(&b[preamble_len.min(b.len())..]);
        Ok(())
    };
    section(&|w| man.render_name_section(w), &mut out)?;
    out.extend_from_slice(synopsis(&cmd, &usage).as_bytes());
    section(&|w| man.render_description_section(w), &mut out)?;
    section(&|w| man.render_options_section(w), &mut out)?;
    if cmd.has_subcommands() {
        section(&|w| man.render_subcommands_section(w), &mut out)?;
    }
    let after = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    out.extend_from_slice(notes_and_examples(&after).as_bytes());
    if !cmd.has_subcommands() {
        out.extend_from_slice(b".SH \"SEE ALSO\"\n\\fBnpy\\fR(1)\n");
    }
    out.extend_from_slice(format!(".SH VERSION\nv{version}\n").as_bytes());
    Ok(out)
}

/// Text for a roff text line: backslashes, dashes and apostrophes escaped,
/// and a leading `.` kept from being read as a request.
fn roff(s: &str) -> String {
    let e = s
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq");
    if e.starts_with('.') {
        format!("\\&{e}")
    } else {
        e
    }
}

/// SYNOPSIS: clap's usage lines with `[OPTIONS]` replaced by each optional
/// option and its value (`[--axis <N>]`), global ones (`-q`) included.
fn synopsis(cmd: &clap::Command, usage: &str) -> String {
    let mut out = String::from(".SH SYNOPSIS\n");
    let lines: Vec<&str> = usage
        .lines()
        .map(|l| l.trim().trim_start_matches("Usage:").trim())
        .filter(|l| !l.is_empty())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let shown: Vec<String> = cmd
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set() && !a.is_required_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter(|a| {
                !a.get_long()
                    .is_some_and(|l| line.contains(&format!("--{l}")))
            })
            .map(option_usage)
            .collect();
        let line = line.replacen("[OPTIONS]", &shown.join(" "), 1);
        let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
        let rest = line.strip_prefix(name).unwrap_or(&line);
        if i > 0 {
            out.push_str(".br\n");
        }
        out.push_str(&format!("\\fB{}\\fR{}\n", roff(name), roff(rest)));
    }
    out
}

/// `[-o|--output <OUTPUT>]`, `[--no-sync]`.
fn option_usage(a: &clap::Arg) -> String {
    let mut flag = match (a.get_short(), a.get_long()) {
        (Some(s), Some(l)) => format!("-{s}|--{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, Some(l)) => format!("--{l}"),
        (None, None) => a.get_id().to_string(),
    };
    if a.get_num_args().is_some_and(|n| n.takes_values()) {
        let value = a
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        flag.push_str(&format!(" <{value}>"));
    }
    format!("[{flag}]")
}

/// The text after the options (`after_long_help`): paragraphs under NOTES,
/// `  - ` items as a list, and the block that starts with `Examples:` under
/// EXAMPLES, one command a line.
fn notes_and_examples(text: &str) -> String {
    let (mut notes, mut examples) = (String::new(), String::new());
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines().peekable();
        if lines.peek() == Some(&"Examples:") {
            lines.next();
            examples.push_str(".nf\n");
            for l in lines {
                examples.push_str(&roff(l.trim()));
                examples.push('\n');
            }
            examples.push_str(".fi\n");
            continue;
        }
        notes.push_str(".PP\n");
        let mut in_list = false;
        for l in lines {
            if let Some(item) = l.strip_prefix("  - ") {
                notes.push_str(&format!(".IP \\(bu 2\n{}\n", roff(item)));
                in_list = true;
            } else if in_list && l.starts_with("    ") {
                notes.push_str(&format!("{}\n", roff(l.trim())));
            } else if l.starts_with("  ") {
                notes.push_str(&format!(".br\n{}\n", roff(l.trim())));
            } else {
                if in_list {
                    notes.push_str(".PP\n");
                    in_list = false;
                }
                notes.push_str(&format!("{}\n", roff(l)));
            }
        }
    }
    let mut out = String::new();
    if !notes.is_empty() {
        out.push_str(".SH NOTES\n");
        out.push_str(&notes);
    }
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        out.push_str(&examples);
    }
    out
}
