//! Comparing the arrays two `.npy` files hold, element by element in logical
//! (C) order, as `np.array_equal` (and, with a tolerance, `np.isclose`)
//! decide.
//!
//! What counts:
//! - the dtype as numpy compares dtypes (`'<u1'` = `'|u1'`, `'=f8'` =
//!   `'<f8'` here; `'<f8'` ≠ `'>f8'`) and the shape; header formatting
//!   (version, padding, key order, spacing) and the storage order never
//!   matter: a Fortran-order file equals a C-order one holding the same
//!   logical array;
//! - numbers by value: NaN differs from everything, itself included, unless
//!   `equal_nan`; -0.0 equals 0.0; complex numbers part by part; NaT like
//!   NaN; long doubles by their 10 significant bytes (padding ignored);
//! - strings, raw bytes and other non-numeric types byte for byte;
//! - records field by field (named fields only, as numpy's `==`; padding
//!   is ignored), each field by the rules above.
//!
//! Both files are read window by window in storage order when their orders
//! agree (flat memory); runs of identical bytes are skipped after one
//! `memcmp` unless they may hold NaN. When one is C-ordered and the other Fortran-ordered
//! the second is mapped whole and read at strided positions.

use super::dtype::{Dtype, Scalar};
use super::elem::{decode, fmt_float, long_double_eq, Kind, Val};
use super::view::{ravel, storage_is_logical, unravel, View};

/// Bytes of each file mapped at a time.
const WINDOW: u64 = 16 << 20;
/// Elements whose bytes are compared in one `memcmp` before looking at
/// values one by one.
const RUN: usize = 4096;

/// How values are compared.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `(rtol, atol)`: `np.isclose` semantics; `None`: exact equality.
    pub tol: Option<(f64, f64)>,
    pub equal_nan: bool,
    /// How many differing elements to list.
    pub listed: usize,
}

/// One differing element.
#[derive(Debug, Clone)]
pub struct Difference {
    pub index: Vec<u64>,
    pub a: String,
    pub b: String,
}

/// The largest difference of some measure, and where it is.
#[derive(Debug, Clone)]
pub struct Largest {
    pub value: Val,
    pub index: Vec<u64>,
}

/// What comparing two arrays found.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Same dtype, shape and values.
    Equal { elements: u64 },
    /// The dtypes differ (in words, with the header's descr).
    Dtype { a: String, b: String },
    /// The shapes differ.
    Shape { a: Vec<u64>, b: Vec<u64> },
    /// Same dtype and shape, some values differ.
    Values(Box<ValueReport>),
}

#[derive(Debug, Clone)]
pub struct ValueReport {
    pub elements: u64,
    pub differing: u64,
    pub first: Vec<Difference>,
    /// Largest |a - b| (numeric dtypes only; NaN differences are skipped).
    pub max_abs: Option<Largest>,
    /// Largest |a - b| / |b| (inf where b is 0).
    pub max_rel: Option<Largest>,
}

/// One comparable piece of an element: a simple type at a byte offset.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    offset: usize,
    kind: Kind,
    size: usize,
}

fn leaves(t: &Dtype, base: usize, out: &mut Vec<Leaf>) {
    match t {
        Dtype::Scalar(s) => out.push(Leaf {
            offset: base,
            kind: Kind::of(s),
            size: s.size as usize,
        }),
        Dtype::Subarray(inner, shape) => {
            let n: u64 = shape.iter().product();
            let step = inner.itemsize() as usize;
            for i in 0..n as usize {
                leaves(inner, base + i * step, out);
            }
        }
        Dtype::Record(fields) => {
            let mut off = base;
            for f in fields {
                if !f.name.is_empty() {
                    leaves(&f.dtype, off, out);
                }
                off += f.dtype.itemsize() as usize;
            }
        }
    }
}

/// A dtype with the spellings numpy treats as the same type made equal:
/// native `=` is little-endian, one-byte and byte-string types carry no
/// byte order, `a` is `S`.
fn canonical(t: &Dtype) -> Dtype {
    match t {
        Dtype::Scalar(s) => {
            let mut s: Scalar = s.clone();
            if s.kind == 'a' {
                s.kind = 'S';
            }
            s.byteorder = match s.byteorder {
                _ if s.size <= 1 || matches!(s.kind, 'S' | 'V' | 'b') => '|',
                '=' => native(),
                o => o,
            };
            Dtype::Scalar(s)
        }
        Dtype::Subarray(b, shape) => Dtype::Subarray(Box::new(canonical(b)), shape.clone()),
        Dtype::Record(fields) => Dtype::Record(
            fields
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    f.dtype = canonical(&f.dtype);
                    f
                })
                .collect(),
        ),
    }
}

fn native() -> char {
    if cfg!(target_endian = "big") {
        '>'
    } else {
        '<'
    }
}

/// Compares the arrays of two open files. `progress` is told the bytes of
/// `a` done so far.
pub fn compare(
    a: &View,
    b: &View,
    opt: &Options,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Verdict> {
    let (ha, hb) = (&a.header, &b.header);
    if canonical(&ha.dtype) != canonical(&hb.dtype) {
        return Ok(Verdict::Dtype {
            a: format!("{} ({})", ha.dtype.describe(), ha.descr.repr()),
            b: format!("{} ({})", hb.dtype.describe(), hb.descr.repr()),
        });
    }
    if ha.shape != hb.shape {
        return Ok(Verdict::Shape {
            a: ha.shape.clone(),
            b: hb.shape.clone(),
        });
    }
    let mut lv = Vec::new();
    leaves(&ha.dtype, 0, &mut lv);
    let mut cmp = Comparer {
        leaves: lv,
        opt: *opt,
        dtype: &ha.dtype,
        numeric: match &ha.dtype {
            Dtype::Scalar(s) => Some(Kind::of(s)).filter(|k| *k != Kind::Bytes),
            _ => None,
        },
        differing: 0,
        first: Vec::new(),
        max_abs: None,
        max_rel: None,
    };
    let shape = &ha.shape;
    let isz = a.itemsize();
    let n = a.elements;
    let lockstep = ha.fortran_order == hb.fortran_order
        || (storage_is_logical(shape, ha.fortran_order)
            && storage_is_logical(shape, hb.fortran_order));
    if lockstep {
        // Equal positions in storage are equal logical indices.
        let order = ha.fortran_order && !storage_is_logical(shape, true);
        let window = (WINDOW / isz.max(1)).max(1);
        let mut first = 0u64;
        while first < n {
            let count = window.min(n - first);
            let (wa, wb) = (a.map(first, count)?, b.map(first, count)?);
            let (ba, bb) = (wa.bytes(), wb.bytes());
            let sz = isz as usize;
            for s in (0..count as usize).step_by(RUN) {
                let e = (s + RUN).min(count as usize);
                let (ra, rb) = (&ba[s * sz..e * sz], &bb[s * sz..e * sz]);
                // Identical bytes are equal values, unless NaN is among them.
                if ra == rb && !cmp.may_hold_nan(ra, sz) {
                    continue;
                }
                for k in s..e {
                    let r = k * sz..(k + 1) * sz;
                    cmp.element(&ba[r.clone()], &bb[r], || {
                        unravel(first + k as u64, shape, order)
                    });
                }
            }
            first += count;
            progress(first * isz);
        }
    } else {
        let (wa, wb) = (a.map(0, n)?, b.map(0, n)?);
        let (ba, bb) = (wa.bytes(), wb.bytes());
        let step = 1 << 16;
        for i in 0..n {
            let idx = unravel(i, shape, false);
            let pa = (ravel(&idx, shape, ha.fortran_order) * isz) as usize;
            let pb = (ravel(&idx, shape, hb.fortran_order) * isz) as usize;
            let isz = isz as usize;
            cmp.element(&ba[pa..pa + isz], &bb[pb..pb + isz], || idx.clone());
            if (i + 1) % step == 0 {
                progress((i + 1) * isz as u64);
            }
        }
        progress(n * isz);
    }
    Ok(if cmp.differing == 0 {
        Verdict::Equal { elements: n }
    } else {
        Verdict::Values(Box::new(ValueReport {
            elements: n,
            differing: cmp.differing,
            first: cmp.first,
            max_abs: cmp.max_abs,
            max_rel: cmp.max_rel,
        }))
    })
}

struct Comparer<'a> {
    leaves: Vec<Leaf>,
    opt: Options,
    dtype: &'a Dtype,
    /// The kind of a simple numeric dtype (differences are measured).
    numeric: Option<Kind>,
    differing: u64,
    first: Vec<Difference>,
    max_abs: Option<Largest>,
    max_rel: Option<Largest>,
}

impl Comparer<'_> {
    /// Whether some element of `bytes` holds a NaN (or NaT) that makes it
    /// unequal to an identical copy of itself.
    fn may_hold_nan(&self, bytes: &[u8], isz: usize) -> bool {
        if self.opt.equal_nan {
            return false;
        }
        let nan_able = |k: &Kind| {
            matches!(
                k,
                Kind::Float { .. }
                    | Kind::LongDouble { .. }
                    | Kind::Complex { .. }
                    | Kind::Time { .. }
            )
        };
        let leaves: Vec<&Leaf> = self.leaves.iter().filter(|l| nan_able(&l.kind)).collect();
        if leaves.is_empty() || isz == 0 {
            return false;
        }
        if let (
            8,
            [Leaf {
                kind: Kind::Float { size: 8, big },
                ..
            }],
        ) = (isz, &leaves[..])
        {
            // The common case (a float64 array), without a decode per element.
            return bytes.chunks_exact(8).any(|c| {
                let b: [u8; 8] = c.try_into().expect("8 bytes");
                let bits = if *big {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                };
                bits & !(1 << 63) > 0x7ff0_0000_0000_0000
            });
        }
        bytes.chunks_exact(isz).any(|e| {
            leaves
                .iter()
                .any(|l| decode(l.kind, &e[l.offset..l.offset + l.size]).is_nan())
        })
    }

    #[inline]
    fn element(&mut self, a: &[u8], b: &[u8], index: impl Fn() -> Vec<u64>) {
        let same = self.leaves.iter().all(|l| {
            let (x, y) = (
                &a[l.offset..l.offset + l.size],
                &b[l.offset..l.offset + l.size],
            );
            leaf_equal(l.kind, x, y, &self.opt)
        });
        if same {
            return;
        }
        self.differing += 1;
        if self.first.len() < self.opt.listed {
            self.first.push(Difference {
                index: index(),
                a: show(self.dtype, a),
                b: show(self.dtype, b),
            });
        }
        if let Some(k) = self.numeric {
            let (va, vb) = (decode(k, a), decode(k, b));
            if let Some(d) = abs_diff(va, vb) {
                if self.max_abs.as_ref().is_none_or(|m| greater(d, m.value)) {
                    self.max_abs = Some(Largest {
                        value: d,
                        index: index(),
                    });
                }
                // A relative difference of two instants means nothing.
                let rel = Val::Float(d.as_f64() / magnitude(vb), 64);
                let measured = !matches!(k, Kind::Time { .. }) && !rel.is_nan();
                if measured && self.max_rel.as_ref().is_none_or(|m| greater(rel, m.value)) {
                    self.max_rel = Some(Largest {
                        value: rel,
                        index: index(),
                    });
                }
            }
        }
    }
}

fn greater(x: Val, y: Val) -> bool {
    match (x, y) {
        (Val::Int(p), Val::Int(q)) => p > q,
        _ => x.as_f64() > y.as_f64(),
    }
}

fn magnitude(v: Val) -> f64 {
    match v {
        Val::Complex(r, i, _) => r.hypot(i),
        v => v.as_f64().abs(),
    }
}

/// |a - b|: exact for integers, a double otherwise; `None` when NaN.
fn abs_diff(a: Val, b: Val) -> Option<Val> {
    let d = match (a, b) {
        (Val::Int(x), Val::Int(y)) => Val::Int((x - y).abs()),
        (Val::Bool(x), Val::Bool(y)) => Val::Int((x as i128 - y as i128).abs()),
        (Val::Time(x), Val::Time(y)) if x != i64::MIN && y != i64::MIN => {
            Val::Int((x as i128 - y as i128).abs())
        }
        (Val::Complex(p, q, _), Val::Complex(r, s, _)) => Val::Float((p - r).hypot(q - s), 64),
        (Val::Float(x, _), Val::Float(y, _)) => Val::Float((x - y).abs(), 64),
        _ => return None,
    };
    (!d.is_nan()).then_some(d)
}

/// Whether two values of one simple type count as equal.
fn leaf_equal(kind: Kind, a: &[u8], b: &[u8], opt: &Options) -> bool {
    match kind {
        Kind::Bytes => a == b,
        Kind::LongDouble { big } if opt.tol.is_none() => match long_double_eq(a, b, big) {
            Some(eq) => eq,
            None => opt.equal_nan && decode(kind, a).is_nan() && decode(kind, b).is_nan(),
        },
        _ => values_equal(decode(kind, a), decode(kind, b), opt),
    }
}

fn values_equal(a: Val, b: Val, opt: &Options) -> bool {
    let (an, bn) = (a.is_nan(), b.is_nan());
    if an || bn {
        return opt.equal_nan && an && bn;
    }
    match (opt.tol, a, b) {
        (_, Val::Time(x), Val::Time(y)) => x == y,
        (None, Val::Int(x), Val::Int(y)) => x == y,
        (None, Val::Bool(x), Val::Bool(y)) => x == y,
        (None, Val::Float(x, _), Val::Float(y, _)) => x == y,
        (None, Val::Complex(p, q, _), Val::Complex(r, s, _)) => p == r && q == s,
        (Some((rtol, atol)), Val::Complex(p, q, _), Val::Complex(r, s, _)) => {
            if [p, q, r, s].iter().all(|v| v.is_finite()) {
                (p - r).hypot(q - s) <= atol + rtol * r.hypot(s)
            } else {
                p == r && q == s
            }
        }
        (Some((rtol, atol)), x, y) => {
            let (x, y) = (x.as_f64(), y.as_f64());
            if x.is_finite() && y.is_finite() {
                (x - y).abs() <= atol + rtol * y.abs()
            } else {
                x == y
            }
        }
        (None, x, y) => x == y,
    }
}

/// An element as numpy prints it: scalars by value, strings quoted,
/// records as tuples, subarrays as lists.
pub fn show(t: &Dtype, b: &[u8]) -> String {
    match t {
        Dtype::Scalar(s) => show_scalar(s, b),
        Dtype::Subarray(inner, shape) => {
            let n: u64 = shape.iter().product();
            let step = inner.itemsize() as usize;
            let items: Vec<String> = (0..n as usize)
                .map(|i| show(inner, &b[i * step..]))
                .collect();
            format!("[{}]", items.join(" "))
        }
        Dtype::Record(fields) => {
            let mut off = 0usize;
            let mut items = Vec::new();
            for f in fields {
                if !f.name.is_empty() {
                    items.push(show(&f.dtype, &b[off..]));
                }
                off += f.dtype.itemsize() as usize;
            }
            format!("({})", items.join(", "))
        }
    }
}

fn show_scalar(s: &Scalar, b: &[u8]) -> String {
    let b = &b[..s.size as usize];
    match s.kind {
        'S' | 'a' => {
            let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
            format!("b'{}'", escape_bytes(&b[..end]))
        }
        'V' => format!("b'{}'", escape_bytes(b)),
        'U' => {
            let big = s.byteorder == '>';
            let text: String = b
                .chunks_exact(4)
                .map(|c| {
                    let u = if big {
                        u32::from_be_bytes(c.try_into().unwrap())
                    } else {
                        u32::from_le_bytes(c.try_into().unwrap())
                    };
                    char::from_u32(u).unwrap_or('\u{fffd}')
                })
                .collect();
            format!("{:?}", text.trim_end_matches('\0')).replacen('"', "'", 2)
        }
        _ => match Kind::of(s) {
            Kind::Bytes => format!("b'{}'", escape_bytes(b)),
            Kind::LongDouble { .. } => match decode(Kind::of(s), b) {
                Val::Float(f, _) => fmt_float(f, 64),
                v => v.display(),
            },
            k => decode(k, b).display(),
        },
    }
}

fn escape_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&c| match c {
            b'\\' => "\\\\".to_string(),
            b'\'' => "\\'".to_string(),
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            b'\r' => "\\r".to_string(),
            0x20..=0x7e => (c as char).to_string(),
            _ => format!("\\x{c:02x}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt() -> Options {
        Options {
            tol: None,
            equal_nan: false,
            listed: 5,
        }
    }

    #[test]
    fn floats_compare_as_numpy() {
        let f = |x: f64| Val::Float(x, 64);
        assert!(values_equal(f(0.0), f(-0.0), &opt()));
        assert!(!values_equal(f(f64::NAN), f(f64::NAN), &opt()));
        let en = Options {
            equal_nan: true,
            ..opt()
        };
        assert!(values_equal(f(f64::NAN), f(f64::NAN), &en));
        let close = Options {
            tol: Some((1e-5, 1e-8)),
            ..opt()
        };
        assert!(values_equal(f(1.0), f(1.0 + 1e-6), &close));
        assert!(!values_equal(f(1.0), f(1.0 + 1e-4), &close));
        assert!(values_equal(f(f64::INFINITY), f(f64::INFINITY), &close));
        assert!(!values_equal(
            f(f64::INFINITY),
            f(f64::NEG_INFINITY),
            &close
        ));
    }

    #[test]
    fn canonical_spellings_are_one_dtype() {
        use crate::npy::pylit::parse;
        let d = |s: &str| canonical(&Dtype::from_descr(&parse(s).unwrap()).unwrap());
        assert_eq!(d("'<u1'"), d("'|u1'"));
        assert_eq!(d("'=f8'"), d("'<f8'"));
        assert_eq!(d("'|S3'"), d("'<S3'"));
        assert_ne!(d("'<f8'"), d("'>f8'"));
        assert_ne!(d("'<U2'"), d("'>U2'"));
    }

    #[test]
    fn shows_strings_like_numpy() {
        use crate::npy::pylit::parse;
        let t = Dtype::from_descr(&parse("'|S4'").unwrap()).unwrap();
        assert_eq!(show(&t, b"ab\0\0"), "b'ab'");
        let u = Dtype::from_descr(&parse("'<U2'").unwrap()).unwrap();
        assert_eq!(show(&u, &[b'h', 0, 0, 0, 0, 0, 0, 0]), "'h'");
    }
}
