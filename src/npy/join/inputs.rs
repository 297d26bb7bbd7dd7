//! The inputs of `npy concat`: every file (or `.npz` member) opened and
//! checked before anything is written, kept open (or reopened and checked
//! to be the same file, beyond [`KEEP_OPEN`]) until its bytes are copied.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::npy::error::{Error, IoResultExt, Result, ResultExt};

use super::{Mode, Part, Parts, Planner};
use crate::npy::io::{open_input, Dest};
use crate::npy::scan::{advice, scan_file, scan_settled, FileStatus, Use};

/// Inputs kept open between the check and the copy; beyond this many each
/// file is opened again when its turn comes (and checked to be the same file).
pub const KEEP_OPEN: usize = 256;

/// What is kept of an input between the check and the copy.
pub struct Input {
    pub data_offset: u64,
    pub axis_len: u64,
    pub fortran_order: bool,
    /// (device, inode).
    pub id: (u64, u64),
    pub len: u64,
    /// A deflated archive member, inflated into an unnamed temporary file:
    /// kept open, as it cannot be opened again.
    pub held: Option<File>,
}

/// The inputs of a join of files, in order, as [`Parts`].
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    pub info: Vec<Input>,
    pub open: Vec<File>,
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
                    reopened = File::open(on_disk).doing("cannot open").at(path)?;
                    let m = reopened.metadata()?;
                    if (m.dev(), m.ino()) != inp.id || m.len() != inp.len {
                        return Err(Error::invalid("changed while being joined").at(path));
                    }
                    &reopened
                }
            };
            f(Part {
                file,
                name: path,
                data_offset: inp.data_offset,
                axis_len: inp.axis_len,
                fortran_order: inp.fortran_order,
            })?;
        }
        Ok(())
    }
}

/// Opens and checks every input of a concatenation along `axis` (files,
/// `A.npz:NAME` members; OUTPUT among them is the file `dest` holds locked)
/// and plans the join, before anything is written.
pub fn check_inputs(paths: Vec<PathBuf>, axis: i64, dest: &Dest) -> Result<(Inputs, Planner)> {
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
            return Err(Error::invalid(
                "reading an input from stdin is not supported (name a file)",
            )
            .at(path));
        }
        // `A.npz:NAME`: the member's bytes, a range of the archive (stored)
        // or an inflated temporary copy (deflated).
        let (file, base, meta, scan, held) = match crate::npy::npz::locate(path)? {
            Some(l) => {
                let meta = l.file.metadata().doing("cannot stat").at(path)?;
                let scan = crate::npy::npz::scan_range(&l.file, l.offset, l.len).at(path)?;
                (l.file, l.offset, meta, scan, l.compressed)
            }
            None => {
                // A FIFO or `<(...)` is spooled to a temporary file (see io).
                let file = open_input(path)?;
                let meta = file.metadata().doing("cannot stat").at(path)?;
                // OUTPUT as an input is already locked by us: no append is in
                // flight in it, and waiting for one would wait for ourselves.
                let scan = if dest.is(&file) {
                    scan_file(&file)
                } else {
                    scan_settled(&file)
                }
                .at(path)?;
                (file, 0, meta, scan, false)
            }
        };
        if scan.status != FileStatus::Ok {
            let why = advice(&name.to_string(), &scan, Use::Report)
                .unwrap_or_else(|| scan.status.as_str().to_string());
            return Err(Error::invalid(why).at(path));
        }
        let h = &scan.header;
        let p = match &mut planner {
            Some(p) => p,
            None => {
                let mut p = Planner::new(Mode::Concatenate(axis), h).at(path)?;
                p.name_first(name.to_string());
                planner.insert(p)
            }
        };
        p.add(h, i as u64).at(path)?;
        inputs.info.push(Input {
            data_offset: base + h.header_len,
            axis_len: p.axis_len(&h.shape),
            fortran_order: h.fortran_order,
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
    inputs.paths = paths;
    Ok((inputs, planner.expect("at least one input")))
}
