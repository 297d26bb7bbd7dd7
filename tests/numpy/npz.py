#!/usr/bin/env python3
"""numpy/zipfile side of the `.npz` tests (tests/npz.rs). One process per
test group: each command does all of its group's work and prints one JSON
document.

    npz.py make DIR
        From DIR/manifest.json (tests/numpy/cases.py output) writes archives
        into DIR and prints {archive: {"files": np.load(A).files,
        "members": {key: {"entry", "compressed", "case"}}}} for each:
          saved.npz      np.savez of every non-object case
          comp.npz       np.savez_compressed of the same
          nested.npz     np.savez with names "a/b", "a/c/d", "top"
          empty.npz      np.savez with no arrays
          zip64_s.npz    zipfile, stored, force_zip64 on every member
          zip64_d.npz    zipfile, deflated, force_zip64 on every member
          plain_zf.npz   zipfile.write of .npy files (no ZIP64 fields)
          stream.npz     zipfile writing to a non-seekable stream (data
                         descriptors after each member)
    npz.py damaged DIR
        Writes broken archives into DIR (see `damaged` below); prints their
        names.
    npz.py verify JOBS.json
        JOBS.json is a list of jobs; prints {"checked": n, "failures": [...]}.
        {"kind": "unzip", "archive": A, "outdir": D}: for each key np.load
          lists, D/key.npy must be byte-identical to the zip member and
          np.load-equal to np.load(A)[key].
        {"kind": "zip", "archive": A, "compressed": bool, "pairs": [[KEY,
          FILE], ...], "zip64": bool (optional)}: np.load(A).files must be
          the KEYs in order, each member's bytes identical to FILE and
          np.load-equal, stored or deflated as asked, zipfile.testzip() clean,
          and (if given) a ZIP64 field in each local header or not.
    npz.py concat OUT INPUT...
        INPUT is FILE or ARCHIVE:KEY; prints {"equal": bool} comparing
        np.load(OUT) with np.concatenate of the inputs (dtype, shape, bytes).
"""

import io
import json
import os
import struct
import sys
import warnings
import zipfile

import numpy as np

# np.load refuses headers over 10,000 bytes unless told; the cases hold one.
BIG = 1 << 24
warnings.simplefilter("ignore")


def out(obj):
    sys.stdout.write(json.dumps(obj))
    sys.stdout.write("\n")


def cases(d):
    with open(os.path.join(d, "manifest.json")) as f:
        return [c for c in json.load(f) if not c["object"]]


def listing(path):
    with np.load(path, max_header_size=BIG) as z:
        files = list(z.files)
    members = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            key = info.filename.removesuffix(".npy")
            members[key] = {
                "entry": info.filename,
                "compressed": info.compress_type != zipfile.ZIP_STORED,
            }
    return {"files": files, "members": members}


def cmd_make(d):
    cs = cases(d)
    arrays = {c["name"]: np.load(os.path.join(d, c["file"]), max_header_size=BIG) for c in cs}
    np.savez(os.path.join(d, "saved.npz"), **arrays)
    np.savez_compressed(os.path.join(d, "comp.npz"), **arrays)
    np.savez(
        os.path.join(d, "nested.npz"),
        **{"a/b": np.arange(5.0), "a/c/d": np.ones((2, 3), "<i2"), "top": np.array(7)},
    )
    np.savez(os.path.join(d, "empty.npz"))
    for name, method in (("zip64_s.npz", zipfile.ZIP_STORED), ("zip64_d.npz", zipfile.ZIP_DEFLATED)):
        with zipfile.ZipFile(os.path.join(d, name), "w", compression=method) as zf:
            for c in cs:
                with zf.open(c["name"] + ".npy", "w", force_zip64=True) as f:
                    with open(os.path.join(d, c["file"]), "rb") as src:
                        f.write(src.read())
    with zipfile.ZipFile(os.path.join(d, "plain_zf.npz"), "w") as zf:
        for c in cs[:5]:
            zf.write(os.path.join(d, c["file"]), c["file"])
    buf = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            return buf.write(b)

    with zipfile.ZipFile(Unseekable(), "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for c in cs[:5]:
            with zf.open(c["file"], "w") as f, open(os.path.join(d, c["file"]), "rb") as src:
                f.write(src.read())
    with open(os.path.join(d, "stream.npz"), "wb") as f:
        f.write(buf.getvalue())
    names = ["saved.npz", "comp.npz", "nested.npz", "empty.npz", "zip64_s.npz",
             "zip64_d.npz", "plain_zf.npz", "stream.npz"]
    result = {n: listing(os.path.join(d, n)) for n in names}
    for n in names:
        for key, m in result[n]["members"].items():
            m["case"] = key if key in arrays else None
    out(result)


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def cmd_damaged(d):
    x = np.arange(100.0)
    y = np.arange(12, dtype="<i4").reshape(3, 4)
    p = lambda n: os.path.join(d, n)
    np.savez(p("good.npz"), x=x, y=y)
    good = open(p("good.npz"), "rb").read()
    made = []

    def write(name, data):
        with open(p(name), "wb") as f:
            f.write(data)
        made.append(name)

    # Cut short: the end of central directory record is gone.
    write("cut.npz", good[: len(good) // 2])
    # Central directory damaged: its signature overwritten.
    cd = good.rfind(b"PK\x01\x02")
    write("badcd.npz", good[:cd] + b"XXXX" + good[cd + 4 :])
    # A member that is not .npy.
    with zipfile.ZipFile(p("notnpy.npz"), "w") as zf:
        zf.writestr("x.npy", npy_bytes(x))
        zf.writestr("readme.txt", b"hello, not an array\n")
    made.append("notnpy.npz")
    # Stored member with one data byte changed: CRC mismatch.
    xs = npy_bytes(x)
    at = good.find(xs) + len(xs) - 3
    write("crc_s.npz", good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1 :])
    # Deflated member whose recorded CRC is wrong.
    with zipfile.ZipFile(p("crc_d.npz"), "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", xs)
    data = bytearray(open(p("crc_d.npz"), "rb").read())
    info = zipfile.ZipFile(p("crc_d.npz")).getinfo("x.npy")
    crc = info.CRC.to_bytes(4, "little")
    bad = ((info.CRC ^ 1) & 0xFFFFFFFF).to_bytes(4, "little")
    data = data.replace(crc, bad)
    write("crc_d.npz", bytes(data))
    # Deflated data damaged past the member's header.
    big = npy_bytes(np.arange(20000.0))
    with zipfile.ZipFile(p("inflate.npz"), "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", big)
    data = bytearray(open(p("inflate.npz"), "rb").read())
    info = zipfile.ZipFile(p("inflate.npz")).getinfo("x.npy")
    mid = info.header_offset + 30 + len("x.npy") + info.compress_size // 2
    data[mid : mid + 64] = b"\xff" * 64
    write("inflate.npz", bytes(data))
    # Zip-slip names.
    with zipfile.ZipFile(p("slip.npz"), "w") as zf:
        zf.writestr("ok.npy", npy_bytes(x))
        zf.writestr("../evil.npy", npy_bytes(x))
    made.append("slip.npz")
    with zipfile.ZipFile(p("abs.npz"), "w") as zf:
        # An absolute name, pointing into this scratch folder (not outside it).
        zf.writestr(os.path.abspath(p("abs-evil.npy")), npy_bytes(x))
    made.append("abs.npz")
    # Members whose .npy bytes are cut short / followed by extra bytes.
    with zipfile.ZipFile(p("members.npz"), "w") as zf:
        zf.writestr("whole.npy", npy_bytes(y))
        zf.writestr("short.npy", npy_bytes(x)[:-16])
        zf.writestr("extra.npy", npy_bytes(x) + b"\0" * 5)
        zf.writestr("stacked.npy", npy_bytes(x) + npy_bytes(x))
    made.append("members.npz")
    # Pickled objects, as np.savez writes them (allow_pickle defaults to True).
    np.savez(p("obj.npz"), o=np.array([1, "a", None], dtype=object), x=x)
    made.append("obj.npz")
    out(made)


def raw(a):
    """a's exact bytes, padding included (tobytes() may not keep them)."""
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        a = a.T
    a = np.ascontiguousarray(a)
    return a.reshape(-1).view(np.uint8).tobytes()


def canon(a):
    """raw(a) with the padding between record fields zeroed: np.load of an
    archive member leaves it uninitialized (it assigns field by field into
    np.ndarray(count)), so only the fields can be compared."""
    if a.dtype.fields is None:
        return raw(a)
    z = np.zeros(a.shape, a.dtype)
    z[...] = a
    return raw(z)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and canon(a) == canon(b)


def local_zip64(zf, info):
    """Whether the member's local header carries a ZIP64 extra field."""
    fp = zf.fp
    fp.seek(info.header_offset)
    head = fp.read(30)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fp.seek(info.header_offset + 30 + name_len)
    extra = fp.read(extra_len)
    i = 0
    while i + 4 <= len(extra):
        hid, ln = struct.unpack("<HH", extra[i : i + 4])
        if hid == 1:
            return True
        i += 4 + ln
    return False


def verify_unzip(job, failures):
    archive, outdir = job["archive"], job["outdir"]
    n = 0
    with np.load(archive, max_header_size=BIG) as z, zipfile.ZipFile(archive) as zf:
        for key in z.files:
            entry = z._files[key]
            path = os.path.join(outdir, key + ".npy")
            if not os.path.exists(path):
                failures.append(f"{archive}:{key}: {path} missing")
                continue
            if open(path, "rb").read() != zf.read(entry):
                failures.append(f"{archive}:{key}: bytes differ from the member")
            if not same(np.load(path, max_header_size=BIG), z[key]):
                failures.append(f"{archive}:{key}: np.load differs")
            n += 1
    return n


def verify_zip(job, failures):
    archive = job["archive"]
    want_type = zipfile.ZIP_DEFLATED if job["compressed"] else zipfile.ZIP_STORED
    n = 0
    with np.load(archive, max_header_size=BIG) as z, zipfile.ZipFile(archive) as zf:
        keys = [k for k, _ in job["pairs"]]
        if list(z.files) != keys:
            failures.append(f"{archive}: files {z.files} != {keys}")
        bad = zf.testzip()
        if bad is not None:
            failures.append(f"{archive}: testzip: bad CRC in {bad}")
        for key, path in job["pairs"]:
            info = zf.getinfo(key + ".npy")
            if info.compress_type != want_type:
                failures.append(f"{archive}:{key}: compress_type {info.compress_type}")
            if zf.read(info) != open(path, "rb").read():
                failures.append(f"{archive}:{key}: member bytes differ from {path}")
            if not same(z[key], np.load(path, max_header_size=BIG)):
                failures.append(f"{archive}:{key}: np.load differs")
            if "zip64" in job and local_zip64(zf, info) != job["zip64"]:
                failures.append(f"{archive}:{key}: ZIP64 field present is not {job['zip64']}")
            n += 1
    return n


def cmd_verify(jobs_file):
    with open(jobs_file) as f:
        jobs = json.load(f)
    failures = []
    checked = 0
    for job in jobs:
        fn = verify_unzip if job["kind"] == "unzip" else verify_zip
        checked += fn(job, failures)
    out({"checked": checked, "failures": failures})


def load_input(s):
    if os.path.exists(s):
        return np.load(s, max_header_size=BIG)
    archive, key = s.split(":", 1)
    with np.load(archive, max_header_size=BIG) as z:
        return z[key]


def cmd_concat(outp, inputs):
    want = np.concatenate([load_input(i) for i in inputs])
    got = np.load(outp)
    out({"equal": bool(same(got, want))})


def main(argv):
    cmd = argv[1]
    if cmd == "make":
        cmd_make(argv[2])
    elif cmd == "damaged":
        cmd_damaged(argv[2])
    elif cmd == "verify":
        cmd_verify(argv[2])
    elif cmd == "concat":
        cmd_concat(argv[2], argv[3:])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
