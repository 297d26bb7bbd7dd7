//! Data types: what a header's `descr` means, as numpy understands it.
//!
//! The header keeps the `descr` exactly as written (a [`Py`] value) so that it
//! can be written back byte for byte; [`Dtype`] is its interpretation in
//! numpy's terms, built the way numpy's `descr_to_dtype`
//! (numpy/lib/_format_impl.py) and `np.dtype()` build it:
//!
//! - a string is read with `np.dtype()`'s grammar (`'<f8'`, `'float64'`,
//!   `'d'`, `'=i4'`, `'S5'`, `'M8[25ns]'`, comma strings like `'i4,f8'`…);
//! - a tuple `(descr, shape)` is a subarray (an integer shape on an unsized
//!   `S`/`U`/`V` type is its size instead, as numpy has it);
//! - a list holds `(name, descr[, shape])` fields laid out back to back;
//!   padding fields (name `''`, a void type) are dropped and come back as
//!   the gaps between fields.
//!
//! A [`Dtype`] is normalized: two descrs make equal `Dtype`s exactly when
//! numpy makes equal dtypes of them (`'<u1'` = `'|u1'` = `'u1'`, `'f8'` =
//! `'<f8'` on a little-endian machine), and [`Dtype::to_descr`] gives the
//! descr `np.save` would write for it (`dtype_to_descr`).

use super::pylit::{self, Py};
use super::FormatError;

/// The interpretation of a `descr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    /// A simple type such as `<f8`, `|S7`, `<M8[ns]`.
    Scalar(Scalar),
    /// A fixed-shape subarray of another type, `('<f8', (5,))`.
    Subarray(Box<Dtype>, Vec<u64>),
    /// A record: fields in order, the gaps between them as padding fields
    /// (name `""`, type `|Vn`), one per gap.
    Record(Vec<Field>),
}

/// One field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub title: Option<String>,
    pub dtype: Dtype,
}

/// A simple type in numpy's normal form: byte order (`<`, `>`, or `|` where
/// it does not apply), kind character, item size in bytes and, for
/// datetimes, the unit (`None` for a generic datetime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub byteorder: char,
    pub kind: char,
    pub size: u64,
    /// The count in the type string (characters for `U`, bytes otherwise).
    pub count: u64,
    pub unit: Option<String>,
}

/// numpy keeps every item size, subarray dimension and datetime multiplier
/// in a C `int`.
const MAX_C_INT: u64 = i32::MAX as u64;

/// The byte order numpy calls native. npy runs where numpy does; on a
/// big-endian machine `=` means `>`.
const NATIVE: char = if cfg!(target_endian = "big") {
    '>'
} else {
    '<'
};

fn err(msg: String) -> FormatError {
    FormatError::Descr(msg)
}

impl Dtype {
    /// Interprets a header's `descr` value as `descr_to_dtype` does.
    pub fn from_descr(descr: &Py) -> Result<Dtype, FormatError> {
        let t = match descr {
            Py::Str(s) => parse_str(s)?,
            Py::Tuple(items) if items.len() >= 2 => {
                // numpy reads descr[0] and descr[1] and ignores the rest.
                with_shape(Dtype::from_descr(&items[0])?, &items[1], descr)?
            }
            Py::List(fields) => record(fields)?,
            other => {
                return Err(bad_descr(
                    other,
                    "descr must be a type string, a list of fields or a (type, shape) tuple",
                ))
            }
        };
        Ok(t)
    }

    /// The descr `np.save` writes for this type (`dtype_to_descr`).
    pub fn to_descr(&self) -> Py {
        match self {
            Dtype::Scalar(s) => Py::Str(s.type_str()),
            Dtype::Subarray(base, shape) => Py::Tuple(vec![base.to_descr(), shape_py(shape)]),
            Dtype::Record(fields) => Py::List(
                fields
                    .iter()
                    .map(|f| {
                        let name = match &f.title {
                            Some(t) => Py::Tuple(vec![Py::Str(t.clone()), Py::Str(f.name.clone())]),
                            None => Py::Str(f.name.clone()),
                        };
                        match &f.dtype {
                            Dtype::Subarray(base, shape) => {
                                Py::Tuple(vec![name, base.to_descr(), shape_py(shape)])
                            }
                            d => Py::Tuple(vec![name, d.to_descr()]),
                        }
                    })
                    .collect(),
            ),
        }
    }

    /// Bytes per element. Checked at construction (at most `i32::MAX`).
    pub fn itemsize(&self) -> u64 {
        match self {
            Dtype::Scalar(s) => s.size,
            Dtype::Subarray(base, shape) => base.itemsize() * shape.iter().product::<u64>(),
            Dtype::Record(fields) => fields.iter().map(|f| f.dtype.itemsize()).sum(),
        }
    }

    /// True when the type holds Python objects anywhere (pickled data), or
    /// numpy's variable-width strings (`T`), which np.save also pickles.
    pub fn has_object(&self) -> bool {
        match self {
            Dtype::Scalar(s) => s.kind == 'O' || s.kind == 'T',
            Dtype::Subarray(b, _) => b.has_object(),
            Dtype::Record(fields) => fields.iter().any(|f| f.dtype.has_object()),
        }
    }

    /// The type in words, e.g. "float64, little-endian".
    pub fn describe(&self) -> String {
        match self {
            Dtype::Scalar(s) => s.describe(),
            Dtype::Subarray(b, shape) => {
                format!("{} subarray of {}", dims_str(shape), b.describe())
            }
            Dtype::Record(fields) => {
                let named = fields.iter().filter(|f| !is_padding(f)).count();
                let pad = fields.len() - named;
                let mut s = format!(
                    "record of {named} field{}, {} bytes",
                    if named == 1 { "" } else { "s" },
                    self.itemsize()
                );
                if pad > 0 {
                    s.push_str(", with padding");
                }
                s
            }
        }
    }
}

/// numpy's dtype equality on two descrs: true when numpy makes equal dtypes
/// of them (`'<u1'` and `'|u1'`, `'f8'` and `'<f8'`), false when they differ
/// or either is not a valid descr. Byte order matters where numpy's dtypes
/// differ (`'<f8'` is not `'>f8'`).
pub fn same_descr(a: &Py, b: &Py) -> bool {
    a == b
        || matches!(
            (Dtype::from_descr(a), Dtype::from_descr(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// The descr `np.save` writes for an array whose header says `descr`
/// (`dtype_to_descr(descr_to_dtype(descr))`).
pub fn canonical_descr(descr: &Py) -> Result<Py, FormatError> {
    Ok(Dtype::from_descr(descr)?.to_descr())
}

/// A dtype as a user types it on the command line, for a whole array:
/// anything `np.dtype()` accepts for a plain type (`float64`, `int32`, `f8`,
/// `d`, `<f8`, `|u1`, `S10`, `M8[ns]`) or a Python literal descr (a record
/// `[('x', '<i4'), ('y', '<f8')]`). Returns the descr `np.save` would write.
/// A `(type, shape)` subarray is refused: numpy cannot load an array whose
/// top-level dtype is one.
pub fn parse_user_dtype(s: &str) -> Result<Py, FormatError> {
    let t = s.trim();
    let examples = "give a numpy dtype such as <f8, float64, int32, f8, d, |u1, S10, M8[ns], \
                    or a record such as \"[('x', '<i4'), ('y', '<f8')]\"";
    let py = if t.starts_with(['[', '(', '\'', '"']) {
        pylit::parse(t).map_err(|e| err(format!("{s:?} is not a valid descr ({e}); {examples}")))?
    } else {
        Py::Str(t.to_string())
    };
    let d = Dtype::from_descr(&py).map_err(|e| err(format!("{e}; {examples}")))?;
    check_top_level(&d, &py).map_err(|e| err(format!("{e}; {examples}")))?;
    Ok(d.to_descr())
}

/// Refuses a top-level subarray: numpy never writes one, and np.load
/// cannot read one (it reads `shape` elements of the subarray's base type).
pub fn check_top_level(d: &Dtype, descr: &Py) -> Result<(), FormatError> {
    if matches!(d, Dtype::Subarray(..)) {
        return Err(bad_descr(
            descr,
            "a (type, shape) subarray is not an array's dtype (numpy never writes one and cannot load one; \
             put the subarray's shape into the array's shape instead)",
        ));
    }
    Ok(())
}

fn is_padding(f: &Field) -> bool {
    f.name.is_empty() && f.title.is_none() && matches!(&f.dtype, Dtype::Scalar(s) if s.kind == 'V')
}

fn shape_py(shape: &[u64]) -> Py {
    Py::Tuple(shape.iter().map(|&d| Py::Int(d as i128)).collect())
}

fn dims_str(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

fn bad_descr(v: &Py, why: &str) -> FormatError {
    let mut r = v.repr();
    if r.len() > 80 {
        let mut cut = 77;
        while !r.is_char_boundary(cut) {
            cut -= 1;
        }
        r.truncate(cut);
        r.push_str("...");
    }
    err(format!("invalid descr {r}: {why}"))
}

fn too_large(v: &Py) -> FormatError {
    bad_descr(
        v,
        "item size does not fit numpy's limit of 2147483647 bytes",
    )
}

/// `np.dtype((base, shape))`.
fn with_shape(base: Dtype, shape: &Py, whole: &Py) -> Result<Dtype, FormatError> {
    let dim = |x: &Py| match x {
        Py::Int(i) if *i >= 0 && *i as u64 <= MAX_C_INT => Ok(*i as u64),
        _ => Err(bad_descr(
            whole,
            "a subarray shape holds integers from 0 to 2147483647",
        )),
    };
    let dims = match shape {
        Py::Int(n) => {
            // (unsized flexible type, n) is the type of size n.
            if let Dtype::Scalar(s) = &base {
                if matches!(s.kind, 'S' | 'U' | 'V') && s.size == 0 {
                    return flexible(s.kind, s.byteorder, dim(shape)?, whole);
                }
            }
            vec![dim(&Py::Int(*n))?]
        }
        Py::Tuple(items) | Py::List(items) => items.iter().map(dim).collect::<Result<_, _>>()?,
        _ => {
            return Err(bad_descr(
                whole,
                "a subarray shape is an integer or a tuple of integers",
            ))
        }
    };
    if dims.is_empty() {
        return Ok(base);
    }
    let size = dims
        .iter()
        .try_fold(base.itemsize(), |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_C_INT);
    if size.is_none() {
        return Err(too_large(whole));
    }
    Ok(Dtype::Subarray(Box::new(base), dims))
}

fn flexible(kind: char, byteorder: char, n: u64, whole: &Py) -> Result<Dtype, FormatError> {
    let size = if kind == 'U' {
        n.checked_mul(4)
    } else {
        Some(n)
    };
    match size {
        Some(size) if size <= MAX_C_INT => Ok(Dtype::Scalar(Scalar {
            byteorder: if kind == 'U' { byteorder } else { '|' },
            kind,
            size,
            count: n,
            unit: None,
        })),
        _ => Err(too_large(whole)),
    }
}

/// `descr_to_dtype` for a list of fields.
fn record(fields: &[Py]) -> Result<Dtype, FormatError> {
    let mut out: Vec<Field> = Vec::with_capacity(fields.len());
    // Names and titles in use: numpy refuses one used twice, as either.
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut pad = 0u64;
    let mut size = 0u64;
    for f in fields {
        let parts: Vec<Py> = match f {
            Py::Tuple(p) | Py::List(p) => p.clone(),
            // A two-character string unpacks into (name, type) in Python.
            Py::Str(s) if s.chars().count() == 2 => s.chars().map(|c| Py::Str(c.into())).collect(),
            _ => {
                return Err(bad_descr(
                    f,
                    "a record field is a tuple (name, type[, shape])",
                ))
            }
        };
        let dtype = match parts.len() {
            2 => Dtype::from_descr(&parts[1])?,
            3 => with_shape(Dtype::from_descr(&parts[1])?, &parts[2], f)?,
            _ => {
                return Err(bad_descr(
                    f,
                    "a record field is a tuple (name, type[, shape])",
                ))
            }
        };
        let n = dtype.itemsize();
        size = size
            .checked_add(n)
            .filter(|&s| s <= MAX_C_INT)
            .ok_or_else(|| too_large(&Py::List(fields.to_vec())))?;
        let is_pad = parts[0] == Py::Str(String::new())
            && matches!(
                &dtype,
                Dtype::Subarray(..) | Dtype::Scalar(Scalar { kind: 'V', .. })
            );
        if is_pad {
            pad += n;
            continue;
        }
        let (title, name) = match &parts[0] {
            Py::Str(n) => (None, n.clone()),
            Py::Tuple(tn) if tn.len() == 2 => match (&tn[0], &tn[1]) {
                (Py::Str(t), Py::Str(n)) => (Some(t.clone()), n.clone()),
                (Py::None, Py::Str(n)) => (None, n.clone()),
                _ => {
                    return Err(bad_descr(
                        f,
                        "a field's (title, name) are strings (npy reads no other titles)",
                    ))
                }
            },
            _ => return Err(bad_descr(f, "a field name is a string or (title, name)")),
        };
        let title_clash = title
            .as_deref()
            .is_some_and(|t| t == name || used.contains(t));
        if used.contains(&name) || title_clash {
            return Err(err(format!(
                "invalid descr: field name {name:?} already used as a name or title"
            )));
        }
        used.insert(name.clone());
        if let Some(t) = &title {
            used.insert(t.clone());
        }
        if pad > 0 {
            out.push(pad_field(pad));
            pad = 0;
        }
        out.push(Field { name, title, dtype });
    }
    if pad > 0 {
        out.push(pad_field(pad));
    }
    Ok(Dtype::Record(out))
}

fn pad_field(n: u64) -> Field {
    Field {
        name: String::new(),
        title: None,
        dtype: Dtype::Scalar(Scalar {
            byteorder: '|',
            kind: 'V',
            size: n,
            count: n,
            unit: None,
        }),
    }
}

/// `np.dtype(s)` for a string (numpy/_core/src/multiarray/descriptor.c,
/// `_convert_from_str`).
fn parse_str(s: &str) -> Result<Dtype, FormatError> {
    let whole = Py::Str(s.to_string());
    let bad = || bad_descr(&whole, "not a type string numpy knows");
    if s.is_empty() {
        return Err(bad());
    }
    if is_commastring(s) {
        return commastring(s, &whole);
    }
    let (endian, rest) = match s.chars().next() {
        Some(c @ ('<' | '>' | '=')) => (c, &s[1..]),
        Some('|') => ('=', &s[1..]),
        _ => ('=', s),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let scalar = if let Some(d) = datetime(rest, &whole)? {
        Some(d)
    } else if rest.chars().count() == 1 {
        typecode(rest.chars().next().expect("one char"))
    } else {
        sized(rest, &whole)?
    };
    let scalar = match scalar {
        Some(d) => d,
        // numpy's typeDict, looked up with the string as given (so no
        // byte order prefix): the scalar type names.
        None => match type_name(s) {
            Some(d) => d,
            None => return Err(bad()),
        },
    };
    Ok(Dtype::Scalar(with_endian(scalar, endian)))
}

fn with_endian(mut s: Scalar, endian: char) -> Scalar {
    if s.byteorder != '|' {
        s.byteorder = if endian == '=' { NATIVE } else { endian };
    }
    s
}

fn scalar(kind: char, size: u64) -> Scalar {
    let swaps = match kind {
        'U' | 'M' | 'm' => true,
        'i' | 'u' | 'f' | 'c' => size > 1,
        _ => false,
    };
    Scalar {
        byteorder: if swaps { NATIVE } else { '|' },
        kind,
        size,
        count: if kind == 'U' { size / 4 } else { size },
        unit: None,
    }
}

/// numpy's one-character type codes (`np.dtype('d')`), on a 64-bit Linux
/// where `long` is 8 bytes and `long double` 16.
fn typecode(c: char) -> Option<Scalar> {
    Some(match c {
        '?' => scalar('b', 1),
        'b' => scalar('i', 1),
        'B' => scalar('u', 1),
        'h' => scalar('i', 2),
        'H' => scalar('u', 2),
        'i' => scalar('i', 4),
        'I' => scalar('u', 4),
        'l' | 'q' | 'n' | 'p' => scalar('i', 8),
        'L' | 'Q' | 'N' | 'P' => scalar('u', 8),
        'e' => scalar('f', 2),
        'f' => scalar('f', 4),
        'd' => scalar('f', 8),
        'g' => scalar('f', 16),
        'F' => scalar('c', 8),
        'D' => scalar('c', 16),
        'G' => scalar('c', 32),
        'S' | 'a' => scalar('S', 0),
        'U' => scalar('U', 0),
        'V' => scalar('V', 0),
        'c' => scalar('S', 1),
        'O' => scalar('O', 8),
        'T' => scalar('T', 16),
        'M' => scalar('M', 8),
        'm' => scalar('m', 8),
        _ => return None,
    })
}

/// The scalar type names of numpy's `sctypeDict` (`np.dtype('float64')`).
fn type_name(s: &str) -> Option<Scalar> {
    let (kind, size) = match s {
        "bool" | "bool_" => ('b', 1),
        "byte" | "int8" => ('i', 1),
        "ubyte" | "uint8" => ('u', 1),
        "short" | "int16" => ('i', 2),
        "ushort" | "uint16" => ('u', 2),
        "intc" | "int32" => ('i', 4),
        "uintc" | "uint32" => ('u', 4),
        "int" | "int_" | "intp" | "long" | "longlong" | "int64" => ('i', 8),
        "uint" | "uintp" | "ulong" | "ulonglong" | "uint64" => ('u', 8),
        "half" | "float16" => ('f', 2),
        "single" | "float32" => ('f', 4),
        "double" | "float" | "float64" => ('f', 8),
        "longdouble" | "float128" => ('f', 16),
        "csingle" | "complex64" => ('c', 8),
        "cdouble" | "complex" | "complex128" => ('c', 16),
        "clongdouble" | "complex256" => ('c', 32),
        "bytes" | "bytes_" => ('S', 0),
        "str" | "str_" | "unicode" => ('U', 0),
        "void" => ('V', 0),
        "object" | "object_" => ('O', 8),
        _ => return None,
    };
    Some(scalar(kind, size))
}

/// C's `strtol` over the whole of `s`: leading whitespace, a sign, digits.
/// `None` unless it consumes everything; negative values are `None`.
fn strtol_all(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits.trim_start_matches('0');
    let v: u64 = if v.is_empty() {
        0
    } else if v.len() > 18 {
        u64::MAX
    } else {
        v.parse().ok()?
    };
    if neg && v != 0 {
        return None;
    }
    Some(v)
}

/// A kind character followed by a size: `i4`, `S10`, `U5`, `V16`.
fn sized(rest: &str, whole: &Py) -> Result<Option<Scalar>, FormatError> {
    let kind = rest.chars().next().expect("non-empty");
    let Some(n) = strtol_all(&rest[kind.len_utf8()..]) else {
        return Ok(None);
    };
    Ok(match kind {
        'S' | 'a' | 'U' | 'V' => {
            let k = if kind == 'a' { 'S' } else { kind };
            match flexible(k, NATIVE, n, whole)? {
                Dtype::Scalar(s) => Some(s),
                _ => None,
            }
        }
        'b' if n == 1 => Some(scalar('b', 1)),
        'i' | 'u' if matches!(n, 1 | 2 | 4 | 8) => Some(scalar(kind, n)),
        'f' if matches!(n, 2 | 4 | 8 | 16) => Some(scalar('f', n)),
        'c' if matches!(n, 8 | 16 | 32) => Some(scalar('c', n)),
        'O' if matches!(n, 4 | 8) => Some(scalar('O', 8)),
        _ => None,
    })
}

/// `M8`, `m8`, `datetime64`, `timedelta64`, each with an optional
/// `[unit]`; `None` when `rest` is not a datetime type string.
fn datetime(rest: &str, whole: &Py) -> Result<Option<Scalar>, FormatError> {
    let mut hit = None;
    for (prefix, kind) in [
        ("M8", 'M'),
        ("m8", 'm'),
        ("datetime64", 'M'),
        ("timedelta64", 'm'),
    ] {
        if let Some(tail) = rest.strip_prefix(prefix) {
            if tail.is_empty() || tail.starts_with('[') {
                hit = Some((kind, tail));
                break;
            }
        }
    }
    let Some((kind, tail)) = hit else {
        return Ok(None);
    };
    let mut s = scalar(kind, 8);
    if tail.is_empty() {
        return Ok(Some(s));
    }
    let bad = || bad_descr(whole, "invalid datetime unit");
    let inner = tail
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(bad)?;
    let unit_at = inner
        .find(|c: char| c.is_alphabetic() || c == 'μ')
        .ok_or_else(bad)?;
    let (num, unit) = inner.split_at(unit_at);
    let mult = if num.is_empty() {
        1
    } else {
        strtol_all(num)
            .filter(|&m| m <= MAX_C_INT)
            .ok_or_else(bad)?
    };
    let unit = match unit {
        "Y" | "M" | "W" | "D" | "h" | "m" | "s" | "ms" | "us" | "ns" | "ps" | "fs" | "as" => unit,
        "μs" => "us",
        "generic" => {
            return Ok(Some(s));
        }
        _ => return Err(bad()),
    };
    s.unit = Some(if mult == 1 {
        unit.to_string()
    } else {
        format!("{mult}{unit}")
    });
    Ok(Some(s))
}

/// numpy's `_check_for_commastring`.
fn is_commastring(s: &str) -> bool {
    let b = s.as_bytes();
    let order = |c: u8| matches!(c, b'<' | b'>' | b'|' | b'=');
    if b[0].is_ascii_digit() || (b.len() > 1 && order(b[0]) && b[1].is_ascii_digit()) {
        return true;
    }
    if (b.len() > 1 && b[0] == b'(' && b[1] == b')')
        || (b.len() > 3 && order(b[0]) && b[1] == b'(' && b[2] == b')')
    {
        return true;
    }
    let mut sq = 0i64;
    for &c in b {
        match c {
            b',' if sq == 0 => return true,
            b'[' => sq += 1,
            b']' => sq -= 1,
            _ => {}
        }
    }
    false
}

/// numpy's `_commastring` (numpy/_core/_internal.py) followed by
/// `np.dtype` of its result: `'i4,f8'` is a record of fields `f0`, `f1`;
/// `'2i4'`, `'(2,3)f8'` are subarrays.
fn commastring(s: &str, whole: &Py) -> Result<Dtype, FormatError> {
    let bad = || bad_descr(whole, "not a type string numpy knows");
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut items = Vec::new();
    let mut islist = false;
    let order_char = |c: Option<&char>| matches!(c, Some('<' | '>' | '|' | '='));
    while i < c.len() {
        // format_re, greedy as Python's re is here (every part optional)
        let order1 = if order_char(c.get(i)) {
            i += 1;
            Some(c[i - 1])
        } else {
            None
        };
        let rs = i;
        while c.get(i) == Some(&' ') {
            i += 1;
        }
        if c.get(i) == Some(&'(') {
            i += 1;
        }
        while matches!(c.get(i), Some(' ' | ',' | '0'..='9')) {
            i += 1;
        }
        if c.get(i) == Some(&')') {
            i += 1;
        }
        while c.get(i) == Some(&' ') {
            i += 1;
        }
        let repeats: String = c[rs..i].iter().collect();
        let order2 = if order_char(c.get(i)) {
            i += 1;
            Some(c[i - 1])
        } else {
            None
        };
        let ds = i;
        while c
            .get(i)
            .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == '.' || *ch == '?')
        {
            i += 1;
        }
        if c.get(i) == Some(&'[') {
            let mut j = i + 1;
            while c
                .get(j)
                .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == ',' || *ch == '.')
            {
                j += 1;
            }
            if j > i + 1 && c.get(j) == Some(&']') {
                i = j + 1;
            }
        }
        let dtype: String = c[ds..i].iter().collect();
        if i < c.len() {
            if c[i..].iter().all(|ch| ch.is_whitespace()) {
                i = c.len();
            } else {
                let mut j = i;
                while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
                    j += 1;
                }
                if c.get(j) != Some(&',') {
                    return Err(bad());
                }
                j += 1;
                while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
                    j += 1;
                }
                i = j;
                islist = true;
            }
        }
        let norm = |o: Option<char>| match o {
            Some('=') => Some(NATIVE),
            o => o,
        };
        let order = match (order1, order2) {
            (o, None) | (None, o) => o,
            (a, b) if norm(a) == norm(b) => a,
            _ => return Err(bad_descr(whole, "inconsistent byte-order specification")),
        };
        let order = match order {
            Some('|' | '=') | None => String::new(),
            Some(c) if c == NATIVE => String::new(),
            Some(c) => c.to_string(),
        };
        let base = parse_str(&format!("{order}{dtype}"))?;
        let item = if repeats.is_empty() {
            base
        } else {
            // literal_eval("2,3") is a tuple: parenthesised it reads the same.
            let shape = pylit::parse(&format!("({repeats})")).map_err(|_| bad())?;
            with_shape(base, &shape, whole)?
        };
        items.push(item);
    }
    if !islist {
        return items.pop().ok_or_else(bad);
    }
    let mut size = 0u64;
    let mut fields = Vec::with_capacity(items.len());
    for (k, dtype) in items.into_iter().enumerate() {
        size = size
            .checked_add(dtype.itemsize())
            .filter(|&s| s <= MAX_C_INT)
            .ok_or_else(|| too_large(whole))?;
        fields.push(Field {
            name: format!("f{k}"),
            title: None,
            dtype,
        });
    }
    Ok(Dtype::Record(fields))
}

impl Scalar {
    /// numpy's `dtype.str`: `<f8`, `|u1`, `<U5`, `<M8[25ns]`.
    pub fn type_str(&self) -> String {
        let kind = if self.kind == 'T' { 'O' } else { self.kind };
        match (kind, &self.unit) {
            ('O', _) => "|O".to_string(),
            ('M' | 'm', None) => format!("{}{kind}8", self.byteorder),
            ('M' | 'm', Some(u)) => format!("{}{kind}8[{u}]", self.byteorder),
            _ => format!("{}{kind}{}", self.byteorder, self.count),
        }
    }

    fn describe(&self) -> String {
        let order = match (self.byteorder, self.size) {
            (_, 0 | 1) | ('|', _) => "",
            ('<', _) => ", little-endian",
            ('>', _) => ", big-endian",
            _ => ", native byte order",
        };
        let bits = self.size * 8;
        let base = match self.kind {
            'b' => "bool".to_string(),
            'i' => format!("int{bits}"),
            'u' => format!("uint{bits}"),
            'f' if self.size > 8 => format!("longdouble ({bits}-bit storage)"),
            'f' => format!("float{bits}"),
            'c' if self.size > 16 => format!("clongdouble ({bits}-bit storage)"),
            'c' => format!("complex{bits}"),
            'S' => format!("bytes of length {}", self.count),
            'U' => format!("unicode string of {} characters", self.count),
            'V' => format!("raw void of {} bytes", self.count),
            'M' => match &self.unit {
                Some(u) => format!("datetime64[{u}]"),
                None => "datetime64".to_string(),
            },
            'm' => match &self.unit {
                Some(u) => format!("timedelta64[{u}]"),
                None => "timedelta64".to_string(),
            },
            'O' => "Python object (pickled)".to_string(),
            'T' => "variable-width string (pickled)".to_string(),
            k => format!("type {k}"),
        };
        format!("{base}{order}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::pylit::parse;

    fn dt(descr: &str) -> Dtype {
        Dtype::from_descr(&parse(descr).unwrap()).unwrap_or_else(|e| panic!("{descr}: {e}"))
    }

    fn size(descr: &str) -> u64 {
        dt(descr).itemsize()
    }

    fn canon(descr: &str) -> String {
        dt(descr).to_descr().repr()
    }

    #[test]
    fn scalar_sizes() {
        assert_eq!(size("'<f8'"), 8);
        assert_eq!(size("'|b1'"), 1);
        assert_eq!(size("'<U5'"), 20);
        assert_eq!(size("'|S7'"), 7);
        assert_eq!(size("'|V16'"), 16);
        assert_eq!(size("'<M8[ns]'"), 8);
        assert_eq!(size("'>m8[s]'"), 8);
        assert_eq!(size("'<f16'"), 16);
        assert_eq!(size("'<c32'"), 32);
        assert_eq!(size("'<f2'"), 2);
        assert_eq!(size("'|O'"), 8);
    }

    #[test]
    fn record_sizes() {
        assert_eq!(size("[('a', '<i4'), ('b', '<f8', (2, 3))]"), 52);
        assert_eq!(
            size("[('a', '<i2'), ('', '|V6'), ('b', [('x', '>f4'), ('y', '|u1')])]"),
            13
        );
        assert_eq!(size("[(('Title', 'a'), '<i4')]"), 4);
        assert_eq!(size("('<f8', (5,))"), 40);
        assert_eq!(size("[('a', '<i4', 3)]"), 12);
    }

    #[test]
    fn object_detected_when_nested() {
        assert!(dt("[('a', '<i4'), ('b', [('c', '|O')])]").has_object());
        assert!(dt("'T'").has_object());
    }

    #[test]
    fn canonical_as_numpy_writes() {
        for (given, want) in [
            ("'<u1'", "'|u1'"),
            ("'u1'", "'|u1'"),
            ("'<b1'", "'|b1'"),
            ("'<i1'", "'|i1'"),
            ("'f8'", "'<f8'"),
            ("'=i4'", "'<i4'"),
            ("'|i4'", "'<i4'"),
            ("'float64'", "'<f8'"),
            ("'d'", "'<f8'"),
            ("'<q'", "'<i8'"),
            ("'>g'", "'>f16'"),
            ("'a5'", "'|S5'"),
            ("'>V4'", "'|V4'"),
            ("'|U5'", "'<U5'"),
            ("'str'", "'<U0'"),
            ("'c'", "'|S1'"),
            ("'S+1'", "'|S1'"),
            ("'i 4'", "'<i4'"),
            ("'<M8[1000000000s]'", "'<M8[1000000000s]'"),
            ("'M8[01ns]'", "'<M8[ns]'"),
            ("'M8[μs]'", "'<M8[us]'"),
            ("'M8[2generic]'", "'<M8'"),
            ("'datetime64[ns]'", "'<M8[ns]'"),
            ("'>timedelta64'", "'>m8'"),
            ("('|S0', 5)", "'|S5'"),
            ("('U', 5)", "'<U5'"),
            ("('<i2', ())", "'<i2'"),
            ("'()i4'", "'<i4'"),
            ("'i4,f8'", "[('f0', '<i4'), ('f1', '<f8')]"),
            ("'i4,'", "[('f0', '<i4')]"),
            ("'i4,(2)f8'", "[('f0', '<i4'), ('f1', '<f8', (2,))]"),
            ("[('a', '2,3i4')]", "[('a', '<i4', (2, 3))]"),
            ("[('a', '>(2,)i4')]", "[('a', '>i4', (2,))]"),
            ("[['a', '<i2']]", "[('a', '<i2')]"),
            ("['ab']", "[('a', '|i1')]"),
            ("[((None, 'a'), '<i2')]", "[('a', '<i2')]"),
            (
                "[('a', '<i2'), ('', '|V2'), ('', '|V2')]",
                "[('a', '<i2'), ('', '|V4')]",
            ),
            (
                "[('a', '<i2'), ('', '<i2', (2,))]",
                "[('a', '<i2'), ('', '|V4')]",
            ),
            (
                "[('', 'V4'), ('a', '<i4'), ('', 'V4')]",
                "[('', '|V4'), ('a', '<i4'), ('', '|V4')]",
            ),
            ("[('a', '<i4'), ('', '|V0')]", "[('a', '<i4')]"),
            ("[('', '<i2')]", "[('', '<i2')]"),
            ("[('a', ('<i4', (2,), 'x'))]", "[('a', '<i4', (2,))]"),
            (
                "[('a', ('<i4', (2,)), (3,))]",
                "[('a', ('<i4', (2,)), (3,))]",
            ),
            ("[('a', '<i4', 0)]", "[('a', '<i4', (0,))]"),
            ("[]", "[]"),
        ] {
            assert_eq!(canon(given), want, "{given}");
        }
    }

    #[test]
    fn equal_as_numpy_compares() {
        let same = |a: &str, b: &str| same_descr(&parse(a).unwrap(), &parse(b).unwrap());
        assert!(same("'<u1'", "'|u1'"));
        assert!(same("'f8'", "'<f8'"));
        assert!(same("'=i4'", "'<i4'"));
        assert!(same("[('a', '<u1')]", "[('a', '|u1')]"));
        assert!(!same("'<f8'", "'>f8'"));
        assert!(!same("'<i4'", "'<u4'"));
        assert!(!same("[('a', '<i4')]", "[('b', '<i4')]"));
        assert!(!same("[('a', '<i4')]", "[('a', '<i4'), ('', '|V4')]"));
    }

    #[test]
    fn bad_descrs() {
        for bad in [
            "'<f3'",
            "'<f12'",
            "'<f10'",
            "'<c20'",
            "'|S2147483648'",
            "'<U536870912'",
            "'<q8'",
            "'i0'",
            "'?1'",
            "'>float64'",
            "' <f8'",
            "'<f8 '",
            "'<M8[parsec]'",
            "'<M8[B]'",
            "'M8[-1ns]'",
            "'M8[2147483648s]'",
            "'(2)i4'",
            "'<(2,)>i4'",
            "3",
            "[('a',)]",
            "[('a', '<i4'), ('a', '<i4')]",
            "[(('t', 'a'), '<i2'), ('t', '<i2')]",
            "[('a', '<i2', (True,))]",
            "('<f8', (-1,))",
            "('<f8', (4294967295, 4294967295, 4294967295))",
            "[('a', 'S2147483647'), ('b', 'S2147483647')]",
            "[('a', '<f8', (2147483648,))]",
        ] {
            assert!(Dtype::from_descr(&parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_dtypes() {
        for (given, want) in [
            ("float64", "'<f8'"),
            ("int32", "'<i4'"),
            ("f8", "'<f8'"),
            ("d", "'<f8'"),
            ("<f8", "'<f8'"),
            ("u1", "'|u1'"),
            ("[('x', '<i4')]", "[('x', '<i4')]"),
        ] {
            assert_eq!(parse_user_dtype(given).unwrap().repr(), want, "{given}");
        }
        for bad in ["('<f8',(2,))", "2f8", "nonsense", "'<f8"] {
            let e = parse_user_dtype(bad).unwrap_err().to_string();
            assert!(e.contains("float64"), "{bad}: {e}");
        }
    }
}
