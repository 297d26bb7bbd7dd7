//! `npy inspect [--json] [--check] FILE...`: what each file holds and whether
//! numpy can load it, from its headers and size alone (O(1) in the data size;
//! a stacked file costs one small read per array).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Map, Value};

use crate::npy::npz::{records, Member, Record};
use crate::npy::scan::{advice, scan_settled, FileStatus, Scan, Use};
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -r, a directory stands for every .npy file below it, in sorted
order (symbolic links to directories are not followed).

Examples:
  npy inspect data.npy
  npy inspect --json chunks/*.npy | grep -v '\"status\":\"ok\"'
  npy inspect --check -r data/ > report.txt || echo 'something needs attention'
  find . -name '*.npy' -newer stamp | npy inspect --check --files-from -
  npy inspect results.npz results.npz:weights
  curl -s https://example.org/a.npy | npy inspect -"
)]
pub struct Args {
    /// Files to inspect; `-` reads one from stdin; with -r, directories too.
    /// An .npz archive gives one record per member; `A.npz:NAME` names one
    /// member.
    #[arg(required_unless_present = "files_from")]
    pub files: Vec<PathBuf>,
    /// Read more paths from FILE, one per line (`-` for stdin); they follow
    /// any FILE given on the command line.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Inspect every .npy file below each directory given, in sorted order.
    #[arg(short, long)]
    pub recursive: bool,
    /// One JSON object per file per line.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when any file is not `ok`.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args, _g: super::Global) -> Result<Outcome> {
    let mut paths = args.files.clone();
    if let Some(list) = &args.files_from {
        paths.extend(super::concat::read_list(list)?);
        if list == Path::new("-") && paths.iter().any(|p| p == Path::new("-")) {
            anyhow::bail!("<stdin>: is the list of files (--files-from -), so it cannot be a file to inspect too");
        }
    }
    let (mut failed, mut not_ok) = (false, false);
    // Called with each path, or with the error of a directory that could
    // not be read; Err only for a closed stdout.
    let mut one = |path: crate::npy::Result<&Path>| -> Result<()> {
        let records = match path {
            // An archive gives one record per member (`A.npz:NAME`).
            Ok(path) => {
                let records = match records(path) {
                    Some(rs) => rs.into_iter().map(Rec::from).collect(),
                    None => vec![Rec {
                        shown: display_path(path),
                        archive: String::new(),
                        scan: inspect_one(path),
                        member: None,
                    }],
                };
                if records.is_empty() && !args.json {
                    crate::console::print(&format!(
                        "{}: empty .npz archive (no members)\n",
                        display_path(path)
                    ))?;
                }
                records
            }
            Err(e) => vec![Rec {
                shown: String::new(),
                archive: String::new(),
                scan: Err(e.into()),
                member: None,
            }],
        };
        for rec in records {
            let shown = rec.shown;
            match rec.scan {
                Ok(scan) => {
                    not_ok |= scan.status != FileStatus::Ok;
                    let msg = match &rec.member {
                        Some(m) => member_problem(&rec.archive, m, &scan),
                        None => advice(&shown, &scan, Use::Report),
                    };
                    let text = if args.json {
                        let mut v = to_json(&shown, &scan, msg);
                        if let (Some(m), Value::Object(o)) = (&rec.member, &mut v) {
                            o.insert("compressed".into(), json!(m.compressed()));
                        }
                        format!("{}\n", serde_json::to_string(&v)?)
                    } else {
                        let mut t = human(&shown, &scan, msg);
                        if let Some(m) = &rec.member {
                            t.push_str(&member_human(m));
                        }
                        t
                    };
                    // A reader that went away drops the text; the other files
                    // are still looked at, so `--check`'s exit code counts them.
                    crate::console::print(&text)?;
                }
                Err(e) if crate::is_broken_pipe(&e) => return Err(e),
                Err(e) => {
                    failed = true;
                    crate::report(&e);
                }
            }
        }
        Ok(())
    };
    for path in &paths {
        if args.recursive && path.is_dir() {
            crate::npy::io::walk_npy(path, &mut one)?;
        } else {
            one(Ok(path))?;
        }
    }
    Ok(if failed || (args.check && not_ok) {
        Outcome::Problems
    } else {
        Outcome::Done
    })
}

/// A [`Record`], or a file's scan, with the error ready to print.
struct Rec {
    shown: String,
    archive: String,
    scan: Result<Scan>,
    member: Option<Member>,
}

impl From<Record> for Rec {
    fn from(r: Record) -> Rec {
        Rec {
            shown: r.shown,
            archive: r.archive,
            scan: r.scan.map_err(Into::into),
            member: r.member,
        }
    }
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
    // it is spooled to an unnamed temporary file first (memory stays flat).
    let file = if path == Path::new("-") {
        crate::npy::io::spool(&mut std::io::stdin().lock(), Path::new(&name))?
    } else {
        if path.is_dir() {
            anyhow::bail!("{name}: is a directory (give -r to inspect the .npy files below it)");
        }
        crate::npy::io::open_input(path)?
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

fn to_json(path: &str, s: &Scan, msg: Option<String>) -> Value {
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
    m.insert("data_bytes".into(), json!(s.data_present));
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
    if let Some(msg) = msg {
        m.insert("message".into(), json!(msg));
    }
    if let Some(note) = s.note() {
        m.insert("note".into(), json!(note));
    }
    Value::Object(m)
}

fn human(path: &str, s: &Scan, msg: Option<String>) -> String {
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
    let mut data = format!("  data     {} bytes", s.data_present);
    if s.data_present != s.expected_bytes {
        data.push_str(&format!(" (header promises {})", s.expected_bytes));
    }
    t.push_str(&data);
    t.push('\n');
    if let Some(m) = msg {
        t.push_str(&format!("  problem  {m}\n"));
    }
    if let Some(n) = s.note() {
        t.push_str(&format!("  note     {n}\n"));
    }
    t
}

/// The advice for an archive member that is not `ok`: what to run once it
/// is unzipped (npy changes files, never archives in place).
fn member_problem(archive: &str, m: &Member, s: &Scan) -> Option<String> {
    let file = format!("{}.npy", m.name);
    advice(&file, s, Use::Report).map(|a| format!("{a} (after `npy unzip {archive} {}`)", m.name))
}

fn member_human(m: &Member) -> String {
    if m.compressed() {
        format!(
            "  member   deflated, {} bytes in the archive\n",
            m.compressed_size
        )
    } else {
        format!("  member   stored, {} bytes\n", m.size)
    }
}
