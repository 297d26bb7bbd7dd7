#!/usr/bin/env python3
"""numpy as the oracle for `npy stats` and `npy diff`, in one process.

Usage: stats_diff_cases.py DIR

Writes every test array into DIR and DIR/manifest.json:

    {"stats": [{"file": NAME, "axis": bool, "dtype": "<f4",
                "expect": RESULT or {"shape": [...], "results": [RESULT...]}}],
     "diff":  [{"a": NAME, "b": NAME, "args": [...], "expect": {...}}]}

A stats RESULT holds count, nan, inf, min, max (as the JSON `npy stats
--json` should print: ints exact, floats as float(str(numpy scalar)), i.e.
the shortest repr of the value in its own width, infinities as "inf" /
"-inf", None where it does not exist), mean and std (numpy float64 over the
finite values), and scale (the largest finite magnitude, for an absolute
floor on the comparison).

A diff expectation holds equal, reason (None, "dtype", "shape", "values"),
differing (elements numpy counts as different), first (their first 10
indices, in storage order) and max_abs (largest |a - b| among them, when
numeric) with max_abs_index.

stdlib + numpy only.
"""

import json
import os
import sys

import numpy as np

OUT = sys.argv[1]
rng = np.random.default_rng(15)
stats_cases = []
diff_cases = []


def save(name, a, fortran=False, version=None):
    path = os.path.join(OUT, name)
    if fortran:
        a = np.asfortranarray(a)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    return name


def scalar_json(x, dt):
    if dt.kind == "b":
        return bool(x)
    if dt.kind in "iu":
        return int(x)
    x = dt.type(x)
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(str(x))


def summary(v, dt):
    """Expected stats of the 1-D array v (logical values) of dtype dt."""
    v = np.asarray(v)
    res = {"count": int(v.size)}
    if dt.kind == "f":
        nan = np.isnan(v)
        inf = np.isinf(v)
        res["nan"] = int(nan.sum())
        res["inf"] = int(inf.sum())
        notnan = v[~nan]
        fin = v[~nan & ~inf].astype(np.float64)
    else:
        res["nan"] = 0
        res["inf"] = 0
        notnan = v
        fin = v.astype(np.float64)
    if notnan.size:
        if dt.kind in "iu":
            res["min"] = int(min(int(x) for x in notnan))
            res["max"] = int(max(int(x) for x in notnan))
        else:
            res["min"] = scalar_json(notnan.min(), dt)
            res["max"] = scalar_json(notnan.max(), dt)
    else:
        res["min"] = res["max"] = None
    if fin.size:
        res["mean"] = float(np.mean(fin))
        res["std"] = float(np.std(fin))
        res["scale"] = float(np.max(np.abs(fin)))
    else:
        res["mean"] = res["std"] = None
        res["scale"] = 0.0
    return res


def stats_case(name, a, fortran=False):
    a = np.asarray(a)
    save(name, a, fortran)
    dt = a.dtype
    stats_cases.append({"file": name, "axis": False, "dtype": dt.str,
                        "expect": summary(a.reshape(-1), dt)})
    if a.ndim >= 1:
        r = int(np.prod(a.shape[1:]))
        cols = a.reshape(a.shape[0], r) if a.ndim > 1 else a.reshape(-1, 1)
        rest = list(a.shape[1:])
        results = [summary(cols[:, j], dt) for j in range(cols.shape[1])]
        stats_cases.append({"file": name, "axis": True, "dtype": dt.str,
                            "expect": {"shape": rest, "results": results}})


# ---------------------------------------------------------------- stats

def with_specials(a):
    a = a.copy()
    flat = a.reshape(-1)
    if flat.size >= 6:
        flat[1] = np.nan
        flat[3] = np.inf
        flat[4] = -np.inf
        flat[-1] = np.nan
    return a


for dt in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]:
    base = rng.normal(3.0, 2.0, size=(7, 5)).astype(dt)
    stats_case(f"s_{dt[1:]}_{'le' if dt[0] == '<' else 'be'}.npy", with_specials(base))
    stats_case(f"s_{dt[1:]}_{'le' if dt[0] == '<' else 'be'}_f.npy", with_specials(base), fortran=True)
    stats_case(f"s_{dt[1:]}_{'le' if dt[0] == '<' else 'be'}_3d.npy",
               with_specials(rng.normal(0, 1, size=(4, 3, 2)).astype(dt)), fortran=dt[0] == ">")

for dt in ["|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4",
           "<i8", ">i8", "<u8", ">u8"]:
    info = np.iinfo(np.dtype(dt))
    a = rng.integers(info.min, info.max, size=(6, 4), dtype=np.dtype(dt).newbyteorder("="), endpoint=True)
    a = a.astype(dt)
    a[0, 0] = info.min
    a[5, 3] = info.max
    stats_case(f"s_{dt[1:]}_{'be' if dt[0] == '>' else 'le'}.npy", a)
    stats_case(f"s_{dt[1:]}_{'be' if dt[0] == '>' else 'le'}_f.npy", a, fortran=True)

stats_case("s_bool.npy", rng.random((5, 3)) > 0.4)
stats_case("s_bool_false.npy", np.zeros(4, dtype=bool))
stats_case("s_empty.npy", np.zeros(0, dtype="<f8"))
stats_case("s_empty_2d.npy", np.zeros((0, 3), dtype="<f4"))
stats_case("s_empty_cols.npy", np.zeros((3, 0), dtype="<i4"))
stats_case("s_0d.npy", np.array(2.5, dtype="<f8"))
stats_case("s_all_nan.npy", np.full((3, 2), np.nan, dtype="<f4"))
stats_case("s_only_inf.npy", np.array([np.inf, -np.inf, np.nan], dtype="<f8"))
stats_case("s_neg_zero.npy", np.array([-0.0, 0.0, -0.0], dtype="<f8"))
stats_case("s_tiny_f16.npy", np.array([6e-8, 65504, -65504, 0.1], dtype="<f2"))
# Adversarial sums: a large offset with a small spread (a naive
# sum-of-squares formula loses every digit), and huge with tiny magnitudes.
stats_case("s_offset.npy", (1e8 + rng.normal(0, 0.1, size=50_000)).astype("<f8"))
stats_case("s_offset_cols.npy", (1e8 + rng.normal(0, 0.1, size=(2_000, 3))).astype("<f8"))
stats_case("s_offset_f.npy", (1e8 + rng.normal(0, 0.1, size=(2_000, 3))).astype("<f8"), fortran=True)
stats_case("s_mixed_mag.npy", np.concatenate([rng.normal(0, 1e-8, 10_000),
                                              rng.normal(0, 1e12, 10), [1e15, -1e15]]).astype("<f8"))
stats_case("s_int_offset.npy", (2**40 + rng.integers(-3, 4, size=30_000)).astype("<i8"))
# Large enough to be split between threads and windows (over 32 MiB).
big = rng.normal(-5.0, 3.0, size=4_500_000).astype("<f8")
big[::100_003] = np.nan
big[7] = np.inf
stats_case("s_big.npy", big)
big32 = (1e4 + rng.normal(0, 1e-2, size=(1_500_000, 3))).astype("<f4")
stats_case("s_big_cols.npy", big32)

# INDEX: stats of a[INDEX], numpy basic indexing, C and Fortran files.
def stats_index_case(name, idx):
    a = np.load(os.path.join(OUT, name))
    r = np.asarray(eval(f"a[{idx.strip().removeprefix('[').removesuffix(']')}]"))
    dt = a.dtype
    stats_cases.append({"file": name, "index": idx, "axis": False, "dtype": dt.str,
                        "expect": summary(r.reshape(-1), dt)})
    if r.ndim >= 1:
        rest = list(r.shape[1:])
        cols = r.reshape(r.shape[0], int(np.prod(rest)))
        stats_cases.append({"file": name, "index": idx, "axis": True, "dtype": dt.str,
                            "expect": {"shape": rest,
                                       "results": [summary(cols[:, j], dt) for j in range(cols.shape[1])]}})


for name in ["s_f8_le.npy", "s_f8_le_f.npy", "s_i2_be_f.npy", "s_f2_le_f.npy"]:
    for idx in ["1:4", "-2:", "::-2", "..., 1", "1, ::2", "None, 2", "3", "2, 3", "10:", ":, ::-3", "[-1, :]"]:
        stats_index_case(name, idx)
for idx in ["1:3, ..., ::-1", "..., 0", "-1, None, 1:", "::2, 2, :"]:
    stats_index_case("s_f4_be_3d.npy", idx)
    stats_index_case("s_f8_le_3d.npy", idx)
stats_index_case("s_big.npy", "::7")
stats_index_case("s_big_cols.npy", "100:200000:3, 1:")

# ---------------------------------------------------------------- diff


def diff_case(a_name, b_name, a, b, args=(), equal_nan=False, tol=None, both_f=False):
    a = np.asarray(a)
    b = np.asarray(b)
    exp = {}
    if a.dtype != b.dtype:
        exp = {"equal": False, "reason": "dtype"}
    elif a.shape != b.shape:
        exp = {"equal": False, "reason": "shape"}
    else:
        if a.dtype.names is not None or a.dtype.kind in "SUV":
            mism = ~(a == b)
        elif a.dtype.kind in "mM":
            eq = a == b
            if equal_nan:
                eq |= np.isnat(a) & np.isnat(b)
            mism = ~eq
        elif tol is not None:
            mism = ~np.isclose(a, b, rtol=tol[0], atol=tol[1], equal_nan=equal_nan)
        else:
            eq = a == b
            if equal_nan and a.dtype.kind in "fc":
                eq |= np.isnan(a) & np.isnan(b)
            mism = ~np.asarray(eq)
        mism = np.asarray(mism).reshape(a.shape)
        n = int(mism.sum())
        exp = {"equal": n == 0, "reason": None if n == 0 else "values", "differing": n}
        if both_f:
            idx = [list(map(int, i[::-1])) for i in np.argwhere(mism.T)[:10]]
        else:
            idx = [list(map(int, i)) for i in np.argwhere(mism)[:10]]
        exp["first"] = idx
        if n and a.dtype.names is None and a.dtype.kind in "biuf":
            if a.dtype.kind in "biu":
                d = [abs(int(x) - int(y)) for x, y in zip(a[mism].tolist(), b[mism].tolist())]
                k = int(np.argmax(d))
                exp["max_abs"] = d[k]
            else:
                d = np.abs(a[mism].astype(np.float64) - b[mism].astype(np.float64))
                d = np.where(np.isnan(d), -1.0, d)
                k = int(np.argmax(d))
                exp["max_abs"] = float(d[k]) if d[k] >= 0 else None
                if d[k] == np.inf:
                    exp["max_abs"] = "inf"
            if exp["max_abs"] is not None:
                exp["max_abs_index"] = list(map(int, np.argwhere(mism)[k]))
    diff_cases.append({"a": a_name, "b": b_name, "args": list(args), "expect": exp})


x = rng.normal(0, 1, size=(6, 5))
# Header differences only: versions, Fortran vs C, canonical spellings.
diff_case(save("d_x.npy", x), save("d_x_v2.npy", x, version=(2, 0)), x, x)
diff_case("d_x.npy", save("d_x_f.npy", x, fortran=True), x, x)
with open(os.path.join(OUT, "d_u1_pipe.npy"), "wb") as f:
    hdr = "{'shape': (4,),   'fortran_order': False, 'descr': '|u1',}"
    hdr = hdr + " " * (64 - 11 - len(hdr)) + "\n"
    f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode() + bytes([1, 2, 3, 4]))
u1 = np.array([1, 2, 3, 4], dtype="<u1")
diff_case(save("d_u1.npy", u1), "d_u1_pipe.npy", u1, u1)
# Value differences, listed in logical order, also across storage orders.
y = x.copy()
y[1, 2] += 0.5
y[4, 0] -= 2.0
y[5, 4] += 1e-7
diff_case("d_x.npy", save("d_y.npy", y), x, y)
diff_case("d_x_f.npy", save("d_y_c.npy", y), x, y)
diff_case("d_x_f.npy", save("d_y_f.npy", y, fortran=True), x, y, both_f=True)
diff_case("d_x.npy", "d_y.npy", x, y, args=["--rtol", "1e-5"], tol=(1e-5, 1e-8))
diff_case("d_x.npy", "d_y.npy", x, y, args=["--atol", "0.6"], tol=(1e-5, 0.6))
# NaN, -0.0, inf.
p = np.array([1.0, np.nan, -0.0, np.inf, 5.0, np.nan], dtype="<f4")
q = np.array([1.0, np.nan, 0.0, np.inf, 5.5, 2.0], dtype="<f4")
diff_case(save("d_p.npy", p), save("d_q.npy", q), p, q)
diff_case("d_p.npy", "d_q.npy", p, q, args=["--equal-nan"], equal_nan=True)
diff_case("d_p.npy", "d_q.npy", p, q, args=["--equal-nan", "--rtol", "0.1"], equal_nan=True, tol=(0.1, 1e-8))
diff_case("d_p.npy", "d_p.npy", p, p, args=["--equal-nan"], equal_nan=True)
# dtype and shape differences.
diff_case("d_x.npy", save("d_x_be.npy", x.astype(">f8")), x, x.astype(">f8"))
diff_case("d_x.npy", save("d_x_t.npy", x.T.copy()), x, x.T.copy())
# Integers: exact differences at the extremes.
i = np.array([np.iinfo(np.int64).min, 0, 7], dtype="<i8")
j = np.array([np.iinfo(np.int64).max, 0, 8], dtype="<i8")
diff_case(save("d_i.npy", i), save("d_j.npy", j), i, j)
uu = np.array([0, 2**64 - 1], dtype=">u8")
vv = np.array([2**64 - 1, 2**64 - 1], dtype=">u8")
diff_case(save("d_uu.npy", uu), save("d_vv.npy", vv), uu, vv)
diff_case(save("d_b1.npy", np.array([True, False, True])), save("d_b2.npy", np.array([True, True, True])),
          np.array([True, False, True]), np.array([True, True, True]))
h1 = np.array([0.1, -0.0, np.nan, 65504], dtype="<f2")
h2 = np.array([0.1, 0.0, np.nan, 65000], dtype="<f2")
diff_case(save("d_h1.npy", h1), save("d_h2.npy", h2), h1, h2)
# Complex: NaN in either part.
c1 = np.array([1 + 2j, complex(np.nan, 1), 3 - 1j, complex(0, -0.0)], dtype="<c16")
c2 = np.array([1 + 2j, complex(np.nan, 1), 3 - 2j, complex(-0.0, 0)], dtype="<c16")
diff_case(save("d_c1.npy", c1), save("d_c2.npy", c2), c1, c2)
diff_case("d_c1.npy", "d_c2.npy", c1, c2, args=["--equal-nan"], equal_nan=True)
# Strings, bytes, datetimes, long double, records with NaN fields.
s1 = np.array([b"alpha", b"beta", b""], dtype="S6")
s2 = np.array([b"alpha", b"bet", b""], dtype="S6")
diff_case(save("d_s1.npy", s1), save("d_s2.npy", s2), s1, s2)
w1 = np.array(["héllo", "x", "yz"], dtype="<U5")
w2 = np.array(["héllo", "x", "yZ"], dtype="<U5")
diff_case(save("d_w1.npy", w1), save("d_w2.npy", w2), w1, w2)
t1 = np.array(["2020-01-01", "NaT", "2021-05-05"], dtype="<M8[D]")
t2 = np.array(["2020-01-01", "NaT", "2021-05-06"], dtype="<M8[D]")
diff_case(save("d_t1.npy", t1), save("d_t2.npy", t2), t1, t2)
diff_case("d_t1.npy", "d_t2.npy", t1, t2, args=["--equal-nan"], equal_nan=True)
if np.finfo(np.longdouble).nmant == 63:
    g1 = np.array([1, -0.0, np.nan, 2], dtype=np.longdouble)
    g2 = np.array([1, 0.0, np.nan, np.longdouble(2) + np.finfo(np.longdouble).eps * 2], dtype=np.longdouble)
    diff_case(save("d_g1.npy", g1), save("d_g2.npy", g2), g1, g2)
rec = np.dtype([("id", "<u4"), ("x", "<f8"), ("tag", "S3")])
r1 = np.zeros(4, dtype=rec)
r1["id"] = [1, 2, 3, 4]
r1["x"] = [0.5, np.nan, -0.0, 2.0]
r1["tag"] = [b"a", b"b", b"c", b"d"]
r2 = r1.copy()
r2["x"][2] = 0.0
r2["tag"][3] = b"e"
diff_case(save("d_r1.npy", r1), save("d_r2.npy", r2), r1, r2)
# A file against itself: identical bytes, yet NaN (NaT) is not equal to NaN.
for name, arr in [("d_p.npy", p), ("d_r1.npy", r1), ("d_c1.npy", c1), ("d_t1.npy", t1),
                  ("d_h1.npy", h1), ("d_x.npy", x)]:
    diff_case(name, name, arr, arr)
# Empty and 0-d arrays.
diff_case(save("d_e1.npy", np.zeros((0, 3))), save("d_e2.npy", np.zeros((0, 3))), np.zeros((0, 3)), np.zeros((0, 3)))
diff_case(save("d_z1.npy", np.array(1.5)), save("d_z2.npy", np.array(2.5)), np.array(1.5), np.array(2.5))
# Long enough to cross windows (32 MiB) with differences near the end.
la = rng.normal(0, 1, size=4_500_000)
lb = la.copy()
lb[-3:] += 1.0
lb[10] = np.nan
diff_case(save("d_la.npy", la), save("d_lb.npy", lb), la, lb)

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump({"stats": stats_cases, "diff": diff_cases}, f)
