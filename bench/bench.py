#!/usr/bin/env python3
"""Benchmarks for `npy`, side by side with `cp`, numpy and npy-append-array.

Run through bench/run.sh, which builds the release binary and a venv. Every
measurement alternates ours and theirs, repeats, and reports the median wall
time and the peak RSS of each process (from wait4). Prints a Markdown
table; docs/PERFORMANCE.md holds a copy with the machine and date.

Usage: bench.py NPY_BINARY WORKDIR [--quick] [--full] [--only=GROUP,...]
  --quick  smallest sizes only (a smoke test, about a minute)
  --full   adds the largest sizes (4 GiB concat, 1M saves); longer than 15 min
  --only   run only these groups: append-row, inspect, repair, concat, append,
           stacked, transpose, many-chunks, show, npz,
           stats, diff, parts
  --parts-only  only `concat --part` against one concat (bench_parts)
"""

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

NPY = None
WORK = None
PY = sys.executable
REPS = 5


def run(cmd, stdin=None):
    """Runs cmd, returns (seconds, peak RSS in KiB). Raises on failure.

    Peak RSS comes from GNU time (`%M`): rusage from a child forked by this
    Python process would include Python's own pages (Linux keeps maxrss
    across exec). The few hundred microseconds time adds are in every
    measurement alike."""
    rss_file = os.path.join(WORK, ".rss")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd, stdin=stdin,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:4]}... exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    with open(rss_file) as f:
        peak = int(f.read().split()[-1])
    return dt, peak


def drop(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def side_by_side(name, ours, theirs, reps=REPS, setup=None):
    """Alternates ours/theirs `reps` times; each is a dict label->cmd-maker.
    Returns {label: (median s, max peak KiB)}."""
    samples = {k: [] for k in list(ours) + list(theirs)}
    rss = {k: 0 for k in samples}
    for i in range(reps):
        for group in (ours, theirs) if i % 2 == 0 else (theirs, ours):
            for label, make in group.items():
                if setup:
                    setup(label)
                # Start each run with no dirty pages left by the previous
                # one, so background writeback does not land on whoever
                # runs next (not timed).
                subprocess.run(["sync"], check=True)
                cmd = make()
                dt, peak = run(cmd)
                samples[label].append(dt)
                rss[label] = max(rss[label], peak)
    out = {k: (statistics.median(v), rss[k]) for k, v in samples.items()}
    for k, (t, r) in out.items():
        print(f"  {name}: {k}: median {t*1000:.1f} ms, peak {r/1024:.1f} MiB", file=sys.stderr, flush=True)
    return out


def fmt_t(s):
    return f"{s*1000:.1f} ms" if s < 10 else f"{s:.2f} s"


def save_chunks(dirname, total_bytes, n_chunks, cols=16):
    os.makedirs(dirname, exist_ok=True)
    rows_total = total_bytes // (8 * cols)
    per = rows_total // n_chunks
    paths = []
    for i in range(n_chunks):
        a = np.arange(i * per * cols, (i + 1) * per * cols, dtype="<f8").reshape(per, cols)
        p = os.path.join(dirname, f"chunk_{i:05d}.npy")
        np.save(p, a)
        paths.append(p)
    return paths


def make_file(path, size):
    """A file of `size` bytes of non-zero data (for cp)."""
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, MiB)
            f.write(block[:n])
            left -= n


NUMPY_CONCAT_NAIVE = """
import sys, numpy as np
out, ins = sys.argv[1], sys.argv[2:]
np.save(out, np.concatenate([np.load(p) for p in ins]))
"""

NUMPY_CONCAT_STREAM = """
import sys, numpy as np
out, ins = sys.argv[1], sys.argv[2:]
heads = [np.load(p, mmap_mode='r') for p in ins]
rows = sum(h.shape[0] for h in heads)
m = np.lib.format.open_memmap(out, mode='w+', dtype=heads[0].dtype, shape=(rows,) + heads[0].shape[1:])
i = 0
for h in heads:
    m[i:i + h.shape[0]] = h
    i += h.shape[0]
m.flush()
"""

NUMPY_STACKED_LOOP = """
import sys, numpy as np
arrs = []
with open(sys.argv[1], 'rb') as f:
    size = f.seek(0, 2); f.seek(0)
    while f.tell() < size:
        arrs.append(np.load(f))
np.save(sys.argv[2], np.vstack(arrs))
"""

NAA_ONE = """
import sys, numpy as np
from npy_append_array import NpyAppendArray
with NpyAppendArray(sys.argv[1]) as f:
    f.append(np.load(sys.argv[2]))
"""

NAA_LOOP = """
import sys, numpy as np
from npy_append_array import NpyAppendArray
row = np.load(sys.argv[2])
with NpyAppendArray(sys.argv[1]) as f:
    for _ in range(int(sys.argv[3])):
        f.append(row)
"""

NUMPY_INSPECT = """
import sys, numpy as np
for p in sys.argv[1:]:
    a = np.load(p, mmap_mode='r')
    (a.dtype, a.shape)
"""


def bench_concat(sizes, results, scaling):
    for size in sizes:
        d = os.path.join(WORK, f"concat_{size // MiB}")
        paths = save_chunks(d, size, 64)
        one = os.path.join(WORK, "one.bin")
        make_file(one, sum(os.path.getsize(p) for p in paths))
        out = os.path.join(WORK, "out.npy")
        cpout = os.path.join(WORK, "cp.bin")
        ours = {"npy concat --no-sync": lambda: [NPY, "concat", "-q", "--no-sync", "-o", out] + paths,
                "npy concat (fsync)": lambda: [NPY, "concat", "-q", "-o", out] + paths}
        theirs = {"cp": lambda: ["cp", one, cpout],
                  "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', one, cpout]}
        if size <= 512 * MiB:
            theirs["numpy streaming (open_memmap)"] = lambda: [PY, "-c", NUMPY_CONCAT_STREAM, out + ".np.npy"] + paths
            theirs["numpy naive (load all + concatenate)"] = lambda: [PY, "-c", NUMPY_CONCAT_NAIVE, out + ".np.npy"] + paths
        r = side_by_side(f"concat {size // MiB} MiB", ours, theirs, reps=REPS if size <= 512 * MiB else 3,
                         setup=lambda _l: [drop(cpout), drop(out), drop(out + ".np.npy")])
        scaling.append(("concat 64 chunks", f"{size // MiB} MiB", r, "npy concat --no-sync", "cp"))
        scaling.append(("concat 64 chunks, synced", f"{size // MiB} MiB", r, "npy concat (fsync)", "cp + sync"))
        if size == 512 * MiB:
            results.append(("concat 64 chunks, 512 MiB", r, "npy concat --no-sync", "cp", 1.2, 32 * 1024))
            results.append(("concat 64 chunks, 512 MiB, durable", r, "npy concat (fsync)", "cp + sync", 1.2, 32 * 1024))
        if size == 512 * MiB:
            # Chunks whose data is not a whole number of pages (17 columns:
            # 128 bytes short of 8 MiB each), so every input after the first
            # lands at another offset within a page than it starts at.
            d2 = d + "_odd"
            odd = save_chunks(d2, size, 64, cols=17)
            ours = {"npy concat --no-sync (odd sizes)": lambda: [NPY, "concat", "-q", "--no-sync", "-o", out] + odd,
                    "npy concat (fsync) (odd sizes)": lambda: [NPY, "concat", "-q", "-o", out] + odd}
            theirs = {"cp": lambda: ["cp", one, cpout],
                      "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', one, cpout]}
            r = side_by_side("concat 512 MiB, odd sizes", ours, theirs,
                             setup=lambda _l: [drop(cpout), drop(out)])
            results.append(("concat 64 chunks of odd sizes, 512 MiB", r, "npy concat --no-sync (odd sizes)", "cp",
                            1.2, 32 * 1024))
            results.append(("concat 64 chunks of odd sizes, 512 MiB, durable", r, "npy concat (fsync) (odd sizes)",
                            "cp + sync", 1.2, 32 * 1024))
            drop(d2)
        for p in (one, cpout, out, out + ".np.npy"):
            drop(p)
        drop(d)


def bench_parts(size, results, reps=7):
    """`concat --part K/N`: N parts one after another, and 2 at once, against
    one plain concat of the same chunks (all durable, or all --no-sync);
    the 2-at-once rows again with the inputs out of the page cache, the
    case where the parts' reading in parallel is what there is to gain."""
    import shlex
    d = os.path.join(WORK, f"parts_{size // MiB}")
    paths = save_chunks(d, size, 64)
    out = os.path.join(WORK, "parts.npy")
    stage = os.path.join(WORK, ".parts.npy.npy-part")
    q = " ".join(shlex.quote(x) for x in [NPY, "concat", "-q", "-o", out] + paths)

    def seq(n, flags=""):
        return lambda: ["sh", "-c", f"for k in $(seq {n}); do {q} {flags} --part $k/{n} || exit 1; done"]

    def par(n, flags=""):
        # The parts started by the shell directly: `seq | xargs -P` adds
        # about 3 ms of its own (two more programs), which is not npy's.
        ks = " ".join(str(k) for k in range(1, n + 1))
        return lambda: ["sh", "-c", f"p=; for k in {ks}; do {q} {flags} --part $k/{n} & p=\"$p $!\"; done; "
                                    "for i in $p; do wait $i || exit 1; done"]

    def evict(_label):
        # Clean pages of the inputs dropped from the page cache (no root
        # needed): every run reads them from the disk.
        drop(out)
        drop(stage)
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)

    name = f"concat --part, 64 chunks, {size // MiB} MiB"
    for flags, tag in (("", "(fsync)"), ("--no-sync", "--no-sync")):
        ours = {f"4 parts one after another {tag}": seq(4, flags),
                f"8 parts one after another {tag}": seq(8, flags),
                f"2 parts at once {tag}": par(2, flags)}
        theirs = {f"npy concat {tag}": lambda flags=flags: [NPY, "concat", "-q", "-o", out] + flags.split() + paths}
        r = side_by_side(f"concat --part {size // MiB} MiB {tag}", ours, theirs, reps=reps,
                         setup=lambda _l: [drop(out), drop(stage)])
        results.append((f"{name}: 4 parts in turn {tag}", r,
                        f"4 parts one after another {tag}", f"npy concat {tag}", 1.3, 32 * 1024))
        results.append((f"{name}: 2 parts at once {tag}", r,
                        f"2 parts at once {tag}", f"npy concat {tag}", 1.0, 32 * 1024))
        ours = {f"2 parts at once, inputs not cached {tag}": par(2, flags)}
        theirs = {f"npy concat, inputs not cached {tag}": theirs[f"npy concat {tag}"]}
        r = side_by_side(f"concat --part {size // MiB} MiB, inputs not cached {tag}", ours, theirs,
                         reps=reps, setup=evict)
        results.append((f"{name}: 2 parts at once, inputs not cached {tag}", r,
                        f"2 parts at once, inputs not cached {tag}",
                        f"npy concat, inputs not cached {tag}", 1.0, 32 * 1024))
    drop(out)
    drop(stage)
    drop(d)


def write_stacked(path, n, row_bytes=1024):
    """n np.save calls of a 1 KiB float64 row on one handle (bytes identical
    to np.save, written directly for speed at 1M saves)."""
    cols = row_bytes // 8
    a = np.zeros(cols, dtype="<f8")
    import io
    b = io.BytesIO()
    np.save(b, a)
    img = bytearray(b.getvalue())
    hl = len(img) - row_bytes
    with open(path, "wb") as f:
        for i in range(n):
            img[hl:] = np.full(cols, i, dtype="<f8").tobytes()
            f.write(img)


def bench_stacked(counts, results, scaling):
    for n in counts:
        src = os.path.join(WORK, f"stacked_{n}.npy")
        write_stacked(src, n)
        out = os.path.join(WORK, "conv.npy")
        cpout = os.path.join(WORK, "cp.bin")
        ours = {"npy convert-stacked --no-sync": lambda: [NPY, "convert-stacked", "-q", "--no-sync", src, "-o", out],
                "npy convert-stacked (fsync)": lambda: [NPY, "convert-stacked", "-q", src, "-o", out]}
        theirs = {"cp": lambda: ["cp", src, cpout],
                  "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', src, cpout]}
        if n <= 100_000:
            theirs["numpy read loop + vstack"] = lambda: [PY, "-c", NUMPY_STACKED_LOOP, src, out + ".np.npy"]
        r = side_by_side(f"convert-stacked {n}", ours, theirs, reps=REPS if n <= 100_000 else 3,
                         setup=lambda _l: [drop(out), drop(cpout), drop(out + ".np.npy")])
        scaling.append(("convert-stacked, 1 KiB saves", f"{n:,} saves", r, "npy convert-stacked --no-sync", "cp"))
        scaling.append(("convert-stacked, synced", f"{n:,} saves", r, "npy convert-stacked (fsync)", "cp + sync"))
        if n == 100_000:
            results.append(("convert-stacked, 100,000 saves of 1 KiB", r, "npy convert-stacked --no-sync", "cp", 1.2,
                            32 * 1024))
            results.append(("convert-stacked, 100,000 saves, durable", r, "npy convert-stacked (fsync)", "cp + sync",
                            1.0, 32 * 1024))
        for p in (src, out, cpout, out + ".np.npy"):
            drop(p)


NUMPY_CONCAT_MIXED = """
import sys, numpy as np
out, ins = sys.argv[1], sys.argv[2:]
np.save(out, np.concatenate([np.load(p) for p in ins]))
"""


def bench_transpose(sizes, results, scaling):
    """A C-order chunk and a Fortran-order chunk of `size` each: numpy's
    result is in C order, so the Fortran one is transposed (out of core)."""
    for size in sizes:
        cols = 16
        rows = size // (8 * cols)
        c = os.path.join(WORK, "c_chunk.npy")
        f = os.path.join(WORK, "f_chunk.npy")
        a = np.arange(rows * cols, dtype="<f8").reshape(rows, cols)
        np.save(c, a)
        np.save(f, np.asfortranarray(a + 0.5))
        del a
        one = os.path.join(WORK, "one.bin")
        make_file(one, os.path.getsize(c) + os.path.getsize(f))
        out = os.path.join(WORK, "mixed.npy")
        cpout = os.path.join(WORK, "cp.bin")
        ours = {"npy concat --no-sync": lambda: [NPY, "concat", "-q", "--no-sync", "-o", out, c, f],
                "npy concat (fsync)": lambda: [NPY, "concat", "-q", "-o", out, c, f]}
        theirs = {"cp": lambda: ["cp", one, cpout],
                  "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', one, cpout],
                  "numpy load + concatenate + save": lambda: [PY, "-c", NUMPY_CONCAT_MIXED, out + ".np.npy", c, f]}
        r = side_by_side(f"concat C + Fortran {size // MiB} MiB each", ours, theirs,
                         setup=lambda _l: [drop(cpout), drop(out), drop(out + ".np.npy")])
        scaling.append(("concat C + Fortran chunk (transposed)", f"2 x {size // MiB} MiB", r,
                        "npy concat --no-sync", "cp"))
        scaling.append(("concat C + Fortran chunk, synced", f"2 x {size // MiB} MiB", r,
                        "npy concat (fsync)", "cp + sync"))
        if size == 64 * MiB:
            results.append(("concat 64 MiB C + 64 MiB Fortran chunk (transposed)", r, "npy concat --no-sync", "cp",
                            4.0, 64 * 1024))
            results.append(("the same, against numpy", r, "npy concat --no-sync",
                            "numpy load + concatenate + save", 1 / 2, 64 * 1024))
        for p in (c, f, one, cpout, out, out + ".np.npy"):
            drop(p)


def bench_append_row(results):
    row = os.path.join(WORK, "row.npy")
    np.save(row, np.arange(16, dtype="<f8").reshape(1, 16))
    t_ours = os.path.join(WORK, "grow_ours.npy")
    t_naa = os.path.join(WORK, "grow_naa.npy")
    np.save(t_ours, np.zeros((1, 16)))
    np.save(t_naa, np.zeros((1, 16)))
    ours = {"npy append (one call)": lambda: [NPY, "append", "-q", t_ours, row],
            "npy append --no-sync (one call)": lambda: [NPY, "append", "-q", "--no-sync", t_ours, row]}
    theirs = {"python + npy-append-array (one call)": lambda: [PY, "-c", NAA_ONE, t_naa, row]}
    r = side_by_side("append one row", ours, theirs, reps=41)
    # In-process loop, for reference: the cost of the interpreter start
    # amortised away.
    n = 2000
    dt, peak = run([PY, "-c", NAA_LOOP, t_naa, row, str(n)])
    r["npy-append-array, 2000 rows in one process (per row)"] = (dt / n, peak)
    results.append(("append one row, from a shell loop", r, "npy append (one call)",
                    "python + npy-append-array (one call)", 1 / 25, None))
    # npy-append-array never fsyncs: the like-for-like comparison.
    results.append(("append one row, --no-sync (npy-append-array never syncs)", r,
                    "npy append --no-sync (one call)", "python + npy-append-array (one call)", 1 / 25, None))
    for p in (row, t_ours, t_naa):
        drop(p)


def bench_append_big(sizes, results, scaling):
    for size in sizes:
        base = os.path.join(WORK, "base.npy")
        chunk = os.path.join(WORK, "chunk.npy")
        cols = 16
        rows = size // (8 * cols)
        np.save(base, np.zeros((rows, cols), dtype="<f8"))
        np.save(chunk, np.ones((rows, cols), dtype="<f8"))
        target = os.path.join(WORK, "target.npy")
        cpout = os.path.join(WORK, "cp.bin")

        def setup(label):
            drop(cpout)
            if label.startswith("npy"):
                # a fresh target each time: not timed
                subprocess.run(["cp", "--reflink=never", base, target], check=True)

        ours = {"npy append --no-sync": lambda: [NPY, "append", "-q", "--no-sync", target, chunk],
                "npy append (fsync)": lambda: [NPY, "append", "-q", target, chunk]}
        theirs = {"cp": lambda: ["cp", chunk, cpout],
                  "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', chunk, cpout]}
        r = side_by_side(f"append {size // MiB} MiB", ours, theirs, reps=REPS if size <= 256 * MiB else 3, setup=setup)
        scaling.append(("append N onto N", f"{size // MiB} MiB", r, "npy append --no-sync", "cp"))
        scaling.append(("append N onto N, synced", f"{size // MiB} MiB", r, "npy append (fsync)", "cp + sync"))
        if size == 256 * MiB:
            results.append(("append 256 MiB onto 256 MiB", r, "npy append --no-sync", "cp", 1.3, 32 * 1024))
            results.append(("append 256 MiB onto 256 MiB, durable", r, "npy append (fsync)", "cp + sync", 1.3,
                            32 * 1024))
        for p in (base, chunk, target, cpout):
            drop(p)


def bench_inspect(results):
    d = os.path.join(WORK, "many")
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(1000):
        p = os.path.join(d, f"f{i:04d}.npy")
        np.save(p, np.arange(i % 50 + 1, dtype="<f8"))
        paths.append(p)
    ours = {"npy inspect --json (1,000 files)": lambda: [NPY, "inspect", "--json"] + paths}
    theirs = {"numpy np.load(mmap_mode='r') loop": lambda: [PY, "-c", NUMPY_INSPECT] + paths}
    r = side_by_side("inspect 1000", ours, theirs)
    results.append(("inspect 1,000 files", r, "npy inspect --json (1,000 files)",
                    "numpy np.load(mmap_mode='r') loop", 1 / 5, None))
    # 1 TiB sparse vs 1 KiB.
    big = os.path.join(WORK, "big.npy")
    small = os.path.join(WORK, "small.npy")
    np.save(small, np.arange(100, dtype="<f8"))
    rows = TiB // 128
    with open(big, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (rows, 16)})
        f.truncate(f.tell() + rows * 128)
    r2 = side_by_side("inspect 1 TiB vs 1 KiB", {"npy inspect, 1 TiB sparse file": lambda: [NPY, "inspect", big]},
                      {"npy inspect, 1 KiB file": lambda: [NPY, "inspect", small]}, reps=11)
    results.append(("inspect a 1 TiB file", r2, "npy inspect, 1 TiB sparse file", "npy inspect, 1 KiB file", 1.5, None))
    drop(d)
    for p in (big, small):
        drop(p)


def bench_repair(results):
    """A header one row behind its data: 1 TiB sparse vs 1 KiB."""
    def make(path, total):
        cols = 16
        rows = total // (8 * cols)
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (rows - 1, cols)})
            f.truncate(f.tell() + rows * 8 * cols)

    big = os.path.join(WORK, "rbig.npy")
    small = os.path.join(WORK, "rsmall.npy")
    r = side_by_side("repair", {"npy repair, 1 TiB sparse file": lambda: [NPY, "repair", "-q", big]},
                     {"npy repair, 1 KiB file": lambda: [NPY, "repair", "-q", small]}, reps=11,
                     setup=lambda label: make(big, TiB) if "TiB" in label else make(small, 1024))
    results.append(("repair a 1 TiB file", r, "npy repair, 1 TiB sparse file", "npy repair, 1 KiB file", 1.5, None))
    for p in (big, small):
        drop(p)


def bench_show(results):
    """`npy show` of a 1 TiB (sparse) float64 array vs a 1 KiB one: both
    print the summarized head and tail, reading only those elements."""
    big = os.path.join(WORK, "sbig.npy")
    small = os.path.join(WORK, "ssmall.npy")
    np.save(small, np.arange(100, dtype="<f8"))
    rows = TiB // 8
    with open(big, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (rows,)})
        f.truncate(f.tell() + rows * 8)
    r = side_by_side("show", {"npy show, 1 TiB sparse file": lambda: [NPY, "show", big]},
                     {"npy show, 1 KiB file": lambda: [NPY, "show", small],
                      "numpy print(np.load(mmap_mode='r')), 1 TiB sparse file":
                          lambda: [PY, "-c", "import sys, numpy as np; print(np.load(sys.argv[1], mmap_mode='r'))", big]},
                     reps=11)
    results.append(("show the head and tail of a 1 TiB file", r, "npy show, 1 TiB sparse file",
                    "npy show, 1 KiB file", 1.5, None))
    for p in (big, small):
        drop(p)


def bench_many_chunks(n, results):
    """n tiny chunks (one row of 16 float64 each) joined via --files-from."""
    d = os.path.join(WORK, "tiny")
    os.makedirs(d, exist_ok=True)
    import io
    b = io.BytesIO()
    np.save(b, np.zeros((1, 16), dtype="<f8"))
    img = bytearray(b.getvalue())
    hl = len(img) - 128
    paths = []
    for i in range(n):
        p = os.path.join(d, f"chunk_{i}.npy")
        img[hl:] = np.full(16, i, dtype="<f8").tobytes()
        with open(p, "wb") as f:
            f.write(img)
        paths.append(p)
    lst = os.path.join(WORK, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    out = os.path.join(WORK, "tiny_out.npy")
    script = ("import sys, numpy as np\n"
              "ps = open(sys.argv[1]).read().split()\n"
              "np.save(sys.argv[2], np.concatenate([np.load(p) for p in ps]))\n")
    r = side_by_side(f"concat {n} tiny chunks",
                     {"npy concat --files-from --sort natural": lambda: [
                         NPY, "concat", "-q", "--sort", "natural", "--files-from", lst, "-o", out]},
                     {"numpy load each + concatenate": lambda: [PY, "-c", script, lst, out + ".np.npy"]},
                     reps=3, setup=lambda _l: [drop(out), drop(out + ".np.npy")])
    results.append((f"concat {n:,} tiny chunks (--files-from)", r, "npy concat --files-from --sort natural",
                    "numpy load each + concatenate", 1.0, 32 * 1024))
    drop(d)
    for p in (lst, out, out + ".np.npy"):
        drop(p)


NUMPY_NPZ_INFLATE = """
import sys, numpy as np
with np.load(sys.argv[1]) as z:
    np.save(sys.argv[2], z[sys.argv[3]])
"""

NUMPY_NPZ_DEFLATE = """
import sys, numpy as np
np.savez_compressed(sys.argv[1], x=np.load(sys.argv[2]))
"""


def bench_npz(results, scaling, quick):
    """unzip / zip of one stored member against cp of the same bytes; inflate
    and deflate against numpy's np.load(npz)[k] + np.save and
    np.savez_compressed."""
    size = 64 * MiB if quick else 512 * MiB
    src = os.path.join(WORK, "member.npy")
    np.save(src, np.frombuffer(os.urandom(size), dtype="<u8"))
    stored = os.path.join(WORK, "stored.npz")
    subprocess.run([NPY, "zip", "-q", "--no-sync", "-o", stored, f"x={src}"], check=True)
    outdir = os.path.join(WORK, "unz")
    zout = os.path.join(WORK, "z.npz")
    cpout = os.path.join(WORK, "cp.bin")

    def setup(_label):
        drop(outdir), drop(zout), drop(cpout)

    label = f"{size // MiB} MiB"
    ours = {"npy unzip --no-sync": lambda: [NPY, "unzip", "-q", "--no-sync", stored, "-d", outdir],
            "npy unzip (fsync)": lambda: [NPY, "unzip", "-q", stored, "-d", outdir]}
    theirs = {"cp": lambda: ["cp", src, cpout],
              "cp + sync": lambda: ["sh", "-c", 'cp "$0" "$1" && sync "$1"', src, cpout]}
    r = side_by_side(f"unzip {label}", ours, theirs, setup=setup)
    results.append((f"unzip a {label} stored member", r, "npy unzip --no-sync", "cp", 1.3, 32 * 1024))
    results.append((f"unzip a {label} stored member, durable", r, "npy unzip (fsync)", "cp + sync", 1.3, 32 * 1024))
    ours = {"npy zip --no-sync": lambda: [NPY, "zip", "-q", "--no-sync", "-o", zout, f"x={src}"],
            "npy zip (fsync)": lambda: [NPY, "zip", "-q", "-o", zout, f"x={src}"]}
    r = side_by_side(f"zip {label}", ours, theirs, setup=setup)
    results.append((f"zip a {label} stored member", r, "npy zip --no-sync", "cp", 1.3, 32 * 1024))
    results.append((f"zip a {label} stored member, durable", r, "npy zip (fsync)", "cp + sync", 1.3, 32 * 1024))

    # Deflate and inflate: compressible data (a smooth signal, rounded).
    csize = 64 * MiB if quick else 256 * MiB
    n = csize // 8
    np.save(src, np.round(np.sin(np.arange(n) / 1000.0) * 1000.0) / 8.0)
    comp = os.path.join(WORK, "comp.npz")
    subprocess.run([NPY, "zip", "-q", "--no-sync", "--compress", "-o", comp, f"x={src}"], check=True)
    npout = os.path.join(WORK, "np_out.npy")
    clabel = f"{csize // MiB} MiB"

    def csetup(_label):
        drop(outdir), drop(zout), drop(npout), drop(npout + ".npz")

    ours = {"npy unzip --no-sync (deflated)": lambda: [NPY, "unzip", "-q", "--no-sync", comp, "-d", outdir]}
    theirs = {"numpy np.load(npz)['x'] + np.save": lambda: [PY, "-c", NUMPY_NPZ_INFLATE, comp, npout, "x"]}
    r = side_by_side(f"inflate {clabel}", ours, theirs, reps=3, setup=csetup)
    results.append((f"unzip a {clabel} deflated member", r, "npy unzip --no-sync (deflated)",
                    "numpy np.load(npz)['x'] + np.save", 1.0, 32 * 1024))
    ours = {"npy zip --compress --no-sync": lambda: [NPY, "zip", "-q", "--no-sync", "--compress", "-o", zout,
                                                     f"x={src}"]}
    theirs = {"numpy np.savez_compressed": lambda: [PY, "-c", NUMPY_NPZ_DEFLATE, npout + ".npz", src]}
    r = side_by_side(f"deflate {clabel}", ours, theirs, reps=3, setup=csetup)
    results.append((f"zip --compress of {clabel}", r, "npy zip --compress --no-sync", "numpy np.savez_compressed",
                    1.0, 32 * 1024))
    for p in (src, stored, comp, zout, cpout, npout, npout + ".npz"):
        drop(p)
    drop(outdir)
NUMPY_STATS = """
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode='r')
print(a.size, int(np.isnan(a).sum()), int(np.isinf(a).sum()),
      np.nanmin(a), np.nanmax(a), np.nanmean(a), np.nanstd(a))
"""


def bench_stats(size, results):
    """npy stats against numpy's nan-functions over a memmap, on float32."""
    path = os.path.join(WORK, "stats_f4.npy")
    n = size // 4
    m = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(n // 16, 16))
    flat = m.reshape(-1)
    rng = np.random.default_rng(15)
    step = 1 << 22
    for i in range(0, flat.size, step):
        flat[i:i + step] = rng.normal(0, 1, size=min(step, flat.size - i)).astype("<f4")
    flat[::1_000_003] = np.nan
    m.flush()
    del m, flat
    label = f"stats, {size // MiB:,} MiB float32"
    r = side_by_side(label, {"npy stats": lambda: [NPY, "stats", path]},
                     {"numpy nanmin/nanmax/nanmean/nanstd/isnan/isinf (mmap)": lambda: [PY, "-c", NUMPY_STATS, path]},
                     reps=3)
    results.append((label, r, "npy stats", "numpy nanmin/nanmax/nanmean/nanstd/isnan/isinf (mmap)",
                    1 / 3, 64 * 1024))
    drop(path)


NUMPY_DIFF = """
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode='r')
b = np.load(sys.argv[2], mmap_mode='r')
sys.exit(0 if np.array_equal(a, b) else 1)
"""


def bench_diff(size, results):
    """npy diff of two equal float64 files against np.array_equal over memmaps."""
    a = os.path.join(WORK, "diff_a.npy")
    b = os.path.join(WORK, "diff_b.npy")
    m = np.lib.format.open_memmap(a, mode="w+", dtype="<f8", shape=(size // 8,))
    rng = np.random.default_rng(15)
    step = 1 << 22
    for i in range(0, m.size, step):
        m[i:i + step] = rng.normal(0, 1, size=min(step, m.size - i))
    m.flush()
    del m
    shutil.copyfile(a, b)
    label = f"diff two equal {size // MiB:,} MiB float64 files"
    r = side_by_side(label, {"npy diff": lambda: [NPY, "diff", a, b]},
                     {"numpy array_equal (mmap)": lambda: [PY, "-c", NUMPY_DIFF, a, b]}, reps=3)
    results.append((label, r, "npy diff", "numpy array_equal (mmap)", 1.0, 64 * 1024))
    drop(a)
    drop(b)


def main():
    global NPY, WORK
    NPY, WORK = os.path.abspath(sys.argv[1]), sys.argv[2]
    quick = "--quick" in sys.argv
    full = "--full" in sys.argv
    os.makedirs(WORK, exist_ok=True)
    results, scaling = [], []
    concat_sizes = [64 * MiB] if quick else [64 * MiB, 512 * MiB, 2 * GiB] + ([4 * GiB] if full else [])
    stacked_counts = [1000] if quick else [1000, 100_000] + ([1_000_000] if full else [300_000])
    append_sizes = [64 * MiB] if quick else [64 * MiB, 256 * MiB, 1 * GiB]
    only = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
    groups = [
        ("append-row", lambda: bench_append_row(results)),
        ("inspect", lambda: bench_inspect(results)),
        ("repair", lambda: bench_repair(results)),
        ("concat", lambda: bench_concat(concat_sizes, results, scaling)),
        ("append", lambda: bench_append_big(append_sizes, results, scaling)),
        ("stacked", lambda: bench_stacked(stacked_counts, results, scaling)),
        ("transpose", lambda: bench_transpose([64 * MiB] if quick else [64 * MiB, 512 * MiB], results, scaling)),
        ("many-chunks", lambda: bench_many_chunks(1000 if quick else 100_000, results)),
        ("show", lambda: bench_show(results)),
        ("npz", lambda: bench_npz(results, scaling, quick)),
        ("stats", lambda: bench_stats(64 * MiB if quick else GiB, results)),
        ("diff", lambda: bench_diff(64 * MiB if quick else 512 * MiB, results)),
        ("parts", lambda: bench_parts(64 * MiB if quick else 512 * MiB, results)),
    ]
    t0 = time.time()
    for name, go in groups:
        if only is None or name in only:
            go()

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB:.0f} GiB RAM, "
          f"{platform.platform()}; numpy {np.__version__}; {time.strftime('%Y-%m-%d')}; "
          f"files in {WORK} (page cache warm); medians of alternating runs.")
    print()
    print("| work | ours | reference | ratio | target | met | our peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, r, ours, ref, target, rss_limit in results:
        to, ro = r[ours]
        tr, _ = r[ref]
        ratio = to / tr
        met = ratio <= target and (rss_limit is None or ro <= rss_limit)
        target_s = f"≤ {target:g}x" if target >= 1 else f"≥ {1 / target:g}x faster"
        ratio_s = f"{ratio:.2f}x" if target >= 1 or ratio > 1 else f"{1 / ratio:.1f}x faster"
        print(f"| {name} | {ours}: {fmt_t(to)} | {ref}: {fmt_t(tr)} | {ratio_s} | {target_s}"
              f"{f', RSS < {rss_limit // 1024} MiB' if rss_limit else ''} | {'yes' if met else '**no**'} | {ro / 1024:.1f} MiB |")
        for other, (t, rs) in r.items():
            if other not in (ours, ref) and other not in ("cp", "cp + sync") and not (
                    other.startswith("npy ") and ("sync" in other) != ("sync" in ours)):
                rel = f"ours {t / to:.1f}x faster" if t >= to else f"{to / t:.1f}x faster than ours"
                print(f"| | | {other}: {fmt_t(t)} (peak {rs / 1024:.0f} MiB) | {rel} | | | |")
    print()
    print("Scaling (median wall time; peak RSS of ours):")
    print()
    print("| work | size | ours | reference (cp, or cp + sync) | ratio | our peak RSS |")
    print("|---|---|---|---|---|---|")
    for work, size, r, ours, ref in scaling:
        print(f"| {work} | {size} | {fmt_t(r[ours][0])} | {fmt_t(r[ref][0])} | {r[ours][0] / r[ref][0]:.2f}x "
              f"| {r[ours][1] / 1024:.1f} MiB |")
    print()
    print(f"Total benchmark time: {time.time() - t0:.0f} s")


def main_parts():
    """`bench.py NPY WORK --parts-only [--quick] [--reps=N]`: only bench_parts
    (N alternating runs of each command, 7 unless given)."""
    global NPY, WORK
    NPY, WORK = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(WORK, exist_ok=True)
    results = []
    reps = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--reps=")), 7)
    bench_parts(64 * MiB if "--quick" in sys.argv else 512 * MiB, results, reps)
    print(f"{platform.machine()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; "
          f"medians of alternating runs")
    for name, r, ours, ref, target, _ in results:
        ratio = r[ours][0] / r[ref][0]
        print(f"| {name} | {fmt_t(r[ours][0])} | {fmt_t(r[ref][0])} | {ratio:.2f}x | "
              f"≤ {target:g}x | {'yes' if ratio <= target else '**no**'} | {r[ours][1] / 1024:.1f} MiB |")


if __name__ == "__main__":
    main_parts() if "--parts-only" in sys.argv else main()
