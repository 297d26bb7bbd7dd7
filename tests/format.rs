//! The format core against numpy and against hostile bytes: every header
//! numpy writes parses to what numpy reads and is written back byte for
//! byte; any header we write parses back; no byte string makes the parser
//! panic or allocate more than the input justifies.

use npy_tools::npy::pylit::{self, Py};
use npy_tools::npy::{read_header, Layout};
use proptest::prelude::*;

use crate::common::*;

/// numpy's own files: our parse equals numpy's view, and our writer
/// reproduces numpy's header bytes exactly.
#[test]
fn numpy_headers_parse_and_rewrite_byte_identical() {
    let Some(py) = python() else { return };
    let dir = tempdir();
    let cases = numpy_cases(py, dir.path());
    assert!(cases.len() >= 40, "too few numpy cases: {}", cases.len());
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let bytes = std::fs::read(dir.path().join(c["file"].as_str().unwrap())).unwrap();
        let h = read_header(&mut &bytes[..])
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap();
        assert_eq!(h.descr.to_json(), c["descr"], "{name}: descr");
        assert_eq!(serde_json::json!(h.shape), c["shape"], "{name}: shape");
        assert_eq!(h.fortran_order, c["fortran_order"], "{name}: order");
        assert_eq!(h.version.to_string(), c["version"], "{name}: version");
        assert_eq!(h.header_len, c["header_len"], "{name}: header_len");
        assert_eq!(h.itemsize(), c["itemsize"], "{name}: itemsize");
        assert_eq!(h.dtype.has_object(), c["object"], "{name}: object");
        let ours = h.layout().to_npy_header();
        let theirs = &bytes[..h.header_len as usize];
        assert!(
            ours == theirs,
            "{name}: header bytes differ\n ours: {:?}\n numpy: {:?}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(theirs)
        );
    }
}

fn scalar_descr() -> impl Strategy<Value = Py> {
    prop_oneof![
        Just("|b1"),
        Just("<i1"),
        Just("<i2"),
        Just(">i4"),
        Just("<i8"),
        Just(">u2"),
        Just("<f2"),
        Just(">f4"),
        Just("<f8"),
        Just("<f16"),
        Just("<c8"),
        Just(">c16"),
        Just("|S7"),
        Just("<U5"),
        Just(">U1"),
        Just("|V16"),
        Just("<M8[ns]"),
        Just(">m8[s]"),
        Just("|u1"),
    ]
    .prop_map(|s| Py::Str(s.to_string()))
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,8}",
        "[a-zA-Z '\"\\\\]{1,6}",
        "[éà名前\u{1F600}x]{1,4}",
    ]
}

fn descr() -> impl Strategy<Value = Py> {
    scalar_descr().prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(
            (
                field_name(),
                prop::option::of(field_name()),
                inner,
                prop::option::of(prop::collection::vec(1u64..4, 1..3)),
            ),
            1..4,
        )
        .prop_filter_map("unique names and titles", |fields| {
            // numpy refuses a name or title used twice (as either).
            let mut names: Vec<&String> = fields
                .iter()
                .flat_map(|f| std::iter::once(&f.0).chain(f.1.iter().filter(|t| **t != f.0)))
                .collect();
            let all = names.len();
            names.sort();
            names.dedup();
            if names.len() != all {
                return None;
            }
            Some(Py::List(
                fields
                    .into_iter()
                    .map(|(name, title, d, shape)| {
                        let n = match title {
                            Some(t) if t != name => Py::Tuple(vec![Py::Str(t), Py::Str(name)]),
                            _ => Py::Str(name),
                        };
                        let mut parts = vec![n, d];
                        if let Some(s) = shape {
                            parts.push(Py::Tuple(
                                s.into_iter().map(|x| Py::Int(x as i128)).collect(),
                            ));
                        }
                        Py::Tuple(parts)
                    })
                    .collect(),
            ))
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any header we write parses back to the same layout, is 64-aligned,
    /// and can be rewritten in place with any growth-axis length.
    #[test]
    fn written_headers_parse_back(
        d in descr(),
        fortran_order in any::<bool>(),
        shape in prop::collection::vec(0u64..1000, 0..4),
        grow in 0u64..u32::MAX as u64,
    ) {
        let l = Layout::new(d, fortran_order, shape).unwrap();
        let bytes = l.to_npy_header();
        prop_assert_eq!(bytes.len() % 64, 0);
        prop_assert_eq!(*bytes.last().unwrap(), b'\n');
        let h = read_header(&mut &bytes[..]).unwrap().unwrap();
        // Written with the descr np.save writes for the dtype: same dtype.
        prop_assert_eq!(h.layout(), l.canonical());
        prop_assert_eq!(&h.dtype, &l.dtype);
        prop_assert_eq!(h.header_len as usize, bytes.len());
        if let Some(ax) = l.growth_axis() {
            let mut g = l.canonical();
            g.shape[ax] = grow;
            let inplace = g.to_header_of_len(h.version, h.header_len).unwrap();
            prop_assert_eq!(&inplace, &g.to_npy_header());
        }
    }

    /// Random bytes after the magic never panic.
    #[test]
    fn random_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..300), v in 0u8..5) {
        let mut b = b"\x93NUMPY".to_vec();
        b.push(v);
        b.push(0);
        b.extend(tail);
        let _ = read_header(&mut &b[..]);
    }

    /// Mutations of a valid header (bit flips, truncation, byte edits) give
    /// an error or a valid header, never a panic.
    #[test]
    fn mutated_headers_never_panic(
        d in descr(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let l = Layout::new(d, false, vec![3, 2]).unwrap();
        let mut b = l.to_npy_header();
        for (i, x) in flips {
            let i = i.index(b.len());
            b[i] ^= x;
        }
        let _ = read_header(&mut &b[..]);
        let c = cut.index(b.len());
        let _ = read_header(&mut &b[..c]);
    }

    /// The literal parser never panics on any text.
    #[test]
    fn literal_parser_never_panics(s in "\\PC{0,200}") {
        let _ = pylit::parse(&s);
    }

    /// The literal parser round-trips what repr prints.
    #[test]
    fn repr_parses_back(d in descr()) {
        prop_assert_eq!(pylit::parse(&d.repr()).unwrap(), d);
    }
}

#[test]
fn header_length_field_is_not_trusted() {
    // A 4 GiB length field on a tiny stream is an error, not an allocation.
    let b = b"\x93NUMPY\x02\x00\x00\x00\x00\x0f{'descr'";
    assert!(read_header(&mut &b[..]).is_err());
    let b = b"\x93NUMPY\x01\x00\xff\xff{}";
    assert!(read_header(&mut &b[..]).is_err());
}

/// The committed numpy files in tests/fixtures (made by tests/fixtures/make.py,
/// which records the Python behind each): parsed as numpy reads them and
/// rewritten byte for byte. Runs without numpy.
#[test]
fn committed_numpy_fixtures() {
    let dir = repo().join("tests/fixtures");
    let expected: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 15);
    for (name, want) in &expected {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let h = read_header(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(h.descr.to_json(), want["descr"], "{name}");
        assert_eq!(serde_json::json!(h.shape), want["shape"], "{name}");
        assert_eq!(h.fortran_order, want["fortran_order"], "{name}");
        assert_eq!(h.version.to_string(), want["version"], "{name}");
        assert_eq!(h.header_len, want["header_len"], "{name}");
        assert_eq!(h.itemsize(), want["itemsize"], "{name}");
        assert_eq!(h.data_bytes().unwrap(), want["data_bytes"], "{name}");
        assert_eq!(
            h.layout().to_npy_header(),
            &bytes[..h.header_len as usize],
            "{name}: rewritten header differs from numpy's"
        );
    }
    let j = run(
        &dir,
        &["inspect", "--json", "--check", "record_unicode_v3.npy"],
    );
    j.ok();
    assert_eq!(j.json_lines()[0]["version"], "3.0");
}
