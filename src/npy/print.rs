//! numpy's array printing (`numpy/_core/arrayprint.py`), ported: what
//! `print(a)` writes for an array with the default print options, or with
//! the `precision`, `threshold`, `edgeitems` and `linewidth` options changed.
//!
//! The caller reads only what is printed: [`shown_positions`] says which
//! positions along each axis survive summarization (`...`), the caller
//! decodes those elements (C order over the kept positions) and hands them to
//! [`array_str`]. A 0-d array or a single element prints with
//! [`scalar_str`], as numpy prints a scalar.
//!
//! Floats use numpy's rules: shortest round-trip ("unique") digits capped at
//! `precision` fractional digits, one format (positional or scientific) for
//! the whole array chosen from the non-zero finite magnitudes, a shared
//! padding so that decimal points align, and `nan`/`inf` padded to match.

use super::values::{f16_to_f64, f64_to_f16, ElementType, FloatWidth, TimeUnit, Value};

/// numpy's print options that `show` exposes, with numpy's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintOptions {
    pub precision: usize,
    pub threshold: u64,
    pub edgeitems: u64,
    pub linewidth: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            precision: 8,
            threshold: 1000,
            edgeitems: 3,
            linewidth: 75,
        }
    }
}

/// The positions along each axis of `shape` that are printed: all of them,
/// or, when the array has more than `threshold` elements, the first and last
/// `edgeitems` of every axis longer than twice that.
pub fn shown_positions(shape: &[u64], o: &PrintOptions) -> Vec<Vec<u64>> {
    let size = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(u64::MAX);
    let summarize = size > o.threshold;
    shape
        .iter()
        .map(|&n| {
            // numpy keeps `a[:k]` and `a[-k:]`; with k = 0 the latter is the
            // whole axis (it then prints `...` and the last item only).
            if summarize && n > o.edgeitems.saturating_mul(2) && o.edgeitems > 0 {
                (0..o.edgeitems).chain(n - o.edgeitems..n).collect()
            } else {
                (0..n).collect()
            }
        })
        .collect()
}

/// `str(a)` for an array of `shape` (not 0-d) whose printed elements
/// (see [`shown_positions`]) are `values`, in C order.
pub fn array_str(ty: &ElementType, shape: &[u64], values: &[Value], o: &PrintOptions) -> String {
    if shape.contains(&0) {
        return "[]".into();
    }
    let refs: Vec<&Value> = values.iter().collect();
    let fmt = Fmt::build(ty, &refs, false, false, o);
    let strs: Vec<String> = values.iter().map(|v| fmt.format(v, o)).collect();
    let kept = shown_positions(shape, o);
    let size = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(u64::MAX);
    let p = Printer {
        shape,
        rshape: kept.iter().map(|k| k.len()).collect(),
        strs: &strs,
        summarize: size > o.threshold,
        edge: o.edgeitems,
    };
    let mut index = Vec::with_capacity(shape.len());
    p.recurse(&mut index, " ", o.linewidth as i64)
}

/// `str(a)` for a 0-d array holding `v`: the scalar's `str()`, except that
/// numpy shows bytes as their `repr()` there (`np.bytes_(b'ab')`).
pub fn zero_d_str(ty: &ElementType, v: &Value, o: &PrintOptions) -> String {
    match v {
        Value::Bytes(b) => format!("np.bytes_({})", py_bytes_repr(b)),
        _ => scalar_str(ty, v, o),
    }
}

/// `str(x)` for one element, as numpy prints a scalar (or a 0-d array).
pub fn scalar_str(ty: &ElementType, v: &Value, o: &PrintOptions) -> String {
    match v {
        Value::Bool(b) => py_bool(*b).into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(x, w) => float_scalar(*x, *w, true),
        Value::Complex(re, im, w) => complex_scalar(*re, *im, *w),
        Value::Bytes(b) => py_bytes_repr(b),
        Value::Str(s) => s.clone(),
        Value::Void(b) => void_str(b),
        Value::Datetime(d) => match (ty, d) {
            (_, None) => "NaT".into(),
            (ElementType::Datetime { unit, .. }, Some(d)) => datetime_string(*d, unit),
            (_, Some(d)) => d.to_string(),
        },
        Value::Timedelta(t) => match (ty, t) {
            (_, None) => "NaT".into(),
            (ElementType::Timedelta { unit, .. }, Some(t)) => timedelta_scalar(*t, unit),
            (_, Some(t)) => t.to_string(),
        },
        Value::Record(_) | Value::Sub(_) => {
            let fmt = Fmt::build(ty, &[v], true, true, o);
            fmt.format(v, o)
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

// ---------------------------------------------------------------------------
// Array layout: numpy's _formatArray.

struct Printer<'a> {
    shape: &'a [u64],
    rshape: Vec<usize>,
    strs: &'a [String],
    summarize: bool,
    edge: u64,
}

impl Printer<'_> {
    fn flat(&self, index: &[usize]) -> usize {
        index
            .iter()
            .zip(&self.rshape)
            .fold(0, |acc, (i, n)| acc * n + i)
    }

    fn recurse(&self, index: &mut Vec<usize>, hanging: &str, width: i64) -> String {
        let axis = index.len();
        let axes_left = self.shape.len() - axis;
        if axes_left == 0 {
            return self.strs[self.flat(index)].clone();
        }
        let next_hanging = format!("{hanging} ");
        let next_width = width - 1;
        let a_len = self.shape[axis];
        let r = self.rshape[axis];
        let show_summary = self.summarize && self.edge.saturating_mul(2) < a_len;
        let (leading, trailing) = if show_summary {
            (self.edge as usize, self.edge as usize)
        } else {
            (0, r)
        };
        let sub = |index: &mut Vec<usize>, pos: usize| {
            index.push(pos);
            let s = self.recurse(index, &next_hanging, next_width);
            index.pop();
            s
        };
        let mut s = String::new();
        if axes_left == 1 {
            let elem_width = width - 1;
            let mut line = Line::new(hanging);
            for i in 0..leading {
                let w = sub(index, i);
                line.extend(&mut s, &w, elem_width, hanging);
                line.push(" ");
            }
            if show_summary {
                line.extend(&mut s, "...", elem_width, hanging);
                line.push(" ");
            }
            for i in (2..=trailing).rev() {
                let w = sub(index, r - i);
                line.extend(&mut s, &w, elem_width, hanging);
                line.push(" ");
            }
            let w = sub(index, r - 1);
            line.extend(&mut s, &w, elem_width, hanging);
            s.push_str(&line.text);
        } else {
            let line_sep = "\n".repeat(axes_left - 1);
            for i in 0..leading {
                let nested = sub(index, i);
                s.push_str(hanging);
                s.push_str(&nested);
                s.push_str(&line_sep);
            }
            if show_summary {
                s.push_str(hanging);
                s.push_str("...");
                s.push_str(&line_sep);
            }
            for i in (2..=trailing).rev() {
                let nested = sub(index, r - i);
                s.push_str(hanging);
                s.push_str(&nested);
                s.push_str(&line_sep);
            }
            let nested = sub(index, r - 1);
            s.push_str(hanging);
            s.push_str(&nested);
        }
        format!("[{}]", &s[hanging.len()..])
    }
}

/// The line being filled, with its length in characters (as Python's `len`).
struct Line {
    text: String,
    chars: usize,
}

impl Line {
    fn new(prefix: &str) -> Line {
        Line {
            text: prefix.to_string(),
            chars: prefix.chars().count(),
        }
    }

    fn push(&mut self, w: &str) {
        self.text.push_str(w);
        self.chars += w.chars().count();
    }

    /// numpy's _extendLine: wrap before `word` when it would pass `width`,
    /// unless the line holds nothing but the prefix.
    fn extend(&mut self, s: &mut String, word: &str, width: i64, prefix: &str) {
        let wlen = word.chars().count();
        let prefix_len = prefix.chars().count();
        if (self.chars + wlen) as i64 > width && self.chars > prefix_len {
            s.push_str(self.text.trim_end());
            s.push('\n');
            *self = Line::new(prefix);
        }
        self.text.push_str(word);
        self.chars += wlen;
    }
}

// ---------------------------------------------------------------------------
// Element formatters: numpy's FloatingFormat, IntegerFormat, ...

enum Fmt {
    Bool {
        pad: bool,
    },
    Int {
        width: usize,
    },
    Float(FloatFmt),
    /// `str(float)`: floats inside a record printed as a scalar.
    FloatStr,
    Complex(FloatFmt, FloatFmt),
    /// `repr()` of the Python str/bytes.
    Repr,
    Void,
    Datetime {
        width: usize,
        unit: TimeUnit,
    },
    Timedelta {
        width: usize,
    },
    Record(Vec<Fmt>),
    Sub(Box<Fmt>, Vec<u64>),
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Sub(items) => items.iter().for_each(|x| flatten(x, out)),
        other => out.push(other),
    }
}

impl Fmt {
    /// The formatter numpy picks for `values` of type `ty`; `zero_d` when
    /// they are a 0-d array's (bools lose their padding), `in_scalar` inside
    /// the `str()` of one record (floats print as scalars).
    fn build(
        ty: &ElementType,
        values: &[&Value],
        zero_d: bool,
        in_scalar: bool,
        o: &PrintOptions,
    ) -> Fmt {
        match ty {
            ElementType::Bool => Fmt::Bool { pad: !zero_d },
            ElementType::Int { .. } | ElementType::UInt { .. } => Fmt::Int {
                width: values
                    .iter()
                    .map(|v| match v {
                        Value::Int(i) => i.to_string().len(),
                        Value::UInt(u) => u.to_string().len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0),
            },
            ElementType::Float { width, .. } => {
                if in_scalar {
                    return Fmt::FloatStr;
                }
                let xs: Vec<f64> = values
                    .iter()
                    .filter_map(|v| match v {
                        Value::Float(x, _) => Some(*x),
                        _ => None,
                    })
                    .collect();
                Fmt::Float(FloatFmt::new(&xs, *width, o.precision, false))
            }
            ElementType::Complex { width, .. } => {
                let (re, im): (Vec<f64>, Vec<f64>) = values
                    .iter()
                    .filter_map(|v| match v {
                        Value::Complex(r, i, _) => Some((*r, *i)),
                        _ => None,
                    })
                    .unzip();
                Fmt::Complex(
                    FloatFmt::new(&re, *width, o.precision, false),
                    FloatFmt::new(&im, *width, o.precision, true),
                )
            }
            ElementType::Bytes(_) | ElementType::Str { .. } => Fmt::Repr,
            ElementType::Void(_) => Fmt::Void,
            ElementType::Datetime { unit, .. } => {
                let ds: Vec<i64> = values
                    .iter()
                    .filter_map(|v| match v {
                        Value::Datetime(Some(d)) => Some(*d),
                        _ => None,
                    })
                    .collect();
                let f = |d: i64| datetime_string(d, unit).chars().count() + 2;
                let mut width = match (ds.iter().max(), ds.iter().min()) {
                    (Some(&hi), Some(&lo)) => f(hi).max(f(lo)),
                    _ => 0,
                };
                if ds.len() < values.len() {
                    width = width.max(5);
                }
                Fmt::Datetime {
                    width,
                    unit: unit.clone(),
                }
            }
            ElementType::Timedelta { .. } => {
                let ts: Vec<i64> = values
                    .iter()
                    .filter_map(|v| match v {
                        Value::Timedelta(Some(t)) => Some(*t),
                        _ => None,
                    })
                    .collect();
                let f = |t: i64| t.to_string().len();
                let mut width = match (ts.iter().max(), ts.iter().min()) {
                    (Some(&hi), Some(&lo)) => f(hi).max(f(lo)),
                    _ => 0,
                };
                if ts.len() < values.len() {
                    width = width.max(5);
                }
                Fmt::Timedelta { width }
            }
            ElementType::Record { fields, .. } => Fmt::Record(
                fields
                    .iter()
                    .enumerate()
                    .map(|(k, f)| {
                        let column: Vec<&Value> = values
                            .iter()
                            .filter_map(|v| match v {
                                Value::Record(fs) => fs.get(k),
                                _ => None,
                            })
                            .collect();
                        Fmt::build(&f.ty, &column, zero_d, in_scalar, o)
                    })
                    .collect(),
            ),
            ElementType::Sub { base, shape } => {
                let mut flat = Vec::new();
                for v in values {
                    flatten(v, &mut flat);
                }
                let inner = Fmt::build(base, &flat, false, in_scalar, o);
                Fmt::Sub(Box::new(inner), shape.clone())
            }
        }
    }

    fn format(&self, v: &Value, o: &PrintOptions) -> String {
        match (self, v) {
            (Fmt::Bool { pad }, Value::Bool(b)) => {
                if *b && *pad {
                    " True".into()
                } else {
                    py_bool(*b).into()
                }
            }
            (Fmt::Int { width }, Value::Int(i)) => format!("{i:>width$}"),
            (Fmt::Int { width }, Value::UInt(u)) => format!("{u:>width$}"),
            (Fmt::Float(f), Value::Float(x, _)) => f.format(*x),
            (Fmt::FloatStr, Value::Float(x, w)) => float_scalar(*x, *w, true),
            (Fmt::Complex(r, i), Value::Complex(re, im, _)) => {
                let rs = r.format(*re);
                let is = i.format(*im);
                let body = is.trim_end_matches(' ');
                let pad = &is[body.len()..];
                format!("{rs}{body}j{pad}")
            }
            (Fmt::Repr, Value::Bytes(b)) => py_bytes_repr(b),
            (Fmt::Repr, Value::Str(s)) => py_str_repr(s),
            (Fmt::Void, Value::Void(b)) => void_str(b),
            (Fmt::Datetime { width, unit }, Value::Datetime(d)) => {
                let s = match d {
                    Some(d) => format!("'{}'", datetime_string(*d, unit)),
                    None => "'NaT'".into(),
                };
                format!("{s:>width$}")
            }
            (Fmt::Timedelta { width }, Value::Timedelta(t)) => {
                let s = match t {
                    Some(t) => t.to_string(),
                    None => "'NaT'".into(),
                };
                format!("{s:>width$}")
            }
            (Fmt::Record(fmts), Value::Record(fs)) => {
                let parts: Vec<String> = fmts.iter().zip(fs).map(|(f, v)| f.format(v, o)).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            (Fmt::Sub(inner, shape), Value::Sub(items)) => {
                let size: u64 = shape.iter().product();
                let summarize = size > o.threshold;
                let strs: Vec<String> = items.iter().map(|x| inner.format(x, o)).collect();
                sub_array(&strs, shape, summarize, o.edgeitems)
            }
            (_, v) => format!("{v:?}"),
        }
    }
}

/// numpy's SubArrayFormat: nested `[a, b]` lists, summarized per axis.
fn sub_array(strs: &[String], shape: &[u64], summarize: bool, edge: u64) -> String {
    if shape.is_empty() {
        return strs.first().cloned().unwrap_or_default();
    }
    let n = shape[0] as usize;
    let step = strs.len().checked_div(n).unwrap_or(0);
    let part = |i: usize| {
        sub_array(
            &strs[i * step..(i + 1) * step],
            &shape[1..],
            summarize,
            edge,
        )
    };
    let items: Vec<String> = if summarize && shape[0] > edge.saturating_mul(2) {
        let e = edge as usize;
        (0..e)
            .map(part)
            .chain(std::iter::once("...".to_string()))
            // `a[-0:]` is the whole axis, as in numpy.
            .chain((if e == 0 { 0 } else { n - e }..n).map(part))
            .collect()
    } else {
        (0..n).map(part).collect()
    };
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------
// Float digits: numpy's Dragon4 in "unique" mode.

/// A non-negative decimal `d0.d1d2... x 10^exp`, digits without trailing
/// zeros (zero is the single digit 0).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dec {
    digits: Vec<u8>,
    exp: i32,
}

impl Dec {
    /// From Rust's `{:e}` text of a non-negative number.
    fn from_sci(s: &str) -> Dec {
        let (m, e) = s.split_once('e').unwrap_or((s, "0"));
        let mut digits: Vec<u8> = m
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        let exp: i32 = e.parse().unwrap_or(0);
        while digits.len() > 1 && digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.iter().all(|&d| d == 0) {
            return Dec {
                digits: vec![0],
                exp: 0,
            };
        }
        Dec { digits, exp }
    }

    /// From Rust's `{:.N}` positional text of a non-negative number.
    fn from_positional(s: &str) -> Dec {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let all: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let Some(first) = all.iter().position(|&d| d != 0) else {
            return Dec {
                digits: vec![0],
                exp: 0,
            };
        };
        let mut digits = all[first..].to_vec();
        while digits.len() > 1 && digits.last() == Some(&0) {
            digits.pop();
        }
        Dec {
            digits,
            exp: int.len() as i32 - 1 - first as i32,
        }
    }

    fn frac_positional(&self) -> i32 {
        if self.digits == [0] {
            0
        } else {
            self.digits.len() as i32 - 1 - self.exp
        }
    }
}

/// The shortest digits that read back as `x` (an f32 or f64). On an exact
/// tie between two shortest candidates numpy's Dragon4 keeps the even
/// digit; the correctly rounded text does too.
fn shortest_even<T>(x: T) -> Dec
where
    T: std::fmt::LowerExp + std::str::FromStr + PartialEq + Copy,
{
    let s = format!("{x:e}");
    let n = s.split('e').next().unwrap_or("").len().saturating_sub(2);
    let even = format!("{x:.n$e}");
    Dec::from_sci(if even.parse::<T>().is_ok_and(|e| e == x) {
        &even
    } else {
        &s
    })
}

/// The shortest digits that read back as `x` in width `w`, in Rust's
/// scientific form (`-1.5e-7`, `0e0`): what Python's `repr` and numpy's
/// Dragon4 pick, ties to the even digit. `x` is finite.
pub fn shortest_sci(x: f64, w: FloatWidth) -> String {
    let d = shortest(x.abs(), w);
    let mut s = String::new();
    if x.is_sign_negative() {
        s.push('-');
    }
    s.push((b'0' + d.digits[0]) as char);
    if d.digits.len() > 1 {
        s.push('.');
        s.extend(d.digits[1..].iter().map(|&c| (b'0' + c) as char));
    }
    s.push_str(&format!("e{}", d.exp));
    s
}

/// The shortest digits that read back as the same value of width `w`.
fn shortest(a: f64, w: FloatWidth) -> Dec {
    match w {
        FloatWidth::F64 => shortest_even(a),
        FloatWidth::F32 => shortest_even(a as f32),
        FloatWidth::F16 => {
            // Fewest digits first; at each length the correctly rounded
            // digits and their neighbours (a power of two is closer to the
            // half below it), the closest one that reads back (on a tie the
            // correctly rounded one, whose last digit is even, as Dragon4).
            let bits = f64_to_f16(a);
            for p in 0..5usize {
                let s = format!("{a:.p$e}");
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let m: i64 = m.replace('.', "").parse().unwrap_or(0);
                let e: i32 = e.parse().unwrap_or(0);
                let best = [m, m - 1, m + 1]
                    .into_iter()
                    .filter(|&c| c > 0)
                    .map(|c| {
                        let cs = c.to_string();
                        let exp = e - p as i32 + cs.len() as i32 - 1;
                        format!("{}.{}e{exp}", &cs[..1], &cs[1..])
                    })
                    .filter_map(|t| t.parse::<f64>().ok().map(|v| (t, v)))
                    .filter(|(_, v)| f64_to_f16(*v) == bits)
                    .min_by(|x, y| (x.1 - a).abs().total_cmp(&(y.1 - a).abs()));
                if let Some((t, _)) = best {
                    return Dec::from_sci(&t);
                }
            }
            Dec::from_sci(&format!("{a:e}"))
        }
    }
}

/// Unique digits, cut to `precision` fractional digits (correctly rounded
/// from the exact value) when they are longer.
fn digits_positional(a: f64, w: FloatWidth, precision: Option<usize>) -> Dec {
    let d = shortest(a, w);
    match precision {
        Some(p) if d.frac_positional() > p as i32 => Dec::from_positional(&format!("{a:.p$}")),
        _ => d,
    }
}

fn digits_scientific(a: f64, w: FloatWidth, precision: Option<usize>) -> Dec {
    let d = shortest(a, w);
    match precision {
        Some(p) if d.digits.len() > p + 1 => Dec::from_sci(&format!("{a:.p$e}")),
        _ => d,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trim {
    /// 'k': keep trailing zeros (pad to precision).
    Keep,
    /// '.': trim zeros, keep the point.
    Point,
    /// '0': trim zeros, keep one after the point.
    OneZero,
    /// '-': trim zeros and the point.
    Nothing,
}

fn sign_str(x: f64, plus: bool) -> &'static str {
    if x.is_sign_negative() {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    }
}

fn apply_trim(frac: &mut String, precision: Option<usize>, min_digits: usize, trim: Trim) -> bool {
    while frac.len() < min_digits {
        frac.push('0');
    }
    match trim {
        Trim::Keep => {
            if let Some(p) = precision {
                while frac.len() < p {
                    frac.push('0');
                }
            }
            true
        }
        Trim::Point => true,
        Trim::OneZero => {
            if frac.is_empty() {
                frac.push('0');
            }
            true
        }
        Trim::Nothing => !frac.is_empty(),
    }
}

#[allow(clippy::too_many_arguments)]
fn positional(
    x: f64,
    w: FloatWidth,
    precision: Option<usize>,
    min_digits: usize,
    trim: Trim,
    plus: bool,
    pad_left: usize,
    pad_right: usize,
) -> String {
    let mut d = digits_positional(x.abs(), w, precision);
    if d.frac_positional() < min_digits as i32 {
        // Dragon4 prints the exact value's further digits, not zeros.
        d = Dec::from_positional(&format!("{:.min_digits$}", x.abs()));
    }
    let digit = |i: i32| -> char {
        if i >= 0 && (i as usize) < d.digits.len() {
            (b'0' + d.digits[i as usize]) as char
        } else {
            '0'
        }
    };
    let mut int = String::from(sign_str(x, plus));
    if d.exp >= 0 {
        for i in 0..=d.exp {
            int.push(digit(i));
        }
    } else {
        int.push('0');
    }
    let mut frac = String::new();
    let frac_len = d.frac_positional().max(0);
    for k in 0..frac_len {
        frac.push(digit(d.exp + 1 + k));
    }
    let point = apply_trim(&mut frac, precision, min_digits, trim);
    let mut out = format!("{int:>pad_left$}");
    if point {
        out.push('.');
    }
    out.push_str(&frac);
    let flen = frac.len();
    if pad_right > flen {
        out.push_str(&" ".repeat(pad_right - flen));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn scientific(
    x: f64,
    w: FloatWidth,
    precision: Option<usize>,
    min_digits: usize,
    trim: Trim,
    plus: bool,
    pad_left: usize,
    exp_digits: usize,
) -> String {
    let mut d = digits_scientific(x.abs(), w, precision);
    if d.digits.len() < min_digits + 1 && d.digits != [0] {
        // Dragon4 prints the exact value's further digits, not zeros.
        d = Dec::from_sci(&format!("{:.min_digits$e}", x.abs()));
    }
    let int = format!("{}{}", sign_str(x, plus), d.digits[0]);
    let mut frac: String = d.digits[1..].iter().map(|&b| (b'0' + b) as char).collect();
    if d.digits == [0] {
        frac.clear();
    }
    let point = apply_trim(&mut frac, precision, min_digits, trim);
    let exp = if d.digits == [0] { 0 } else { d.exp };
    let esign = if exp < 0 { '-' } else { '+' };
    let ew = exp_digits.max(2);
    let mut out = format!("{int:>pad_left$}");
    if point {
        out.push('.');
    }
    out.push_str(&frac);
    out.push_str(&format!("e{esign}{:0ew$}", exp.unsigned_abs()));
    out
}

/// A float as `str()` prints a numpy scalar of width `w`: the shortest
/// digits that read back as the same value (`0.1`, `1e+16`, `nan`, `-inf`).
pub fn float_str(x: f64, w: FloatWidth) -> String {
    float_scalar(x, w, true)
}

/// `str()` of a float scalar: positional between 1e-4 and a cutoff that
/// depends on the width, scientific outside; `1.0`, `1e+16`, `nan`.
fn float_scalar(x: f64, w: FloatWidth, one_zero: bool) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    let cutoff = match w {
        FloatWidth::F16 => 1e3,
        FloatWidth::F32 => 1e6,
        FloatWidth::F64 => 1e16,
    };
    let a = x.abs();
    let trim = if one_zero {
        Trim::OneZero
    } else {
        Trim::Nothing
    };
    if a == 0.0 || (1e-4..cutoff).contains(&a) {
        positional(x, w, None, 0, trim, false, 0, 0)
    } else {
        scientific(x, w, None, 0, Trim::Nothing, false, 0, 0)
    }
}

/// `str()` of a complex scalar: `1j`, `(1.5+0j)`, `(nan+1j)`.
fn complex_scalar(re: f64, im: f64, w: FloatWidth) -> String {
    let mut is = float_scalar(im, w, false);
    if re == 0.0 && !re.is_sign_negative() {
        return format!("{is}j");
    }
    if !is.starts_with('-') {
        is.insert(0, '+');
    }
    format!("({}{is}j)", float_scalar(re, w, false))
}

/// numpy's FloatingFormat with floatmode 'maxprec' and sign '-' (or '+').
#[derive(Debug, Clone)]
struct FloatFmt {
    w: FloatWidth,
    exp_format: bool,
    precision: usize,
    min_digits: usize,
    plus: bool,
    pad_left: usize,
    pad_right: usize,
    exp_size: usize,
}

impl FloatFmt {
    fn new(data: &[f64], w: FloatWidth, precision: usize, plus: bool) -> FloatFmt {
        let finite: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
        let mut f = FloatFmt {
            w,
            exp_format: false,
            precision,
            min_digits: 0,
            plus,
            pad_left: 0,
            pad_right: 0,
            exp_size: 0,
        };
        let nonzero: Vec<f64> = finite
            .iter()
            .filter(|x| **x != 0.0)
            .map(|x| x.abs())
            .collect();
        if !nonzero.is_empty() {
            let max = nonzero.iter().copied().fold(f64::MIN, f64::max);
            let min = nonzero.iter().copied().fold(f64::MAX, f64::min);
            f.exp_format = needs_exp(max, min, w);
        }
        if finite.is_empty() {
            // numpy: pad_left = pad_right = 0.
        } else if f.exp_format {
            let strs: Vec<String> = finite
                .iter()
                .map(|&x| scientific(x, w, Some(precision), 0, Trim::Point, plus, 0, 0))
                .collect();
            let mut int_max = 0;
            let mut frac_max = 0;
            let mut exp_max = 0;
            for s in &strs {
                let (m, e) = s.split_once('e').unwrap_or((s, ""));
                let (i, fr) = m.split_once('.').unwrap_or((m, ""));
                int_max = int_max.max(i.len());
                frac_max = frac_max.max(fr.len());
                exp_max = exp_max.max(e.len());
            }
            f.exp_size = exp_max.saturating_sub(1);
            f.precision = frac_max;
            f.min_digits = frac_max;
            f.pad_left = int_max;
            f.pad_right = f.exp_size + 2 + f.precision;
        } else {
            for &x in &finite {
                let s = positional(x, w, Some(precision), 0, Trim::Point, plus, 0, 0);
                let (i, fr) = s.split_once('.').unwrap_or((&s, ""));
                f.pad_left = f.pad_left.max(i.len());
                f.pad_right = f.pad_right.max(fr.len());
            }
        }
        if finite.len() != data.len() {
            let neginf = plus || data.iter().any(|x| x.is_infinite() && *x < 0.0);
            let offset = f.pad_right as i64 + 1;
            let need = (3 - offset).max(3 + neginf as i64 - offset);
            f.pad_left = f.pad_left.max(need.max(0) as usize);
        }
        f
    }

    fn format(&self, x: f64) -> String {
        if !x.is_finite() {
            let ret = if x.is_nan() {
                format!("{}nan", if self.plus { "+" } else { "" })
            } else {
                let s = if x < 0.0 {
                    "-"
                } else if self.plus {
                    "+"
                } else {
                    ""
                };
                format!("{s}inf")
            };
            let width = self.pad_left + self.pad_right + 1;
            return format!("{ret:>width$}");
        }
        if self.exp_format {
            scientific(
                x,
                self.w,
                Some(self.precision),
                self.min_digits,
                Trim::Keep,
                self.plus,
                self.pad_left,
                self.exp_size,
            )
        } else {
            positional(
                x,
                self.w,
                Some(self.precision),
                0,
                Trim::Point,
                self.plus,
                self.pad_left,
                self.pad_right,
            )
        }
    }
}

/// numpy's choice of scientific notation, computed in the array's own
/// float width as numpy computes it (`max / min` can round or overflow).
fn needs_exp(max: f64, min: f64, w: FloatWidth) -> bool {
    match w {
        FloatWidth::F64 => max >= 1e8 || min < 1e-4 || max / min > 1000.0,
        FloatWidth::F32 => {
            let (mx, mn) = (max as f32, min as f32);
            mx >= 1e6 || mn < 1e-4f32 || mx / mn > 1000.0
        }
        FloatWidth::F16 => {
            let ratio = f16_to_f64(f64_to_f16((max as f32 / min as f32) as f64));
            max >= 1e3 || min < f16_to_f64(f64_to_f16(1e-4)) || ratio > 1000.0
        }
    }
}

// ---------------------------------------------------------------------------
// Strings, bytes, void.

/// Python's `repr()` of a str: quotes chosen as Python chooses them,
/// non-printable characters escaped (the header writer's rule, with
/// Python's own `str.isprintable` table).
pub fn py_str_repr(s: &str) -> String {
    super::pylit::str_repr(s)
}

/// Python's `repr()` of bytes: `b'...'`.
pub fn py_bytes_repr(b: &[u8]) -> String {
    let q = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(q as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(q as char);
    out
}

/// `str()` of an unstructured void: every byte as `\xNN`.
fn void_str(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for c in b {
        s.push_str(&format!("\\x{c:02X}"));
    }
    s.push('\'');
    s
}

// ---------------------------------------------------------------------------
// Datetimes and timedeltas.

/// numpy's `datetime_as_string` in the dtype's own base unit.
pub fn datetime_string(v: i64, unit: &TimeUnit) -> String {
    let v = v as i128 * unit.mult as i128;
    let date = |days: i128| {
        let (y, m, d) = civil_from_days(days);
        format!("{}-{m:02}-{d:02}", year_str(y))
    };
    let sub: Option<(i128, usize)> = match unit.base.as_str() {
        "Y" => return year_str(1970 + v),
        "M" => {
            let y = 1970 + v.div_euclid(12);
            return format!("{}-{:02}", year_str(y), v.rem_euclid(12) + 1);
        }
        "W" => return date(v * 7),
        "D" => return date(v),
        "h" | "m" | "s" => Some((1, 0)),
        "ms" => Some((1_000, 3)),
        "us" => Some((1_000_000, 6)),
        "ns" => Some((1_000_000_000, 9)),
        "ps" => Some((1_000_000_000_000, 12)),
        "fs" => Some((1_000_000_000_000_000, 15)),
        "as" => Some((1_000_000_000_000_000_000, 18)),
        _ => None,
    };
    let Some((per_sec, frac_digits)) = sub else {
        return v.to_string();
    };
    let per_day: i128 = match unit.base.as_str() {
        "h" => 24,
        "m" => 1440,
        _ => 86400 * per_sec,
    };
    let days = v.div_euclid(per_day);
    let rem = v.rem_euclid(per_day);
    let mut s = date(days);
    match unit.base.as_str() {
        "h" => s.push_str(&format!("T{rem:02}")),
        "m" => s.push_str(&format!("T{:02}:{:02}", rem / 60, rem % 60)),
        _ => {
            let secs = rem / per_sec;
            let frac = rem % per_sec;
            s.push_str(&format!(
                "T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ));
            if frac_digits > 0 {
                s.push_str(&format!(".{frac:0frac_digits$}"));
            }
        }
    }
    s
}

fn year_str(y: i128) -> String {
    format!("{y:04}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i128) -> (i128, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn timedelta_scalar(t: i64, unit: &TimeUnit) -> String {
    let name = match unit.base.as_str() {
        "Y" => "years",
        "M" => "months",
        "W" => "weeks",
        "D" => "days",
        "h" => "hours",
        "m" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "ps" => "picoseconds",
        "fs" => "femtoseconds",
        "as" => "attoseconds",
        _ => "generic time units",
    };
    format!("{} {name}", t as i128 * unit.mult as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(xs: &[f64]) -> String {
        let vals: Vec<Value> = xs
            .iter()
            .map(|&x| Value::Float(x, FloatWidth::F64))
            .collect();
        let ty = ElementType::Float {
            width: FloatWidth::F64,
            big: false,
        };
        array_str(&ty, &[xs.len() as u64], &vals, &PrintOptions::default())
    }

    #[test]
    fn floats_like_numpy() {
        assert_eq!(f64s(&[0.1, 1.5]), "[0.1 1.5]");
        assert_eq!(f64s(&[1.5, 2.0]), "[1.5 2. ]");
        assert_eq!(
            f64s(&[1e-5, 1.123456789e-5]),
            "[1.00000000e-05 1.12345679e-05]"
        );
        assert_eq!(
            f64s(&[f64::NAN, 1.5, f64::NEG_INFINITY]),
            "[ nan  1.5 -inf]"
        );
        assert_eq!(f64s(&[-0.0, 0.0]), "[-0.  0.]");
        assert_eq!(f64s(&[f64::NEG_INFINITY, 1e-10]), "[  -inf 1.e-10]");
        assert_eq!(f64s(&[0.999999999, 2.0]), "[1. 2.]");
    }

    #[test]
    fn float_scalars_like_numpy() {
        assert_eq!(float_scalar(1.0, FloatWidth::F64, true), "1.0");
        assert_eq!(float_scalar(1e16, FloatWidth::F64, true), "1e+16");
        assert_eq!(float_scalar(1.5e-5, FloatWidth::F64, true), "1.5e-05");
        assert_eq!(float_scalar(1e-4f32 as f64, FloatWidth::F32, true), "1e-04");
        assert_eq!(float_scalar(-0.0, FloatWidth::F64, true), "-0.0");
        assert_eq!(complex_scalar(0.0, 1.0, FloatWidth::F64), "1j");
        assert_eq!(complex_scalar(1.5, 0.0, FloatWidth::F64), "(1.5+0j)");
    }

    #[test]
    fn half_shortest_digits() {
        assert_eq!(
            shortest(f16_to_f64(f64_to_f16(0.1)), FloatWidth::F16),
            Dec::from_sci("1e-1")
        );
        assert_eq!(shortest(65504.0, FloatWidth::F16), Dec::from_sci("6.55e4"));
    }

    #[test]
    fn dates() {
        let u = |b: &str| TimeUnit {
            base: b.into(),
            mult: 1,
        };
        assert_eq!(datetime_string(-1, &u("D")), "1969-12-31");
        assert_eq!(datetime_string(-5, &u("s")), "1969-12-31T23:59:55");
        assert_eq!(datetime_string(-8000, &u("Y")), "-6030");
        assert_eq!(datetime_string(55, &u("M")), "1974-08");
        assert_eq!(
            datetime_string(12345678, &u("ns")),
            "1970-01-01T00:00:00.012345678"
        );
    }

    #[test]
    fn reprs() {
        assert_eq!(py_str_repr("a'b"), "\"a'b\"");
        assert_eq!(py_str_repr("e\n\0x"), "'e\\n\\x00x'");
        assert_eq!(py_str_repr("é\u{200b}"), "'é\\u200b'");
        assert_eq!(py_bytes_repr(b"ab'"), "b\"ab'\"");
    }
}
