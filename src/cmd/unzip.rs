//! `npy unzip A.npz [NAME...] [-d DIR]`: write members of an `.npz` archive
//! out as `.npy` files, each byte-identical to the member, CRC-checked, and
//! appearing whole or not at all (temporary file + rename). Every target is
//! checked (safe name, not already there) before anything is written.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::npy::io::NewFile;
use crate::npy::npz::{extraction_path, Archive, Member, NpzError};
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Each member NAME (as np.load(ARCHIVE).files lists it) is written to
DIR/NAME.npy; a name with a `/` (a/b) lands in a subdirectory of DIR, which is
created. Names that would land outside DIR (`../x`, `/etc/x`) are refused.
Stored members (np.savez) are copied by a reading and a writing thread; deflated ones
(np.savez_compressed) are inflated as a stream, in flat memory. A CRC mismatch
is an error, and the member's file is not written.

Examples:
  npy unzip data.npz
  npy unzip data.npz weights bias -d out/
  npy unzip --force -d /scratch/run1 results.npz"
)]
pub struct Args {
    /// The archive.
    pub archive: PathBuf,
    /// Members to write (default: all).
    pub names: Vec<String>,
    /// Directory to write into (created if missing).
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace files that already exist.
    #[arg(short, long)]
    pub force: bool,
    /// Skip fsync before each rename (still safe against a killed process, not
    /// against power loss).
    #[arg(long)]
    pub no_sync: bool,
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    let shown = args.archive.display().to_string();
    let file =
        std::fs::File::open(&args.archive).with_context(|| format!("{shown}: cannot open"))?;
    if file.metadata()?.is_dir() {
        bail!("{shown}: is a directory");
    }
    let mut archive = Archive::open(file).with_context(|| shown.clone())?;
    let members: Vec<Member> = if args.names.is_empty() {
        archive
            .members()
            .iter()
            .filter(|m| !m.is_dir)
            .cloned()
            .collect()
    } else {
        let mut picked: Vec<Member> = Vec::new();
        for n in &args.names {
            let m = archive.find(n).with_context(|| shown.clone())?;
            if !picked.iter().any(|p| p.index == m.index) {
                picked.push(m.clone());
            }
        }
        picked
    };

    // Every target is checked before anything is written.
    let mut chosen: Vec<(Member, PathBuf)> = Vec::with_capacity(members.len());
    for m in members {
        let target =
            extraction_path(&args.dir, &m.entry).with_context(|| format!("{shown}:{}", m.name))?;
        let target = if m.entry.ends_with(".npy") {
            target
        } else {
            // A member np.load lists without `.npy` still becomes NAME.npy.
            let mut t = target.into_os_string();
            t.push(".npy");
            PathBuf::from(t)
        };
        match std::fs::symlink_metadata(&target) {
            Ok(md) if md.is_dir() => bail!("{}: is a directory", target.display()),
            Ok(_) if !args.force => bail!(
                "{}: already exists (give --force to replace it)",
                target.display()
            ),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("{}: cannot stat", target.display())),
        }
        if let Some((other, _)) = chosen.iter().find(|(_, t)| *t == target) {
            bail!(
                "{shown}: members {:?} and {:?} would both be written to {}",
                other.entry,
                m.entry,
                target.display()
            );
        }
        chosen.push((m, target));
    }

    let total: u64 = chosen.iter().map(|(m, _)| m.size).sum();
    let mut progress = Progress::bytes(total, g.quiet, &format!("unzipping {shown}"));
    let sync = !args.no_sync;
    let mut done = 0u64;
    for (m, target) in &chosen {
        if let Some(parent) = target.parent() {
            make_dirs(parent, sync)?;
        }
        let new = NewFile::beside(target)?;
        match archive.extract(m, new.file(), &mut |n| progress.set(done + n)) {
            Ok(()) => {}
            Err(NpzError::Write(e)) => {
                return Err(e).with_context(|| format!("{}: cannot write", target.display()))
            }
            Err(e) => return Err(e).with_context(|| format!("{shown}:{}", m.name)),
        }
        if args.force {
            new.commit(sync)?;
        } else if new.commit_new(sync)?.is_err() {
            bail!(
                "{}: appeared while unzipping; not replaced (give --force to replace it)",
                target.display()
            );
        }
        done += m.size;
    }
    progress.finish();
    Ok(Outcome::Done)
}

/// `mkdir -p`, syncing the directory that holds each one it creates so the
/// new entries survive a power loss (with `sync`).
fn make_dirs(dir: &std::path::Path, sync: bool) -> Result<()> {
    let mut missing = vec![];
    let mut d = dir;
    while !d.as_os_str().is_empty() && !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    if sync {
        for m in missing.iter().rev() {
            crate::npy::io::sync_dir(m)?;
        }
    }
    Ok(())
}
