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
//! **Completion.** A part writes its range, syncs the data, then under the
//! lock sets its byte in `done` and syncs that. A part that finds its byte
//! already set writes nothing (rerunning a finished part changes nothing).
//! The part that sets the last byte publishes, still under the lock: header
//! at offset 0, sync, rename `data` to OUT (a hard link when OUT must not be
//! replaced), sync the directory, then remove the staging directory,
//! `done` last, so a part that still finds it can lock it and see the round
//! is over (and finish the removal if the publisher died during it).
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

use serde_json::{json, Value};

use super::io::{copy_range, resolve_link};
use super::join::{both_contiguous, transpose, Geometry, Order};

/// Cuts between parts fall on multiples of this in the output file: 1 MiB,
/// the usual Lustre stripe and a multiple of every block size.
pub const ALIGN: u64 = 1 << 20;
/// The most parts a join may be cut into.
pub const MAX_PARTS: u32 = 1_000_000;
/// Output buffer for small runs.
const BUF: usize = 4 << 20;
/// Runs at least this long are copied by the kernel.
const BIG: u64 = 1 << 20;
/// Per-input read buffer when interleaving.
const SCRATCH: usize = 1 << 20;
/// Writeback of the data is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;
/// Inputs kept open while a range is written; beyond, each is reopened.
const KEEP_OPEN: usize = 256;
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
    pub fortran: bool,
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
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(ioerr(&dir, "cannot sync the directory"))
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
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

/// The plan's fingerprint, as `plan.json` holds it.
fn fingerprint(job: &Job) -> Value {
    let out_name = job
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let inputs: Vec<Value> = job
        .inputs
        .iter()
        .map(|i| {
            json!([
                i.path.to_string_lossy(),
                i.size,
                i.data_offset,
                i.axis_len,
                i.fortran
            ])
        })
        .collect();
    json!({
        "npy_part": PROTOCOL,
        "parts": job.spec.n,
        "output": out_name,
        "axis": job.geo.axis,
        "sort": job.sort,
        "result": header_dict(job.header),
        "header_hex": hex(job.header),
        "size": total_size(job),
        "inputs": inputs,
    })
}

/// The dict of a header, for people reading `plan.json` or a message.
fn header_dict(header: &[u8]) -> String {
    let from = header.iter().position(|&b| b == b'{').unwrap_or(0);
    let to = header
        .iter()
        .rposition(|&b| b == b'}')
        .map_or(header.len(), |i| i + 1);
    String::from_utf8_lossy(&header[from..to.max(from)]).into_owned()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn total_size(job: &Job) -> u64 {
    job.header.len() as u64 + job.geo.data_bytes
}

/// The first difference between this part's plan and the round's, in words.
fn difference(ours: &Value, theirs: &Value) -> Option<String> {
    if ours["npy_part"] != theirs["npy_part"] {
        return Some(format!(
            "the round was started by another version of npy (staging layout {}, this is {})",
            theirs["npy_part"], ours["npy_part"]
        ));
    }
    if ours["parts"] != theirs["parts"] {
        return Some(format!(
            "N differs: --part K/{} here, K/{} in the round",
            ours["parts"], theirs["parts"]
        ));
    }
    if ours["output"] != theirs["output"] {
        return Some(format!(
            "output name differs: {} here, {} in the round",
            ours["output"], theirs["output"]
        ));
    }
    if ours["axis"] != theirs["axis"] {
        return Some(format!(
            "the axis differs: --axis {} here, --axis {} in the round",
            ours["axis"], theirs["axis"]
        ));
    }
    if ours["sort"] != theirs["sort"] {
        let s = |v: &Value| match v.as_str() {
            Some(s) => format!("--sort {s}"),
            None => "no --sort".to_string(),
        };
        return Some(format!(
            "the sort differs: {} here, {} in the round",
            s(&ours["sort"]),
            s(&theirs["sort"])
        ));
    }
    let empty = Vec::new();
    let a = ours["inputs"].as_array().unwrap_or(&empty);
    let b = theirs["inputs"].as_array().unwrap_or(&empty);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x == y {
            continue;
        }
        let name = |v: &Value| v[0].as_str().unwrap_or("?").to_string();
        let n = i + 1;
        if x[0] != y[0] {
            return Some(format!(
                "input {n} is {} here, {} in the round",
                name(x),
                name(y)
            ));
        }
        if x[1] != y[1] {
            return Some(format!(
                "input {n} ({}) has {} bytes here, {} in the round",
                name(x),
                x[1],
                y[1]
            ));
        }
        return Some(format!(
            "input {n} ({}) has another header here than in the round (its shape or memory \
             order changed)",
            name(x)
        ));
    }
    if a.len() != b.len() {
        return Some(format!("{} inputs here, {} in the round", a.len(), b.len()));
    }
    if ours["header_hex"] != theirs["header_hex"] || ours["size"] != theirs["size"] {
        return Some(format!(
            "the result differs: {} here, {} in the round",
            ours["result"].as_str().unwrap_or("?"),
            theirs["result"].as_str().unwrap_or("?")
        ));
    }
    (ours != theirs).then(|| "plan.json differs from this part's plan".to_string())
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
pub fn run(job: &Job, progress: &mut dyn FnMut(u64)) -> Result<Report> {
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

/// The inputs' files, opened as needed (kept open when few), and the
/// transposed copies of those that need one.
struct Sources<'a> {
    inputs: &'a [Input],
    open: Vec<Option<File>>,
    keep: bool,
    /// The input last opened, when not all are kept.
    current: Option<(usize, File)>,
    /// Offsets in `staging` of inputs transposed into it.
    staged: Vec<Option<u64>>,
    staging: Option<File>,
}

impl<'a> Sources<'a> {
    fn new(inputs: &'a [Input]) -> Sources<'a> {
        Sources {
            inputs,
            open: (0..inputs.len()).map(|_| None).collect(),
            keep: inputs.len() <= KEEP_OPEN,
            current: None,
            staged: vec![None; inputs.len()],
            staging: None,
        }
    }

    fn open_input(&self, i: usize) -> Result<File> {
        let inp = &self.inputs[i];
        let f = File::open(&inp.path).map_err(ioerr(&inp.path, "cannot open"))?;
        let m = f.metadata().map_err(ioerr(&inp.path, "cannot stat"))?;
        if m.len() != inp.size {
            return Err(PartError::Changed {
                path: inp.path.clone(),
            });
        }
        Ok(f)
    }

    /// Input `i`'s bytes in the result's memory order: the file, and the
    /// offset of its first block.
    fn get(&mut self, i: usize) -> Result<(&File, u64)> {
        if let (Some(off), Some(f)) = (self.staged[i], &self.staging) {
            return Ok((f, off));
        }
        let off = self.inputs[i].data_offset;
        if self.keep {
            if self.open[i].is_none() {
                self.open[i] = Some(self.open_input(i)?);
            }
            return Ok((self.open[i].as_ref().expect("just opened"), off));
        }
        if self.current.as_ref().map(|c| c.0) != Some(i) {
            self.current = Some((i, self.open_input(i)?));
        }
        Ok((&self.current.as_ref().expect("just opened").1, off))
    }
}

/// The output's run layout: each input's block and where it starts in a row.
struct Runs {
    /// Bytes of one outer index of the result.
    row: u64,
    block: Vec<u64>,
    /// Offset of each input's block within a row.
    start: Vec<u64>,
}

impl Runs {
    fn new(geo: &Geometry, inputs: &[Input]) -> Runs {
        let block: Vec<u64> = inputs.iter().map(|i| geo.block(i.axis_len)).collect();
        let mut start = Vec::with_capacity(block.len());
        let mut at = 0u64;
        for b in &block {
            start.push(at);
            at += b;
        }
        Runs {
            row: geo.row,
            block,
            start,
        }
    }

    /// Whether some run of input `i` falls in data range [lo, hi).
    fn touches(&self, i: usize, lo: u64, hi: u64) -> bool {
        let b = self.block[i];
        if b == 0 || lo >= hi {
            return false;
        }
        let (o1, o2) = (lo / self.row, (hi - 1) / self.row);
        if o2 > o1 + 1 {
            return true;
        }
        [o1, o2].iter().any(|&o| {
            let s = o * self.row + self.start[i];
            s < hi && s + b > lo
        })
    }
}

/// Whether input `inp`'s bytes are in the other memory order than the
/// result's and must be transposed: the rule `join::execute` applies.
fn needs_transpose(geo: &Geometry, inp: &Input) -> bool {
    let mut shape = geo.joined.clone();
    shape[geo.axis] = inp.axis_len;
    geo.data_bytes > 0
        && inp.fortran != (geo.order == Order::F)
        && !both_contiguous(&shape)
        && geo.outer.saturating_mul(geo.block(inp.axis_len)) > 0
}

/// Transposes, into one unnamed temporary file, every input that needs it
/// and has a run in data range [lo, hi) (each is at most
/// `join::TRANSPOSE_MAX` bytes: the plan refused larger ones).
fn stage(geo: &Geometry, runs: &Runs, src: &mut Sources, lo: u64, hi: u64) -> Result<()> {
    let isz = geo.layout.itemsize();
    let mut at = 0u64;
    for (i, inp) in src.inputs.iter().enumerate() {
        if !needs_transpose(geo, inp) || !runs.touches(i, lo, hi) {
            continue;
        }
        let n = geo.outer * geo.block(inp.axis_len);
        let mut bytes = vec![0u8; n as usize];
        let (f, off) = src.get(i)?;
        f.read_exact_at(&mut bytes, off)
            .map_err(ioerr(&inp.path, "cannot read"))?;
        let mut shape = geo.joined.clone();
        shape[geo.axis] = inp.axis_len;
        // C-order bytes of a shape are the Fortran-order bytes of its
        // reverse, so one transpose serves both ways.
        if !inp.fortran {
            shape.reverse();
        }
        let t = transpose(&bytes, &shape, isz);
        let tmp = Path::new("temporary file");
        if src.staging.is_none() {
            src.staging = Some(tempfile::tempfile().map_err(ioerr(tmp, "cannot create"))?);
        }
        let s = src.staging.as_ref().expect("just made");
        s.write_all_at(&t, at).map_err(ioerr(tmp, "cannot write"))?;
        src.staged[i] = Some(at);
        at += n;
    }
    Ok(())
}

/// Positioned writes into the output through one buffer; long runs go from
/// file to file in the kernel.
struct Writer<'a> {
    file: &'a File,
    name: &'a Path,
    buf: Vec<u8>,
    /// Output file offset of `buf[0]`.
    pos: u64,
    first: u64,
    kicked: u64,
    durable: bool,
    progress: &'a mut dyn FnMut(u64),
}

impl Writer<'_> {
    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.buf, self.pos)
            .map_err(ioerr(self.name, "cannot write"))?;
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        self.advanced();
        Ok(())
    }

    fn advanced(&mut self) {
        (self.progress)(self.pos - self.first);
        if !self.durable || self.pos - self.kicked < WRITEBACK_STEP {
            return;
        }
        // SAFETY: a plain syscall on a descriptor borrowed for its duration;
        // it only starts asynchronous writeback, and its failure is harmless
        // (the sync before marking the part done is what counts).
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                self.kicked as libc::off64_t,
                (self.pos - self.kicked) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        self.kicked = self.pos;
    }

    /// Appends `len` bytes of `src` (named `name`) from `off`.
    fn copy(&mut self, src: &File, name: &Path, off: u64, len: u64) -> Result<()> {
        if len >= BIG {
            self.flush()?;
            let pos = self.pos;
            copy_range(src, off, self.file, pos, len, &mut |_| {}).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    ioerr(name, "cannot read")(e)
                } else {
                    ioerr(self.name, "cannot copy into it")(e)
                }
            })?;
            self.pos += len;
            self.advanced();
            return Ok(());
        }
        if self.buf.len() + len as usize > BUF {
            self.flush()?;
        }
        let at = self.buf.len();
        self.buf.resize(at + len as usize, 0);
        src.read_exact_at(&mut self.buf[at..], off)
            .map_err(ioerr(name, "cannot read"))
    }
}

/// Writes output file range `range` of the join `geo` plans (whose data
/// starts at `header_len`) into `out`: the runs that fall in it, cut at its
/// ends. Ranges that tile the data give, together, exactly what
/// `join::execute` writes after the header.
#[allow(clippy::too_many_arguments)]
pub fn write_range(
    geo: &Geometry,
    inputs: &[Input],
    header_len: u64,
    range: (u64, u64),
    out: &File,
    out_name: &Path,
    durable: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let (lo, hi) = (range.0 - header_len, range.1 - header_len);
    if lo >= hi || geo.data_bytes == 0 {
        return Ok(());
    }
    let runs = Runs::new(geo, inputs);
    let mut src = Sources::new(inputs);
    if geo.transposes {
        stage(geo, &runs, &mut src, lo, hi)?;
    }
    let mut w = Writer {
        file: out,
        name: out_name,
        buf: Vec::with_capacity(BUF),
        pos: range.0,
        first: range.0,
        kicked: range.0,
        durable,
        progress,
    };
    let row = runs.row;
    let batch_rows = (BUF as u64 / row).max(1);
    let mut scratch: Vec<u8> = Vec::new();
    let mut x = lo;
    while x < hi {
        let o = x / row;
        let r0 = o * row;
        if x == r0 && row < (BUF / 2) as u64 && hi - x >= row {
            // Whole small rows: one read per input per batch, scattered into
            // the buffer, then one write.
            let m = batch_rows.min((hi - x) / row);
            w.flush()?;
            w.buf.resize((m * row) as usize, 0);
            for (i, inp) in inputs.iter().enumerate() {
                let inner = runs.block[i] as usize;
                if inner == 0 {
                    continue;
                }
                let col = runs.start[i] as usize;
                let (f, base) = src.get(i)?;
                let per_read = (SCRATCH / inner).max(1) as u64;
                let mut done = 0u64;
                while done < m {
                    let n = per_read.min(m - done);
                    scratch.resize(n as usize * inner, 0);
                    f.read_exact_at(&mut scratch, base + (o + done) * inner as u64)
                        .map_err(ioerr(&inp.path, "cannot read"))?;
                    for j in 0..n as usize {
                        let d = (done as usize + j) * row as usize + col;
                        w.buf[d..d + inner].copy_from_slice(&scratch[j * inner..(j + 1) * inner]);
                    }
                    done += n;
                }
            }
            w.flush()?;
            x += m * row;
            continue;
        }
        // Part of one row, or one large row: its runs one by one.
        let end = hi.min(r0 + row);
        let (a, b) = (x - r0, end - r0);
        let first = runs.start.partition_point(|&s| s <= a).saturating_sub(1);
        for (i, inp) in inputs.iter().enumerate().skip(first) {
            let (s, len) = (runs.start[i], runs.block[i]);
            if s >= b {
                break;
            }
            let (from, to) = (a.max(s), b.min(s + len));
            if from >= to {
                continue;
            }
            let (f, base) = src.get(i)?;
            w.copy(f, &inp.path, base + o * len + (from - s), to - from)?;
        }
        x = end;
    }
    w.flush()?;
    if w.pos != range.1 {
        return Err(PartError::Broken {
            staging: out_name.to_path_buf(),
            what: format!(
                "wrote up to offset {} where {} was planned (inputs changed?)",
                w.pos, range.1
            ),
        });
    }
    Ok(())
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
    use crate::npy::join::{execute, Mode, Part, Parts, Planner, Sink};
    use crate::npy::{pylit, read_header, Layout};
    use crate::progress::Progress;

    /// The inputs of `execute`, read from the files themselves.
    struct Files(Vec<(File, PathBuf, Input)>);

    impl Parts for Files {
        fn visit(
            &mut self,
            f: &mut dyn FnMut(Part<'_>) -> anyhow::Result<()>,
        ) -> anyhow::Result<()> {
            for (file, path, i) in &self.0 {
                f(Part {
                    file,
                    name: path,
                    data_offset: i.data_offset,
                    axis_len: i.axis_len,
                    fortran: i.fortran,
                })?;
            }
            Ok(())
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Joins `shapes` (with their orders) along `axis` with `execute`, then
    /// with `write_range` over random cuts, and compares.
    fn check(dir: &Path, shapes: &[(&[u64], bool)], axis: i64, rng: &mut Rng) {
        let mut files = Vec::new();
        let mut planner: Option<Planner> = None;
        let mut fill = 0u8;
        for (n, (shape, fortran)) in shapes.iter().enumerate() {
            let l = Layout::new(pylit::parse("'<u2'").unwrap(), *fortran, shape.to_vec()).unwrap();
            let mut bytes = l.to_npy_header();
            for _ in 0..l.data_bytes().unwrap() {
                fill = fill.wrapping_add(1).wrapping_mul(7).wrapping_add(n as u8);
                bytes.push(fill);
            }
            let path = dir.join(format!("in{n}.npy"));
            fs::write(&path, &bytes).unwrap();
            let h = read_header(&mut File::open(&path).unwrap())
                .unwrap()
                .unwrap();
            let p =
                planner.get_or_insert_with(|| Planner::new(Mode::Concatenate(axis), &h).unwrap());
            p.add(&h, n as u64).unwrap();
            let input = Input {
                path: path.clone(),
                size: bytes.len() as u64,
                data_offset: h.header_len,
                axis_len: p.axis_len(&h.shape),
                fortran: h.fortran_order,
            };
            files.push((File::open(&path).unwrap(), path, input));
        }
        let geo = planner.unwrap().finish().unwrap();
        let header = geo.layout.to_npy_header();
        let want_path = dir.join("want.npy");
        let want_file = File::create(&want_path).unwrap();
        let mut quiet = Progress::bytes(0, true, "");
        let mut parts = Files(files);
        execute(
            &header,
            &geo,
            &mut parts,
            Sink::File {
                file: &want_file,
                durable: false,
            },
            "want",
            &mut quiet,
        )
        .unwrap();
        let want = fs::read(&want_path).unwrap();
        let inputs: Vec<Input> = parts.0.iter().map(|x| x.2.clone()).collect();
        let h = header.len() as u64;
        let total = want.len() as u64;
        for _ in 0..6 {
            // Random cuts (not aligned), in random order.
            let n = 1 + rng.next() % 7;
            let mut c: Vec<u64> = (0..n - 1)
                .map(|_| h + rng.next() % (total - h + 1))
                .collect();
            c.push(h);
            c.push(total);
            c.sort();
            let got_path = dir.join("got.npy");
            let got = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&got_path)
                .unwrap();
            got.set_len(total).unwrap();
            got.write_all_at(&header, 0).unwrap();
            let mut order: Vec<usize> = (0..c.len() - 1).collect();
            order.sort_by_key(|_| rng.next());
            for j in order {
                write_range(
                    &geo,
                    &inputs,
                    h,
                    (c[j], c[j + 1]),
                    &got,
                    &got_path,
                    false,
                    &mut |_| {},
                )
                .unwrap();
            }
            assert!(
                fs::read(&got_path).unwrap() == want,
                "{shapes:?} axis {axis} cuts {c:?}"
            );
        }
    }

    #[test]
    fn ranges_of_every_join_tile_it_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        // Along the growth axis, C and Fortran.
        check(
            d,
            &[(&[3, 5], false), (&[4, 5], false), (&[1, 5], false)],
            0,
            &mut rng,
        );
        check(d, &[(&[5, 3], true), (&[5, 4], true)], 1, &mut rng);
        // Interleaved: small rows (batched) and large rows (run by run).
        check(
            d,
            &[
                (&[40, 3, 2], false),
                (&[40, 1, 2], false),
                (&[40, 5, 2], false),
            ],
            1,
            &mut rng,
        );
        check(
            d,
            &[(&[2, 700_000], false), (&[2, 500_000], false)],
            1,
            &mut rng,
        );
        check(d, &[(&[6, 7], true), (&[2, 7], true)], 0, &mut rng);
        // Mixed orders: transposed inputs.
        check(
            d,
            &[(&[4, 6], false), (&[3, 6], true), (&[2, 6], false)],
            0,
            &mut rng,
        );
        check(d, &[(&[6, 4], true), (&[6, 3], false)], 1, &mut rng);
        // Zero-length pieces along the axis.
        check(
            d,
            &[(&[4, 0], false), (&[4, 3], false), (&[4, 0], false)],
            1,
            &mut rng,
        );
    }
}
