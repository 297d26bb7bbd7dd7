//! `npy inspect [--json] [--check] FILE...`: what each file holds and whether
//! numpy can load it, from its headers and size alone (O(1) in the data size;
//! a stacked file costs one small read per array).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::npy::scan::{scan_settled, FileStatus, Scan, WalkErrorKind};
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy inspect data.npy
  npy inspect --json chunks/*.npy | jq -c '[.path, .shape]'
  npy inspect --check *.npy || echo 'something needs attention'
  curl -s https://example.org/a.npy | npy inspect -")]
pub struct Args {
    /// Files to inspect; `-` reads one from stdin.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per file per line.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when any file is not `ok`.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args, _g: super::Global) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let mut not_ok = false;
    for path in &args.files {
        match inspect_one(path) {
            Ok(scan) => {
                if scan.status != FileStatus::Ok {
                    not_ok = true;
                }
                let shown = display_path(path);
                if args.json {
                    writeln!(out, "{}", serde_json::to_string(&to_json(&shown, &scan))?)?;
                } else {
                    write!(out, "{}", human(&shown, &scan))?;
                }
                out.flush()?;
            }
            Err(e) => {
                if crate::is_broken_pipe(&e) {
                    return Err(e);
                }
                failed = true;
                crate::report(&e);
            }
        }
    }
    Ok(if failed || (args.check && not_ok) {
        Outcome::Problems
    } else {
        Outcome::Done
    })
}

fn display_path(p: &Path) -> String {
    if p == Path::new("-") {
        "<stdin>".to_string()
    } else {
        p.display().to_string()
    }
}

fn inspect_one(path: &Path) -> Result<Scan> {
    let name = display_path(path);
    // A pipe (stdin, or `<(curl ...)`) cannot be sized or read at offsets:
    // spool it to an unnamed temporary file first (memory stays flat).
    let spool = |r: &mut dyn std::io::Read| -> Result<File> {
        let mut tmp = tempfile::tempfile().context("cannot create a temporary file")?;
        std::io::copy(r, &mut tmp).with_context(|| format!("{name}: cannot read"))?;
        Ok(tmp)
    };
    let file = if path == Path::new("-") {
        spool(&mut std::io::stdin().lock())?
    } else {
        let mut f = File::open(path).with_context(|| format!("{name}: cannot open"))?;
        let kind = f.metadata()?.file_type();
        if kind.is_dir() {
            anyhow::bail!("{name}: is a directory");
        }
        if kind.is_file() {
            f
        } else {
            spool(&mut f)?
        }
    };
    scan_settled(&file).or_else(|e| {
        // npyz leaves `*` where the shape belongs until its writer finishes.
        let len = file.metadata()?.len();
        if crate::npy::repair::placeholder_header(&file, len).is_some() {
            anyhow::bail!(
                "{name}: the shape is a `*` placeholder left by a writer that did not finish: run `npy repair {name}`"
            );
        }
        Err(anyhow::Error::new(e).context(name.clone()))
    })
}

/// The status line's advice, or `None` when the file is fine.
pub fn problem_message(path: &str, s: &Scan) -> Option<String> {
    let rows = |n: u64, partial: u64, row: u64| -> String {
        if partial == 0 {
            format!("{n}")
        } else {
            format!("{n} whole rows and {partial} of {row} bytes of another")
        }
    };
    match s.status {
        FileStatus::Ok => None,
        FileStatus::Object => Some(
            "holds pickled Python objects: npy never appends, joins, converts or repairs these"
                .into(),
        ),
        FileStatus::Stacked => {
            let st = s.stack.as_ref()?;
            let mut m = format!(
                "{} arrays stored back to back (np.save called repeatedly on one file)",
                st.arrays
            );
            if let Some(p) = &st.problem {
                match &p.kind {
                    WalkErrorKind::TruncatedData { .. } | WalkErrorKind::BadHeader(_) => {
                        m.push_str(&format!("; {p}; `npy convert-stacked --drop-incomplete` converts the complete ones"))
                    }
                    WalkErrorKind::Junk { .. } => m.push_str(&format!("; then {p}")),
                }
            } else if let Some(mm) = &st.mismatch {
                m.push_str(&format!("; `npy convert-stacked` cannot join them: {mm}"));
            } else {
                m.push_str(&format!(": run `npy convert-stacked {path} -o OUTPUT`"));
            }
            Some(m)
        }
        FileStatus::Truncated | FileStatus::Trailing => {
            let word = if s.status == FileStatus::Truncated {
                "truncated"
            } else {
                "extra bytes after the data"
            };
            match (s.rows_declared(), s.rows_present(), s.header.row_bytes()) {
                (Some(decl), Some((whole, partial)), Ok(row)) => Some(format!(
                    "{word}: header says {decl} rows, file holds {}: run `npy repair {path}`",
                    rows(whole, partial, row)
                )),
                _ => Some(format!(
                    "{word}: header promises {} data bytes, file has {}: run `npy repair {path}`",
                    s.expected_bytes, s.data_bytes
                )),
            }
        }
    }
}

fn to_json(path: &str, s: &Scan) -> Value {
    let h = &s.header;
    let mut m = Map::new();
    m.insert("path".into(), json!(path));
    m.insert("version".into(), json!(h.version.to_string()));
    m.insert("descr".into(), h.descr.to_json());
    m.insert("dtype".into(), json!(h.dtype.describe()));
    m.insert("fortran_order".into(), json!(h.fortran_order));
    m.insert("shape".into(), json!(h.shape));
    m.insert("header_len".into(), json!(h.header_len));
    m.insert("itemsize".into(), json!(h.itemsize()));
    m.insert("file_bytes".into(), json!(s.file_len));
    m.insert("data_bytes".into(), json!(s.data_bytes));
    m.insert("expected_bytes".into(), json!(s.expected_bytes));
    m.insert("growth_axis".into(), json!(h.growth_axis()));
    if let Some(d) = s.rows_declared() {
        m.insert("rows".into(), json!(d));
    }
    let one_array = !matches!(s.status, FileStatus::Stacked | FileStatus::Object);
    if let Some((whole, partial)) = s.rows_present().filter(|_| one_array) {
        m.insert("rows_present".into(), json!(whole));
        m.insert("partial_row_bytes".into(), json!(partial));
    }
    m.insert("status".into(), json!(s.status.as_str()));
    if let Some(st) = &s.stack {
        m.insert("arrays".into(), json!(st.arrays));
        m.insert(
            "convertible".into(),
            json!(st.problem.is_none() && st.mismatch.is_none()),
        );
    }
    if let Some(msg) = problem_message(path, s) {
        m.insert("message".into(), json!(msg));
    }
    if let Some(note) = s.note() {
        m.insert("note".into(), json!(note));
    }
    Value::Object(m)
}

fn human(path: &str, s: &Scan) -> String {
    let h = &s.header;
    let order = if h.fortran_order {
        "Fortran order"
    } else {
        "C order"
    };
    let grows = match h.growth_axis() {
        Some(ax) => format!(", grows along axis {ax}"),
        None => ", 0-d".to_string(),
    };
    let mut t = format!("{path}: {}\n", s.status.as_str());
    t.push_str(&format!(
        "  dtype    {} ({})\n",
        h.dtype.describe(),
        h.descr.repr()
    ));
    t.push_str(&format!("  shape    {} ({order}{grows})\n", h.shape_repr()));
    t.push_str(&format!(
        "  header   version {}, {} bytes\n",
        h.version, h.header_len
    ));
    let mut data = format!("  data     {} bytes", s.data_bytes);
    if s.data_bytes != s.expected_bytes {
        data.push_str(&format!(" (header promises {})", s.expected_bytes));
    }
    t.push_str(&data);
    t.push('\n');
    if let Some(m) = problem_message(path, s) {
        t.push_str(&format!("  problem  {m}\n"));
    }
    if let Some(n) = s.note() {
        t.push_str(&format!("  note     {n}\n"));
    }
    t
}
