//! Typed elements: decoding one array element from its bytes.
//!
//! [`Value`] is what an element holds, whatever its dtype: booleans, integers
//! of every width (kept exact), floats of 16, 32 and 64 bits (kept with their
//! width, which decides how they print), complex numbers, byte and unicode
//! strings, datetimes and timedeltas (with their unit), raw void bytes, and
//! records (fields in order, padding fields dropped as `np.load` drops them)
//! with subarray fields. [`ElementType`] is the dtype prepared for decoding;
//! it refuses what has no value here: Python objects and `longdouble`.
//!
//! The byte-level rules (byte order, integer sign extension, half floats,
//! complex layout, NaT) are the small functions at the end ([`int`],
//! [`uint`], [`float`], [`time`], [`f16_to_f64`]); `elem` (what `stats` and
//! `diff` decode with) uses them too, so each rule is written once.

use super::dtype::{Dtype, Scalar};

/// The width of a float, which decides its shortest round-trip digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatWidth {
    F16,
    F32,
    F64,
}

/// A datetime or timedelta unit: the base unit and its multiplier
/// (`M8[10s]` is `("s", 10)`). `generic` has no base unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeUnit {
    pub base: String,
    pub mult: i64,
}

/// One decoded element.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// Exact: an f16 or f32 converts to f64 without loss.
    Float(f64, FloatWidth),
    Complex(f64, f64, FloatWidth),
    /// `S`: the bytes with trailing NULs removed, as numpy's `.item()` does.
    Bytes(Vec<u8>),
    /// `U`: the text with trailing NULs removed.
    Str(String),
    /// Unstructured `V`: all the bytes.
    Void(Vec<u8>),
    /// `M8`: the raw count of units since 1970-01-01; `None` is NaT.
    Datetime(Option<i64>),
    /// `m8`: the raw count of units; `None` is NaT.
    Timedelta(Option<i64>),
    Record(Vec<Value>),
    /// A subarray field, flattened in C order (its shape is in the type).
    Sub(Vec<Value>),
}

/// What cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// A dtype with no value representation here (objects, longdouble).
    Unsupported(String),
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueError::Unsupported(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ValueError {}

/// A dtype prepared for decoding: offsets resolved, padding dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementType {
    Bool,
    Int {
        size: usize,
        big: bool,
    },
    UInt {
        size: usize,
        big: bool,
    },
    Float {
        width: FloatWidth,
        big: bool,
    },
    Complex {
        width: FloatWidth,
        big: bool,
    },
    Bytes(usize),
    Str {
        chars: usize,
        big: bool,
    },
    Void(usize),
    Datetime {
        unit: TimeUnit,
        big: bool,
    },
    Timedelta {
        unit: TimeUnit,
        big: bool,
    },
    /// Named fields with their byte offsets; `size` is the record's size.
    Record {
        fields: Vec<FieldType>,
        size: usize,
    },
    Sub {
        base: Box<ElementType>,
        shape: Vec<u64>,
    },
}

/// One named field of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldType {
    pub name: String,
    pub offset: usize,
    pub ty: ElementType,
}

impl ElementType {
    /// Prepares `dtype` for decoding, or says why its values cannot be read.
    pub fn new(dtype: &Dtype) -> Result<ElementType, ValueError> {
        match dtype {
            Dtype::Scalar(s) => scalar_type(s),
            Dtype::Subarray(base, shape) => Ok(ElementType::Sub {
                base: Box::new(ElementType::new(base)?),
                shape: shape.clone(),
            }),
            Dtype::Record(fields) => {
                let mut out = Vec::new();
                let mut offset = 0usize;
                for f in fields {
                    let size = f.dtype.itemsize() as usize;
                    let padding =
                        f.name.is_empty() && matches!(&f.dtype, Dtype::Scalar(s) if s.kind == 'V');
                    if !padding {
                        out.push(FieldType {
                            name: f.name.clone(),
                            offset,
                            ty: ElementType::new(&f.dtype)?,
                        });
                    }
                    offset += size;
                }
                Ok(ElementType::Record {
                    fields: out,
                    size: offset,
                })
            }
        }
    }

    /// Bytes per element.
    pub fn size(&self) -> usize {
        match self {
            ElementType::Bool => 1,
            ElementType::Int { size, .. } | ElementType::UInt { size, .. } => *size,
            ElementType::Float { width, .. } => float_size(*width),
            ElementType::Complex { width, .. } => 2 * float_size(*width),
            ElementType::Bytes(n) | ElementType::Void(n) => *n,
            ElementType::Str { chars, .. } => 4 * chars,
            ElementType::Datetime { .. } | ElementType::Timedelta { .. } => 8,
            ElementType::Record { size, .. } => *size,
            ElementType::Sub { base, shape } => {
                base.size() * shape.iter().product::<u64>() as usize
            }
        }
    }

    /// Decodes one element from exactly [`size`](Self::size) bytes.
    pub fn decode(&self, b: &[u8]) -> Value {
        match self {
            ElementType::Bool => Value::Bool(b[0] != 0),
            ElementType::Int { size, big } => Value::Int(int(&b[..*size], *big)),
            ElementType::UInt { size, big } => Value::UInt(uint(&b[..*size], *big)),
            ElementType::Float { width, big } => Value::Float(float(b, *width, *big), *width),
            ElementType::Complex { width, big } => {
                let n = float_size(*width);
                Value::Complex(
                    float(&b[..n], *width, *big),
                    float(&b[n..2 * n], *width, *big),
                    *width,
                )
            }
            ElementType::Bytes(n) => {
                let mut v = b[..*n].to_vec();
                while v.last() == Some(&0) {
                    v.pop();
                }
                Value::Bytes(v)
            }
            ElementType::Str { chars, big } => {
                let mut s = String::new();
                let mut pending_nuls = 0;
                for i in 0..*chars {
                    let c = uint(&b[4 * i..4 * i + 4], *big) as u32;
                    if c == 0 {
                        pending_nuls += 1;
                        continue;
                    }
                    for _ in 0..pending_nuls {
                        s.push('\0');
                    }
                    pending_nuls = 0;
                    s.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                Value::Str(s)
            }
            ElementType::Void(n) => Value::Void(b[..*n].to_vec()),
            ElementType::Datetime { big, .. } => Value::Datetime(time(b, *big)),
            ElementType::Timedelta { big, .. } => Value::Timedelta(time(b, *big)),
            ElementType::Record { fields, .. } => Value::Record(
                fields
                    .iter()
                    .map(|f| f.ty.decode(&b[f.offset..f.offset + f.ty.size()]))
                    .collect(),
            ),
            ElementType::Sub { base, .. } => {
                let n = base.size();
                let count = self.size().checked_div(n).unwrap_or(0);
                Value::Sub((0..count).map(|i| base.decode(&b[i * n..])).collect())
            }
        }
    }
}

/// Reads the elements at `offsets` (counted in elements from the start of
/// the data at byte `data_start`) with positioned reads, one per run of
/// adjacent elements: only those bytes are read, and a file that shrinks
/// meanwhile gives an error, never a crash.
pub fn read_elements(
    file: &std::fs::File,
    data_start: u64,
    ty: &ElementType,
    offsets: &[u64],
) -> std::io::Result<Vec<Value>> {
    use std::os::unix::fs::FileExt;
    const MAX_RUN: usize = 1 << 20;
    let size = ty.size();
    let mut out = Vec::with_capacity(offsets.len());
    if size == 0 {
        out.extend(offsets.iter().map(|_| ty.decode(&[])));
        return Ok(out);
    }
    let mut buf = Vec::new();
    let mut k = 0;
    while k < offsets.len() {
        let mut run = 1;
        while k + run < offsets.len()
            && offsets[k + run] == offsets[k] + run as u64
            && (run + 1) * size <= MAX_RUN
        {
            run += 1;
        }
        buf.resize(run * size, 0);
        let at = offsets[k]
            .checked_mul(size as u64)
            .and_then(|b| b.checked_add(data_start))
            .ok_or_else(|| std::io::Error::other("element offset overflows"))?;
        file.read_exact_at(&mut buf, at)?;
        out.extend(buf.chunks_exact(size).map(|c| ty.decode(c)));
        k += run;
    }
    Ok(out)
}

impl FloatWidth {
    /// The width of an IEEE float of `size` bytes (2, 4 or 8).
    pub fn of_size(size: usize) -> Option<FloatWidth> {
        match size {
            2 => Some(FloatWidth::F16),
            4 => Some(FloatWidth::F32),
            8 => Some(FloatWidth::F64),
            _ => None,
        }
    }
}

/// Bytes of a float of width `w`.
pub fn float_size(w: FloatWidth) -> usize {
    match w {
        FloatWidth::F16 => 2,
        FloatWidth::F32 => 4,
        FloatWidth::F64 => 8,
    }
}

/// The unsigned integer stored in `b` (1 to 8 bytes) in either byte order.
pub fn uint(b: &[u8], big: bool) -> u64 {
    let mut v = 0u64;
    if big {
        for &x in b {
            v = (v << 8) | x as u64;
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | x as u64;
        }
    }
    v
}

/// The signed (two's complement) integer stored in `b` (1 to 8 bytes).
pub fn int(b: &[u8], big: bool) -> i64 {
    let shift = 64 - 8 * b.len() as u32;
    ((uint(b, big) << shift) as i64) >> shift
}

/// The float of width `w` at the start of `b`, exactly, as f64. A complex
/// number is two of these, real part first.
pub fn float(b: &[u8], w: FloatWidth, big: bool) -> f64 {
    let n = float_size(w);
    let bits = uint(&b[..n], big);
    match w {
        FloatWidth::F16 => f16_to_f64(bits as u16),
        FloatWidth::F32 => f32::from_bits(bits as u32) as f64,
        FloatWidth::F64 => f64::from_bits(bits),
    }
}

/// A datetime64/timedelta64 count at the start of `b`; `None` is NaT.
pub fn time(b: &[u8], big: bool) -> Option<i64> {
    let v = uint(&b[..8], big) as i64;
    (v != i64::MIN).then_some(v)
}

/// An IEEE half (binary16) as f64, exactly.
pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    let mag = match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    };
    sign * mag
}

/// The nearest IEEE half to `x` (ties to even), as numpy's cast rounds.
pub fn f64_to_f16(x: f64) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000u16 } else { 0 };
    let a = x.abs();
    if a.is_nan() {
        return sign | 0x7e00;
    }
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    // Quantum of the target binade: subnormals share 2^-24.
    let e = if a < 2f64.powi(-14) {
        -24
    } else {
        exponent(a) - 10
    };
    let q = 2f64.powi(e);
    let m = a / q; // exact: a power-of-two scale
    let r = m.round_ties_even();
    let v = r * q;
    let bits = if v < 2f64.powi(-14) {
        r as u16
    } else {
        let ex = exponent(v);
        let frac = (v / 2f64.powi(ex) - 1.0) * 1024.0;
        (((ex + 15) as u16) << 10) | frac as u16
    };
    sign | bits
}

/// The binary exponent of a normal, positive f64.
fn exponent(a: f64) -> i32 {
    ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

fn scalar_type(s: &Scalar) -> Result<ElementType, ValueError> {
    let big = s.byteorder == '>' || (s.byteorder == '=' && cfg!(target_endian = "big"));
    let size = s.size as usize;
    let width = |n: usize| match n {
        2 => Some(FloatWidth::F16),
        4 => Some(FloatWidth::F32),
        8 => Some(FloatWidth::F64),
        _ => None,
    };
    let unit = || -> TimeUnit {
        let u = s.unit.clone().unwrap_or_else(|| "generic".into());
        let split = u.find(|c: char| !c.is_ascii_digit()).unwrap_or(u.len());
        let mult = u[..split].parse().unwrap_or(1);
        let base = u[split..].replace('μ', "u");
        TimeUnit { base, mult }
    };
    Ok(match s.kind {
        'b' => ElementType::Bool,
        'i' => ElementType::Int { size, big },
        'u' => ElementType::UInt { size, big },
        'f' => match width(size) {
            Some(width) => ElementType::Float { width, big },
            None => {
                return Err(ValueError::Unsupported(
                    "longdouble values are not supported (their layout depends on the machine)"
                        .into(),
                ))
            }
        },
        'c' => {
            match width(size / 2) {
                Some(width) => ElementType::Complex { width, big },
                None => return Err(ValueError::Unsupported(
                    "clongdouble values are not supported (their layout depends on the machine)"
                        .into(),
                )),
            }
        }
        'S' | 'a' => ElementType::Bytes(size),
        'U' => ElementType::Str {
            chars: s.count as usize,
            big,
        },
        'V' => ElementType::Void(size),
        'M' => ElementType::Datetime { unit: unit(), big },
        'm' => ElementType::Timedelta { unit: unit(), big },
        'O' => {
            return Err(ValueError::Unsupported(
                "holds pickled Python objects, which only Python can read".into(),
            ))
        }
        k => return Err(ValueError::Unsupported(format!("unknown type kind {k:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::pylit::parse;

    fn ty(descr: &str) -> ElementType {
        ElementType::new(&Dtype::from_descr(&parse(descr).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn ints_of_every_width_and_order() {
        assert_eq!(ty("'<i2'").decode(&[0xfe, 0xff]), Value::Int(-2));
        assert_eq!(ty("'>i2'").decode(&[0xff, 0xfe]), Value::Int(-2));
        assert_eq!(ty("'|i1'").decode(&[0x80]), Value::Int(-128));
        assert_eq!(ty("'<u8'").decode(&[0xff; 8]), Value::UInt(u64::MAX));
        assert_eq!(
            ty("'<i8'").decode(&i64::MIN.to_le_bytes()),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn half_floats_round_trip() {
        for bits in 0..=u16::MAX {
            let x = f16_to_f64(bits);
            if x.is_nan() {
                continue;
            }
            assert_eq!(f64_to_f16(x), bits, "{bits:#x} {x}");
        }
        // Ties go to even; just past the largest half is infinity.
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11)), 0x3c00);
        assert_eq!(f64_to_f16(65520.0), 0x7c00);
    }

    #[test]
    fn records_drop_padding_and_keep_offsets() {
        let t = ty("[('a', '<i2'), ('', '|V2'), ('b', '>u2', (2,))]");
        assert_eq!(t.size(), 8);
        let v = t.decode(&[1, 0, 9, 9, 0, 2, 0, 3]);
        assert_eq!(
            v,
            Value::Record(vec![
                Value::Int(1),
                Value::Sub(vec![Value::UInt(2), Value::UInt(3)])
            ])
        );
    }

    #[test]
    fn strings_drop_trailing_nuls_only() {
        assert_eq!(
            ty("'|S4'").decode(b"a\0b\0"),
            Value::Bytes(b"a\0b".to_vec())
        );
        let mut b = Vec::new();
        for c in ['x', '\0', 'é', '\0'] {
            b.extend_from_slice(&(c as u32).to_le_bytes());
        }
        assert_eq!(ty("'<U4'").decode(&b), Value::Str("x\0é".into()));
    }

    #[test]
    fn objects_and_longdouble_refused() {
        for d in ["'|O'", "'<f16'", "'<c32'"] {
            assert!(ElementType::new(&Dtype::from_descr(&parse(d).unwrap()).unwrap()).is_err());
        }
    }

    #[test]
    fn nat_is_none() {
        assert_eq!(
            ty("'<M8[s]'").decode(&i64::MIN.to_le_bytes()),
            Value::Datetime(None)
        );
        assert_eq!(
            ty("'<m8[s]'").decode(&5i64.to_le_bytes()),
            Value::Timedelta(Some(5))
        );
    }
}
