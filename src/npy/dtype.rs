//! Data types: what a header's `descr` means.
//!
//! The header keeps the `descr` exactly as written (a [`Py`] value) so that it
//! can be written back byte for byte; [`Dtype`] is its interpretation, which
//! gives the item size, tells object dtypes apart and describes the type in
//! words. The rules follow numpy's `descr_to_dtype` (numpy/lib/format.py):
//! a string is a simple type, a tuple `(descr, shape)` a subarray, a list a
//! record whose fields are laid out back to back (padding appears as explicit
//! `('', '|Vn')` fields).

use super::pylit::Py;
use super::FormatError;

/// The interpretation of a `descr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    /// A simple type string such as `<f8`, `|S7`, `<M8[ns]`.
    Scalar(Scalar),
    /// A fixed-shape subarray of another type, `('<f8', (5,))`.
    Subarray(Box<Dtype>, Vec<u64>),
    /// A record: fields in order.
    Record(Vec<Field>),
}

/// One field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub title: Option<String>,
    pub dtype: Dtype,
}

/// A simple type: byte order, kind character, item size in bytes and, for
/// datetimes, the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub byteorder: char,
    pub kind: char,
    pub size: u64,
    /// The count given in the type string (characters for `U`, bytes otherwise).
    pub count: u64,
    pub unit: Option<String>,
}

/// Item sizes above this are refused: no real type comes close, and it keeps
/// every size product far from overflow.
const MAX_ITEMSIZE: u64 = 1 << 40;

impl Dtype {
    /// Interprets a header's `descr` value.
    pub fn from_descr(descr: &Py) -> Result<Dtype, FormatError> {
        match descr {
            Py::Str(s) => Ok(Dtype::Scalar(parse_scalar(s)?)),
            Py::Tuple(items) => {
                if items.len() != 2 {
                    return Err(bad_descr(descr, "a subarray descr is (type, shape)"));
                }
                let base = Dtype::from_descr(&items[0])?;
                let shape = parse_dims(&items[1])?;
                let t = Dtype::Subarray(Box::new(base), shape);
                t.check_size()?;
                Ok(t)
            }
            Py::List(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for f in fields {
                    let Py::Tuple(parts) = f else {
                        return Err(bad_descr(
                            f,
                            "a record field is a tuple (name, type[, shape])",
                        ));
                    };
                    if parts.len() != 2 && parts.len() != 3 {
                        return Err(bad_descr(
                            f,
                            "a record field is a tuple (name, type[, shape])",
                        ));
                    }
                    let (title, name) = match &parts[0] {
                        Py::Str(n) => (None, n.clone()),
                        Py::Tuple(tn) if tn.len() == 2 => match (&tn[0], &tn[1]) {
                            (Py::Str(t), Py::Str(n)) => (Some(t.clone()), n.clone()),
                            _ => return Err(bad_descr(f, "a field title and name are strings")),
                        },
                        _ => return Err(bad_descr(f, "a field name is a string or (title, name)")),
                    };
                    let mut dtype = Dtype::from_descr(&parts[1])?;
                    if parts.len() == 3 {
                        dtype = Dtype::Subarray(Box::new(dtype), parse_dims(&parts[2])?);
                    }
                    if !name.is_empty() && out.iter().any(|g: &Field| g.name == name) {
                        return Err(FormatError::Descr(format!("duplicate field name {name:?}")));
                    }
                    out.push(Field { name, title, dtype });
                }
                let t = Dtype::Record(out);
                t.check_size()?;
                Ok(t)
            }
            other => Err(bad_descr(
                other,
                "descr must be a type string, a list of fields or a (type, shape) tuple",
            )),
        }
    }

    fn check_size(&self) -> Result<(), FormatError> {
        match self.try_itemsize() {
            Some(n) if n <= MAX_ITEMSIZE => Ok(()),
            _ => Err(FormatError::Descr("item size is too large".into())),
        }
    }

    fn try_itemsize(&self) -> Option<u64> {
        match self {
            Dtype::Scalar(s) => Some(s.size),
            Dtype::Subarray(base, shape) => shape
                .iter()
                .try_fold(base.try_itemsize()?, |acc, &d| acc.checked_mul(d)),
            Dtype::Record(fields) => fields
                .iter()
                .try_fold(0u64, |acc, f| acc.checked_add(f.dtype.try_itemsize()?)),
        }
    }

    /// Bytes per element. Checked at construction, so this cannot overflow.
    pub fn itemsize(&self) -> u64 {
        self.try_itemsize().expect("item size checked when parsed")
    }

    /// True when the type holds Python objects anywhere (pickled data).
    pub fn has_object(&self) -> bool {
        match self {
            Dtype::Scalar(s) => s.kind == 'O',
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
                let named = fields.iter().filter(|f| !f.name.is_empty()).count();
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
    FormatError::Descr(format!("invalid descr {r}: {why}"))
}

fn parse_dims(v: &Py) -> Result<Vec<u64>, FormatError> {
    let one = |x: &Py| match x {
        Py::Int(i) if *i >= 0 && *i <= u32::MAX as i128 => Ok(*i as u64),
        _ => Err(bad_descr(v, "a subarray shape holds non-negative integers")),
    };
    match v {
        Py::Int(_) => Ok(vec![one(v)?]),
        Py::Tuple(items) => items.iter().map(one).collect(),
        _ => Err(bad_descr(v, "a subarray shape is an integer or a tuple")),
    }
}

/// Parses a simple type string: `[<>|=]` kind count `[unit]`.
fn parse_scalar(s: &str) -> Result<Scalar, FormatError> {
    let bad = |why: &str| FormatError::Descr(format!("invalid descr {s:?}: {why}"));
    let mut rest = s;
    let byteorder = match rest.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => {
            rest = &rest[1..];
            c
        }
        _ => '=',
    };
    let kind = match rest.chars().next() {
        Some(c) => c,
        None => return Err(bad("no type")),
    };
    rest = &rest[kind.len_utf8()..];
    let (digits, unit) = match rest.find('[') {
        Some(p) => {
            if !rest.ends_with(']') {
                return Err(bad("unterminated unit"));
            }
            (&rest[..p], Some(rest[p + 1..rest.len() - 1].to_string()))
        }
        None => (rest, None),
    };
    let count: Option<u64> = if digits.is_empty() {
        None
    } else if digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 12 {
        Some(digits.parse().map_err(|_| bad("bad size"))?)
    } else {
        return Err(bad("bad size"));
    };
    if unit.is_some() && kind != 'M' && kind != 'm' {
        return Err(bad("only datetime types have a unit"));
    }
    let fixed = |allowed: &[u64]| -> Result<u64, FormatError> {
        match count {
            Some(n) if allowed.contains(&n) => Ok(n),
            _ => Err(bad("unsupported size for this kind")),
        }
    };
    let (kind, size, count) = match kind {
        'b' | '?' => {
            if count.is_some() && count != Some(1) {
                return Err(bad("bool is one byte"));
            }
            ('b', 1, 1)
        }
        'i' | 'u' => {
            let n = fixed(&[1, 2, 4, 8])?;
            (kind, n, n)
        }
        'f' => {
            let n = fixed(&[2, 4, 8, 10, 12, 16])?;
            (kind, n, n)
        }
        'c' => {
            let n = fixed(&[8, 16, 20, 24, 32])?;
            (kind, n, n)
        }
        'S' | 'a' | 'V' => {
            let n = count.unwrap_or(0);
            (kind, n, n)
        }
        'U' => {
            let n = count.unwrap_or(0);
            (kind, n.checked_mul(4).ok_or_else(|| bad("too large"))?, n)
        }
        'M' | 'm' => {
            if count.is_some() && count != Some(8) {
                return Err(bad("datetimes are 8 bytes"));
            }
            if let Some(u) = &unit {
                if !valid_unit(u) {
                    return Err(bad("unknown datetime unit"));
                }
            }
            (kind, 8, 8)
        }
        'O' => {
            if count.is_some() && count != Some(8) && count != Some(4) {
                return Err(bad("object pointers are 4 or 8 bytes"));
            }
            ('O', count.unwrap_or(8), count.unwrap_or(8))
        }
        _ => return Err(bad("unknown type kind")),
    };
    if size > MAX_ITEMSIZE {
        return Err(bad("too large"));
    }
    Ok(Scalar {
        byteorder,
        kind,
        size,
        count,
        unit,
    })
}

fn valid_unit(u: &str) -> bool {
    let (mult, base) = u.split_at(u.find(|c: char| !c.is_ascii_digit()).unwrap_or(u.len()));
    if mult.len() > 9 {
        return false;
    }
    // numpy also accepts "generic" (shown as `M8` without a unit).
    matches!(
        base,
        "Y" | "M"
            | "W"
            | "D"
            | "h"
            | "m"
            | "s"
            | "ms"
            | "us"
            | "μs"
            | "ns"
            | "ps"
            | "fs"
            | "as"
            | "generic"
    )
}

impl Scalar {
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
            'S' | 'a' => format!("bytes of length {}", self.count),
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
            k => format!("type {k}"),
        };
        format!("{base}{order}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::pylit::parse;

    fn size(descr: &str) -> u64 {
        Dtype::from_descr(&parse(descr).unwrap())
            .unwrap()
            .itemsize()
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
        let d = Dtype::from_descr(&parse("[('a', '<i4'), ('b', [('c', '|O')])]").unwrap()).unwrap();
        assert!(d.has_object());
    }

    #[test]
    fn bad_descrs() {
        for bad in [
            "'<f3'",
            "'<q8'",
            "'<i'",
            "3",
            "[('a',)]",
            "[('a', '<i4'), ('a', '<i4')]",
            "'<M8[parsec]'",
            "('<f8', (-1,))",
            "('<f8', (4294967295, 4294967295, 4294967295))",
        ] {
            assert!(Dtype::from_descr(&parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
