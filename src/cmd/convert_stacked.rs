//! `npy convert-stacked INPUT (-o OUTPUT | --in-place)`: several arrays
//! stored back to back (`np.save` called repeatedly on one open file) joined
//! into one, as `np.vstack`, `np.concatenate` or `np.stack` would.
//!
//! One pass over the headers plans the result (constant memory: consecutive
//! arrays of the same size are kept as one run, and past a bound the plan is
//! re-walked instead of stored), then one streaming copy writes it to a
//! temporary file that is renamed into place (see `npy::join`).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::npy::header::read_header_at;
use crate::npy::io::{lock_existing, NewFile, Wait};
use crate::npy::join::{self, Mode, Part, Parts, Planner, Sink};
use crate::npy::scan::{WalkError, WalkErrorKind, Walker};
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
#[command(group = clap::ArgGroup::new("destination").required(true))]
pub struct Args {
    /// The file holding several arrays back to back.
    pub input: PathBuf,
    /// Where to write the joined array.
    #[arg(short, long, group = "destination")]
    pub output: Option<PathBuf>,
    /// Replace INPUT with the joined array (temporary file + rename).
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
    /// Replace OUTPUT if it exists.
    #[arg(short, long, conflicts_with = "in_place")]
    pub force: bool,
    /// Skip fsync before the rename (still safe against a killed process, not
    /// against power loss: OUTPUT may then appear with missing data).
    #[arg(long)]
    pub no_sync: bool,
}

/// Consecutive arrays with the same header and data size.
#[derive(Debug, Clone, Copy)]
struct Run {
    offset: u64,
    header_len: u64,
    data_bytes: u64,
    axis_len: u64,
    fortran: bool,
    count: u64,
}

struct Stacked<'a> {
    file: &'a File,
    path: &'a Path,
    file_len: u64,
    /// `None`: too many runs to keep, walk the headers again.
    runs: Option<Vec<Run>>,
    count: u64,
    planner: &'a Planner,
}

impl Parts for Stacked<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(Part<'_>) -> Result<()>) -> Result<()> {
        match &self.runs {
            Some(runs) => {
                for r in runs {
                    let step = r.header_len + r.data_bytes;
                    for k in 0..r.count {
                        f(Part {
                            file: self.file,
                            name: self.path,
                            data_offset: r.offset + k * step + r.header_len,
                            axis_len: r.axis_len,
                            fortran: r.fortran,
                        })?;
                    }
                }
            }
            None => {
                for e in Walker::new(self.file, self.file_len).take(self.count as usize) {
                    let e = e.map_err(|e| {
                        anyhow!(
                            "{}: changed while being converted: {e}",
                            self.path.display()
                        )
                    })?;
                    f(Part {
                        file: self.file,
                        name: self.path,
                        data_offset: e.data_offset(),
                        axis_len: self.planner.axis_len(&e.header.shape),
                        fortran: e.header.fortran_order,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn sequential(&self) -> bool {
        true
    }
}

/// Whether a walk stopped at an array that runs to the end of the file
/// without being complete (an interrupted `np.save`), as opposed to junk or
/// a malformed header.
fn incomplete(file: &File, file_len: u64, e: &WalkError) -> bool {
    match &e.kind {
        WalkErrorKind::TruncatedData { .. } => true,
        WalkErrorKind::Junk { .. } => false,
        WalkErrorKind::BadHeader(_) => matches!(
            read_header_at(file, e.offset, file_len),
            Err(FormatError::ShortHeader | FormatError::HeaderPastEnd { .. })
        ),
    }
}

fn complete(n: u64) -> String {
    if n == 1 {
        "1 complete array".into()
    } else {
        format!("{n} complete arrays")
    }
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
    // have; any array that breaks that assumption falls back to pass 2.
    let mut planner: Option<Planner> = None;
    let mut runs: Option<Vec<Run>> = Some(Vec::new());
    let mut dropped: Option<WalkError> = None;
    let mut early: Option<(join::Out, usize)> = None;
    let mut early_possible = true;
    let mut walker = Walker::new(file, file_len);
    while let Some(item) = walker.next() {
        let e = match item {
            Ok(e) => e,
            Err(we) => {
                let cut = incomplete(file, file_len, &we);
                if args.drop_incomplete && cut && we.index > 0 {
                    dropped = Some(we);
                    break;
                }
                let hint = if cut && we.index > 0 {
                    format!(
                        "; give --drop-incomplete to convert the {} before it",
                        complete(we.index)
                    )
                } else {
                    String::new()
                };
                bail!("{name}: {we}{hint}");
            }
        };
        let at = |m: String| anyhow!("{name}: array {} at byte offset {}: {m}", e.index, e.offset);
        let p = match &mut planner {
            Some(p) => p,
            None => planner.insert(Planner::new(mode, &e.header).map_err(at)?),
        };
        p.add(&e.header, e.offset).map_err(at)?;
        let axis_len = p.axis_len(&e.header.shape);
        let data_bytes = e.header.data_bytes().map_err(|x| at(x.to_string()))?;
        if let Some(rs) = &mut runs {
            let joins = rs.last().is_some_and(|r| {
                r.header_len == e.header.header_len
                    && r.data_bytes == data_bytes
                    && r.axis_len == axis_len
                    && r.fortran == e.header.fortran_order
                    && r.offset + r.count * (r.header_len + r.data_bytes) == e.offset
            });
            if joins {
                if let Some(r) = rs.last_mut() {
                    r.count += 1;
                }
            } else if rs.len() >= MAX_RUNS {
                runs = None;
            } else {
                rs.push(Run {
                    offset: e.offset,
                    header_len: e.header.header_len,
                    data_bytes,
                    axis_len,
                    fortran: e.header.fortran_order,
                    count: 1,
                });
            }
        }
        if early_possible {
            let c_bytes = !e.header.fortran_order
                || join::both_contiguous(&e.header.shape)
                || data_bytes == 0;
            if early.is_none() && e.index == 0 {
                if let Some(hl) = p.c_header_len_along_0().filter(|_| c_bytes) {
                    early = Some((
                        join::Out::new(
                            Sink::File {
                                file: &out_file,
                                durable: !args.no_sync,
                            },
                            &out_name,
                            hl as u64,
                            &mut progress,
                        ),
                        hl,
                    ));
                }
            }
            match &mut early {
                Some((out, _)) if c_bytes => {
                    let off = e.data_offset();
                    if data_bytes >= 1 << 20 {
                        out.copy(file, input, off, data_bytes)?;
                    } else {
                        let bytes = walker
                            .read_at(off, data_bytes as usize)
                            .with_context(|| format!("{name}: cannot read"))?;
                        out.push(bytes)?;
                    }
                }
                _ => {
                    early = None;
                    early_possible = false;
                }
            }
        }
    }
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
