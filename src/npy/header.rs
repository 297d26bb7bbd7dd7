//! The `.npy` header: magic, version, header length, and the dict literal with
//! `descr`, `fortran_order` and `shape`.
//!
//! Reading accepts everything `numpy.lib.format` reads (see docs/FORMAT.md);
//! writing reproduces `np.save` of numpy 2.x byte for byte: keys sorted,
//! Python `repr` of the values, `GROWTH_AXIS_MAX_DIGITS` spare spaces for the
//! growth axis, space padding so the data starts on a 64-byte boundary, `\n`
//! last, and the lowest version that can hold the text.

use std::io::Read;

use super::dtype::Dtype;
use super::pylit::{self, Py};
use super::FormatError;

pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy's `ARRAY_ALIGN`: the data offset is a multiple of this.
pub const ARRAY_ALIGN: usize = 64;
/// numpy's `GROWTH_AXIS_MAX_DIGITS`: spare spaces left so the growth axis can
/// reach 21 digits without moving the data.
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Header lengths above this are refused outright; numpy writes a few MiB at
/// the very most (a record with hundreds of thousands of fields).
pub const MAX_HEADER_LEN: u64 = 256 << 20;
/// np.load's default `max_header_size`: a header dict of more characters
/// loads only with `np.load(f, max_header_size=...)` (or
/// `allow_pickle=True`). np.save writes such headers for wide records.
pub const NUMPY_MAX_HEADER_SIZE: u64 = 10_000;

/// Header versions and what they change, as numpy's `_header_size_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    /// Bytes in the header-length field (2 or 4).
    pub len_bytes: usize,
    /// Whether the dict text is UTF-8 (else latin-1).
    pub utf8: bool,
}

pub const VERSIONS: [Version; 3] = [
    Version {
        major: 1,
        minor: 0,
        len_bytes: 2,
        utf8: false,
    },
    Version {
        major: 2,
        minor: 0,
        len_bytes: 4,
        utf8: false,
    },
    Version {
        major: 3,
        minor: 0,
        len_bytes: 4,
        utf8: true,
    },
];

impl Version {
    pub fn from_bytes(major: u8, minor: u8) -> Option<Version> {
        VERSIONS
            .iter()
            .copied()
            .find(|v| v.major == major && v.minor == minor)
    }

    /// Magic plus version plus length field.
    pub fn prefix_len(&self) -> usize {
        MAGIC.len() + 2 + self.len_bytes
    }

    fn max_len(&self) -> u64 {
        if self.len_bytes == 2 {
            u16::MAX as u64
        } else {
            u32::MAX as u64
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A parsed header: the array's [`Layout`] (reached through `Deref`, so
/// `h.shape`, `h.row_bytes()` work directly) plus where it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: Version,
    /// Total header size in bytes: the offset of the data.
    pub header_len: u64,
    /// Characters in the dict text (padding and newline included), as
    /// np.load counts them against its `max_header_size`.
    pub dict_chars: u64,
    pub layout: Layout,
}

impl std::ops::Deref for Header {
    type Target = Layout;
    fn deref(&self) -> &Layout {
        &self.layout
    }
}

impl std::ops::DerefMut for Header {
    fn deref_mut(&mut self) -> &mut Layout {
        &mut self.layout
    }
}

/// Where an array's layout comes from, without version or length: what a
/// writer needs to produce a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub descr: Py,
    pub dtype: Dtype,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
}

/// The fixed-size start of a header: version and dict length.
#[derive(Debug, Clone, Copy)]
pub struct Preamble {
    pub version: Version,
    pub dict_len: u64,
}

impl Preamble {
    pub fn header_len(&self) -> u64 {
        self.version.prefix_len() as u64 + self.dict_len
    }
}

/// Parses magic, version and header length from the first bytes of a file.
/// `buf` must hold at least 12 bytes, or all there is.
pub fn parse_preamble(buf: &[u8]) -> Result<Preamble, FormatError> {
    if buf.is_empty() {
        return Err(FormatError::Empty);
    }
    let n = buf.len().min(MAGIC.len());
    if buf[..n] != MAGIC[..n] {
        return Err(FormatError::Magic);
    }
    if buf.len() < MAGIC.len() + 2 {
        return Err(FormatError::ShortHeader);
    }
    let (major, minor) = (buf[6], buf[7]);
    let version = Version::from_bytes(major, minor).ok_or(FormatError::Version(major, minor))?;
    let lb = version.len_bytes;
    if buf.len() < 8 + lb {
        return Err(FormatError::ShortHeader);
    }
    let dict_len = if lb == 2 {
        u16::from_le_bytes([buf[8], buf[9]]) as u64
    } else {
        u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as u64
    };
    if dict_len > MAX_HEADER_LEN {
        return Err(FormatError::HeaderTooLong(dict_len));
    }
    Ok(Preamble { version, dict_len })
}

/// Parses the dict text of a header whose preamble is `pre`, accepting
/// exactly what numpy's `_read_array_header` accepts: the text as
/// `ast.literal_eval` reads it (Python 2 `L` suffixes dropped for versions
/// 1.0 and 2.0 only), a dict whose keys are exactly `descr`,
/// `fortran_order` and `shape` (a repeated key keeps its last value), and a
/// descr `descr_to_dtype` accepts.
pub fn parse_dict(pre: Preamble, text: &[u8]) -> Result<Header, FormatError> {
    let s: std::borrow::Cow<str> = if pre.version.utf8 {
        std::str::from_utf8(text)
            .map_err(|_| FormatError::Dict("header is not valid UTF-8".into()))?
            .into()
    } else {
        text.iter().map(|&b| b as char).collect::<String>().into()
    };
    let dict_chars = if pre.version.utf8 {
        s.chars().count() as u64
    } else {
        text.len() as u64
    };
    let v =
        pylit::parse_header(&s, !pre.version.utf8).map_err(|e| FormatError::Dict(e.to_string()))?;
    let Py::Dict(items) = v else {
        return Err(FormatError::Dict("header is not a dict".into()));
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (k, v) in items {
        let Py::Str(k) = k else {
            return Err(FormatError::Dict(format!("unexpected key {}", k.repr())));
        };
        let slot = match k.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran_order,
            "shape" => &mut shape,
            _ => return Err(FormatError::Dict(format!("unexpected key {:?}", k))),
        };
        // As in a Python dict, a repeated key keeps its last value.
        *slot = Some(v);
    }
    let missing = |k: &str| FormatError::Dict(format!("missing key {k:?}"));
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran_order = match fortran_order.ok_or_else(|| missing("fortran_order"))? {
        Py::Bool(b) => b,
        other => {
            return Err(FormatError::Dict(format!(
                "fortran_order is {}, not True or False",
                other.repr()
            )))
        }
    };
    let shape = match shape.ok_or_else(|| missing("shape"))? {
        Py::Tuple(dims) => dims
            .iter()
            .map(|d| match d {
                Py::Int(i) if *i >= 0 && *i <= u64::MAX as i128 => Ok(*i as u64),
                Py::Int(i) if *i < 0 => Err(FormatError::Shape(format!("negative dimension {i}"))),
                other => Err(FormatError::Shape(format!(
                    "dimension {} is not an integer",
                    other.repr()
                ))),
            })
            .collect::<Result<Vec<u64>, _>>()?,
        other => {
            return Err(FormatError::Shape(format!(
                "shape is {}, not a tuple",
                other.repr()
            )))
        }
    };
    if shape.len() > 64 {
        return Err(FormatError::Shape(format!(
            "{} dimensions (numpy allows 64)",
            shape.len()
        )));
    }
    Ok(Header {
        version: pre.version,
        header_len: pre.header_len(),
        dict_chars,
        // Checks that every size derived from the header is representable.
        layout: Layout::new(descr, fortran_order, shape)?,
    })
}

/// Where the items of the shape tuple are in the dict bytes `text` of a
/// header in `version`: byte ranges, one per dimension (see
/// [`pylit::shape_item_spans`]). `None` when the text does not parse.
pub fn shape_spans(version: Version, text: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    if version.utf8 {
        let s = std::str::from_utf8(text).ok()?;
        let spans = pylit::shape_item_spans(s, false)?;
        // Character offsets to byte offsets.
        let mut at: Vec<usize> = s.char_indices().map(|(b, _)| b).collect();
        at.push(s.len());
        Some(spans.into_iter().map(|r| at[r.start]..at[r.end]).collect())
    } else {
        // latin-1: one character per byte.
        let s: String = text.iter().map(|&b| b as char).collect();
        pylit::shape_item_spans(&s, true)
    }
}

/// Reads one header from a stream, consuming exactly its bytes.
///
/// The dict is read incrementally, so a length field that promises more than
/// the stream delivers costs only what was actually delivered.
/// Returns `Ok(None)` at a clean end of stream (no byte at all).
pub fn read_header<R: Read>(r: &mut R) -> Result<Option<Header>, FormatError> {
    let mut first = [0u8; 12];
    let got = read_up_to(r, &mut first[..10])?;
    if got == 0 {
        return Ok(None);
    }
    let mut have = got;
    if got == 10 && first[6] >= 2 {
        have += read_up_to(r, &mut first[10..12])?;
    }
    let pre = parse_preamble(&first[..have])?;
    if have < pre.version.prefix_len() {
        return Err(FormatError::ShortHeader);
    }
    let mut text = Vec::new();
    r.take(pre.dict_len).read_to_end(&mut text)?;
    if (text.len() as u64) < pre.dict_len {
        return Err(FormatError::HeaderPastEnd {
            header_len: pre.header_len(),
            available: (pre.version.prefix_len() + text.len()) as u64,
        });
    }
    parse_dict(pre, &text).map(Some)
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Parses the preamble from the first bytes (up to 12) of an array that has
/// `avail` bytes left in its file, and checks the whole header is there.
pub fn preamble_within(first: &[u8], avail: u64) -> Result<Preamble, FormatError> {
    let pre = parse_preamble(first)?;
    if (first.len() as u64) < pre.version.prefix_len() as u64 {
        return Err(FormatError::ShortHeader);
    }
    if pre.header_len() > avail {
        return Err(FormatError::HeaderPastEnd {
            header_len: pre.header_len(),
            available: avail,
        });
    }
    Ok(pre)
}

/// Reads the header of the array starting at `offset` in a file of `file_len`
/// bytes, using positioned reads (no shared seek state). The header is read
/// only as far as the file goes.
pub fn read_header_at(
    file: &std::fs::File,
    offset: u64,
    file_len: u64,
) -> Result<Header, FormatError> {
    let (pre, text) = read_dict_at(file, offset, file_len)?;
    parse_dict(pre, &text)
}

/// The preamble and the raw dict bytes of the header at `offset`, checked
/// against the file's length before the dict is allocated; for readers that
/// parse the dict their own way (`repair`'s placeholder reader).
pub fn read_dict_at(
    file: &std::fs::File,
    offset: u64,
    file_len: u64,
) -> Result<(Preamble, Vec<u8>), FormatError> {
    use std::os::unix::fs::FileExt;
    let avail = file_len.saturating_sub(offset);
    let mut first = [0u8; 12];
    let n = (avail.min(12)) as usize;
    file.read_exact_at(&mut first[..n], offset)?;
    let pre = preamble_within(&first[..n], avail)?;
    let mut text = vec![0u8; pre.dict_len as usize];
    file.read_exact_at(&mut text, offset + pre.version.prefix_len() as u64)?;
    Ok((pre, text))
}

impl Layout {
    pub fn new(descr: Py, fortran_order: bool, shape: Vec<u64>) -> Result<Layout, FormatError> {
        let dtype = Dtype::from_descr(&descr)?;
        super::dtype::check_top_level(&dtype, &descr)?;
        let l = Layout {
            descr,
            dtype,
            fortran_order,
            shape,
        };
        l.data_bytes()?;
        Ok(l)
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> u64 {
        self.dtype.itemsize()
    }

    /// The axis arrays grow along: 0 in C order, the last in Fortran order;
    /// `None` for a 0-d array.
    pub fn growth_axis(&self) -> Option<usize> {
        growth_axis(self.fortran_order, &self.shape)
    }

    /// Bytes in one step along the growth axis (a "row").
    pub fn row_bytes(&self) -> Result<u64, FormatError> {
        row_bytes(self.itemsize(), self.fortran_order, &self.shape)
    }

    /// Bytes of data the header promises.
    pub fn data_bytes(&self) -> Result<u64, FormatError> {
        data_bytes(self.itemsize(), &self.shape)
    }

    /// Number of elements.
    pub fn elements(&self) -> Result<u64, FormatError> {
        checked_product(&self.shape)
    }

    /// The header dict text as numpy writes it, without padding:
    /// `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`, with the
    /// descr as this layout holds it.
    pub fn dict_text(&self) -> String {
        self.dict_text_with(&self.descr)
    }

    /// The layout with the descr `np.save` would write for its dtype
    /// (`'|u1'` for a cnpy `'<u1'`, `'<f8'` for `'float64'`): what every
    /// file npy creates carries.
    pub fn canonical(&self) -> Layout {
        Layout {
            descr: self.dtype.to_descr(),
            ..self.clone()
        }
    }

    fn dict_text_with(&self, descr: &Py) -> String {
        let shape = Py::Tuple(self.shape.iter().map(|&d| Py::Int(d as i128)).collect());
        format!(
            "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
            descr.repr(),
            if self.fortran_order { "True" } else { "False" },
            shape.repr()
        )
    }

    /// The whole header exactly as numpy 2.x `np.save` writes it: with the
    /// canonical descr of the dtype (see [`Layout::canonical`]), whatever
    /// descr this layout was read with.
    pub fn to_npy_header(&self) -> Vec<u8> {
        let mut text = self.dict_text_with(&self.dtype.to_descr());
        if let Some(ax) = self.growth_axis() {
            let digits = self.shape[ax].to_string().len();
            text.extend(std::iter::repeat_n(
                ' ',
                GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
            ));
        }
        let ascii_ok = text.chars().all(|c| (c as u32) < 256);
        for v in VERSIONS {
            if !v.utf8 && !ascii_ok {
                continue;
            }
            let body = encode(&text, v);
            let hlen = body.len() + 1;
            // Like numpy: pads to the next multiple, a full 64 when already aligned.
            let padlen = ARRAY_ALIGN - ((v.prefix_len() + hlen) % ARRAY_ALIGN);
            let total_dict = hlen + padlen;
            if total_dict as u64 > v.max_len() {
                continue;
            }
            let out = assemble(v, body, total_dict);
            debug_assert_eq!(out.len() % ARRAY_ALIGN, 0);
            return out;
        }
        unreachable!("version 3.0 holds any header")
    }

    /// A header of exactly `header_len` bytes in `version` (the layout of an
    /// existing file), or `None` when the dict does not fit. When the length
    /// is the one numpy would choose, the bytes are numpy's.
    pub fn to_header_of_len(&self, version: Version, header_len: u64) -> Option<Vec<u8>> {
        let text = self.dict_text();
        if !version.utf8 && text.chars().any(|c| (c as u32) >= 256) {
            return None;
        }
        let body = encode(&text, version);
        let dict_len = header_len.checked_sub(version.prefix_len() as u64)?;
        if (body.len() as u64) + 1 > dict_len || dict_len > version.max_len() {
            return None;
        }
        Some(assemble(version, body, dict_len as usize))
    }

    pub fn to_header(&self, version: Version, header_len: u64) -> Header {
        let prefix = version.prefix_len() as u64;
        let text = self.dict_text();
        // What parsing the header [`Layout::to_header_of_len`] writes gives.
        let dict_chars =
            text.chars().count() as u64 + header_len.saturating_sub(prefix + text.len() as u64);
        Header {
            version,
            header_len,
            dict_chars,
            layout: self.clone(),
        }
    }
}

fn encode(text: &str, v: Version) -> Vec<u8> {
    if v.utf8 {
        text.as_bytes().to_vec()
    } else {
        text.chars().map(|c| c as u8).collect()
    }
}

fn assemble(v: Version, mut body: Vec<u8>, dict_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.prefix_len() + dict_len);
    out.extend_from_slice(MAGIC);
    out.push(v.major);
    out.push(v.minor);
    if v.len_bytes == 2 {
        out.extend_from_slice(&(dict_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict_len as u32).to_le_bytes());
    }
    let pad = dict_len - body.len() - 1;
    out.append(&mut body);
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

impl Header {
    /// True when np.load refuses this header unless given
    /// `max_header_size` (its dict is over 10,000 characters). numpy
    /// itself writes such headers for wide records; every npy command
    /// handles them.
    pub fn needs_max_header_size(&self) -> bool {
        self.dict_chars > NUMPY_MAX_HEADER_SIZE
    }

    /// A copy of the layout, to change and write elsewhere.
    pub fn layout(&self) -> Layout {
        self.layout.clone()
    }

    /// Offset just past this array's data, relative to the array's start.
    pub fn end(&self) -> Result<u64, FormatError> {
        self.header_len
            .checked_add(self.data_bytes()?)
            .ok_or_else(|| FormatError::Shape("array size overflows".into()))
    }

    /// The shape as Python would print it: `(3, 4)`.
    pub fn shape_repr(&self) -> String {
        shape_repr(&self.shape)
    }
}

pub fn shape_repr(shape: &[u64]) -> String {
    Py::Tuple(shape.iter().map(|&d| Py::Int(d as i128)).collect()).repr()
}

pub fn growth_axis(fortran_order: bool, shape: &[u64]) -> Option<usize> {
    if shape.is_empty() {
        None
    } else if fortran_order {
        Some(shape.len() - 1)
    } else {
        Some(0)
    }
}

pub fn checked_product(dims: &[u64]) -> Result<u64, FormatError> {
    dims.iter().try_fold(1u64, |acc, &d| {
        acc.checked_mul(d)
            .ok_or_else(|| FormatError::Shape(format!("shape {} overflows", shape_repr(dims))))
    })
}

fn data_bytes(itemsize: u64, shape: &[u64]) -> Result<u64, FormatError> {
    checked_product(shape)?
        .checked_mul(itemsize)
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or_else(|| FormatError::Shape(format!("shape {} overflows", shape_repr(shape))))
}

fn row_bytes(itemsize: u64, fortran_order: bool, shape: &[u64]) -> Result<u64, FormatError> {
    match growth_axis(fortran_order, shape) {
        None => Ok(itemsize),
        Some(ax) => {
            let others: Vec<u64> = shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != ax)
                .map(|(_, &d)| d)
                .collect();
            data_bytes(itemsize, &others)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(descr: &str, fortran_order: bool, shape: &[u64]) -> Layout {
        Layout::new(pylit::parse(descr).unwrap(), fortran_order, shape.to_vec()).unwrap()
    }

    #[test]
    fn writes_numpy_header() {
        // np.save(f, np.zeros(3)) with numpy 2.x
        let h = layout("'<f8'", false, &[3]).to_npy_header();
        let mut expect =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
                .to_vec();
        expect.resize(127, b' ');
        expect.push(b'\n');
        assert_eq!(h, expect);
        assert_eq!(h.len(), 128);
    }

    #[test]
    fn zero_d_has_no_growth_room() {
        let h = layout("'<i4'", false, &[]).to_npy_header();
        assert_eq!(h.len(), 128);
        let text = b"{'descr': '<i4', 'fortran_order': False, 'shape': (), }";
        assert_eq!(&h[10..10 + text.len()], text);
        assert!(h[10 + text.len()..127].iter().all(|&b| b == b' '));
    }

    #[test]
    fn round_trip_and_in_place() {
        let l = layout("[('a', '<i4'), ('b', '>f8', (2,))]", true, &[2, 5]);
        let bytes = l.to_npy_header();
        let h = read_header(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(h.layout(), l);
        assert_eq!(h.header_len as usize, bytes.len());
        let mut grown = l.clone();
        grown.shape = vec![2, 123456789];
        let same = grown.to_header_of_len(h.version, h.header_len).unwrap();
        assert_eq!(same, grown.to_npy_header());
    }

    #[test]
    fn unicode_names_need_version_3() {
        let l = layout("[('température', '<f4'), ('名前', '<i8')]", false, &[1]);
        let h = l.to_npy_header();
        assert_eq!(&h[6..8], &[3, 0]);
        let back = read_header(&mut &h[..]).unwrap().unwrap();
        assert_eq!(back.layout(), l);
    }

    #[test]
    fn latin1_names_stay_version_1() {
        let l = layout("[('é', '<f4')]", false, &[1]);
        let h = l.to_npy_header();
        assert_eq!(&h[6..8], &[1, 0]);
        assert_eq!(read_header(&mut &h[..]).unwrap().unwrap().layout(), l);
    }

    #[test]
    fn hostile_lengths() {
        let mut b = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{".to_vec();
        assert!(matches!(
            read_header(&mut &b[..]),
            Err(FormatError::HeaderTooLong(_))
        ));
        b[8..12].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            read_header(&mut &b[..]),
            Err(FormatError::HeaderPastEnd { .. })
        ));
        assert!(matches!(
            read_header(&mut &b"\x93NUMPY\x09\x00"[..]),
            Err(FormatError::Version(9, 0))
        ));
        assert!(matches!(
            read_header(&mut &b"PK\x03\x04"[..]),
            Err(FormatError::Magic)
        ));
        assert!(read_header(&mut &b""[..]).unwrap().is_none());
    }

    #[test]
    fn shape_overflow_is_an_error() {
        let text =
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
        let pre = Preamble {
            version: VERSIONS[0],
            dict_len: text.len() as u64,
        };
        assert!(matches!(parse_dict(pre, text), Err(FormatError::Shape(_))));
        let text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }\n";
        assert!(matches!(parse_dict(pre, text), Err(FormatError::Shape(_))));
    }

    #[test]
    fn keys_checked() {
        let pre = Preamble {
            version: VERSIONS[0],
            dict_len: 0,
        };
        for bad in [
            "{'descr': '<f8', 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
            "['descr']",
        ] {
            assert!(parse_dict(pre, bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
