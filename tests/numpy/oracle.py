#!/usr/bin/env python3
"""numpy as the oracle for the `npy` integration tests.

Usage (every subcommand prints one JSON value on stdout and exits 0, or
prints the error on stderr and exits 1; usage errors exit 2):

    oracle.py load FILE
        {"ok": true, "descr": ..., "shape": [...], "fortran_order": bool,
         "version": "1.0", "header_len": n, "data_bytes": n}
        if np.load(FILE, allow_pickle=False) succeeds, else
        {"ok": false, "error": "..."}  (still exit 0).
        (max_header_size is raised so wide-record v2 headers load.)
    oracle.py equal A B
        {"equal": bool, "reason": "..."}: both load, same dtype exactly
        (descr, byte order, padding, titles), same shape, identical bytes in
        C element order (raw bytes, so NaNs and padding bytes count).
    oracle.py split FILE AXIS N OUTDIR
        np.array_split along AXIS (negative allowed) into N pieces, saved as
        OUTDIR/chunk_000.npy ...; pieces of a fortran_order input are saved
        Fortran-ordered. Prints the list of paths.
    oracle.py concat OUT AXIS IN...
        np.save(OUT, np.concatenate(inputs, axis=AXIS)) but with the inputs'
        dtype kept exactly and every byte copied raw (numpy's concatenate
        would turn '>i4' into '<i4' and drop padding fields); the memory
        order, hence the header's fortran_order, is the one numpy's own
        concatenate gives (see predict_fortran below: usually Fortran when the
        inputs are Fortran-ordered, but not always). Inputs must share one
        dtype exactly. Prints {"shape": [...]}.
    oracle.py stack-save OUT IN...
        one open(OUT, 'wb'), np.save(f, np.load(IN)) for each IN in turn.
        Prints {"count": n}.
    oracle.py convert OUT MODE [AXIS] IN...
        MODE is vstack, concatenate (AXIS required) or stack (AXIS optional,
        default 0, given as an int). np.save(OUT, np.vstack/np.concatenate/
        np.stack(inputs)) with the inputs' dtype kept exactly (as concat).
        IN may be a stacked file: every array in it is used, in order.
        Prints {"shape": [...]}.
    oracle.py loadall FILE
        repeated np.load on one open handle until EOF:
        {"count": n, "shapes": [[...], ...], "descrs": [...],
         "fortran_orders": [...], "offsets": [start byte of each array]}
    oracle.py info FILE
        header facts straight from the bytes (no data read): version,
        header_len, descr, shape, fortran_order, itemsize, data_bytes,
        expected_bytes, growth_axis, object.
    oracle.py serve
        one long-lived process for many calls (numpy is imported once):
        reads requests from stdin, one JSON list of strings a line, e.g.
        ["load", "a.npy"] or ["cases", OUTDIR] (runs cases.py OUTDIR), and
        answers each with one JSON line {"code": n, "stdout": "...",
        "stderr": "..."}: what the one-shot command would have exited with
        and printed. Ends at the end of stdin.

stdlib + numpy (>= 2.0) only.
"""

import ast
import json
import os
import struct
import sys
import warnings

import numpy as np
from numpy.lib import format as npformat

BIG = 2**40  # max_header_size: wide records have headers > 10000 chars


class Fail(Exception):
    pass


def jsonify(x):
    if isinstance(x, (list, tuple)):
        return [jsonify(v) for v in x]
    return x


def out(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------
# header


def read_header(path, f=None):
    """(version, header_len, dict) of the array starting at f's position."""
    own = f is None
    if own:
        f = open(path, "rb")
    try:
        start = f.tell()
        head = f.read(8)
        if len(head) < 8 or head[:6] != b"\x93NUMPY":
            raise Fail(f"{path}: not a .npy file (bad magic at byte {start})")
        major, minor = head[6], head[7]
        if (major, minor) == (1, 0):
            size = f.read(2)
            if len(size) < 2:
                raise Fail(f"{path}: truncated header length")
            (hlen,) = struct.unpack("<H", size)
            enc, pre = "latin1", 10
        elif (major, minor) in ((2, 0), (3, 0)):
            size = f.read(4)
            if len(size) < 4:
                raise Fail(f"{path}: truncated header length")
            (hlen,) = struct.unpack("<I", size)
            enc, pre = ("latin1" if major == 2 else "utf8"), 12
        else:
            raise Fail(f"{path}: unsupported version {major}.{minor}")
        raw = f.read(hlen)
        if len(raw) < hlen:
            raise Fail(f"{path}: header runs past the end of the file")
        d = ast.literal_eval(raw.decode(enc))
        return f"{major}.{minor}", pre + hlen, d
    finally:
        if own:
            f.close()


def load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return np.load(path, allow_pickle=False, max_header_size=BIG)


def header_fortran(path):
    return bool(read_header(path)[2]["fortran_order"])


# --------------------------------------------------------------------------
# exact byte handling (numpy's own copies of a padded record dtype leave the
# padding bytes uninitialised, and concatenate changes byte order / drops
# padding; so all data movement here goes through uint8 views)


def raw_view(a):
    """uint8 array of shape a.shape + (itemsize,) viewing a's exact bytes."""
    isz = a.dtype.itemsize
    if a.flags.c_contiguous:
        return a.reshape(-1).view(np.uint8).reshape(a.shape + (isz,))
    if a.flags.f_contiguous:
        t = raw_view(a.T)  # a.T is C-contiguous, shape reversed
        nd = a.ndim
        return t.transpose(tuple(range(nd - 1, -1, -1)) + (nd,))
    # not contiguous (never what np.load returns): go element-wise through a
    # structured-safe path: view each element's bytes via a void dtype copy
    v = np.ascontiguousarray(a.view(np.dtype((np.void, isz))))
    return v.reshape(-1).view(np.uint8).reshape(a.shape + (isz,))


def from_raw(r, dtype, order):
    """Array of dtype with the bytes of r (shape S + (itemsize,)), in order."""
    shape = r.shape[:-1]
    if order == "F" and len(shape) > 1:
        nd = len(shape)
        t = np.ascontiguousarray(r.transpose(tuple(range(nd - 1, -1, -1)) + (nd,)))
        return t.reshape(-1).view(dtype).reshape(tuple(reversed(shape))).T
    c = np.ascontiguousarray(r)
    return c.reshape(-1).view(dtype).reshape(shape)


def layout(a):
    """The order np.save would write a in."""
    if a.flags.c_contiguous:
        return "C"
    if a.flags.f_contiguous:
        return "F"
    return "C"


def same_dtype(arrays, names):
    d0 = npformat.dtype_to_descr(arrays[0].dtype)
    for a, n in zip(arrays[1:], names[1:]):
        d = npformat.dtype_to_descr(a.dtype)
        if d != d0 or a.dtype != arrays[0].dtype:
            raise Fail(f"{n}: dtype {d!r} differs from {names[0]}: {d0!r}")
    if arrays[0].dtype.hasobject:
        raise Fail(f"{names[0]}: object arrays are not handled")
    return arrays[0].dtype


def exact_join(arrays, names, numpy_fn, predict=None):
    """numpy_fn(arrays) with dtype and bytes kept exactly.

    numpy_fn(list_of_arrays) -> the numpy result (used for the shape, any
    numpy error, and the memory order numpy picks). The data are then joined
    again as raw bytes so the dtype is the inputs' one, padding included.
    """
    dtype = same_dtype(arrays, names)
    ref = numpy_fn(arrays)
    order = layout(ref)
    raws = [raw_view(a) for a in arrays]
    joined = numpy_fn(raws)  # same op on the uint8 views: a byte-exact copy
    assert joined.shape == ref.shape + (dtype.itemsize,)
    res = from_raw(joined, dtype, order)
    assert res.shape == ref.shape and layout(res) == order
    if predict is not None:
        guess = predict_fortran(*predict)
        if guess != (order == "F"):
            sys.stderr.write(f"oracle.py: warning: predict_fortran says {guess}, "
                             f"numpy wrote fortran_order {order == 'F'}\n")
    return res


# --------------------------------------------------------------------------
# numpy's memory-order choice for concatenate / vstack / stack, from the
# headers alone (shape + fortran_order). np.concatenate allocates its result
# with PyArray_CreateMultiSortedStridePerm (the NpyIter KEEPORDER rule) over
# the inputs' strides, and np.save then writes fortran_order True only if that
# result is F-contiguous and not C-contiguous. Checked against numpy on every
# concat/convert this script does (a mismatch is reported on stderr) and on
# 20,000 random shape/order mixes. A Rust port of these four functions gives
# the byte-identical header.


def load_strides(shape, fortran):
    """Strides, in items, of the array np.load returns for this header."""
    def c_strides(shp):
        st, s = [0] * len(shp), 1
        for i in range(len(shp) - 1, -1, -1):
            st[i] = s
            s *= max(shp[i], 1)  # numpy treats a 0 dim as 1 for strides
        return st
    if fortran:
        return list(reversed(c_strides(list(reversed(shape)))))
    return c_strides(list(shape))


def multi_sorted_stride_perm(shapes, strides, ndim):
    """Axes from outermost to innermost: a stable insertion sort by |stride|,
    descending; a pair of axes is compared only in arrays where neither axis
    has length 1; on a conflict between arrays, C order wins."""
    perm = list(range(ndim))
    for i0 in range(1, ndim):
        ipos, j0 = i0, perm[i0]
        for i1 in range(i0 - 1, -1, -1):
            j1 = perm[i1]
            ambig, swap = True, False
            for shp, st in zip(shapes, strides):
                if shp[j0] != 1 and shp[j1] != 1:
                    if abs(st[j0]) <= abs(st[j1]):
                        swap = False
                    elif ambig:
                        swap = True
                    ambig = False
            if not ambig:
                if swap:
                    ipos = i1
                else:
                    break
        if ipos != i0:
            perm.insert(ipos, perm.pop(i0))
    return perm


def saved_fortran(shape, strides):
    """The fortran_order np.save writes for an array with these strides."""
    if any(n == 0 for n in shape):
        return False  # empty arrays are C- and F-contiguous: C wins

    def contig(axes):
        s = 1
        for i in axes:
            if shape[i] != 1 and strides[i] != s:
                return False
            s *= shape[i]
        return True
    if contig(range(len(shape) - 1, -1, -1)):
        return False
    return contig(range(len(shape)))  # F-contiguous only -> True, else C


def predict_fortran(inputs, mode, axis):
    """inputs: [(shape, fortran_order)] from the headers. mode: 'concatenate'
    (axis >= 0), 'vstack', or 'stack' (axis >= 0, the new axis).
    -> the fortran_order np.save writes for the numpy result."""
    shapes, strides = [], []
    for shape, fortran in inputs:
        shape = list(shape)
        st = load_strides(shape, fortran)
        if mode == "vstack" and len(shape) < 2:  # np.atleast_2d
            shape, st = ([1, shape[0]], [0, st[0]]) if shape else ([1, 1], [0, 0])
        elif mode == "stack":  # arr[..., np.newaxis, ...] then concatenate
            shape.insert(axis, 1)
            st.insert(axis, 0)
        shapes.append(shape)
        strides.append(st)
    cat = 0 if mode == "vstack" else axis
    ndim = len(shapes[0])
    perm = multi_sorted_stride_perm(shapes, strides, ndim)
    out = list(shapes[0])
    out[cat] = sum(s[cat] for s in shapes)
    st, s = [0] * ndim, 1
    for i in range(ndim - 1, -1, -1):
        st[perm[i]] = s
        s *= out[perm[i]]
    return saved_fortran(out, st)


def save(path, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.save(path, a)


def norm_axis(axis, ndim, what):
    if not -ndim <= axis < ndim:
        raise Fail(f"axis {axis} out of range for {ndim}-d {what}")
    return axis % ndim


# --------------------------------------------------------------------------
# subcommands


def cmd_load(args):
    if len(args) != 1:
        raise SystemExit(usage())
    path = args[0]
    try:
        a = load(path)
        version, hlen, d = read_header(path)
    except Exception as e:  # noqa: BLE001 - report any numpy failure
        out({"ok": False, "error": f"{type(e).__name__}: {e}"})
        return 0
    out({
        "ok": True,
        "descr": jsonify(npformat.dtype_to_descr(a.dtype)),
        "shape": list(a.shape),
        "fortran_order": bool(d["fortran_order"]),
        "version": version,
        "header_len": hlen,
        "data_bytes": os.path.getsize(path) - hlen,
    })
    return 0


def cmd_equal(args):
    if len(args) != 2:
        raise SystemExit(usage())
    a, b = (load(p) for p in args)
    da, db = npformat.dtype_to_descr(a.dtype), npformat.dtype_to_descr(b.dtype)
    if da != db or a.dtype != b.dtype:
        reason = f"dtype {da!r} != {db!r}"
    elif a.shape != b.shape:
        reason = f"shape {a.shape} != {b.shape}"
    elif a.dtype.hasobject:
        reason = "" if a.tolist() == b.tolist() else "object values differ"
    else:
        ra = np.ascontiguousarray(raw_view(a)).tobytes()
        rb = np.ascontiguousarray(raw_view(b)).tobytes()
        if ra == rb:
            reason = ""
        else:
            first = next(i for i, (x, y) in enumerate(zip(ra, rb)) if x != y)
            isz = a.dtype.itemsize
            reason = (f"bytes differ: first at byte {first} of the C-order data "
                      f"(element {first // isz if isz else 0})")
    out({"equal": reason == "", "reason": reason})
    return 0


def cmd_split(args):
    if len(args) != 4:
        raise SystemExit(usage())
    path, axis, n, outdir = args[0], int(args[1]), int(args[2]), args[3]
    a = load(path)
    if a.dtype.hasobject:
        raise Fail(f"{path}: object arrays are not handled")
    if a.ndim == 0:
        raise Fail(f"{path}: cannot split a 0-d array")
    if n < 1:
        raise Fail("N must be >= 1")
    axis = norm_axis(axis, a.ndim, "array")
    order = "F" if header_fortran(path) else "C"
    os.makedirs(outdir, exist_ok=True)
    r = raw_view(a)
    paths = []
    for i, piece in enumerate(np.array_split(r, n, axis=axis)):
        p = os.path.join(outdir, f"chunk_{i:03d}.npy")
        save(p, from_raw(piece, a.dtype, order))
        paths.append(p)
    out(paths)
    return 0


def cmd_concat(args):
    if len(args) < 3:
        raise SystemExit(usage())
    outp, axis, ins = args[0], int(args[1]), args[2:]
    arrays = [load(p) for p in ins]
    if any(a.ndim == 0 for a in arrays):
        raise Fail("zero-dimensional arrays cannot be concatenated")
    axis = norm_axis(axis, arrays[0].ndim, "inputs")
    heads = [(a.shape, header_fortran(p)) for a, p in zip(arrays, ins)]
    res = exact_join(arrays, ins, lambda xs: np.concatenate(xs, axis=axis),
                     predict=(heads, "concatenate", axis))
    save(outp, res)
    out({"shape": list(res.shape)})
    return 0


def cmd_stack_save(args):
    if len(args) < 2:
        raise SystemExit(usage())
    outp, ins = args[0], args[1:]
    arrays = [load(p) for p in ins]
    with open(outp, "wb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for a in arrays:
            np.save(f, a)
    out({"count": len(arrays)})
    return 0


def iter_stacked(path):
    """Yield (offset, array, header dict) for each array in path."""
    size = os.path.getsize(path)
    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        i = 0
        while f.tell() < size:
            off = f.tell()
            try:
                _, _, d = read_header(path, f)
                f.seek(off)
                a = np.load(f, allow_pickle=False, max_header_size=BIG)
            except Exception as e:  # noqa: BLE001
                raise Fail(f"{path}: array {i} at byte {off}: {type(e).__name__}: {e}") from None
            yield off, a, d
            i += 1


def cmd_convert(args):
    if len(args) < 3:
        raise SystemExit(usage())
    outp, mode, rest = args[0], args[1], args[2:]
    axis = None
    if mode == "concatenate":
        axis, rest = int(rest[0]), rest[1:]
    elif mode == "stack":
        try:
            axis, rest = int(rest[0]), rest[1:]
        except ValueError:
            axis = 0
    elif mode != "vstack":
        raise SystemExit(usage())
    if not rest:
        raise SystemExit(usage())
    arrays, names, heads = [], [], []
    for p in rest:
        for k, (off, a, d) in enumerate(iter_stacked(p)):
            arrays.append(a)
            names.append(f"{p}: array {k} at byte {off}")
            heads.append((a.shape, bool(d["fortran_order"])))
    if not arrays:
        raise Fail("no arrays in the input")
    if mode == "vstack":
        # numpy defines np.vstack(xs) as np.concatenate(np.atleast_2d(*xs), 0);
        # do the atleast_2d on the real arrays (on the uint8 byte views it
        # would treat the byte axis as a data axis)
        arrays = [np.atleast_2d(a) for a in arrays]
        fn = lambda xs: np.concatenate(xs, axis=0)  # noqa: E731
        ax = 0
    elif mode == "concatenate":
        if any(a.ndim == 0 for a in arrays):
            raise Fail("zero-dimensional arrays cannot be concatenated")
        ax = norm_axis(axis, arrays[0].ndim, "inputs")
        fn = lambda xs: np.concatenate(xs, axis=ax)  # noqa: E731
    else:
        # the new axis index is in [0, ndim], so it means the same position
        # for the uint8 views (which only add a trailing byte axis)
        ax = norm_axis(axis, arrays[0].ndim + 1, "result")
        fn = lambda xs: np.stack(xs, axis=ax)  # noqa: E731
    res = exact_join(arrays, names, fn, predict=(heads, mode, ax))
    save(outp, res)
    out({"shape": list(res.shape)})
    return 0


def cmd_loadall(args):
    if len(args) != 1:
        raise SystemExit(usage())
    shapes, descrs, forts, offs = [], [], [], []
    for off, a, d in iter_stacked(args[0]):
        shapes.append(list(a.shape))
        descrs.append(jsonify(npformat.dtype_to_descr(a.dtype)))
        forts.append(bool(d["fortran_order"]))
        offs.append(off)
    out({"count": len(shapes), "shapes": shapes, "descrs": descrs,
         "fortran_orders": forts, "offsets": offs})
    return 0


def cmd_info(args):
    if len(args) != 1:
        raise SystemExit(usage())
    path = args[0]
    version, hlen, d = read_header(path)
    dt = npformat.descr_to_dtype(d["descr"])
    shape = list(d["shape"])
    n = 1
    for s in shape:
        n *= s
    fort = bool(d["fortran_order"])
    out({
        "version": version,
        "header_len": hlen,
        "descr": jsonify(d["descr"]),
        "shape": shape,
        "fortran_order": fort,
        "itemsize": dt.itemsize,
        "data_bytes": os.path.getsize(path) - hlen,
        "expected_bytes": None if dt.hasobject else n * dt.itemsize,
        "growth_axis": None if not shape else (len(shape) - 1 if fort else 0),
        "object": bool(dt.hasobject),
    })
    return 0


COMMANDS = {
    "load": cmd_load,
    "equal": cmd_equal,
    "split": cmd_split,
    "concat": cmd_concat,
    "stack-save": cmd_stack_save,
    "convert": cmd_convert,
    "loadall": cmd_loadall,
    "info": cmd_info,
}


def usage():
    sys.stderr.write(__doc__.split("stdlib")[0])
    return 2


def run_one(args):
    """One request of `serve`: a subcommand's exit code, its output captured."""
    if args[:1] == ["cases"]:
        here = os.path.dirname(os.path.abspath(__file__))
        if here not in sys.path:
            sys.path.insert(0, here)
        import cases  # noqa: PLC0415 - only the server needs it

        try:
            return cases.main(["cases.py"] + args[1:])
        except Exception as e:  # noqa: BLE001 - reported like the script's crash
            sys.stderr.write(f"cases.py: {type(e).__name__}: {e}\n")
            return 1
    return main(["oracle.py"] + args)


def serve():
    import io  # noqa: PLC0415

    real_out, real_err = sys.stdout, sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        o, e = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = o, e
        try:
            args = json.loads(line)
            code = run_one([str(a) for a in args])
        except SystemExit as x:
            code = x.code if isinstance(x.code, int) else 2
        except Exception as x:  # noqa: BLE001 - a bad request, not the end
            e.write(f"oracle.py serve: {type(x).__name__}: {x}\n")
            code = 1
        finally:
            sys.stdout, sys.stderr = real_out, real_err
        real_out.write(json.dumps({"code": code, "stdout": o.getvalue(),
                                   "stderr": e.getvalue()}) + "\n")
        real_out.flush()
    return 0


def main(argv):
    if argv[1:] == ["serve"]:
        return serve()
    if len(argv) < 2 or argv[1] not in COMMANDS:
        return usage()
    try:
        return COMMANDS[argv[1]](argv[2:])
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - one line on stderr, exit 1
        msg = str(e) if isinstance(e, Fail) else f"{type(e).__name__}: {e}"
        sys.stderr.write(f"oracle.py {argv[1]}: {msg}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
