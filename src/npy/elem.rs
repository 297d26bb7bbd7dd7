//! Element values for `stats` and `diff`: a scalar of any simple type
//! (every integer width, `f2`/`f4`/`f8`, x87 long double, complex,
//! datetimes, either byte order) as a value that can be compared, summed and
//! printed.
//!
//! The byte-level rules (byte order, sign extension, half floats, complex
//! layout, NaT) are those of [`values`], which `show` decodes
//! with; this module adds what only `stats` and `diff` need: [`Kind`] + [`Val`]
//! (a flat, `Copy` value, one element at a time, what `diff` needs), x87 long
//! doubles, and the [`Elem`] trait, which loads one fixed type with the
//! standard library's `from_le_bytes`/`from_be_bytes` (no branching on the
//! kind, what the `stats` inner loops are monomorphised over; a unit test
//! checks it against [`decode`] for every type).

use super::dtype::{Dtype, Scalar};
pub use super::values::f16_to_f64;
use super::values::{self, FloatWidth};

/// How to decode one simple (non-record) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int {
        signed: bool,
        size: u8,
        big: bool,
    },
    /// IEEE binary16/32/64.
    Float {
        size: u8,
        big: bool,
    },
    /// x87 80-bit extended precision stored in 12 or 16 bytes (`<f16`, `<g`).
    LongDouble {
        big: bool,
    },
    Complex {
        size: u8,
        big: bool,
    },
    /// datetime64 / timedelta64: an i64 count of units, `NaT` = i64::MIN.
    Time {
        big: bool,
    },
    /// Anything compared byte for byte (`S`, `U`, `V`, long complex, objects).
    Bytes,
}

impl Kind {
    pub fn of(s: &Scalar) -> Kind {
        let big = s.byteorder == '>';
        let size = s.size as u8;
        match (s.kind, s.size) {
            ('b', _) => Kind::Bool,
            ('i', _) => Kind::Int {
                signed: true,
                size,
                big,
            },
            ('u', _) => Kind::Int {
                signed: false,
                size,
                big,
            },
            ('f', 2 | 4 | 8) => Kind::Float { size, big },
            ('f', 12 | 16) => Kind::LongDouble { big },
            ('c', 8 | 16) => Kind::Complex {
                size: size / 2,
                big,
            },
            ('M' | 'm', 8) => Kind::Time { big },
            _ => Kind::Bytes,
        }
    }

    /// True for the kinds `stats` summarises: bool, integers, floats.
    pub fn is_real_number(&self) -> bool {
        matches!(self, Kind::Bool | Kind::Int { .. } | Kind::Float { .. })
    }
}

/// One decoded scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Bool(bool),
    Int(i128),
    /// A float, with the bits of its storage type (16, 32, 64, or 80 for
    /// long double) so it prints as that type's shortest repr.
    Float(f64, u8),
    Complex(f64, f64, u8),
    Time(i64),
    /// Compared by bytes; printed by the caller from the bytes.
    Bytes,
}

/// Decodes a scalar of `kind` from the start of `b` (which holds at least
/// its size), by the rules of [`values`].
pub fn decode(kind: Kind, b: &[u8]) -> Val {
    match kind {
        Kind::Bool => Val::Bool(b[0] != 0),
        Kind::Int { signed, size, big } => {
            let b = &b[..size as usize];
            Val::Int(if signed {
                values::int(b, big) as i128
            } else {
                values::uint(b, big) as i128
            })
        }
        Kind::Float { size, big } => Val::Float(float(b, size, big), size * 8),
        Kind::LongDouble { big } => Val::Float(long_double(b, big), 80),
        Kind::Complex { size, big } => {
            let n = size as usize;
            Val::Complex(float(b, size, big), float(&b[n..], size, big), size * 8)
        }
        Kind::Time { big } => Val::Time(values::time(b, big).unwrap_or(i64::MIN)),
        Kind::Bytes => Val::Bytes,
    }
}

fn float(b: &[u8], size: u8, big: bool) -> f64 {
    let w = FloatWidth::of_size(size as usize).expect("Kind::of makes IEEE sizes only");
    values::float(b, w, big)
}

/// x87 extended precision (64-bit mantissa with explicit integer bit,
/// 15-bit exponent) to the nearest f64. Used for comparisons with a
/// tolerance and for printing; exact equality uses [`long_double_eq`].
fn long_double(b: &[u8], big: bool) -> f64 {
    let (man, se) = long_double_parts(b, big);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (se & 0x7fff) as i32;
    if exp == 0x7fff {
        return if man << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let e = if exp == 0 { -16382 } else { exp - 16383 };
    // man / 2^63 is in [0, 2); scaling by 2^e over- or underflows exactly
    // when the value is outside the range of a double.
    sign * (man as f64 / 2f64.powi(63)) * 2f64.powi(e)
}

fn long_double_parts(b: &[u8], big: bool) -> (u64, u16) {
    // Stored little-endian as 8 mantissa bytes then 2 sign/exponent bytes;
    // big-endian storage mirrors the 10 significant bytes at the end.
    if big {
        let n = b.len();
        let mut t = [0u8; 10];
        t.copy_from_slice(&b[n - 10..]);
        t.reverse();
        (
            u64::from_le_bytes(t[..8].try_into().unwrap()),
            u16::from_le_bytes([t[8], t[9]]),
        )
    } else {
        (
            u64::from_le_bytes(b[..8].try_into().unwrap()),
            u16::from_le_bytes([b[8], b[9]]),
        )
    }
}

/// Value equality of two long doubles (as numpy's `==`): the significant
/// 10 bytes, with -0 == +0 and NaN equal to nothing; padding bytes ignored.
pub fn long_double_eq(a: &[u8], b: &[u8], big: bool) -> Option<bool> {
    let (ma, sa) = long_double_parts(a, big);
    let (mb, sb) = long_double_parts(b, big);
    let nan = |m: u64, s: u16| s & 0x7fff == 0x7fff && m << 1 != 0;
    if nan(ma, sa) || nan(mb, sb) {
        return None;
    }
    let zero = |m: u64, s: u16| s & 0x7fff == 0 && m == 0;
    Some((zero(ma, sa) && zero(mb, sb)) || (ma == mb && sa == sb))
}

impl Val {
    /// The value as a double (ints rounded as numpy's float64 cast rounds).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Val::Bool(b) => b as u8 as f64,
            Val::Int(i) => i as f64,
            Val::Float(f, _) => f,
            Val::Complex(r, _, _) => r,
            Val::Time(t) => t as f64,
            Val::Bytes => f64::NAN,
        }
    }

    pub fn is_nan(&self) -> bool {
        match *self {
            Val::Float(f, _) => f.is_nan(),
            Val::Complex(r, i, _) => r.is_nan() || i.is_nan(),
            Val::Time(t) => t == i64::MIN,
            _ => false,
        }
    }

    /// The value as numpy prints a scalar of its type (`str`): shortest
    /// round-trip digits for floats of the storage width.
    pub fn display(&self) -> String {
        match *self {
            Val::Bool(b) => if b { "True" } else { "False" }.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f, bits) => fmt_float(f, bits),
            Val::Complex(r, i, bits) => {
                // Python's complex repr: parts without a trailing `.0`, and
                // a bare imaginary part when the real part is +0.
                let part = |x: f64| {
                    let s = fmt_float(x, bits);
                    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
                };
                let im = part(i);
                if r == 0.0 && r.is_sign_positive() {
                    return format!("{im}j");
                }
                let sign = if im.starts_with('-') { "" } else { "+" };
                format!("({}{sign}{im}j)", part(r))
            }
            Val::Time(t) if t == i64::MIN => "NaT".to_string(),
            Val::Time(t) => t.to_string(),
            Val::Bytes => String::new(),
        }
    }
}

/// A float as Python's `repr` writes it, with the shortest digits that
/// read back to the same value of `bits` width: `1.0`, `0.1`, `1e-05`,
/// `1.5e+16`, `nan`, `inf`, `-inf`.
pub fn fmt_float(x: f64, bits: u8) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let w = match bits {
        16 => FloatWidth::F16,
        32 => FloatWidth::F32,
        _ => FloatWidth::F64,
    };
    py_layout(&super::print::shortest_sci(x, w))
}

/// Lays out Rust's shortest scientific form (`-1.5e-7`) the way Python's
/// `repr` does: positional for exponents -4..16, else `d.ddde±XX`.
fn py_layout(sci: &str) -> String {
    let (mant, exp) = sci.split_once('e').expect("scientific form");
    let exp: i32 = exp.parse().expect("exponent");
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.push_str(&"0".repeat(int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    }
    out
}

/// The simple type a dtype reduces to for `stats`, or why it does not.
pub fn real_kind(dtype: &Dtype) -> Option<Kind> {
    match dtype {
        Dtype::Scalar(s) => Some(Kind::of(s)).filter(Kind::is_real_number),
        _ => None,
    }
}

/// A fixed element type for monomorphised loops: decode from bytes, view
/// as a double, and (for integer types) as an exact integer.
pub trait Elem: Copy + Send + Sync + 'static {
    const SIZE: usize;
    const INT: bool;
    fn load(b: &[u8]) -> Self;
    fn f64(self) -> f64;
    fn i128(self) -> i128;
}

/// A fixed-type loader for a primitive read with `from_le_bytes` or
/// `from_be_bytes`; `INT` says whether it is an integer (exact as i128).
macro_rules! prim_elem {
    ($name:ident, $t:ty, $from:ident, $int:expr) => {
        #[derive(Clone, Copy)]
        pub struct $name(pub $t);
        impl Elem for $name {
            const SIZE: usize = std::mem::size_of::<$t>();
            const INT: bool = $int;
            #[inline(always)]
            fn load(b: &[u8]) -> Self {
                $name(<$t>::$from(b[..Self::SIZE].try_into().unwrap()))
            }
            #[inline(always)]
            fn f64(self) -> f64 {
                self.0 as f64
            }
            #[inline(always)]
            fn i128(self) -> i128 {
                if $int {
                    self.0 as i128
                } else {
                    0
                }
            }
        }
    };
}

macro_rules! int_elem {
    ($name:ident, $t:ty, $from:ident) => {
        prim_elem!($name, $t, $from, true);
    };
}

macro_rules! float_elem {
    ($name:ident, $t:ty, $from:ident) => {
        prim_elem!($name, $t, $from, false);
    };
}

int_elem!(I8, i8, from_le_bytes);
int_elem!(U8, u8, from_le_bytes);
int_elem!(I16le, i16, from_le_bytes);
int_elem!(I16be, i16, from_be_bytes);
int_elem!(U16le, u16, from_le_bytes);
int_elem!(U16be, u16, from_be_bytes);
int_elem!(I32le, i32, from_le_bytes);
int_elem!(I32be, i32, from_be_bytes);
int_elem!(U32le, u32, from_le_bytes);
int_elem!(U32be, u32, from_be_bytes);
int_elem!(I64le, i64, from_le_bytes);
int_elem!(I64be, i64, from_be_bytes);
int_elem!(U64le, u64, from_le_bytes);
int_elem!(U64be, u64, from_be_bytes);
float_elem!(F32le, f32, from_le_bytes);
float_elem!(F32be, f32, from_be_bytes);
float_elem!(F64le, f64, from_le_bytes);
float_elem!(F64be, f64, from_be_bytes);

/// bool: 0 is False, anything else True (as numpy reads a `|b1` byte).
#[derive(Clone, Copy)]
pub struct Bool(pub bool);
impl Elem for Bool {
    const SIZE: usize = 1;
    const INT: bool = true;
    #[inline(always)]
    fn load(b: &[u8]) -> Self {
        Bool(b[0] != 0)
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self.0 as u8 as f64
    }
    #[inline(always)]
    fn i128(self) -> i128 {
        self.0 as i128
    }
}

/// binary16, little- or big-endian.
#[derive(Clone, Copy)]
pub struct F16<const BIG: bool>(pub u16);
impl<const BIG: bool> Elem for F16<BIG> {
    const SIZE: usize = 2;
    const INT: bool = false;
    #[inline(always)]
    fn load(b: &[u8]) -> Self {
        let a = [b[0], b[1]];
        F16(if BIG {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        f16_to_f64(self.0)
    }
    #[inline(always)]
    fn i128(self) -> i128 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixed-type loader agrees with the general decoder.
    #[test]
    fn elem_loaders_agree_with_decode() {
        fn check<E: Elem>(kind: Kind, bytes: &[u8]) {
            for b in bytes.chunks_exact(E::SIZE) {
                let e = E::load(b);
                match decode(kind, b) {
                    Val::Int(i) => assert_eq!((e.i128(), e.f64()), (i, i as f64), "{kind:?} {b:?}"),
                    Val::Bool(v) => assert_eq!(e.i128(), v as i128),
                    Val::Float(f, _) => {
                        assert!(
                            e.f64() == f || (f.is_nan() && e.f64().is_nan()),
                            "{kind:?} {b:?}"
                        )
                    }
                    v => panic!("{kind:?} decoded as {v:?}"),
                }
            }
        }
        // Bytes with every sign and exponent pattern in some position.
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i as u8))
            .collect();
        let int = |signed, size, big| Kind::Int { signed, size, big };
        let flt = |size, big| Kind::Float { size, big };
        check::<Bool>(Kind::Bool, &bytes);
        check::<I8>(int(true, 1, false), &bytes);
        check::<U8>(int(false, 1, false), &bytes);
        check::<I16le>(int(true, 2, false), &bytes);
        check::<I16be>(int(true, 2, true), &bytes);
        check::<U16le>(int(false, 2, false), &bytes);
        check::<U16be>(int(false, 2, true), &bytes);
        check::<I32le>(int(true, 4, false), &bytes);
        check::<I32be>(int(true, 4, true), &bytes);
        check::<U32le>(int(false, 4, false), &bytes);
        check::<U32be>(int(false, 4, true), &bytes);
        check::<I64le>(int(true, 8, false), &bytes);
        check::<I64be>(int(true, 8, true), &bytes);
        check::<U64le>(int(false, 8, false), &bytes);
        check::<U64be>(int(false, 8, true), &bytes);
        check::<F16<false>>(flt(2, false), &bytes);
        check::<F16<true>>(flt(2, true), &bytes);
        check::<F32le>(flt(4, false), &bytes);
        check::<F32be>(flt(4, true), &bytes);
        check::<F64le>(flt(8, false), &bytes);
        check::<F64be>(flt(8, true), &bytes);
    }

    #[test]
    fn half_decodes() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
    }

    /// Every finite half prints as digits that read back to it.
    #[test]
    fn every_half_round_trips() {
        for h in 0..=0xffffu16 {
            let x = f16_to_f64(h);
            if !x.is_finite() {
                continue;
            }
            let t = fmt_float(x, 16);
            let back = values::f64_to_f16(t.parse::<f64>().unwrap());
            assert_eq!(back, h, "{h:#06x} printed {t}");
        }
    }

    #[test]
    fn floats_print_like_python() {
        assert_eq!(fmt_float(1.0, 64), "1.0");
        assert_eq!(fmt_float(0.1, 64), "0.1");
        assert_eq!(fmt_float(1e-5, 64), "1e-05");
        assert_eq!(fmt_float(0.0001, 64), "0.0001");
        assert_eq!(fmt_float(1.5e16, 64), "1.5e+16");
        assert_eq!(fmt_float(123456.0, 64), "123456.0");
        assert_eq!(fmt_float(-0.0, 64), "-0.0");
        assert_eq!(fmt_float(0.1f32 as f64, 32), "0.1");
        assert_eq!(fmt_float(f16_to_f64(0x2e66), 16), "0.1");
        assert_eq!(fmt_float(65504.0, 16), "65500.0");
        assert_eq!(fmt_float(f64::NEG_INFINITY, 32), "-inf");
        assert_eq!(Val::Complex(3.0, -1.0, 64).display(), "(3-1j)");
        assert_eq!(Val::Complex(0.0, 2.0, 64).display(), "2j");
        assert_eq!(Val::Complex(1.5, f64::NAN, 32).display(), "(1.5+nanj)");
    }

    #[test]
    fn long_double_values() {
        // 1.0 as x87: mantissa 0x8000000000000000, exponent 16383.
        let mut one = [0u8; 16];
        one[7] = 0x80;
        one[8] = 0xff;
        one[9] = 0x3f;
        assert_eq!(long_double(&one, false), 1.0);
        let mut padded = one;
        padded[12] = 7;
        assert_eq!(long_double_eq(&one, &padded, false), Some(true));
        let zero = [0u8; 16];
        let mut negzero = zero;
        negzero[9] = 0x80;
        assert_eq!(long_double_eq(&zero, &negzero, false), Some(true));
    }
}
