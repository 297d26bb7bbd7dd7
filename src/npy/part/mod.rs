//! One join written by N independent processes (`npy concat --part K/N`),
//! on one machine or on many sharing a filesystem, with no coordinator: each
//! part reads every input's header, computes the same plan, writes its share
//! of the output, and the part that completes the set publishes OUT.
//!
//! **The cut.** The output's data bytes are cut into N ranges of about equal
//! size, each cut rounded up to a multiple of [`ALIGN`] in the output file (so
//! two parts never write the same filesystem block or stripe); part K writes
//! range K. The output of a join is a sequence of runs, one per input per
//! outer index ([`Geometry`]); [`write_range`] writes the runs that fall in
//! one range, cut at its ends, whatever the axis and memory order.
//!
//! **The staging directory** `.OUT.npy-part/`, beside OUT, holds one round:
//! - `plan.json`: the plan's fingerprint: N, the resolved axis, the sort
//!   order, each input's path (as given), size, data offset, length along
//!   the axis and memory order, and the result's header and size. A part
//!   whose own plan differs is refused, naming the first difference.
//! - `done`: one byte per part, `1` once that part's bytes are durable. It
//!   is also the lock file (POSIX `fcntl` locks, which NFS, GPFS, CephFS and
//!   Lustre mounted with `-o flock` carry between machines), and is read and
//!   written only under its lock: locking a file is what makes an NFS client
//!   drop its cached view of it, which other machines wrote.
//! - `data`: the output being made, created at full size (sparse), with no
//!   header until it is published.
//!
//! **The round comes into being whole**: the first part prepares all three
//! in a private directory and renames it to `.OUT.npy-part` (a rename onto a
//! non-empty directory fails, so of two parts starting at once one wins and
//! the other joins its round). Parts that find the round read `plan.json`
//! and compare.
//!
//! **Completion.** A part reserves its range's blocks in `data`
//! ([`sys::preallocate`](super::sys::preallocate), a hint: on ext4 it makes
//! the copy about a quarter cheaper, which is what lets two parts at once on
//! one machine keep up with one concat although the filesystem lets only one
//! process at a time write into a file), writes its range, syncs the data,
//! then under the lock sets its byte in `done` and syncs that. A part that
//! finds its byte already set writes nothing (rerunning a finished part
//! changes nothing). The part that sets the last byte publishes, still
//! under the lock: header at offset 0, sync, rename `data` to OUT (a hard
//! link when OUT must not be replaced), sync the directory, then remove the
//! staging directory, `done` last, so a part that still finds it can lock it
//! and see the round is over (and finish the removal if the publisher died
//! during it).
//!
//! **After publication** there is nothing beside OUT but OUT, so a part that
//! finds no round and an OUT whose size and header are the plan's takes it
//! as published and does nothing. Input contents are not compared (that
//! would mean reading them all); a part killed at any moment is simply run
//! again.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

use super::io::{parent_dir, resolve_link, sync_directory};
use super::join::Geometry;

mod fingerprint;
mod range;

use fingerprint::{difference, fingerprint, total_size};
pub use range::write_range;

/// Cuts between parts fall on multiples of this in the output file: 1 MiB,
/// the usual Lustre stripe and a multiple of every block size.
pub const ALIGN: u64 = 1 << 20;
/// The most parts a join may be cut into.
pub const MAX_PARTS: u32 = 1_000_000;
/// Version of the staging layout, recorded in `plan.json`.
const PROTOCOL: u64 = 1;
/// Times a part looks again at a round that changed under it.
const ATTEMPTS: u32 = 50;

/// `K/N`: part K of N, K in 1..=N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpec {
    pub k: u32,
    pub n: u32,
}

/// Why `K/N` is not a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(&'static str);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for SpecError {}

impl FromStr for PartSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<PartSpec, SpecError> {
        let (k, n) = s
            .split_once('/')
            .ok_or(SpecError("expected K/N, as in 2/8 (part 2 of 8)"))?;
        let num = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SpecError("expected K/N with whole numbers, as in 2/8"));
            }
            t.parse::<u32>()
                .map_err(|_| SpecError("K/N: number too large"))
        };
        let (k, n) = (num(k)?, num(n)?);
        if n == 0 || n > MAX_PARTS {
            return Err(SpecError("N must be between 1 and 1000000"));
        }
        if k == 0 || k > n {
            return Err(SpecError("K must be between 1 and N (parts count from 1)"));
        }
        Ok(PartSpec { k, n })
    }
}

/// One input as the plan has it.
#[derive(Debug, Clone)]
pub struct Input {
    /// As given (relative paths are part of the plan as written).
    pub path: PathBuf,
    pub size: u64,
    pub data_offset: u64,
    /// Steps along the join axis.
    pub axis_len: u64,
    /// Whether its bytes are in Fortran order.
    pub fortran_order: bool,
}

/// What one part is asked to do.
pub struct Job<'a> {
    pub output: &'a Path,
    pub spec: PartSpec,
    /// The result's header and its plan.
    pub header: &'a [u8],
    pub geo: &'a Geometry,
    pub inputs: &'a [Input],
    /// The input order asked for (`natural`), recorded so that parts given
    /// differently sorted lists are told so.
    pub sort: Option<&'a str>,
    /// Replace an OUT that exists when the round publishes (or starts).
    pub force: bool,
    /// fsync data, `done` and directories.
    pub sync: bool,
}

/// What a part did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It completed the set and published OUT.
    Published,
    /// Done; other parts are still to run (listed, 1-based).
    Waiting { missing: Vec<u32> },
    /// OUT was already there, as planned: nothing was done.
    AlreadyPublished,
}

/// A part's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub status: Status,
    /// Output file range [lo, hi) this part owns.
    pub range: (u64, u64),
    /// Whether it wrote its range (false: already done, or nothing to do).
    pub wrote: bool,
}

/// What went wrong, naming the file concerned.
#[derive(Debug)]
pub enum PartError {
    /// An IO call failed on `path` while `doing`.
    Io {
        path: PathBuf,
        doing: &'static str,
        source: io::Error,
    },
    /// This part's plan differs from the round's.
    Mismatch { staging: PathBuf, what: String },
    /// OUT exists and is not this join's result.
    Exists { path: PathBuf },
    /// Every part is done, but OUT appeared meanwhile (not replaced).
    Appeared { path: PathBuf },
    /// The staging directory lost a file it needs.
    Broken { staging: PathBuf, what: String },
    /// An input is not what its header said when the plan was made.
    Changed { path: PathBuf },
    /// The filesystem refused the lock.
    Lock { path: PathBuf, source: io::Error },
    /// The round kept changing under this part.
    Unsettled { staging: PathBuf },
}

impl std::fmt::Display for PartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartError::Io { path, doing, .. } => write!(f, "{}: {doing}", path.display()),
            PartError::Mismatch { staging, what } => write!(
                f,
                "{}: this part does not match the parts already run: {what} (give every part \
                 the same inputs in the same order, the same --axis and the same N; to start \
                 over, delete {})",
                staging.display(),
                staging.display()
            ),
            PartError::Exists { path } => write!(
                f,
                "{}: already exists and is not this join's result (give --force to replace it)",
                path.display()
            ),
            PartError::Appeared { path } => write!(
                f,
                "{}: appeared while the parts ran; not replaced (every part is done: rerun any \
                 one part with --force to replace it)",
                path.display()
            ),
            PartError::Broken { staging, what } => write!(
                f,
                "{}: {what}; delete it and run every part again",
                staging.display()
            ),
            PartError::Changed { path } => write!(
                f,
                "{}: changed since its header was read (size differs)",
                path.display()
            ),
            PartError::Lock { path, .. } => write!(
                f,
                "{}: cannot lock (parts need POSIX fcntl locks that work across machines: on \
                 NFSv3 run the lock daemons, on Lustre mount with -o flock)",
                path.display()
            ),
            PartError::Unsettled { staging } => write!(
                f,
                "{}: the staging directory kept changing while this part looked at it",
                staging.display()
            ),
        }
    }
}

impl std::error::Error for PartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PartError::Io { source, .. } | PartError::Lock { source, .. } => Some(source),
            _ => None,
        }
    }
}

type Result<T, E = PartError> = std::result::Result<T, E>;

fn ioerr<'a>(path: &'a Path, doing: &'static str) -> impl FnOnce(io::Error) -> PartError + 'a {
    move |source| PartError::Io {
        path: path.to_path_buf(),
        doing,
        source,
    }
}

/// Output file offset where part `j + 1`'s range starts (`j = n`: where
/// the last one ends): the even share of the data, rounded up to a multiple
/// of [`ALIGN`] (within `header_len..=total`).
fn cut(header_len: u64, total: u64, n: u32, j: u32) -> u64 {
    if j == 0 {
        return header_len;
    }
    let data = (total - header_len) as u128;
    let even = header_len + (data * j as u128 / n as u128) as u64;
    even.div_ceil(ALIGN).saturating_mul(ALIGN).min(total)
}

/// The output file range [lo, hi) part `spec` writes, of an output of
/// `total` bytes whose data starts at `header_len`.
pub fn share(header_len: u64, total: u64, spec: PartSpec) -> (u64, u64) {
    (
        cut(header_len, total, spec.n, spec.k - 1),
        cut(header_len, total, spec.n, spec.k),
    )
}

/// Where a join into `output` is staged: `.NAME.npy-part` beside it (beside
/// what it points to, when it is a symlink).
pub fn staging_dir(output: &Path) -> PathBuf {
    let target = resolve_link(output);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = format!(".{name}.npy-part");
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join(dir),
        _ => PathBuf::from(dir),
    }
}

/// Syncs the directory holding `path`, making a rename in it durable.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    sync_directory(&dir).map_err(ioerr(&dir, "cannot sync the directory"))
}

/// The paths of one round.
struct Paths {
    out: PathBuf,
    dir: PathBuf,
    plan: PathBuf,
    done: PathBuf,
    data: PathBuf,
}

impl Paths {
    fn new(output: &Path) -> Paths {
        let dir = staging_dir(output);
        Paths {
            out: resolve_link(output),
            plan: dir.join("plan.json"),
            done: dir.join("done"),
            data: dir.join("data"),
            dir,
        }
    }
}

/// What OUT is now.
enum OutState {
    Absent,
    /// This join's result: the planned size and header.
    Planned,
    Other,
}

fn out_state(job: &Job, out: &Path) -> Result<OutState> {
    let f = match File::open(out) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OutState::Absent),
        Err(e) => return Err(ioerr(out, "cannot open")(e)),
    };
    let m = f.metadata().map_err(ioerr(out, "cannot stat"))?;
    if !m.is_file() || m.len() != total_size(job) {
        return Ok(OutState::Other);
    }
    let mut head = vec![0u8; job.header.len()];
    match f.read_exact_at(&mut head, 0) {
        Ok(()) if head == job.header => Ok(OutState::Planned),
        Ok(()) => Ok(OutState::Other),
        Err(e) => Err(ioerr(out, "cannot read")(e)),
    }
}

/// The open files of a round this part takes part in.
struct Round {
    /// `done`, opened read-write: the record and the lock.
    done: File,
    data: File,
}

/// Runs part `job.spec` of the join: joins (or starts) the round, writes
/// this part's range unless already done, marks it done, and publishes OUT
/// when every part is. `progress` is called with the bytes written so far.
pub fn run(job: &Job, progress: &mut dyn FnMut(u64)) -> crate::npy::Result<Report> {
    run_part(job, progress).map_err(Into::into)
}

fn run_part(job: &Job, progress: &mut dyn FnMut(u64)) -> Result<Report> {
    let p = Paths::new(job.output);
    let total = total_size(job);
    let k = job.spec.k as usize;
    let range = share(job.header.len() as u64, total, job.spec);
    let ours = fingerprint(job);
    let report = |status, wrote| Report {
        status,
        range,
        wrote,
    };
    for attempt in 0..ATTEMPTS {
        if attempt > 1 {
            // Something else is changing the round (being published,
            // removed): give it a moment.
            std::thread::sleep(std::time::Duration::from_millis(10 * attempt as u64));
        }
        let round = match enter(job, &p, &ours)? {
            Entered::Round(r) => r,
            Entered::Published => return Ok(report(Status::AlreadyPublished, false)),
            Entered::Again => continue,
        };
        // Is this part already done? (Read under the lock: see the module doc.)
        let Some(mut guard) = Guard::take(&round.done, &p.done)? else {
            continue;
        };
        let done = read_done(&round.done, &p, job.spec.n)?;
        guard.release();
        let mine = done[k - 1] == b'1';
        let mut wrote = false;
        if !mine && range.1 > range.0 {
            let len = round
                .data
                .metadata()
                .map_err(ioerr(&p.data, "cannot stat"))?;
            if len.len() != total {
                return Err(PartError::Broken {
                    staging: p.dir.clone(),
                    what: format!(
                        "its data file has {} bytes where {total} are planned",
                        len.len()
                    ),
                });
            }
            // Reserve the range's blocks first: writing into allocated
            // blocks costs less than allocating them block by block (a
            // hint; a rerun's bytes already written are kept).
            crate::npy::sys::preallocate(&round.data, range.0, range.1 - range.0);
            write_range(
                job.geo,
                job.inputs,
                job.header.len() as u64,
                range,
                &round.data,
                &p.data,
                job.sync,
                progress,
            )?;
            if job.sync {
                round
                    .data
                    .sync_data()
                    .map_err(ioerr(&p.data, "cannot sync"))?;
            }
            wrote = true;
        }
        // Mark done; publish when this completes the set.
        let Some(guard) = Guard::take(&round.done, &p.done)? else {
            // The round ended while we wrote (another run of this part
            // completed it): OUT is published, or we look again.
            if let OutState::Planned = out_state(job, &p.out)? {
                return Ok(report(Status::AlreadyPublished, wrote));
            }
            continue;
        };
        let mut done = read_done(&round.done, &p, job.spec.n)?;
        if done[k - 1] != b'1' {
            done[k - 1] = b'1';
            round
                .done
                .write_all_at(b"1", (k - 1) as u64)
                .map_err(ioerr(&p.done, "cannot write"))?;
            if job.sync {
                round
                    .done
                    .sync_data()
                    .map_err(ioerr(&p.done, "cannot sync"))?;
            }
        }
        let missing: Vec<u32> = (0..job.spec.n)
            .filter(|&i| done[i as usize] != b'1')
            .map(|i| i + 1)
            .collect();
        if !missing.is_empty() {
            drop(guard);
            return Ok(report(Status::Waiting { missing }, wrote));
        }
        publish(job, &p, &round)?;
        drop(guard);
        return Ok(report(Status::Published, wrote));
    }
    Err(PartError::Unsettled { staging: p.dir })
}

enum Entered {
    Round(Round),
    /// OUT is this join's result and no round is open.
    Published,
    /// The round changed under us: look again.
    Again,
}

/// Finds the round and checks it is ours, or starts one.
fn enter(job: &Job, p: &Paths, ours: &Value) -> Result<Entered> {
    let rw = |path: &Path| OpenOptions::new().read(true).write(true).open(path);
    let bytes = match fs::read(&p.plan) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // No round, or one whose publisher died while removing it
            // (`done` goes last): finish that, or start a round.
            match rw(&p.done) {
                Ok(done) => return finish_clean_up(job, p, &done),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ioerr(&p.done, "cannot open")(e)),
            }
            match out_state(job, &p.out)? {
                OutState::Planned => {
                    let _ = fs::remove_dir(&p.dir);
                    return Ok(Entered::Published);
                }
                OutState::Other if !job.force => {
                    return Err(PartError::Exists {
                        path: p.out.clone(),
                    })
                }
                _ => {}
            }
            start_round(job, p, ours)?;
            return Ok(Entered::Again);
        }
        Err(e) => return Err(ioerr(&p.plan, "cannot read")(e)),
    };
    let theirs: Value = serde_json::from_slice(&bytes).map_err(|e| PartError::Broken {
        staging: p.dir.clone(),
        what: format!("its plan.json is not readable JSON ({e})"),
    })?;
    if let Some(what) = difference(ours, &theirs) {
        return Err(PartError::Mismatch {
            staging: p.dir.clone(),
            what,
        });
    }
    let done = match rw(&p.done) {
        Ok(f) => f,
        // `plan.json` is removed before `done`: never so in a round.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(PartError::Broken {
                staging: p.dir.clone(),
                what: "its done file is missing".into(),
            })
        }
        Err(e) => return Err(ioerr(&p.done, "cannot open")(e)),
    };
    match rw(&p.data) {
        Ok(data) => Ok(Entered::Round(Round { done, data })),
        // Published (renamed to OUT), and being removed or left half
        // removed by a publisher that died.
        Err(e) if e.kind() == io::ErrorKind::NotFound => finish_clean_up(job, p, &done),
        Err(e) => Err(ioerr(&p.data, "cannot open")(e)),
    }
}

/// The staging directory lost its data file or `plan.json`, which only a
/// publication does: once OUT is this join's result, removes the rest.
fn finish_clean_up(job: &Job, p: &Paths, done: &File) -> Result<Entered> {
    let Some(guard) = Guard::take(done, &p.done)? else {
        return Ok(Entered::Again);
    };
    match out_state(job, &p.out)? {
        OutState::Planned => {
            clean_up(p)?;
            drop(guard);
            Ok(Entered::Published)
        }
        // A round that appeared whole between our look at plan.json and our
        // open of `done` (another part started it just then): join it.
        _ if p.plan.exists() && p.data.exists() => Ok(Entered::Again),
        // A round being prepared never shows: it appears whole.
        _ => Err(PartError::Broken {
            staging: p.dir.clone(),
            what: "its data file or plan.json is missing and OUT was not published".into(),
        }),
    }
}

/// Prepares a round in a private directory and renames it into place (the
/// rename, synced, is the only sync).
/// Losing the race to another part is not an error: the caller looks again.
fn start_round(job: &Job, p: &Paths, plan: &Value) -> Result<()> {
    let parent = parent_dir(&p.dir);
    let prefix = format!(
        "{}.tmp-",
        p.dir.file_name().unwrap_or_default().to_string_lossy()
    );
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .map_err(ioerr(&p.dir, "cannot create"))?;
    let t = tmp.path();
    let write = |name: &str, bytes: &[u8], len: Option<u64>| -> Result<()> {
        let path = t.join(name);
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(ioerr(&p.dir, "cannot create the staging files"))?;
        f.write_all_at(bytes, 0)
            .map_err(ioerr(&p.dir, "cannot write the staging files"))?;
        if let Some(len) = len {
            f.set_len(len)
                .map_err(ioerr(&p.dir, "cannot size the staging data file"))?;
        }
        Ok(())
    };
    let plan_bytes = serde_json::to_vec(plan).expect("JSON of plain values");
    write("data", &[], Some(total_size(job)))?;
    let mut zeros = vec![b'0'; job.spec.n as usize];
    zeros.push(b'\n');
    write("done", &zeros, None)?;
    write("plan.json", &plan_bytes, None)?;
    // Not synced: what matters after a power loss is that a `1` in `done`
    // means durable data, which each part's own syncs ensure. A round lost
    // or torn by a power loss is either gone (parts start again) or fails
    // to read (the message says to delete it).
    match fs::rename(t, &p.dir) {
        Ok(()) => {
            // Now named `.OUT.npy-part`: nothing of it is ours to remove.
            let _ = tmp.keep();
            if job.sync {
                sync_parent(&p.dir)?;
            }
            Ok(())
        }
        // Another part's round is there (or being removed): look again.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EEXIST | libc::ENOTEMPTY | libc::ENOENT)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(ioerr(&p.dir, "cannot create the staging directory")(e)),
    }
}

/// Reads `done`: N bytes, `1` for each part done.
fn read_done(f: &File, p: &Paths, n: u32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            PartError::Broken {
                staging: p.dir.clone(),
                what: format!("its done file is shorter than the {n} parts planned"),
            }
        } else {
            ioerr(&p.done, "cannot read")(e)
        }
    })?;
    Ok(buf)
}

/// Publishes the data as OUT (the lock is held) and removes the staging
/// directory.
fn publish(job: &Job, p: &Paths, round: &Round) -> Result<()> {
    let data_id = round
        .data
        .metadata()
        .map_err(ioerr(&p.data, "cannot stat"))?;
    let existing = match fs::metadata(&p.out) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(ioerr(&p.out, "cannot stat")(e)),
    };
    // A publisher that died between its link and its unlink left OUT as
    // this very file: only the clean-up is left.
    let linked = existing
        .as_ref()
        .is_some_and(|m| (m.dev(), m.ino()) == (data_id.dev(), data_id.ino()));
    if !linked {
        if let Some(m) = &existing {
            if !job.force {
                return Err(PartError::Appeared {
                    path: p.out.clone(),
                });
            }
            round
                .data
                .set_permissions(m.permissions())
                .map_err(ioerr(&p.out, "cannot set permissions"))?;
        }
        round
            .data
            .write_all_at(job.header, 0)
            .map_err(ioerr(&p.data, "cannot write"))?;
        if job.sync {
            round
                .data
                .sync_all()
                .map_err(ioerr(&p.data, "cannot sync"))?;
        }
        if existing.is_some() {
            fs::rename(&p.data, &p.out)
                .map_err(ioerr(&p.out, "cannot rename the result into place"))?;
        } else {
            // A hard link never replaces a file that appeared meanwhile.
            match fs::hard_link(&p.data, &p.out) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(PartError::Appeared {
                        path: p.out.clone(),
                    })
                }
                // No hard links here (some FUSE filesystems): a rename, after
                // the check above.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EPERM | libc::EOPNOTSUPP | libc::ENOSYS)
                    ) =>
                {
                    fs::rename(&p.data, &p.out)
                        .map_err(ioerr(&p.out, "cannot rename the result into place"))?
                }
                Err(e) => return Err(ioerr(&p.out, "cannot link the result into place")(e)),
            }
        }
    }
    if job.sync {
        sync_parent(&p.out)?;
    }
    clean_up(p)
}

/// Removes the staging directory, `done` (the lock file) last, and any
/// staging directory a part left half made. The lock is held.
fn clean_up(p: &Paths) -> Result<()> {
    let gone = |r: io::Result<()>, path: &Path| match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ioerr(path, "cannot remove")(e)),
        _ => Ok(()),
    };
    if let Ok(entries) = fs::read_dir(&p.dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path != p.done {
                gone(fs::remove_file(&path), &path)?;
            }
        }
    }
    gone(fs::remove_file(&p.done), &p.done)?;
    gone(fs::remove_dir(&p.dir), &p.dir)?;
    let prefix = format!(
        "{}.tmp-",
        p.dir.file_name().unwrap_or_default().to_string_lossy()
    );
    if let Ok(entries) = fs::read_dir(parent_dir(&p.dir)) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    // Not synced: a removal lost to a power loss is finished by the next
    // part that looks (OUT, synced before, is what counts).
    Ok(())
}

/// An exclusive POSIX (`fcntl`) lock on the whole of `done`, released
/// when dropped. POSIX locks belong to the process: this one must be the
/// only descriptor of the file the process closes while it holds it.
struct Guard<'a> {
    file: &'a File,
    held: bool,
}

impl<'a> Guard<'a> {
    /// Waits for the lock; `None` when, once locked, `path` no longer names
    /// the file (the round was published and removed meanwhile).
    fn take(file: &'a File, path: &Path) -> Result<Option<Guard<'a>>> {
        fcntl_lock(file, libc::F_WRLCK as libc::c_short).map_err(|source| PartError::Lock {
            path: path.to_path_buf(),
            source,
        })?;
        let g = Guard { file, held: true };
        let held = file.metadata().map_err(ioerr(path, "cannot stat"))?;
        match fs::metadata(path) {
            Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => Ok(Some(g)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ioerr(path, "cannot stat")(e)),
        }
    }

    fn release(&mut self) {
        if self.held {
            let _ = fcntl_lock(self.file, libc::F_UNLCK as libc::c_short);
            self.held = false;
        }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// `fcntl(F_SETLKW)` over the whole file: waits for the lock.
fn fcntl_lock(file: &File, kind: libc::c_short) -> io::Result<()> {
    // SAFETY: `flock` is a plain C struct for which all-zero is valid.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0;
    loop {
        // SAFETY: a valid descriptor borrowed for the call and a pointer to
        // a live, initialised `flock`.
        let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLKW, &fl) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!("2/8".parse::<PartSpec>(), Ok(PartSpec { k: 2, n: 8 }));
        assert_eq!("1/1".parse::<PartSpec>(), Ok(PartSpec { k: 1, n: 1 }));
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/3", "1/", "/3", " 1/3"] {
            assert!(bad.parse::<PartSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shares_tile_the_data_on_aligned_offsets() {
        let cuts = |h: u64, t: u64, n: u32| -> Vec<(u64, u64)> {
            (1..=n).map(|k| share(h, t, PartSpec { k, n })).collect()
        };
        let total = 128 + 10 * ALIGN + 5;
        let c = cuts(128, total, 4);
        assert_eq!(c.first().unwrap().0, 128);
        assert_eq!(c.last().unwrap().1, total);
        for w in c.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert_eq!(w[0].1 % ALIGN, 0);
        }
        // About even: 10 MiB in 4 is 3, 3, 2 and 2 MiB (and the odd bytes).
        assert_eq!(c[0].1, 3 * ALIGN);
        assert_eq!(c[1].1, 6 * ALIGN);
        assert_eq!(c[2].1, 8 * ALIGN);
        // Tiny data: all of it falls to part 1.
        assert_eq!(cuts(128, 228, 3), vec![(128, 228), (228, 228), (228, 228)]);
        assert_eq!(cuts(128, 128, 2), vec![(128, 128), (128, 128)]);
        // The most parts, on a terabyte.
        let t = 128 + (1u64 << 40);
        let n = MAX_PARTS;
        assert_eq!(share(128, t, PartSpec { k: n, n }).1, t);
    }
}
