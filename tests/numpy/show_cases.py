#!/usr/bin/env python3
"""numpy as the oracle for `npy show`, in one process per phase.

Usage:
    python show_cases.py make OUTDIR
        Writes arrays into OUTDIR and OUTDIR/manifest.json: a list of cases
        {"file", "args" (npy show arguments after the file), "expected"
        (stdout), "kind" ("text", "json", "csv")}. For "text" cases expected
        is exactly what print(np.load(file)[index]) prints under the
        matching np.printoptions; for "json" it is a.tolist() as JSON with
        NaN/Inf as null; for "csv" it is null (checked by `check`).
    python show_cases.py check OUTDIR
        Reads OUTDIR/csv.json ({"file", "index", "out"} written by the test)
        and checks that each CSV output reads back to exactly the selected
        values; prints a JSON list of failures.

The dtypes are those of numpy's own format tests (numpy/lib/tests/
test_format.py: basic_arrays and record_arrays) plus random and edge values
(0, -0.0, nan, inf, 1e-5, 1e16, extreme integers, mixed magnitudes) for
every float width, strings, datetimes and timedeltas.
"""

import io
import json
import math
import os
import sys
import ast
import contextlib
import datetime
import unicodedata

import numpy as np


# ---------------------------------------------------------------------------
# numpy's test_format.py arrays (copied: that module needs pytest to import)

SCALARS = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
           np.uint64, np.int64, np.float32, np.float64, np.complex64,
           np.complex128]


def basic_arrays():
    out = []
    for scalar in SCALARS:
        for endian in "<>":
            dtype = np.dtype(scalar).newbyteorder(endian)
            basic = np.arange(1500).astype(dtype)
            out.extend([
                np.array([], dtype=dtype),
                np.array(10, dtype=dtype),
                basic,
                basic.reshape((30, 50)),
                basic.reshape((30, 50)).T,
                basic.reshape((30, 50))[::-1, ::2],
            ])
    return out


Pdescr = [("x", "i4", (2,)), ("y", "f8", (2, 2)), ("z", "u1")]
PbufferT = [([3, 2], [[6., 4.], [6., 4.]], 8), ([4, 3], [[7., 5.], [7., 5.]], 9)]
Ndescr = [
    ("x", "i4", (2,)),
    ("Info", [
        ("value", "c16"),
        ("y2", "f8"),
        ("Info2", [
            ("name", "S2"),
            ("value", "c16", (2,)),
            ("y3", "f8", (2,)),
            ("z3", "u4", (2,))]),
        ("name", "S2"),
        ("z2", "b1")]),
    ("color", "S2"),
    ("info", [("Name", "U8"), ("Value", "c16")]),
    ("y", "f8", (2, 2)),
    ("z", "u1")]
NbufferT = [
    ([3, 2], (6j, 6., ("nn", [6j, 4j], [6., 4.], [1, 2]), "NN", True),
     "cc", ("NN", 6j), [[6., 4.], [6., 4.]], 8),
    ([4, 3], (7j, 7., ("oo", [7j, 5j], [7., 5.], [2, 1]), "OO", False),
     "dd", ("OO", 7j), [[7., 5.], [7., 5.]], 9),
]


def record_arrays():
    return [
        np.array(PbufferT, dtype=np.dtype(Pdescr).newbyteorder("<")),
        np.array(NbufferT, dtype=np.dtype(Ndescr).newbyteorder("<")),
        np.array(PbufferT, dtype=np.dtype(Pdescr).newbyteorder(">")),
        np.array(NbufferT, dtype=np.dtype(Ndescr).newbyteorder(">")),
        np.zeros(1, dtype=[("c", ("<f8", (5,)), (2,))]),
    ]


# ---------------------------------------------------------------------------
# random and edge values

EDGE = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-5, 1e16, 1.5, -2.25, 1e-300,
        123456789.125, 0.1, 1 / 3, 65504.0, 6e-8, 1e8, 9.999e-5, 1e-4, 999.5]


def float_arrays(rng):
    out = []
    for t in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]:
        dt = np.dtype(t)
        with np.errstate(all="ignore"):
            out.append(np.array(EDGE, dtype=dt))
            out.append(np.array(EDGE[5:], dtype=dt))
            for scale in [1.0, 1e-3, 1e3, 1e5, 1e7, 1e-6, 1e12, 1e20]:
                out.append((rng.standard_normal(7) * scale).astype(dt))
            out.append(rng.standard_normal((4, 5)).astype(dt))
            out.append((rng.standard_normal((3, 4, 5)) * 100).astype(dt))
            out.append(np.array([np.nan, np.nan], dtype=dt))
            out.append(np.array([np.nan, -np.inf], dtype=dt))
            out.append(np.array([np.inf, 1.0], dtype=dt))
            out.append(np.array([-0.0], dtype=dt))
            out.append(np.array([0.0, 0.0], dtype=dt))
            out.append(np.array([1.0, 2.0, 3.0], dtype=dt))
            out.append(np.array([1e-5, 1e-5], dtype=dt))
            out.append(np.array([1.0, 1000.0], dtype=dt))
            out.append(np.array([1.0, 1001.0], dtype=dt))
            out.append(np.array([0.999999999, 2.0], dtype=dt))
            out.append(np.array([1.0000000001, 0.123456785], dtype=dt))
            out.append(np.array([5e-324, 1.0], dtype=dt))
            out.append(np.array([1e300, 1e-300, np.nan], dtype=dt))
            out.append((rng.standard_normal(2000) * 10).astype(dt))
            out.append(rng.uniform(-1, 1, (40, 30)).astype(dt))
    for t in ["<c8", ">c16", "<c16"]:
        dt = np.dtype(t)
        re = rng.standard_normal(6)
        im = rng.standard_normal(6) * 1e4
        out.append((re + 1j * im).astype(dt))
        out.append(np.array([complex(np.nan, 1), complex(1, np.inf),
                             complex(-0.0, -0.0), 1e-7j, 1e20 + 1j, 0j], dtype=dt))
        out.append(np.array([1 + 2j, 3 - 4j], dtype=dt))
        out.append((rng.standard_normal((3, 3)) + 1j).astype(dt))
    return out


def other_arrays(rng):
    out = []
    for t in ["i1", "u1", "<i2", ">u2", "<i4", ">i4", "<u4", "<i8", ">i8", "<u8", ">u8"]:
        info = np.iinfo(np.dtype(t))
        out.append(np.array([info.min, 0, info.max, 1], dtype=t))
        out.append(rng.integers(info.min, info.max, (5, 6), dtype=np.dtype(t).newbyteorder("=")).astype(t))
    out.append(np.array([True, False, True]))
    out.append(np.array([[True], [False]]))
    out.append(np.zeros((1001,), dtype=bool))
    out.append(np.array(["a'b", 'c"d', "e\n\x00x", "\u00e9\u200b", "", "tab\there", "back\\slash"], dtype="<U10"))
    out.append(np.array(["x" * 30, "y"] * 4, dtype=">U30"))
    out.append(np.array([b"ab'", b"x", b"\x00\xff", b"q\"'"], dtype="S4"))
    out.append(np.array([b"\x01\x02a", b"zzz"], dtype="V3"))
    for u in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "10s", "3D"]:
        vals = rng.integers(-10**6, 10**6, 5)
        d = np.array(vals, dtype=f"M8[{u}]")
        d[2] = np.datetime64("NaT")
        out.append(d)
        out.append(np.array(vals, dtype=f"<m8[{u}]"))
        t = np.array(vals, dtype=f">m8[{u}]")
        t[0] = np.timedelta64("NaT")
        out.append(t)
    out.append(np.array([-8000, 5, 10000], dtype="M8[Y]"))
    out.append(np.array(["NaT", "NaT"], dtype="M8"))
    out.append(np.zeros((2, 0, 3)))
    out.append(np.zeros((0,), dtype="U3"))
    out.append(np.arange(24.0).reshape(2, 3, 4))
    out.append(np.arange(5000).reshape(10, 20, 25))
    a = np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8"), ("c", "?"), ("d", "U3"), ("e", "<M8[s]")])
    a["a"] = [1, -200, 3]
    a["b"] = [0.5, np.nan, 1e20]
    a["c"] = [True, False, True]
    a["d"] = ["x", "yz", ""]
    a["e"] = [0, 10**9, -5]
    out.append(a)
    b = np.zeros(2, dtype=np.dtype({"names": ["p", "q"], "formats": ["<i2", "<f4"],
                                    "offsets": [0, 4], "itemsize": 12}))
    b["p"] = [7, -8]
    b["q"] = [1.25, 3e-5]
    out.append(b)
    out.append(np.zeros((), dtype=[("only", "<f8")]))
    out.append(np.zeros(4, dtype=("<f8", (2, 3))))
    # 0-d arrays of every kind print as their scalar (bytes as np.bytes_).
    for x in [np.array("abc"), np.array(b"ab'"), np.array(True), np.array(1.5, "<f2"),
              np.array(2 - 3j, ">c8"), np.array(np.datetime64("2020-02-29T12:00")),
              np.array(np.timedelta64(-7, "h")), np.array(np.datetime64("NaT", "ns")),
              np.array(-0.0), np.array(1e16), np.array(np.nan, "<f4"), np.array(255, "u1")]:
        out.append(x)
    out.append(np.zeros((3, 0), dtype="<i2"))
    out.append(np.zeros((0, 2, 2), dtype="<c16"))
    # Wrapping: wide and long strings, complex, nested axes.
    out.append(np.array(["\u4e2d\u6587" * 3, "\U0001f600", "a b", "x" * 70], dtype="<U70"))
    out.append(np.array([b"a" * 40, b"b" * 40, b"c"], dtype="S40"))
    # Every assigned non-printable (escaped by repr) and some printable
    # characters beyond ASCII.
    odd = [c for c in range(0x80, 0x110000, 7)
           if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    out.append(np.array(["".join(chr(c) for c in odd[i:i + 50]) for i in range(0, len(odd), 50)]))
    out.append((np.arange(40) * (1 + 2j) / 3).astype("<c16").reshape(2, 20))
    out.append(np.arange(2 * 3 * 4 * 50, dtype="<i8").reshape(2, 3, 4, 50) - 600)
    out.append(np.linspace(-1, 1, 1200).reshape(4, 300))
    return out


INDICES = ["0", "-1", "5", "-3:", "10:20, ::2", "..., -1", "::-4", "[2, 1:3]",
           "1:", ":, 0", "::2, ::-3", "-1, -1", "..."]


def apply(a, idx):
    return eval("a[" + idx.strip()[1:-1] + "]" if idx.strip().startswith("[") else "a[" + idx + "]")


def to_json(x):
    if isinstance(x, list):
        return [to_json(v) for v in x]
    if isinstance(x, tuple):
        return [to_json(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, complex):
        return [to_json(x.real), to_json(x.imag)]
    if isinstance(x, (bytes,)):
        try:
            return x.decode("utf8")
        except UnicodeDecodeError:
            return x.decode("latin1")
    if isinstance(x, np.ndarray):
        return to_json(x.tolist())
    if isinstance(x, (datetime.datetime, datetime.date)):
        return x.isoformat()
    if isinstance(x, np.generic):
        return to_json(x.item())
    return x


def expected_json(a):
    """a.tolist() in strict JSON, as `npy show --json` writes it."""
    if a.dtype.kind == "M":
        s = np.datetime_as_string(a)
        return to_json(np.where(np.isnat(a), None, s.astype(object)).tolist())
    if a.dtype.kind == "m":
        i = a.astype("i8").astype(object)
        return to_json(np.where(np.isnat(a), None, i).tolist())
    return to_json(a.tolist())


def shown(x):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print(x)
    return buf.getvalue()


def make_bits(rng):
    """Floats of every magnitude, bit pattern by bit pattern."""
    return [np.arange(65536, dtype="<u2").view("<f2"),
            rng.integers(0, 2**32, 50000, dtype=np.uint64).astype("<u4").view("<f4"),
            rng.integers(0, 2**63, 50000, dtype=np.uint64).view("<f8") * rng.choice([-1.0, 1.0], 50000),
            (rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)).astype("<f8"),
            (rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)).astype("<f4"),
            (rng.standard_normal(2000) + 1j * rng.standard_normal(2000) * 10.0 ** rng.integers(-20, 20, 2000)).astype("<c16"),
            (rng.standard_normal(2000) * 1e5 + 1j * rng.standard_normal(2000)).astype("<c8")]


def make(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20261130)
    cases = []
    basic = basic_arrays()
    arrays = basic + record_arrays() + float_arrays(rng) + other_arrays(rng)
    for k, arr in enumerate(arrays):
        # numpy's basic arrays come in both byte orders, which print alike:
        # the big-endian half gets the plain print and indices only.
        big_twin = k < len(basic) and (k // 6) % 2 == 1
        name = f"a{k:04d}.npy"
        np.save(os.path.join(outdir, name), arr)
        a = np.load(os.path.join(outdir, name))
        cases.append({"file": name, "args": [], "kind": "text", "expected": shown(a)})
        if a.ndim >= 1 and a.size:
            # Every index on the record arrays, three (rotating) on the rest:
            # each index still meets every dtype family, the suite stays fast.
            picks = INDICES if a.dtype.names else [INDICES[(k + j) % len(INDICES)] for j in range(3)]
            for idx in picks:
                try:
                    sel = apply(a, idx)
                except IndexError:
                    continue
                cases.append({"file": name, "args": [idx], "kind": "text",
                              "expected": shown(sel)})
            if k % 4 == 0:
                cases.append({"file": name, "args": ["--head", "2"], "kind": "text",
                              "expected": shown(a[:2])})
                cases.append({"file": name, "args": ["--tail", "2"], "kind": "text",
                              "expected": shown(a[-2:])})
        if a.dtype.kind in "fc" and a.size and not big_twin:
            opts = [({"precision": 3}, ["--precision", "3"]),
                    ({"precision": 0}, ["--precision", "0"]),
                    ({"edgeitems": 1, "threshold": 5}, ["--edgeitems", "1", "--threshold", "5"]),
                    ({"linewidth": 40}, ["--linewidth", "40"])]
            for o, flags in opts:
                with np.printoptions(**o):
                    cases.append({"file": name, "args": flags, "kind": "text",
                                  "expected": shown(a)})
        if a.ndim >= 1 and a.size and k % 5 == 0 and not big_twin:
            for o, flags in [({"threshold": 3}, ["--threshold", "3"]),
                             ({"linewidth": 10}, ["--linewidth", "10"]),
                             ({"edgeitems": 0, "threshold": 1}, ["--edgeitems", "0", "--threshold", "1"]),
                             ({"precision": 12, "linewidth": 200}, ["--precision", "12", "--linewidth", "200"])]:
                with np.printoptions(**o):
                    cases.append({"file": name, "args": flags, "kind": "text",
                                  "expected": shown(a)})
        if a.size > 1000 and not big_twin:
            with np.printoptions(threshold=sys.maxsize):
                cases.append({"file": name, "args": ["--full"], "kind": "text",
                              "expected": shown(a)})
        if big_twin:
            continue
        if a.dtype.kind not in "V" or a.dtype.names:
            cases.append({"file": name, "args": ["--json"], "kind": "json",
                          "expected": expected_json(a)})
        if a.ndim <= 2 and (a.dtype.names is None or a.ndim <= 1):
            cases.append({"file": name, "args": ["--csv"], "kind": "csv", "expected": None})
    # Scalar str() of many floats: every float16, random float32/float64 bit
    # patterns (all magnitudes, subnormals, nan, inf) and complex: the CSV
    # cell of each must be numpy's str() of it.
    with np.errstate(all="ignore"):
        bits = make_bits(rng)
    for k, arr in enumerate(bits):
        name = f"bits{k}.npy"
        np.save(os.path.join(outdir, name), arr)
        cases.append({"file": name, "args": ["--csv"], "kind": "text",
                      "expected": "".join(str(x) + "\n" for x in arr)})
        # The whole array printed with one format: exact extra digits where
        # the common precision asks for more than a value's shortest form.
        part = arr[:4000].reshape(-1, 8)
        np.save(os.path.join(outdir, f"bits{k}_2d.npy"), part)
        with np.printoptions(threshold=sys.maxsize):
            cases.append({"file": f"bits{k}_2d.npy", "args": ["--full"], "kind": "text",
                          "expected": shown(part)})
        with np.printoptions(threshold=sys.maxsize, precision=4):
            cases.append({"file": f"bits{k}_2d.npy", "args": ["--full", "--precision", "4", "::3"],
                          "kind": "text", "expected": shown(part[::3])})
    # A subarray dtype as the whole descr is refused, as np.load refuses it
    # (tests/wire.rs checks the message).
    # Fortran order with wrapping and an index.
    f = np.asfortranarray(np.arange(60.0).reshape(3, 4, 5) / 7)
    np.save(os.path.join(outdir, "fortran.npy"), f)
    for idx in [None, "1", ":, 2", "..., 3", "::-1, ::2, 1"]:
        cases.append({"file": "fortran.npy", "args": [idx] if idx else [], "kind": "text",
                      "expected": shown(f if idx is None else apply(f, idx))})
    with open(os.path.join(outdir, "manifest.json"), "w") as fh:
        json.dump(cases, fh)


def parse_cell(dt, cell):
    k = dt.kind
    if k == "b":
        return {"True": True, "False": False}[cell]
    if k in "iu":
        return int(cell)
    if k == "f":
        return dt.type(cell)
    if k == "c":
        return dt.type(complex(cell))
    if k == "U":
        return cell
    if k in "SV":
        b = ast.literal_eval(cell)
        return np.void(b) if k == "V" else b
    if k == "M":
        return np.datetime64(cell, np.datetime_data(dt)[0]) if cell != "NaT" else np.datetime64("NaT")
    if k == "m":
        return None if cell == "NaT" else int(cell)
    raise ValueError(dt)


def same(dt, want, got):
    k = dt.kind
    if k == "f":
        want = dt.type(want)
        return (np.isnan(want) and np.isnan(got)) or (want == got and np.signbit(want) == np.signbit(got))
    if k == "c":
        ft = np.dtype(want.real.dtype)
        return all(same(ft, a, b) for a, b in [(want.real, got.real), (want.imag, got.imag)])
    if k == "M":
        return (np.isnat(want) and np.isnat(got)) or want == got
    if k == "m":
        return (got is None) if np.isnat(want) else int(want.astype("i8")) == got
    return want == got


def check(outdir):
    import csv as csvmod
    failures = []
    with open(os.path.join(outdir, "csv.json")) as fh:
        runs = json.load(fh)
    for r in runs:
        a = np.load(os.path.join(outdir, r["file"]))
        rows = list(csvmod.reader(io.StringIO(r["out"])))
        if a.dtype.names:
            cols = []

            def leaves(x):
                for n in x.dtype.names:
                    sub = x[n]
                    if sub.dtype.names:
                        leaves(sub)
                        continue
                    col = sub.reshape(a.shape[:1] + (-1,)) if a.ndim else sub.reshape(1, -1)
                    for j in range(col.shape[1]):
                        cols.append((sub.dtype.base, col[:, j]))
            leaves(a)
            want_rows = max(1, a.shape[0] if a.ndim else 1)
            if len(rows) != want_rows:
                failures.append(f"{r['file']}: {len(rows)} rows, want {want_rows}")
                continue
            for i, row in enumerate(rows):
                for (dt, col), cell in zip(cols, row):
                    if not same(dt, col[i], parse_cell(dt, cell)):
                        failures.append(f"{r['file']}: row {i} cell {cell!r} != {col[i]!r}")
            continue
        b = a.reshape(1, 1) if a.ndim == 0 else (a.reshape(-1, 1) if a.ndim == 1 else a)
        if len(rows) != b.shape[0]:
            failures.append(f"{r['file']}: {len(rows)} rows, want {b.shape[0]}")
            continue
        for i, row in enumerate(rows):
            if len(row) != b.shape[1]:
                failures.append(f"{r['file']}: row {i} has {len(row)} cells")
                continue
            for j, cell in enumerate(row):
                if not same(a.dtype, b[i, j], parse_cell(a.dtype, cell)):
                    failures.append(f"{r['file']}: [{i},{j}] {cell!r} != {b[i, j]!r}")
    print(json.dumps(failures[:50]))


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
