#!/usr/bin/env python3
"""Write the numpy-made test corpus for the `npy` integration tests.

Usage:
    python cases.py OUTDIR

Writes one ``<name>.npy`` per case into OUTDIR (created if missing) with
``np.save`` and ``OUTDIR/manifest.json``: a JSON list with one object per case:

    name           case name (filesystem-safe, [a-z0-9_])
    file           file name inside OUTDIR
    descr          the header's descr as JSON (tuples -> lists); equal to
                   np.lib.format.dtype_to_descr(arr.dtype)
    shape          list of ints (the header's shape)
    fortran_order  bool (the header's fortran_order, i.e. what np.save chose)
    version        "1.0" / "2.0" / "3.0" (bytes 6-7 of the file)
    header_len     offset of the data (file position after the header)
    itemsize       arr.dtype.itemsize
    data_bytes     file size - header_len
    expected_bytes prod(shape) * itemsize (null for object arrays)
    growth_axis    0 for C order, ndim-1 for Fortran order, null for 0-d
    chunkable      ndim >= 1, growth-axis length >= 2 and not an object array
    object         dtype has object (pickled payload)
    note           what the case is for

Everything is deterministic (np.arange-based data, np.zeros-then-fill for
records so padding bytes are zero). Requires numpy >= 2.0; stdlib + numpy only.
"""

import ast
import json
import os
import struct
import sys
import warnings

import numpy as np
from numpy.lib import format as npformat


def jsonify(x):
    """Python header values -> JSON values (tuples become lists)."""
    if isinstance(x, (list, tuple)):
        return [jsonify(v) for v in x]
    return x


def read_header(path):
    """Parse a .npy header straight from the bytes.

    Returns (version_str, header_len, header_dict).
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:6] != b"\x93NUMPY":
            raise ValueError(f"{path}: not a .npy file")
        major, minor = head[6], head[7]
        if (major, minor) == (1, 0):
            (hlen,) = struct.unpack("<H", head[8:10])
            start, enc = 10, "latin1"
        elif (major, minor) in ((2, 0), (3, 0)):
            (hlen,) = struct.unpack("<I", head[8:12])
            start, enc = 12, ("latin1" if major == 2 else "utf8")
        else:
            raise ValueError(f"{path}: unknown version {major}.{minor}")
        f.seek(start)
        text = f.read(hlen).decode(enc)
    return f"{major}.{minor}", start + hlen, ast.literal_eval(text)


def numpy_header_len(path):
    """File position after numpy's own header reader (cross-check)."""
    with open(path, "rb") as f:
        version = npformat.read_magic(f)
        try:
            from numpy.lib._format_impl import _read_array_header
        except ImportError:  # pragma: no cover - older numpy layout
            from numpy.lib.format import _read_array_header
        _read_array_header(f, version, max_header_size=2**40)
        return f.tell()


# --------------------------------------------------------------------------
# data helpers


def filled(shape, dtype):
    """Deterministic array of any simple dtype, C order."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    k = dt.kind
    if k == "b":
        flat = (np.arange(n) % 3 == 0)
    elif k == "i":
        flat = np.arange(n, dtype=np.int64) - n // 2
        if dt.itemsize == 8 and n:
            flat[-1] = np.iinfo(np.int64).min  # extreme value
    elif k == "u":
        flat = np.arange(n, dtype=np.uint64) * 7
        if n:
            flat[-1] = np.iinfo(dt).max
    elif k == "f":
        flat = np.arange(n, dtype=np.float64) * 0.5 - 1.25
        if n >= 4:
            flat[1] = np.nan
            flat[2] = -np.inf
            flat[3] = -0.0
    elif k == "c":
        re = np.arange(n, dtype=np.float64) * 0.25
        im = -np.arange(n, dtype=np.float64)
        flat = re + 1j * im
        if n >= 2:
            flat[1] = complex(np.nan, 1.0)
    elif k == "U":
        flat = np.array([("ab" + chr(0x3b1 + i % 20) + "xyz")[: dt.itemsize // 4]
                         for i in range(n)])
    elif k == "S":
        flat = np.array([(b"s%03d\x00zz" % i)[: dt.itemsize] for i in range(n)])
    elif k == "V":
        flat = np.frombuffer(bytes((i * 13 + 1) % 256 for i in range(n * dt.itemsize)),
                             dtype=dt)
    elif k == "M":
        out = np.zeros(n, dtype=dt)
        days = (np.arange(n, dtype=np.int64) * 37 + 19000).astype("M8[D]")
        out[:] = days + np.arange(n, dtype=np.int64).astype("m8[h]") if dt.str[-3:] != "[D]" else days
        if n >= 2:
            out[1] = np.datetime64("NaT")
        return out.reshape(shape)
    elif k == "m":
        out = np.zeros(n, dtype=dt)
        out[:] = (np.arange(n, dtype=np.int64) * 3 - 5).astype("m8[s]").astype(dt)
        if n >= 2:
            out[1] = np.timedelta64("NaT")
        return out.reshape(shape)
    else:
        raise ValueError(f"no filler for {dt}")
    out = np.zeros(n, dtype=dt)
    out[...] = flat
    zero_longdouble_padding(out)
    return out.reshape(shape)


def zero_longdouble_padding(arr):
    """x86 80-bit long double lives in 12/16 bytes: numpy leaves the unused
    bytes as whatever the conversion left there (not deterministic). Zero
    them so the files are reproducible."""
    dt = arr.dtype
    if dt.kind not in "fc":
        return
    part = dt.itemsize if dt.kind == "f" else dt.itemsize // 2
    if part != np.dtype(np.longdouble).itemsize or part <= 8:
        return
    if np.finfo(np.longdouble).nmant != 63:  # real quad precision: no padding
        return
    raw = arr.reshape(-1).view(np.uint8).reshape(-1, part)
    if dt.byteorder in "=|" or (dt.byteorder == "<") == (sys.byteorder == "little"):
        native_little = sys.byteorder == "little"
    else:
        native_little = sys.byteorder != "little"
    if native_little:
        raw[:, 10:] = 0
    else:
        raw[:, : part - 10] = 0


def fill_record(arr):
    """Fill every (sub)field of a zeroed structured array in place."""
    dt = arr.dtype
    if dt.names is None:
        if dt.subdtype is not None:
            base, sub = dt.subdtype
            tmp = filled(arr.shape + sub, base)
            arr[...] = tmp
        else:
            arr[...] = filled(arr.shape, dt)
        return
    for name in dt.names:
        field = arr[name]
        fdt = field.dtype
        if fdt.names is not None:
            fill_record(field)
        else:
            field[...] = filled(field.shape, fdt)


def record(shape, dtype, order="C"):
    """Zeroed (so padding bytes are zero), then filled field by field.
    order="F" builds the Fortran array as the transpose of a zeroed C array:
    np.asfortranarray would copy, and numpy's copy of a padded record dtype
    leaves the padding bytes uninitialised."""
    if order == "F":
        a = np.zeros(tuple(reversed(shape)), dtype=dtype).T
    else:
        a = np.zeros(shape, dtype=dtype)
    fill_record(a)
    return a


# --------------------------------------------------------------------------
# the cases


def build_cases():
    cases = []  # (name, array, note)

    def add(name, arr, note):
        cases.append((name, arr, note))

    # every scalar kind, both byte orders where byte order applies; (4, 3) C
    scalar_kinds = [
        ("bool", "|b1"), ("i1", "|i1"), ("u1", "|u1"),
        ("i2_le", "<i2"), ("i2_be", ">i2"), ("i4_le", "<i4"), ("i4_be", ">i4"),
        ("i8_le", "<i8"), ("i8_be", ">i8"),
        ("u2_le", "<u2"), ("u2_be", ">u2"), ("u4_le", "<u4"), ("u4_be", ">u4"),
        ("u8_le", "<u8"), ("u8_be", ">u8"),
        ("f2_le", "<f2"), ("f2_be", ">f2"), ("f4_le", "<f4"), ("f4_be", ">f4"),
        ("f8_le", "<f8"), ("f8_be", ">f8"),
        ("longdouble_le", np.dtype(np.longdouble).newbyteorder("<")),
        ("longdouble_be", np.dtype(np.longdouble).newbyteorder(">")),
        ("c8_le", "<c8"), ("c8_be", ">c8"), ("c16_le", "<c16"), ("c16_be", ">c16"),
        ("clongdouble_le", np.dtype(np.clongdouble).newbyteorder("<")),
        ("clongdouble_be", np.dtype(np.clongdouble).newbyteorder(">")),
    ]
    for name, dt in scalar_kinds:
        add(f"scalar_{name}", filled((4, 3), dt), f"scalar kind {np.dtype(dt).str}, shape (4, 3), C order")

    # strings, void, datetimes
    add("str_u5_le", filled((5,), "<U5"), "unicode <U5 (4 bytes per char)")
    add("str_u3_be", filled((3, 2), ">U3"), "unicode >U3, big-endian UCS4")
    add("bytes_s7", filled((6,), "|S7"), "bytes |S7 (embedded NULs)")
    add("bytes_s1", filled((4,), "|S1"), "bytes |S1")
    add("void_v16", filled((4,), "|V16"), "raw void |V16")
    add("datetime_ns_le", filled((5,), "<M8[ns]"), "datetime64 <M8[ns] with a NaT")
    add("datetime_d_be", filled((4,), ">M8[D]"), "datetime64 >M8[D] big-endian with a NaT")
    add("datetime_generic", np.array(["NaT", "NaT", "NaT"], dtype="M8"),
        "generic datetime64 <M8 (no unit, all NaT)")
    add("timedelta_s_le", filled((5,), "<m8[s]"), "timedelta64 <m8[s] with a NaT")
    add("timedelta_us_be", filled((2, 2), ">m8[us]"), "timedelta64 >m8[us] big-endian")

    # shapes
    add("empty_1d", np.zeros((0,), "<f8"), "empty, shape (0,)")
    add("empty_2d", np.zeros((0, 3), "<i4"), "empty, shape (0, 3)")
    add("empty_rows_3x0", np.zeros((3, 0), "<f4"), "3 rows of zero width: data_bytes 0, growth length 3")
    add("empty_wide", np.zeros((0, 1_000_000_000), "<f8"),
        "shape (0, 1000000000): big non-growth dim, no data")
    add("zero_d_f8", np.array(3.5, dtype="<f8"), "0-d float64, shape ()")
    add("zero_d_i4_be", np.array(-7, dtype=">i4"), "0-d big-endian int32")
    add("one_d_i8", np.arange(10, dtype="<i8"), "1-D (10,)")
    add("two_d_c", np.arange(20, dtype="<f8").reshape(4, 5), "2-D C order (4, 5)")
    add("three_d_c", np.arange(120, dtype="<f4").reshape(4, 5, 6), "3-D C order (4, 5, 6)")
    add("five_d_unit_dims", np.arange(12, dtype="<i2").reshape(2, 1, 3, 1, 2), "5-D with unit dims")
    add("long_1d", np.arange(1000, dtype="<u2"), "1-D with 4-digit length")

    # Fortran order
    add("fortran_2d_f8", np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4)),
        "Fortran order 2-D (3, 4): growth axis 1")
    add("fortran_2d_i4_be", np.asfortranarray(np.arange(10, dtype=">i4").reshape(2, 5)),
        "Fortran order 2-D big-endian")
    add("fortran_3d", np.asfortranarray(np.arange(24, dtype="<i8").reshape(2, 3, 4)),
        "Fortran order 3-D (2, 3, 4): growth axis 2")
    add("fortran_3d_c8", np.asfortranarray(filled((3, 2, 4), "<c8")),
        "Fortran order 3-D complex64")
    add("fortran_empty", np.asfortranarray(np.zeros((3, 0), "<f8")),
        "asfortranarray((3, 0)) is C- and F-contiguous: np.save writes fortran_order False")
    add("fortran_column", np.asfortranarray(np.arange(3, dtype="<f8").reshape(3, 1)),
        "asfortranarray((3, 1)) is C- and F-contiguous: np.save writes fortran_order False")
    add("fortran_row", np.asfortranarray(np.arange(4, dtype="<f8").reshape(1, 4)),
        "asfortranarray((1, 4)) is C- and F-contiguous: np.save writes fortran_order False")

    # non-contiguous inputs to np.save
    base = np.arange(24, dtype="<i4").reshape(8, 3)
    add("noncontig_step", base[::2], "a[::2] (non-contiguous) -> saved C order (4, 3)")
    add("noncontig_cols", base[:, ::2], "a[:, ::2] (non-contiguous) -> saved C order (8, 2)")
    add("transposed_view", np.arange(12, dtype="<f8").reshape(3, 4).T,
        "a.T of a C array is F-contiguous -> saved fortran_order True, shape (4, 3)")
    add("transposed_3d", np.arange(24, dtype=">u2").reshape(2, 3, 4).transpose(1, 0, 2),
        "transpose(1,0,2): neither C nor F contiguous -> saved C order")
    add("transposed_step", np.arange(48, dtype="<f4").reshape(6, 8).T[::2],
        "a.T[::2]: neither contiguous -> saved C order (4, 6)")

    # structured records
    rec_simple = np.dtype([("x", "<i4"), ("y", "<f8"), ("name", "|S5")])
    add("rec_simple", record((5,), rec_simple), "record: i4, f8, S5 (packed)")
    add("rec_mixed_endian", record((4,), [("a", ">i2"), ("b", "<f4"), ("c", ">c8"), ("d", "|b1")]),
        "record with mixed byte orders")
    add("rec_2d", record((3, 2), rec_simple), "2-D array of records")
    add("rec_fortran", record((2, 3), rec_simple, order="F"), "Fortran-order 2-D records")
    add("rec_0d", record((), rec_simple), "0-d record")
    add("rec_empty", record((0,), rec_simple), "empty (0,) records")
    add("rec_nested", record((4,), [("id", "<u4"),
                                    ("pos", [("x", "<f4"), ("y", "<f4")]),
                                    ("meta", [("flags", "|u1"),
                                              ("inner", [("v", ">i2"), ("w", "<f2")])])]),
        "nested records, three levels")
    padded = np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f8"],
                       "offsets": [0, 8], "itemsize": 24})
    add("rec_padded", record((4,), padded),
        "offsets/itemsize dtype: descr has ('', '|V6') and trailing ('', '|V8')")
    add("rec_padded_fortran", record((2, 3), padded, order="F"),
        "padded records in Fortran order")
    lead = np.dtype({"names": ["a", "b"], "formats": ["<i4", ">f4"],
                     "offsets": [4, 12], "itemsize": 20})
    add("rec_padded_leading", record((3,), lead),
        "leading padding ('', '|V4') and inner/trailing padding")
    add("rec_aligned", record((3,), np.dtype([("a", "u1"), ("b", "<i8"), ("c", "<i2")], align=True)),
        "align=True struct: padding fields from alignment")
    add("rec_titles", record((3,), np.dtype([(("Title A", "a"), "<i4"), ("b", ">f8")])),
        "field with a title: (('Title A', 'a'), '<i4')")
    add("rec_subarray", record((3,), [("a", "<i4"), ("b", "<f8", (2, 3))]),
        "subarray field ('b', '<f8', (2, 3))")
    add("rec_subarray_1", record((2,), [("b", "<f8", (1,))]), "subarray field of shape (1,)")
    add("rec_subarray_of_records", record((2,), [("a", [("p", "<i2", (2,))], (3,)), ("z", "|u1")]),
        "subarray of records: ('a', [('p', '<i2', (2,))], (3,))")
    add("rec_strings_dates", record((3,), [("t", "<M8[s]"), ("s", "<U3"), ("b", "|S2"), ("v", "|V3")]),
        "record with datetime, unicode, bytes and void fields")
    add("rec_quotes", record((2,), [("it's", "<i2"), ('say "hi"', "<i2"), ("a'b\"c", "<i2"),
                                    ("back\\slash", "<i2")]),
        "field names needing repr escapes: \"it's\", 'say \"hi\"', 'a\\'b\"c', 'back\\\\slash'")
    add("rec_latin1_name", record((3,), [("température", "<f4"), ("n", "<i2")]),
        "non-ASCII but latin-1 field name: header stays version 1.0, latin-1 encoded (0xE9)")
    add("rec_unicode_v3", record((3,), [("温度", "<f4"), ("n", "<i2")]),
        "CJK field name: header needs utf-8 -> version 3.0")
    add("rec_emoji_v3", record((2,), [("🌡", "<f8")]),
        "4-byte utf-8 field name -> version 3.0")
    wide = np.dtype([(f"field_{i:05d}", "<f4") for i in range(3000)])
    add("rec_wide_v2", record((2,), wide),
        "3000 fields: header > 65535 bytes -> version 2.0 (np.load needs max_header_size)")

    # header whose text+1 is already 64-aligned: numpy pads with a full 64 spaces
    for k in range(1, 200):
        dt = np.dtype([("x" * k, "<f8")])
        d = npformat.header_data_from_array_1_0(np.zeros(1, dt))
        text = "{" + "".join(f"'{key}': {repr(v)}, " for key, v in sorted(d.items())) + "}"
        text += " " * (npformat.GROWTH_AXIS_MAX_DIGITS - 1)
        if (10 + len(text) + 1) % 64 == 0:
            add("header_pad_full64", record((3,), dt),
                f"header text fits 64 exactly, so numpy pads 64 spaces (field name 'x'*{k})")
            break

    # object (pickled)
    add("object_array", np.array([1, "a", None], dtype=object),
        "object array, pickled payload (allow_pickle=True); descr '|O'")
    return cases


def main(argv):
    if len(argv) != 2:
        print("usage: python cases.py OUTDIR", file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    cases = build_cases()
    seen = set()
    manifest = []
    for name, arr, note in cases:
        assert name not in seen, name
        assert all(c.isalnum() and c.isascii() or c == "_" for c in name), name
        seen.add(name)
        fname = name + ".npy"
        path = os.path.join(outdir, fname)
        is_obj = bool(arr.dtype.hasobject)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Stored array in format 2.0/3.0"
            np.save(path, arr, allow_pickle=is_obj)
        version, header_len, header = read_header(path)
        assert header_len == numpy_header_len(path), name
        descr = npformat.dtype_to_descr(arr.dtype)
        assert header["descr"] == descr, (name, header["descr"], descr)
        shape = list(header["shape"])
        assert shape == list(arr.shape), name
        fortran = bool(header["fortran_order"])
        ndim = len(shape)
        growth = None if ndim == 0 else (ndim - 1 if fortran else 0)
        size = os.path.getsize(path)
        itemsize = arr.dtype.itemsize
        expected = None if is_obj else int(np.prod(shape, dtype=object) if shape else 1) * itemsize
        if not is_obj:
            assert size - header_len == expected, (name, size - header_len, expected)
        manifest.append({
            "name": name,
            "file": fname,
            "descr": jsonify(descr),
            "shape": shape,
            "fortran_order": fortran,
            "version": version,
            "header_len": header_len,
            "itemsize": itemsize,
            "data_bytes": size - header_len,
            "expected_bytes": expected,
            "growth_axis": growth,
            "chunkable": bool(ndim >= 1 and shape[growth] >= 2 and not is_obj),
            "object": is_obj,
            "note": note,
        })
    # sanity: the version-forcing cases really got their versions
    by = {m["name"]: m for m in manifest}
    assert by["rec_unicode_v3"]["version"] == "3.0"
    assert by["rec_emoji_v3"]["version"] == "3.0"
    assert by["rec_wide_v2"]["version"] == "2.0"
    assert by["rec_latin1_name"]["version"] == "1.0"
    assert by["transposed_view"]["fortran_order"] is True
    assert by["fortran_column"]["fortran_order"] is False
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
