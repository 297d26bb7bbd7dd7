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

use crate::npy::io::{lock_existing, NewFile, Wait};
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

A file holding a single array is converted too (np.vstack of one array), so
scripts need not tell the two apart.")]
pub struct Args {
    /// The file holding several arrays back to back.
    pub input: PathBuf,
    /// Where to write the joined array.
    #[arg(
        short,
        long,
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    pub output: Option<PathBuf>,
    /// Replace INPUT with the joined array (temporary file + rename).
    #[arg(long)]
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
    /// Replace OUTPUT if it exists.
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
    let (target, existing_out) = match &args.output {
        Some(out) => {
            let exists = match std::fs::metadata(out) {
                Ok(m) if m.is_dir() => bail!("{}: is a directory", out.display()),
                Ok(_) if !args.force => bail!(
                    "{}: already exists (give --force to replace it)",
                    out.display()
                ),
                Ok(m) => Some(m.permissions()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("{}: cannot stat", out.display())),
            };
            (out.clone(), exists)
        }
        None => (input.clone(), None),
    };
    let out_name = target.display().to_string();

    // In place, hold the lock that `npy append` takes, so no append lands in
    // the file that is about to be replaced.
    let locked;
    let opened;
    let file: &File = if args.in_place {
        locked = lock_existing(input, Wait::Block)?;
        &locked.file
    } else {
        opened = File::open(input).with_context(|| format!("{name}: cannot open"))?;
        &opened
    };
    let meta = file
        .metadata()
        .with_context(|| format!("{name}: cannot stat"))?;
    if meta.is_dir() {
        bail!("{name}: is a directory");
    }
    let file_len = meta.len();
    if file_len == 0 {
        bail!("{name}: {}", FormatError::Empty);
    }

    let mut new = NewFile::beside(&target)?;
    if args.in_place {
        new.copy_permissions_from(file)?;
    } else if let Some(perm) = existing_out {
        new.file()
            .set_permissions(perm)
            .with_context(|| format!("{out_name}: cannot set permissions"))?;
    }
    let out_file = new
        .file()
        .try_clone()
        .context("cannot duplicate a file handle")?;
    let mut progress = Progress::bytes(file_len, g.quiet, &format!("joining arrays of {name}"));

    // Pass 1 reads the headers and plans. When the result is a C-order join
    // along axis 0 (np.vstack of C arrays, the usual case), the data is
    // copied during this pass already, behind a header of the length it will
    // have; any array that breaks that assumption falls back to pass 2. The
    // fast pass does this from a map of the input; a file it cannot take
    // (junk, a cut array, arrays that do not join) is walked carefully,
    // which words the error.
    let sink = || Sink::File {
        file: &out_file,
        durable: !args.no_sync,
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
        None => Err(&mut progress),
    };
    let (planner, runs, early, dropped) = match fast {
        Ok(f) => (Some(f.planner), f.runs, f.early, None),
        Err(progress) => {
            out_file
                .set_len(0)
                .with_context(|| format!("{out_name}: cannot truncate"))?;
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
    let geo = planner.finish().map_err(|(who, m)| match who {
        Some((index, offset)) => anyhow!("{name}: array {index} at byte offset {offset}: {m}"),
        None => anyhow!("{name}: {m}"),
    })?;
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
                .write_all_at(&header, 0)
                .with_context(|| format!("{out_name}: cannot write"))?;
            true
        }
        _ => false,
    };

    // Pass 2: one streaming copy, when pass 1 could not do it.
    if !done_early {
        out_file
            .set_len(0)
            .with_context(|| format!("{out_name}: cannot truncate"))?;
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
        join::execute(
            &header,
            &geo,
            &mut parts,
            Sink::File {
                file: &out_file,
                durable: !args.no_sync,
            },
            &out_name,
            &mut progress,
        )?;
    }
    progress.finish();
    if args.output.is_some() && !args.force {
        if new.commit_new(!args.no_sync)?.is_err() {
            bail!(
                "{out_name}: appeared while converting; not replaced (give --force to replace it)"
            );
        }
    } else {
        new.commit(!args.no_sync)?;
    }
    if let Some(we) = dropped {
        eprintln!(
            "npy: {name}: left out the last {} bytes: {we}; converted the {} before it",
            file_len - we.offset,
            complete(count)
        );
    }
    Ok(Outcome::Done)
}
