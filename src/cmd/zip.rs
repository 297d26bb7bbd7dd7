//! `npy zip -o OUT.npz [--compress] [NAME=]FILE.npy...`: build an `.npz`
//! archive np.load reads, each member byte-identical to its input. Every
//! input is checked before OUT is created; OUT appears whole (temporary file
//! + rename) or not at all.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::npy::io::NewFile;
use crate::npy::npz::{self, write_archive, NewMember};
use crate::npy::scan::{advice, scan_settled, FileStatus, Scan, Use};
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Each input becomes the member NAME (NAME.npy in the zip), NAME being
what comes before `=` or else the file's name without `.npy`; np.load(OUT)[NAME]
reads it back. A name with `/` (a/b) is kept as it is. Inputs may be members of
other archives (A.npz:NAME). Members are stored, as np.savez writes them, or
deflated with --compress, as np.savez_compressed does; ZIP64 fields are added
for members of 4 GiB or more.

Examples:
  npy zip -o data.npz x.npy y.npy
  npy zip -o model.npz weights=w_final.npy bias=b_final.npy
  npy zip --compress -o small.npz chunks/*.npy
  npy zip -o subset.npz x=data.npz:x"
)]
pub struct Args {
    /// The archive to write.
    #[arg(short, long, value_name = "OUT.npz")]
    pub output: PathBuf,
    /// Inputs, each `FILE.npy` or `NAME=FILE.npy`.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    pub inputs: Vec<PathBuf>,
    /// Deflate the members (like np.savez_compressed).
    #[arg(short, long)]
    pub compress: bool,
    /// Replace OUT if it exists.
    #[arg(short, long)]
    pub force: bool,
    /// Skip fsync before the rename (still safe against a killed process, not
    /// against power loss).
    #[arg(long)]
    pub no_sync: bool,
}

struct Input {
    name: String,
    shown: String,
    file: File,
    offset: u64,
    len: u64,
    mtime: Option<i64>,
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let out_name = args.output.display().to_string();
    if args.output == Path::new("-") {
        bail!("-: an archive cannot be written to stdout (give -o FILE)");
    }
    let existing = match std::fs::metadata(&args.output) {
        Ok(m) if m.is_dir() => bail!("{out_name}: is a directory"),
        Ok(_) if !args.force => {
            bail!("{out_name}: already exists (give --force to replace it)")
        }
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("{out_name}: cannot stat")),
    };

    let mut inputs: Vec<Input> = Vec::with_capacity(args.inputs.len());
    for arg in &args.inputs {
        let input = open_input(arg)?;
        if let Some(prev) = inputs.iter().find(|i| i.name == input.name) {
            bail!(
                "{}: member name {:?} is already taken by {} (name one of them with NAME=FILE)",
                input.shown,
                input.name,
                prev.shown
            );
        }
        inputs.push(input);
    }

    let total: u64 = inputs.iter().map(|i| i.len).sum();
    let mut progress = Progress::bytes(total, g.quiet, &format!("writing {out_name}"));
    let new = NewFile::beside(&args.output)?;
    if let Some(perm) = existing {
        new.file()
            .set_permissions(perm)
            .with_context(|| format!("{out_name}: cannot set permissions"))?;
    }
    let members: Vec<NewMember<'_>> = inputs
        .iter()
        .map(|i| NewMember {
            entry: format!("{}.npy", i.name),
            name: i.shown.clone(),
            file: &i.file,
            offset: i.offset,
            len: i.len,
            mtime: i.mtime,
        })
        .collect();
    match write_archive(new.file(), &members, args.compress, &mut |n| {
        progress.set(n)
    }) {
        Ok(()) => {}
        // The input's own name and fault, not the archive's.
        Err(e @ npz::NpzError::Input { .. }) => return Err(e.into()),
        Err(e) => return Err(e).with_context(|| format!("{out_name}: cannot write")),
    }
    progress.finish();
    let sync = !args.no_sync;
    if args.force {
        new.commit(sync)?;
    } else if new.commit_new(sync)?.is_err() {
        bail!("{out_name}: appeared while the archive was being written; not replaced (give --force to replace it)");
    }
    Ok(Outcome::Done)
}

/// Splits `NAME=FILE` (a path that exists as it is stays a path), opens the
/// file or archive member and checks it is one whole array.
fn open_input(arg: &Path) -> Result<Input> {
    let text = arg.to_string_lossy();
    let (name, path) = match text.split_once('=') {
        Some((n, p)) if !n.is_empty() && std::fs::symlink_metadata(arg).is_err() => {
            (Some(n.to_string()), PathBuf::from(p))
        }
        _ => (None, arg.to_path_buf()),
    };
    let shown = path.display().to_string();
    if path == Path::new("-") {
        bail!("-: reading an input from stdin is not supported (name a file)");
    }
    let (file, offset, len, mtime, scan, default_name) = match npz::locate(&path)? {
        Some(l) => {
            let scan = npz::scan_range(&l.file, l.offset, l.len).with_context(|| shown.clone())?;
            let mtime = std::fs::metadata(&l.archive).ok().and_then(mtime_of);
            let member = l.name.strip_suffix(".npy").unwrap_or(&l.name).to_string();
            (l.file, l.offset, l.len, mtime, scan, member)
        }
        None => {
            let file = File::open(&path).with_context(|| format!("{shown}: cannot open"))?;
            let meta = file
                .metadata()
                .with_context(|| format!("{shown}: cannot stat"))?;
            if meta.is_dir() {
                bail!("{shown}: is a directory");
            }
            let scan = scan_settled(&file).with_context(|| shown.clone())?;
            let stem = path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = stem.strip_suffix(".npy").unwrap_or(&stem).to_string();
            (file, 0, meta.len(), mtime_of(meta), scan, stem)
        }
    };
    check_whole(&shown, &scan)?;
    let name = name.unwrap_or(default_name);
    // The member must come back out of the archive where its name says.
    npz::extraction_path(Path::new("."), &format!("{name}.npy"))
        .with_context(|| format!("{shown}: cannot be stored as {name:?}"))?;
    Ok(Input {
        name,
        shown,
        file,
        offset,
        len,
        mtime,
    })
}

fn check_whole(shown: &str, scan: &Scan) -> Result<()> {
    if scan.status != FileStatus::Ok {
        let why =
            advice(shown, scan, Use::Report).unwrap_or_else(|| scan.status.as_str().to_string());
        bail!("{shown}: {why}");
    }
    Ok(())
}

fn mtime_of(m: std::fs::Metadata) -> Option<i64> {
    use std::os::unix::fs::MetadataExt;
    Some(m.mtime())
}
