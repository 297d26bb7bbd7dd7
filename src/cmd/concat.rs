//! `npy concat -o OUTPUT INPUT...`: join .npy files without loading them.
//!
//! Every input's header is checked before anything is written; the result is
//! written to a temporary file beside OUTPUT and renamed over it, so OUTPUT
//! appears whole or not at all, even when it is also one of the inputs.
//! Along the growth axis each input's data is one copy (`npy::io::copy_range`); along
//! another axis the blocks are interleaved through a bounded buffer (see
//! `npy::join`).

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::npy::io::{Dest, NewFile};
use crate::npy::join::{self, check_inputs, Sink};
use crate::progress::Progress;
use crate::Outcome;

mod part;

pub(crate) use crate::npy::join::inputs::Inputs;

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
    let n = paths.len();
    let (mut inputs, planner) = check_inputs(paths, args.axis, &dest)?;
    let geo = planner
        .finish()
        .map_err(|m| anyhow::anyhow!("{out_name}: {m}"))?;
    crate::npy::limits::check_result(&geo.layout)
        .map_err(|e| anyhow::anyhow!("{out_name}: {e}; nothing written"))?;
    let header = geo.layout.to_npy_header();
    let total = header.len() as u64 + geo.data_bytes;
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
