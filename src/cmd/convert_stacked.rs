//! `npy convert-stacked INPUT (-o OUTPUT | --in-place)`: several arrays
//! stored back to back (`np.save` called repeatedly on one open file) joined
//! into one, as `np.vstack`, `np.concatenate` or `np.stack` would.
//!
//! One pass over the headers plans the result (constant memory: consecutive
//! arrays of the same size are kept as one run, and past a bound the plan is
//! re-walked instead of stored) and, for the usual C-order vstack, copies the
//! data as it goes; otherwise one streaming copy follows. The result goes to
//! a temporary file that is renamed into place. The passes are in
//! `npy::join::stacked`, the copy in `npy::join`.

use std::fs::File;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use crate::npy::io::{lock_existing, open_input, Dest, NewFile, Wait};
use crate::npy::join::stacked::{careful_pass, complete, fast_pass, Stacked};
use crate::npy::join::{self, Mode, Sink};
use crate::npy::FormatError;
use crate::progress::Progress;
use crate::Outcome;

/// Runs of same-sized arrays kept for the copy; a file with more distinct
/// runs than this is walked again instead (its headers re-read).
const MAX_RUNS: usize = 4096;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  npy convert-stacked log.npy -o log_joined.npy
  npy convert-stacked --in-place log.npy
  npy convert-stacked --stack frames.npy -o frames_3d.npy
  npy convert-stacked --axis 1 --drop-incomplete columns.npy -o wide.npy
  npy convert-stacked log.npy -o - | ssh host 'cat > log_joined.npy'

A file holding a single array is converted too (np.vstack of one array), so
scripts need not tell the two apart.")]
#[command(group = clap::ArgGroup::new("destination").required(true))]
pub struct Args {
    /// The file holding several arrays back to back.
    pub input: PathBuf,
    /// Where to write the joined array (`-` for stdout). A FIFO or a device
    /// is written through, never replaced.
    #[arg(short, long, group = "destination")]
    pub output: Option<PathBuf>,
    /// Replace INPUT with the joined array (temporary file + rename, under
    /// the lock `npy append` takes).
    #[arg(long, group = "destination")]
    pub in_place: bool,
    /// Join like np.concatenate(..., axis=N) instead of np.vstack.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        conflicts_with = "stack"
    )]
    pub axis: Option<i64>,
    /// Join like np.stack: a new leading axis (all shapes equal).
    #[arg(long)]
    pub stack: bool,
    /// Convert the complete arrays when the last one was cut short (an
    /// interrupted np.save), and say how many bytes were left out.
    #[arg(long)]
    pub drop_incomplete: bool,
    /// Replace OUTPUT if it exists (a regular file only; under the lock
    /// `npy append` takes, so no append to it is lost).
    #[arg(short, long, conflicts_with = "in_place")]
    pub force: bool,
    /// Skip fsync before the rename (still safe against a killed process, not
    /// against power loss: OUTPUT may then appear with missing data).
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let input = &args.input;
    let name = input.display().to_string();
    let mode = match (args.stack, args.axis) {
        (true, _) => Mode::Stack,
        (false, Some(a)) => Mode::Concatenate(a),
        (false, None) => Mode::Vstack,
    };
    // Before anything is read, the file to be replaced (INPUT in place, or
    // an existing OUTPUT with --force) is locked with the lock `npy append`
    // takes, and stays locked until it has been replaced.
    let (dest, target) = match &args.output {
        Some(out) => (Dest::open(out, args.force)?, out.clone()),
        None => (
            Dest::Replace(lock_existing(input, Wait::Block)?),
            input.clone(),
        ),
    };
    let out_name = dest.name(&target);
    if matches!(dest, Dest::Stdout) {
        crate::console::stdout_usable()?;
        if crate::console::stdout_is_terminal() {
            bail!("<stdout>: refusing to write binary .npy data to a terminal (redirect it, or give -o FILE)");
        }
    }

    let opened;
    let file: &File = match &dest {
        Dest::Replace(locked) if args.in_place => &locked.file,
        _ => {
            // A FIFO or `<(...)` is spooled to a temporary file (see io).
            opened = open_input(input)?;
            &opened
        }
    };
    let meta = file
        .metadata()
        .with_context(|| format!("{name}: cannot stat"))?;
    let file_len = meta.len();
    if file_len == 0 {
        bail!("{name}: {}", FormatError::Empty);
    }

    // A file result is written beside its final path and renamed into
    // place; a stream (stdout, a FIFO) is written in order, in pass 2.
    let new = match &dest {
        Dest::Replace(held) => Some(NewFile::replacing(&target, &held.file)?),
        Dest::Create(_) => Some(NewFile::beside(&target)?),
        Dest::Stdout | Dest::Stream(_) => None,
    };
    let out_file = new
        .as_ref()
        .map(|n| n.file().try_clone())
        .transpose()
        .context("cannot duplicate a file handle")?;
    let mut progress = Progress::bytes(file_len, g.quiet, &format!("joining arrays of {name}"));

    // Pass 1 reads the headers and plans. When the result is a C-order join
    // along axis 0 (np.vstack of C arrays, the usual case), the data is
    // copied during this pass already, behind a header of the length it will
    // have; any array that breaks that assumption falls back to pass 2. The
    // fast pass does this from a map of the input; a file it cannot take
    // (junk, a cut array, arrays that do not join) is walked carefully,
    // which words the error.
    // A stream result (stdout, a FIFO) is written in order, in pass 2.
    let sink = || {
        out_file.as_ref().map(|file| Sink::File {
            file,
            durable: !args.no_sync,
        })
    };
    let map = join::Guarded::map(file, 0, file_len).ok();
    let fast = match &map {
        Some(m) => fast_pass(
            m,
            file,
            input,
            mode,
            MAX_RUNS,
            sink(),
            &out_name,
            &mut progress,
        )?,
        None => Err(&mut progress as &mut dyn crate::npy::Progress),
    };
    let (planner, runs, early, dropped) = match fast {
        Ok(f) => (Some(f.planner), f.runs, f.early, None),
        Err(progress) => {
            if let Some(f) = &out_file {
                f.set_len(0)
                    .with_context(|| format!("{out_name}: cannot truncate"))?;
            }
            careful_pass(
                file,
                input,
                file_len,
                mode,
                args.drop_incomplete,
                MAX_RUNS,
                sink(),
                &out_name,
                progress,
            )?
        }
    };
    let planner = planner.ok_or_else(|| anyhow!("{name}: holds no complete array"))?;
    let geo = planner.finish().map_err(|m| anyhow!("{name}: {m}"))?;
    crate::npy::limits::check_result(&geo.layout)
        .map_err(|e| anyhow!("{name}: {e}; nothing written"))?;
    let header = geo.layout.to_npy_header();
    let count = planner.count();
    let done_early = match early {
        Some((out, hl)) if geo.order == join::Order::C && geo.outer == 1 && header.len() == hl => {
            let end = out.finish()?;
            if let Some(m) = &map {
                m.check().with_context(|| name.clone())?;
            }
            if end != hl as u64 + geo.data_bytes {
                bail!("{name}: changed while being converted");
            }
            use std::os::unix::fs::FileExt;
            out_file
                .as_ref()
                .expect("a file result")
                .write_all_at(&header, 0)
                .with_context(|| format!("{out_name}: cannot write"))?;
            true
        }
        _ => false,
    };

    // Pass 2: one streaming copy, when pass 1 could not do it.
    if !done_early {
        let mut parts = Stacked {
            file,
            path: input,
            file_len,
            runs,
            count,
            planner: &planner,
        };
        let total = header.len() as u64 + geo.data_bytes;
        let mut progress = Progress::bytes(total, g.quiet, &format!("joining {count} arrays"));
        let mut stream_out: Option<Box<dyn std::io::Write>> = match &dest {
            Dest::Stdout => Some(Box::new(crate::console::Stdout)),
            Dest::Stream(p) => Some(Box::new(Dest::open_stream(p)?)),
            Dest::Replace(_) | Dest::Create(_) => None,
        };
        let sink = match (&mut stream_out, &out_file) {
            (Some(w), _) => Sink::Writer(&mut **w),
            (None, Some(f)) => {
                f.set_len(0)
                    .with_context(|| format!("{out_name}: cannot truncate"))?;
                Sink::File {
                    file: f,
                    durable: !args.no_sync,
                }
            }
            (None, None) => bail!("internal error: no output"),
        };
        join::execute(&header, &geo, &mut parts, sink, &out_name, &mut progress)?;
        if let Some(w) = &mut stream_out {
            w.flush()
                .with_context(|| format!("{out_name}: cannot write"))?;
        }
    }
    progress.finish();
    if let Some(nf) = new {
        dest.commit(nf, !args.no_sync)?;
    }
    if let Some(we) = dropped {
        crate::console::eprint(&format!(
            "npy: {name}: left out the last {} bytes: {we}; converted the {} before it\n",
            file_len - we.offset,
            complete(count)
        ));
    }
    Ok(Outcome::Done)
}
