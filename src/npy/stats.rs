//! Summary statistics of an array's values in one streaming pass: count,
//! NaN and ±Inf counts, min and max ignoring NaN (as `np.nanmin` and
//! `np.nanmax`, so infinities count), and the mean and population standard
//! deviation of the finite values, over the whole array or per position of
//! the dimensions after the first (`--axis 0`).
//!
//! Accuracy: values are taken as doubles (as numpy's float64 reductions
//! take them). Each block of a few thousand values is reduced in two passes
//! (mean, then squared deviations with the rounding correction), and blocks
//! are merged with Chan et al.'s pairwise update into Neumaier-compensated
//! sums, so a large offset with a small spread loses nothing and the result
//! agrees with numpy's two-pass float64 `mean`/`std` to about 1e-15.
//!
//! Speed and memory: the data is mapped window by window (32 MiB each,
//! unmapped after use) and each window is split between threads; every
//! thread keeps its own accumulators, merged at the end.

use super::elem::{self, Elem, Kind, Val};
use super::index::Selection;
use super::view::{ravel, unravel, View};

/// Runs `$body` with `$E` the [`Elem`] type of a real kind.
macro_rules! by_type {
    ($kind:expr, $E:ident => $body:expr) => {
        match $kind {
            Kind::Bool => {
                type $E = elem::Bool;
                $body
            }
            Kind::Int { signed, size, big } => match (signed, size, big) {
                (true, 1, _) => {
                    type $E = elem::I8;
                    $body
                }
                (false, 1, _) => {
                    type $E = elem::U8;
                    $body
                }
                (true, 2, false) => {
                    type $E = elem::I16le;
                    $body
                }
                (true, 2, true) => {
                    type $E = elem::I16be;
                    $body
                }
                (false, 2, false) => {
                    type $E = elem::U16le;
                    $body
                }
                (false, 2, true) => {
                    type $E = elem::U16be;
                    $body
                }
                (true, 4, false) => {
                    type $E = elem::I32le;
                    $body
                }
                (true, 4, true) => {
                    type $E = elem::I32be;
                    $body
                }
                (false, 4, false) => {
                    type $E = elem::U32le;
                    $body
                }
                (false, 4, true) => {
                    type $E = elem::U32be;
                    $body
                }
                (true, _, false) => {
                    type $E = elem::I64le;
                    $body
                }
                (true, _, true) => {
                    type $E = elem::I64be;
                    $body
                }
                (false, _, false) => {
                    type $E = elem::U64le;
                    $body
                }
                (false, _, true) => {
                    type $E = elem::U64be;
                    $body
                }
            },
            Kind::Float { size, big } => match (size, big) {
                (2, false) => {
                    type $E = elem::F16<false>;
                    $body
                }
                (2, true) => {
                    type $E = elem::F16<true>;
                    $body
                }
                (4, false) => {
                    type $E = elem::F32le;
                    $body
                }
                (4, true) => {
                    type $E = elem::F32be;
                    $body
                }
                (_, false) => {
                    type $E = elem::F64le;
                    $body
                }
                (_, true) => {
                    type $E = elem::F64be;
                    $body
                }
            },
            _ => unreachable!("real_kind admits only bool, int and float"),
        }
    };
}

/// Values reduced in one two-pass block.
const BLOCK: usize = 4096;
/// Bytes mapped at a time.
const WINDOW: u64 = 32 << 20;

/// What to reduce over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Every element.
    All,
    /// Along axis 0: one result per position of the remaining dimensions.
    Zero,
}

/// Why stats cannot be computed.
#[derive(Debug)]
pub enum StatsError {
    /// Not a bool, integer or float type: the type in words.
    Unsupported(String),
    /// `--axis 0` of a 0-d array.
    NoAxis,
    Io(std::io::Error),
}

impl std::fmt::Display for StatsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatsError::Unsupported(t) => {
                write!(f, "stats needs bool, integer or float values, not {t}")
            }
            StatsError::NoAxis => write!(f, "a 0-d array has no axis 0"),
            StatsError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StatsError {}

/// A sum carried with its rounding error (Neumaier).
#[derive(Debug, Clone, Copy, Default)]
struct Comp {
    hi: f64,
    lo: f64,
}

impl Comp {
    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.hi + x;
        if self.hi.abs() >= x.abs() {
            self.lo += (self.hi - t) + x;
        } else {
            self.lo += (x - t) + self.hi;
        }
        self.hi = t;
    }
    fn value(&self) -> f64 {
        self.hi + self.lo
    }
}

/// Running statistics of one group of values.
#[derive(Debug, Clone, Copy)]
pub struct Acc {
    count: u64,
    nan: u64,
    inf: u64,
    /// Whether any non-NaN value was seen (min/max exist).
    seen: bool,
    fmin: f64,
    fmax: f64,
    imin: i128,
    imax: i128,
    /// Finite values: how many, their sum of deviations from `shift` (the
    /// first block's mean, so that a large common offset cancels exactly)
    /// and their sum of squared deviations from their mean.
    fin: u64,
    shift: f64,
    dev: Comp,
    m2: Comp,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            count: 0,
            nan: 0,
            inf: 0,
            seen: false,
            fmin: f64::INFINITY,
            fmax: f64::NEG_INFINITY,
            imin: i128::MAX,
            imax: i128::MIN,
            fin: 0,
            shift: 0.0,
            dev: Comp::default(),
            m2: Comp::default(),
        }
    }
}

impl Acc {
    /// Adds `n` finite values whose sum of deviations from `m` is `c` and
    /// sum of squared deviations from their own mean is `m2` (Chan et al.).
    fn add_finite(&mut self, n: u64, m: f64, c: f64, m2: f64) {
        if n == 0 {
            return;
        }
        if self.fin == 0 {
            self.fin = n;
            self.shift = m;
            self.dev = Comp::default();
            self.dev.add(c);
            self.m2 = Comp::default();
            self.m2.add(m2);
            return;
        }
        let (na, nb) = (self.fin as f64, n as f64);
        let off = m - self.shift;
        let delta = (off + c / nb) - self.dev.value() / na;
        self.m2.add(m2);
        self.m2.add(delta * delta * (na * nb / (na + nb)));
        self.dev.add(nb * off);
        self.dev.add(c);
        self.fin += n;
    }

    fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        self.nan += o.nan;
        self.inf += o.inf;
        if o.seen {
            self.seen = true;
            self.fmin = self.fmin.min(o.fmin);
            self.fmax = self.fmax.max(o.fmax);
            self.imin = self.imin.min(o.imin);
            self.imax = self.imax.max(o.imax);
        }
        if o.fin == 0 {
            return;
        }
        if self.fin == 0 {
            self.fin = o.fin;
            self.shift = o.shift;
            self.dev = o.dev;
            self.m2 = o.m2;
            return;
        }
        let (na, nb) = (self.fin as f64, o.fin as f64);
        let off = o.shift - self.shift;
        let delta = (off + o.dev.value() / nb) - self.dev.value() / na;
        self.m2.add(o.m2.hi);
        self.m2.add(o.m2.lo);
        self.m2.add(delta * delta * (na * nb / (na + nb)));
        self.dev.add(nb * off);
        self.dev.add(o.dev.hi);
        self.dev.add(o.dev.lo);
        self.fin += o.fin;
    }

    fn mean(&self) -> f64 {
        self.shift + self.dev.value() / self.fin as f64
    }
}

/// Reduces one block of at most [`BLOCK`] values (each item of `items`
/// starts with one element) into `acc`: the values are decoded once into a
/// buffer in cache, then reduced in two passes.
#[inline(always)]
fn block<'a, E: Elem, I: Iterator<Item = &'a [u8]>>(items: I, acc: &mut Acc) {
    let mut buf = [0f64; BLOCK];
    let mut n = 0usize;
    if E::INT {
        let (mut lo, mut hi) = (acc.imin, acc.imax);
        for (slot, b) in buf.iter_mut().zip(items) {
            let e = E::load(b);
            let i = e.i128();
            lo = lo.min(i);
            hi = hi.max(i);
            *slot = e.f64();
            n += 1;
        }
        acc.imin = lo;
        acc.imax = hi;
    } else {
        for (slot, b) in buf.iter_mut().zip(items) {
            *slot = E::load(b).f64();
            n += 1;
        }
    }
    reduce_values(&buf[..n], acc);
}

/// Lanes of independent partial sums: breaks the dependency chain of one
/// running sum and lets the compiler use SIMD.
const LANES: usize = 8;

/// Two passes over values in cache, without branches (the NaN and finite
/// tests become masks).
#[inline(always)]
fn reduce_values(v: &[f64], acc: &mut Acc) {
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let mut sum = [0f64; LANES];
    let mut fin = [0f64; LANES];
    let mut nan = [0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    let mut step = |j: usize, x: f64| {
        let f = x.is_finite();
        lo[j] = lo[j].min(x);
        hi[j] = hi[j].max(x);
        sum[j] += if f { x } else { 0.0 };
        fin[j] += f as u8 as f64;
        nan[j] += x.is_nan() as u8 as f64;
    };
    for c in chunks {
        for (j, &x) in c.iter().enumerate() {
            step(j, x);
        }
    }
    for (j, &x) in tail.iter().enumerate() {
        step(j, x);
    }
    let n = v.len() as u64;
    let nan = nan.iter().sum::<f64>() as u64;
    let k = fin.iter().sum::<f64>() as u64;
    acc.count += n;
    acc.nan += nan;
    acc.inf += n - nan - k;
    if n > nan {
        acc.seen = true;
        acc.fmin = lo.iter().fold(acc.fmin, |a, &b| a.min(b));
        acc.fmax = hi.iter().fold(acc.fmax, |a, &b| a.max(b));
    }
    if k == 0 {
        return;
    }
    let mean = sum.iter().sum::<f64>() / k as f64;
    let mut m2 = [0f64; LANES];
    let mut dev = [0f64; LANES];
    let mut step2 = |j: usize, x: f64| {
        let d = if x.is_finite() { x - mean } else { 0.0 };
        m2[j] += d * d;
        dev[j] += d;
    };
    for c in v.chunks_exact(LANES) {
        for (j, &x) in c.iter().enumerate() {
            step2(j, x);
        }
    }
    for (j, &x) in tail.iter().enumerate() {
        step2(j, x);
    }
    let (m2, c) = (m2.iter().sum::<f64>(), dev.iter().sum::<f64>());
    // The corrected two-pass formula: `c` is what rounding left of the mean.
    let m2 = (m2 - c * c / k as f64).max(0.0);
    acc.add_finite(k, mean, c, m2);
}

/// The result for one group of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub nan: u64,
    pub inf: u64,
    pub min: Option<Val>,
    pub max: Option<Val>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
}

/// Stats of a whole array, or of each position after axis 0.
#[derive(Debug, Clone)]
pub struct Report {
    /// The element type.
    pub kind: Kind,
    /// Shape of the result: `[]` for a whole array, the dimensions after
    /// the first for `--axis 0`.
    pub shape: Vec<u64>,
    /// One summary per result position, in C order.
    pub results: Vec<Summary>,
}

/// How the reduction groups walk the storage.
#[derive(Clone, Copy)]
enum Layout {
    /// Group `j` is the contiguous run `j*len..(j+1)*len` of storage.
    Runs { len: u64 },
    /// C-order rows of `cols` elements; group = column.
    Rows { cols: u64 },
}

/// Computes the stats of `view`. `threads` workers share each window;
/// `progress` is told the data bytes done so far.
pub fn compute(
    view: &View,
    axis: Axis,
    index: Option<&Selection>,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, StatsError> {
    compute_in_windows(view, axis, index, threads, WINDOW, progress)
}

/// [`compute`] with windows of about `window` bytes (tests use small ones
/// to exercise the merging of windows and threads).
fn compute_in_windows(
    view: &View,
    axis: Axis,
    index: Option<&Selection>,
    threads: usize,
    window: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, StatsError> {
    let kind = elem::real_kind(&view.header.dtype)
        .ok_or_else(|| StatsError::Unsupported(view.header.dtype.describe()))?;
    let selected = index.map(|s| s.shape.clone());
    let shape = selected.as_ref().unwrap_or(&view.header.shape);
    let (out_shape, groups, layout) = match axis {
        Axis::All => (vec![], 1, Layout::Runs { len: view.elements }),
        Axis::Zero => {
            if shape.is_empty() {
                return Err(StatsError::NoAxis);
            }
            let rest = shape[1..].to_vec();
            let r: u64 = rest.iter().product();
            // Fortran order stores each column as one contiguous run.
            let layout = if r <= 1 || view.header.fortran_order {
                Layout::Runs { len: shape[0] }
            } else {
                Layout::Rows { cols: r }
            };
            (rest, r, layout)
        }
    };
    let accs = match index {
        None => by_type!(kind, E => run::<E>(view, groups, layout, threads, window, progress)),
        Some(sel) => by_type!(kind, E => run_gather::<E>(view, sel, groups, progress)),
    }
    .map_err(StatsError::Io)?;
    // Runs of a Fortran-order file come in Fortran order of the remaining
    // dimensions; results are reported in C order.
    let fortran_runs =
        index.is_none() && matches!(layout, Layout::Runs { .. }) && out_shape.len() > 1;
    let mut results = vec![None; accs.len()];
    for (j, a) in accs.iter().enumerate() {
        let slot = if fortran_runs {
            ravel(&unravel(j as u64, &out_shape, true), &out_shape, false) as usize
        } else {
            j
        };
        results[slot] = Some(summarize(a, kind));
    }
    Ok(Report {
        kind,
        shape: out_shape,
        results: results
            .into_iter()
            .map(|s| s.expect("every slot"))
            .collect(),
    })
}

fn summarize(a: &Acc, kind: Kind) -> Summary {
    let val = |f: f64, i: i128| match kind {
        Kind::Bool => Val::Bool(i != 0),
        Kind::Int { .. } => Val::Int(i),
        Kind::Float { size, .. } => Val::Float(f, size * 8),
        _ => Val::Float(f, 64),
    };
    let fin = a.fin as f64;
    Summary {
        count: a.count,
        nan: a.nan,
        inf: a.inf,
        min: a.seen.then(|| val(a.fmin, a.imin)),
        max: a.seen.then(|| val(a.fmax, a.imax)),
        mean: (a.fin > 0).then(|| a.mean()),
        std: (a.fin > 0).then(|| (a.m2.value().max(0.0) / fin).sqrt()),
    }
}

/// The pass over the data for one element type.
fn run<E: Elem>(
    view: &View,
    groups: u64,
    layout: Layout,
    threads: usize,
    window: u64,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Vec<Acc>> {
    let isz = E::SIZE as u64;
    let total = view.elements;
    // Elements per window, a whole number of blocks (of rows, for Rows).
    let unit = match layout {
        Layout::Runs { .. } => BLOCK as u64,
        Layout::Rows { cols } => rows_per_block(cols) * cols,
    };
    let window = (window / isz / unit).max(1) * unit;
    // Threads only pay off past a few MiB (or when windows are small).
    let threads = if total * isz < (window * isz).min(4 << 20) {
        1
    } else {
        threads.max(1)
    };
    let mut per_thread: Vec<Vec<Acc>> = vec![vec![Acc::default(); groups as usize]; threads];
    let mut first = 0u64;
    while first < total {
        let count = window.min(total - first);
        let map = view.map(first, count)?;
        let bytes = map.bytes();
        // Split the window between threads at block boundaries.
        let units = count.div_ceil(unit);
        let per = units.div_ceil(threads as u64);
        std::thread::scope(|s| {
            for (t, accs) in per_thread.iter_mut().enumerate() {
                let lo = (t as u64 * per * unit).min(count);
                let hi = ((t as u64 + 1) * per * unit).min(count);
                if lo >= hi {
                    continue;
                }
                let part = &bytes[(lo * isz) as usize..(hi * isz) as usize];
                let start = first + lo;
                if t + 1 == threads {
                    reduce::<E>(part, start, layout, accs);
                } else {
                    s.spawn(move || reduce::<E>(part, start, layout, accs));
                }
            }
        });
        drop(map);
        first += count;
        progress(first * isz);
    }
    let mut out = per_thread.swap_remove(0);
    for other in &per_thread {
        for (a, b) in out.iter_mut().zip(other) {
            a.merge(b);
        }
    }
    Ok(out)
}

/// The pass for an indexed selection (`a[INDEX]`): its elements are
/// gathered in the result's C order from one mapping of the whole data, in
/// blocks of rows as [`Layout::Rows`] does; one thread.
fn run_gather<E: Elem>(
    view: &View,
    sel: &Selection,
    groups: u64,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Vec<Acc>> {
    let isz = E::SIZE;
    let mut accs = vec![Acc::default(); groups as usize];
    if groups == 0 || sel.is_empty() {
        return Ok(accs);
    }
    let map = view.map(0, view.elements)?;
    let bytes = map.bytes();
    let item = |p: &u64| &bytes[*p as usize * isz..(*p as usize + 1) * isz];
    let cols = groups as usize;
    let per = rows_per_block(groups) as usize * cols;
    let mut buf: Vec<u64> = Vec::with_capacity(per);
    let mut done = 0u64;
    let flush = |buf: &mut Vec<u64>, accs: &mut [Acc]| {
        for (c, acc) in accs.iter_mut().enumerate() {
            block::<E, _>(buf[c..].iter().step_by(cols).map(item), acc);
        }
        buf.clear();
    };
    for p in sel.positions() {
        buf.push(p);
        if buf.len() == per {
            flush(&mut buf, &mut accs);
            done += per as u64;
            progress(done * isz as u64);
        }
    }
    if !buf.is_empty() {
        flush(&mut buf, &mut accs);
    }
    progress(sel.len() * isz as u64);
    Ok(accs)
}

fn rows_per_block(cols: u64) -> u64 {
    (BLOCK as u64 / cols).max(1)
}

/// Reduces the elements in `bytes`, which start at storage position
/// `start` (a block boundary), into the groups' accumulators.
fn reduce<E: Elem>(bytes: &[u8], start: u64, layout: Layout, accs: &mut [Acc]) {
    let isz = E::SIZE;
    match layout {
        Layout::Runs { len } => {
            let mut pos = start;
            let mut rest = bytes;
            while !rest.is_empty() {
                let group = pos.checked_div(len).unwrap_or(0);
                let left_in_run = (group + 1) * len - pos;
                let n = (rest.len() / isz).min(BLOCK).min(left_in_run as usize);
                let (b, tail) = rest.split_at(n * isz);
                block::<E, _>(b.chunks_exact(isz), &mut accs[group as usize]);
                rest = tail;
                pos += n as u64;
            }
        }
        Layout::Rows { cols } => {
            let row = cols as usize * isz;
            for rows in bytes.chunks(rows_per_block(cols) as usize * row) {
                for (c, acc) in accs.iter_mut().enumerate() {
                    block::<E, _>(rows[c * isz..].chunks(row), acc);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc_of(xs: &[f64]) -> Acc {
        let bytes: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut a = Acc::default();
        for chunk in bytes.chunks(8 * 7) {
            block::<elem::F64le, _>(chunk.chunks_exact(8), &mut a);
        }
        a
    }

    #[test]
    fn large_offset_small_spread() {
        let xs: Vec<f64> = (0..1000).map(|i| 1e9 + (i % 7) as f64 * 1e-3).collect();
        let s = summarize(
            &acc_of(&xs),
            Kind::Float {
                size: 8,
                big: false,
            },
        );
        // Deviations from 1e9 are exact here, so this reference is exact
        // to rounding (a two-pass over `xs` itself would not be: rounding
        // the mean to a double near 1e9 costs ~1e-9 of this variance).
        let n = xs.len() as f64;
        let d: Vec<f64> = xs.iter().map(|x| x - 1e9).collect();
        let md = d.iter().sum::<f64>() / n;
        let mean = 1e9 + md;
        let var = d.iter().map(|x| (x - md) * (x - md)).sum::<f64>() / n;
        assert!((s.mean.unwrap() - mean).abs() <= 1e-15 * mean);
        let rel = (s.std.unwrap() - var.sqrt()).abs() / var.sqrt();
        assert!(rel <= 1e-12, "relative error {rel}");
    }

    /// Small windows and several threads give the results of one window
    /// and one thread, for every layout (C rows, Fortran runs, whole).
    #[test]
    fn windows_and_threads_merge_exactly_enough() {
        use crate::npy::{pylit::parse, Layout as L};
        let dir = tempfile::tempdir().unwrap();
        let (r, c) = (20_000usize, 7usize);
        let vals: Vec<f64> = (0..r * c)
            .map(|i| {
                if i % 97 == 5 {
                    f64::NAN
                } else {
                    1e6 + ((i * 7919) % 1013) as f64 * 0.01
                }
            })
            .collect();
        for fortran_order in [false, true] {
            let layout = L::new(
                parse("'<f8'").unwrap(),
                fortran_order,
                vec![r as u64, c as u64],
            )
            .unwrap();
            let mut bytes = layout.to_npy_header();
            // Storage order: the same logical array either way.
            for p in 0..r * c {
                let (i, j) = if fortran_order {
                    (p % r, p / r)
                } else {
                    (p / c, p % c)
                };
                bytes.extend_from_slice(&vals[i * c + j].to_le_bytes());
            }
            let path = dir.path().join(format!("a{fortran_order}.npy"));
            std::fs::write(&path, bytes).unwrap();
            let view = View::open(&path).unwrap();
            for axis in [Axis::All, Axis::Zero] {
                let one = compute_in_windows(&view, axis, None, 1, 1 << 30, &mut |_| {}).unwrap();
                let many = compute_in_windows(&view, axis, None, 3, 100_000, &mut |_| {}).unwrap();
                assert_eq!(one.results.len(), many.results.len());
                for (a, b) in one.results.iter().zip(&many.results) {
                    assert_eq!(
                        (a.count, a.nan, a.inf, a.min, a.max),
                        (b.count, b.nan, b.inf, b.min, b.max)
                    );
                    let (ma, mb) = (a.mean.unwrap(), b.mean.unwrap());
                    let (sa, sb) = (a.std.unwrap(), b.std.unwrap());
                    assert!((ma - mb).abs() <= 1e-15 * ma.abs(), "{ma} {mb}");
                    assert!((sa - sb).abs() <= 1e-12 * sa, "{sa} {sb}");
                }
                if axis == Axis::Zero {
                    // Column 3 by hand.
                    let col: Vec<f64> = (0..r)
                        .map(|i| vals[i * c + 3])
                        .filter(|x| !x.is_nan())
                        .collect();
                    let m = col.iter().sum::<f64>() / col.len() as f64;
                    assert!((one.results[3].mean.unwrap() - m).abs() <= 1e-12 * m);
                    assert_eq!(one.results[3].count, r as u64);
                }
            }
        }
    }

    #[test]
    fn nan_and_inf_counted_apart() {
        let s = summarize(
            &acc_of(&[1.0, f64::NAN, f64::NEG_INFINITY, 3.0]),
            Kind::Float {
                size: 8,
                big: false,
            },
        );
        assert_eq!((s.count, s.nan, s.inf), (4, 1, 1));
        assert_eq!(s.min, Some(Val::Float(f64::NEG_INFINITY, 64)));
        assert_eq!(s.max, Some(Val::Float(3.0, 64)));
        assert_eq!(s.mean, Some(2.0));
        assert_eq!(s.std, Some(1.0));
    }
}
