//! Writing one range of a join's output: the runs (one per input per outer
//! index, in the result's memory order) that fall in it, cut at its ends,
//! with `io::copy_shared` for long runs and one bounded buffer for short
//! ones, as `join::execute` writes the whole.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{ioerr, Input, PartError, Result};
use crate::npy::io::{copy_shared, CopyError};
use crate::npy::join::{both_contiguous, Geometry, Guarded, Order, Transposed};

/// Output buffer for small runs.
const BUF: usize = 4 << 20;
/// Runs at least this long are copied by the kernel.
const BIG: u64 = 1 << 20;
/// Per-input read buffer when interleaving.
const SCRATCH: usize = 1 << 20;
/// Writeback of the data is started every this many bytes.
const WRITEBACK_STEP: u64 = 8 << 20;
/// Buffer through which a transposed input is written to the staging file.
const STAGE_BUF: usize = 4 << 20;
/// Inputs kept open while a range is written; beyond, each is reopened.
const KEEP_OPEN: usize = 256;

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
        && inp.fortran_order != (geo.order == Order::F)
        && !both_contiguous(&shape)
        && geo.outer.saturating_mul(geo.block(inp.axis_len)) > 0
}

/// Transposes, into one unnamed temporary file, every input that needs it
/// and has a run in data range [lo, hi), out of core as a plain concat
/// does: the input is mapped (guarded against shrinking) and its bytes in
/// the result's order are produced tile by tile ([`Transposed`]) through a
/// bounded buffer, so memory stays flat at any size; the temporary file
/// needs the input's size on disk.
fn stage(geo: &Geometry, runs: &Runs, src: &mut Sources, lo: u64, hi: u64) -> Result<()> {
    let isz = geo.layout.itemsize() as usize;
    let tmp = Path::new("temporary file");
    let mut at = 0u64;
    let mut buf = Vec::new();
    for (i, inp) in src.inputs.iter().enumerate() {
        if !needs_transpose(geo, inp) || !runs.touches(i, lo, hi) {
            continue;
        }
        let n = geo.outer * geo.block(inp.axis_len);
        let (f, off) = src.get(i)?;
        let map = Guarded::map(f, off, n).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                PartError::Changed {
                    path: inp.path.clone(),
                }
            } else {
                ioerr(&inp.path, "cannot map")(e)
            }
        })?;
        map.sequential();
        let mut shape = geo.joined.clone();
        shape[geo.axis] = inp.axis_len;
        // C-order bytes of a shape are the Fortran-order bytes of its
        // reverse, so one transpose serves both ways.
        if !inp.fortran_order {
            shape.reverse();
        }
        let t = Transposed::over(&map, &shape, isz);
        if src.staging.is_none() {
            src.staging = Some(tempfile::tempfile().map_err(ioerr(tmp, "cannot create"))?);
        }
        let s = src.staging.as_ref().expect("just made");
        let step = (STAGE_BUF / isz.max(1)).max(1) as u64 * isz as u64;
        let mut done = 0u64;
        while done < n {
            let len = step.min(n - done) as usize;
            buf.resize(len, 0);
            t.read(done, &mut buf).map_err(|_| PartError::Changed {
                path: inp.path.clone(),
            })?;
            s.write_all_at(&buf, at + done)
                .map_err(ioerr(tmp, "cannot write"))?;
            done += len as u64;
        }
        src.staged[i] = Some(at);
        at += n;
    }
    Ok(())
}

/// Positioned writes into the output through one buffer; long runs go from
/// file to file (`io::copy_shared`).
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
        // Only starts writeback; the sync before marking the part done is
        // what counts.
        crate::npy::sys::start_writeback(self.file, self.kicked, self.pos - self.kicked);
        self.kicked = self.pos;
    }

    /// Appends `len` bytes of `src` (named `name`) from `off`.
    fn copy(&mut self, src: &File, name: &Path, off: u64, len: u64) -> Result<()> {
        if len >= BIG {
            self.flush()?;
            let pos = self.pos;
            copy_shared(src, off, self.file, pos, len, &mut |_| {}).map_err(|e| match e {
                CopyError::Read(e) => ioerr(name, "cannot read")(e),
                CopyError::Kernel(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    ioerr(name, "cannot read")(e)
                }
                CopyError::Write(e) => ioerr(self.name, "cannot write")(e),
                CopyError::Kernel(e) => ioerr(self.name, "cannot copy into it")(e),
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
    use std::fs::{self, OpenOptions};
    use std::path::PathBuf;

    use super::*;
    use crate::npy::join::{execute, Mode, Part, Parts, Planner, Sink};
    use crate::npy::{pylit, read_header, Layout};

    /// The inputs of `execute`, read from the files themselves.
    struct Files(Vec<(File, PathBuf, Input)>);

    impl Parts for Files {
        fn visit(
            &mut self,
            f: &mut dyn FnMut(Part<'_>) -> crate::npy::Result<()>,
        ) -> crate::npy::Result<()> {
            for (file, path, i) in &self.0 {
                f(Part {
                    file,
                    name: path,
                    data_offset: i.data_offset,
                    axis_len: i.axis_len,
                    fortran_order: i.fortran_order,
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

    /// Writes inputs of `shapes` (distinct bytes) into `dir` and plans
    /// their join along `axis`.
    #[allow(clippy::type_complexity)]
    fn planned(
        dir: &Path,
        shapes: &[(&[u64], bool)],
        axis: i64,
    ) -> (Geometry, Vec<u8>, Vec<(File, PathBuf, Input)>) {
        let mut files = Vec::new();
        let mut planner: Option<Planner> = None;
        let mut fill = 0u8;
        for (n, (shape, fortran_order)) in shapes.iter().enumerate() {
            let l = Layout::new(
                pylit::parse("'<u2'").unwrap(),
                *fortran_order,
                shape.to_vec(),
            )
            .unwrap();
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
                fortran_order: h.fortran_order,
            };
            files.push((File::open(&path).unwrap(), path, input));
        }
        let geo = planner.unwrap().finish().unwrap();
        let header = geo.layout.to_npy_header();
        (geo, header, files)
    }

    /// Joins `shapes` (with their orders) along `axis` with `execute`, then
    /// with `write_range` over random cuts, and compares.
    fn check(dir: &Path, shapes: &[(&[u64], bool)], axis: i64, rng: &mut Rng) {
        let (geo, header, files) = planned(dir, shapes, axis);
        let want_path = dir.join("want.npy");
        let want_file = File::create(&want_path).unwrap();
        let mut quiet = ();
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
