//! `npy concat -o OUTPUT INPUT...`: join .npy files without loading them.
//!
//! Every input's header is checked before anything is written; the result is
//! written to a temporary file beside OUTPUT and renamed over it, so OUTPUT
//! appears whole or not at all, even when it is also one of the inputs.
//! Along the growth axis each input's data is one kernel-side copy; along
//! another axis the blocks are interleaved through a bounded buffer (see
//! `npy::join`).

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::npy::io::{open_input, Dest, NewFile};
use crate::npy::join::{self, Mode, Part, Parts, Planner, Sink};
use crate::npy::scan::{advice, scan_file, scan_settled, FileStatus, Use};
use crate::progress::Progress;
use crate::Outcome;

mod part;

/// Inputs kept open between the check and the copy; beyond this many each
/// file is opened again when its turn comes (and checked to be the same file).
const KEEP_OPEN: usize = 256;

#[derive(Debug, clap::Args)]
#[command(override_usage = "npy concat [OPTIONS] --output <OUTPUT> <INPUTS>...
       npy concat [OPTIONS] --output <OUTPUT> --files-from <FILE> [INPUTS]...")]
#[command(after_long_help = "Examples:
  npy concat -o all.npy chunk_*.npy
  npy concat -o wide.npy --axis 1 left.npy right.npy
  find out/ -name 'chunk_*.npy' | npy concat -o all.npy --sort natural --files-from -
  npy concat -o - a.npy b.npy | ssh host 'cat > ab.npy'
  npy concat -o all.npy --part 3/8 chunk_*.npy   # part 3 of 8 (see docs/scale.md)")]
pub struct Args {
    /// The file to write (`-` for stdout). A FIFO or a device is written
    /// through, never replaced.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Files to join, in order (`A.npz:NAME` for a member of an archive).
    #[arg(required_unless_present = "files_from")]
    pub inputs: Vec<PathBuf>,
    /// Axis to join along; negative counts from the end.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub axis: i64,
    /// Read input paths from FILE, one per line (`-` for stdin); they follow
    /// any INPUT given on the command line.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Sort all input paths first: `natural` puts chunk_2 before chunk_10.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub sort: Option<SortOrder>,
    /// Replace OUTPUT if it exists (a regular file only; under the lock
    /// `npy append` takes, so no append to it is lost, even when OUTPUT is
    /// also an input).
    #[arg(short, long)]
    pub force: bool,
    /// Skip fsync before the rename (still safe against a killed process, not
    /// against power loss: OUTPUT may then appear with missing data).
    #[arg(long)]
    pub no_sync: bool,
    /// Write only part K of N of OUTPUT (K from 1 to N), so that N processes,
    /// on one machine or many sharing a filesystem, make OUTPUT together.
    /// Every part must be given the same inputs, --axis and --sort. The part
    /// that completes the set publishes OUTPUT; a part that dies is run
    /// again; a part finding OUTPUT already made does nothing. One status
    /// line goes to stderr (not with --quiet).
    #[arg(long, value_name = "K/N")]
    pub part: Option<crate::npy::part::PartSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortOrder {
    /// Digit runs compare as numbers: a2 < a10 < b1.
    Natural,
}

/// What is kept of an input between the check and the copy.
struct Input {
    data_offset: u64,
    axis_len: u64,
    fortran: bool,
    id: (u64, u64),
    len: u64,
    /// A deflated archive member, inflated into an unnamed temporary file:
    /// kept open, as it cannot be opened again.
    held: Option<File>,
}

struct Inputs {
    paths: Vec<PathBuf>,
    info: Vec<Input>,
    open: Vec<File>,
}

impl Parts for Inputs {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()> {
        for (i, (path, inp)) in self.paths.iter().zip(&self.info).enumerate() {
            let reopened;
            let file = match self.open.get(i).or(inp.held.as_ref()) {
                Some(f) => f,
                None => {
                    // A stored `A.npz:NAME` member is read from its archive.
                    let on_disk = match crate::npy::npz::resolve(path) {
                        crate::npy::npz::Source::Member { archive, .. } => archive,
                        crate::npy::npz::Source::File(p) => p,
                    };
                    reopened = File::open(on_disk)
                        .with_context(|| format!("{}: cannot open", path.display()))?;
                    let m = reopened.metadata()?;
                    if (m.dev(), m.ino()) != inp.id || m.len() != inp.len {
                        bail!("{}: changed while being joined", path.display());
                    }
                    &reopened
                }
            };
            f(Part {
                file,
                name: path,
                data_offset: inp.data_offset,
                axis_len: inp.axis_len,
                fortran: inp.fortran,
            })?;
        }
        Ok(())
    }
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let mut paths = args.inputs.clone();
    if let Some(list) = &args.files_from {
        paths.extend(read_list(list)?);
    }
    if args.sort == Some(SortOrder::Natural) {
        paths.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    }
    if paths.is_empty() {
        bail!("no input files: name them, or give --files-from FILE");
    }
    // Before any input is read: a file to replace is locked here (the lock
    // `npy append` takes) and stays locked until it has been replaced. A part
    // of a split concat decides about OUTPUT once it knows the plan (OUTPUT
    // may be its own published result).
    let dest = match args.part {
        Some(_) if args.output == Path::new("-") => {
            part::usage("--part needs -o FILE: parts write into one file, not to stdout")
        }
        Some(_) if args.output.is_dir() => bail!("{}: is a directory", args.output.display()),
        Some(_) => Dest::Create(args.output.clone()),
        None => Dest::open(&args.output, args.force)?,
    };
    let out_name = dest.name(&args.output);
    if matches!(dest, Dest::Stdout) {
        crate::console::stdout_usable()?;
        if crate::console::stdout_is_terminal() {
            bail!("<stdout>: refusing to write binary .npy data to a terminal (redirect it, or give -o FILE)");
        }
    }

    // Check every input before anything is written.
    let keep_open = paths.len() <= KEEP_OPEN;
    let mut planner: Option<Planner> = None;
    let mut inputs = Inputs {
        info: Vec::with_capacity(paths.len()),
        open: Vec::new(),
        paths: Vec::new(),
    };
    for (i, path) in paths.iter().enumerate() {
        let name = path.display();
        if path == Path::new("-") {
            bail!("-: reading an input from stdin is not supported (name a file)");
        }
        // `A.npz:NAME`: the member's bytes, a range of the archive (stored)
        // or an inflated temporary copy (deflated).
        let (file, base, meta, scan, held) =
            match crate::npy::npz::locate(path).with_context(|| name.to_string())? {
                Some(l) => {
                    let meta = l.file.metadata()?;
                    let scan = crate::npy::npz::scan_range(&l.file, l.offset, l.len)
                        .with_context(|| name.to_string())?;
                    (l.file, l.offset, meta, scan, l.compressed)
                }
                None => {
                    // A FIFO or `<(...)` is spooled to a temporary file (see io).
                    let file = open_input(path)?;
                    let meta = file
                        .metadata()
                        .with_context(|| format!("{name}: cannot stat"))?;
                    // OUTPUT as an input is already locked by us: no append is in
                    // flight in it, and waiting for one would wait for ourselves.
                    let scan = if dest.is(&file) {
                        scan_file(&file)
                    } else {
                        scan_settled(&file)
                    }
                    .with_context(|| name.to_string())?;
                    (file, 0, meta, scan, false)
                }
            };
        if scan.status != FileStatus::Ok {
            let why = advice(&name.to_string(), &scan, Use::Report)
                .unwrap_or_else(|| scan.status.as_str().to_string());
            bail!("{name}: {why}");
        }
        let h = &scan.header;
        let p = match &mut planner {
            Some(p) => p,
            None => {
                let mut p = Planner::new(Mode::Concatenate(args.axis), h)
                    .map_err(|m| anyhow::anyhow!("{name}: {m}"))?;
                p.name_first(name.to_string());
                planner.insert(p)
            }
        };
        p.add(h, i as u64)
            .map_err(|m| anyhow::anyhow!("{name}: {m}"))?;
        inputs.info.push(Input {
            data_offset: base + h.header_len,
            axis_len: p.axis_len(&h.shape),
            fortran: h.fortran_order,
            id: (meta.dev(), meta.ino()),
            len: meta.len(),
            held: None,
        });
        if keep_open {
            inputs.open.push(file);
        } else if held {
            inputs.info.last_mut().expect("just pushed").held = Some(file);
        }
    }
    let planner = planner.expect("at least one input");
    let geo = planner
        .finish()
        .map_err(|m| anyhow::anyhow!("{out_name}: {m}"))?;
    crate::npy::limits::check_result(&geo.layout)
        .map_err(|e| anyhow::anyhow!("{out_name}: {e}; nothing written"))?;
    let header = geo.layout.to_npy_header();
    let total = header.len() as u64 + geo.data_bytes;
    let n = paths.len();
    inputs.paths = paths;
    if let Some(spec) = args.part {
        return part::run(&args, spec, &geo, &header, &inputs, g);
    }
    let mut progress = Progress::bytes(total, g.quiet, &format!("joining {n} files"));

    match &dest {
        Dest::Stdout | Dest::Stream(_) => {
            let mut stream: Box<dyn std::io::Write> = match &dest {
                Dest::Stream(p) => Box::new(Dest::open_stream(p)?),
                _ => Box::new(crate::console::Stdout),
            };
            join::execute(
                &header,
                &geo,
                &mut inputs,
                Sink::Writer(&mut *stream),
                &out_name,
                &mut progress,
            )?;
            stream
                .flush()
                .with_context(|| format!("{out_name}: cannot write"))?;
        }
        Dest::Replace(_) | Dest::Create(_) => {
            let new = match &dest {
                Dest::Replace(held) => NewFile::replacing(&args.output, &held.file)?,
                _ => NewFile::beside(&args.output)?,
            };
            join::execute(
                &header,
                &geo,
                &mut inputs,
                Sink::File {
                    file: new.file(),
                    durable: !args.no_sync,
                },
                &out_name,
                &mut progress,
            )?;
            progress.finish();
            dest.commit(new, !args.no_sync)?;
        }
    }
    Ok(Outcome::Done)
}

/// Paths listed one per line in `list` (`-`: stdin). Empty lines are skipped;
/// a trailing `\r` is dropped. Also inspect's `--files-from`.
pub(crate) fn read_list(list: &Path) -> Result<Vec<PathBuf>> {
    let shown = if list == Path::new("-") {
        "<stdin>".to_string()
    } else {
        list.display().to_string()
    };
    let mut bytes = Vec::new();
    if list == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        File::open(list)
            .with_context(|| format!("{shown}: cannot open"))?
            .read_to_end(&mut bytes)
    }
    .with_context(|| format!("{shown}: cannot read"))?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| PathBuf::from(OsString::from_vec(l.to_vec())))
        .collect())
}

/// Natural order: runs of ASCII digits compare by value (then by length, so
/// `07` and `7` still differ), everything else byte by byte.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (da, db) = (&a[si..i], &b[sj..j]);
            let ta = trim_zeros(da);
            let tb = trim_zeros(db);
            let ord = ta
                .len()
                .cmp(&tb.len())
                .then_with(|| ta.cmp(tb))
                .then_with(|| da.len().cmp(&db.len()));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let k = d.iter().take_while(|&&c| c == b'0').count();
    &d[k..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "chunk_10.npy",
            "chunk_2.npy",
            "chunk_1.npy",
            "b/chunk_0.npy",
            "chunk_02.npy",
            "chunk_1a.npy",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "b/chunk_0.npy",
                "chunk_1.npy",
                "chunk_1a.npy",
                "chunk_2.npy",
                "chunk_02.npy",
                "chunk_10.npy"
            ]
        );
        assert_eq!(
            natural_cmp("a99999999999999999999999", "a100000000000000000000000"),
            Ordering::Less
        );
    }
}
