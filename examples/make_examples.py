#!/usr/bin/env python3
"""Regenerate the example .npy files in this directory (see README.md).

    python examples/make_examples.py

Needs numpy. Made with numpy 2.4; any numpy whose np.save leaves the
GROWTH_AXIS_MAX_DIGITS (21) spare spaces in the header writes the same bytes.
Every file is deterministic: running this again gives byte-identical files.
"""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(*parts):
    return os.path.join(HERE, *parts)


def header_len(p):
    with open(p, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


def main():
    # clean.npy: a plain C-order 2-D float64 array. status ok
    np.save(path("clean.npy"), np.arange(12, dtype="<f8").reshape(4, 3))

    # fortran.npy: Fortran order; rows grow along the LAST axis. status ok
    np.save(path("fortran.npy"),
            np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4)))

    # structured.npy: a record dtype with named fields. status ok
    rec = np.dtype([("id", "<u4"), ("x", "<f8"), ("label", "S8")])
    a = np.zeros(4, dtype=rec)  # zeros first: no stray bytes anywhere
    a["id"] = [1, 2, 3, 4]
    a["x"] = [0.5, 1.5, 2.5, 3.5]
    a["label"] = [b"alpha", b"beta", b"gamma", b"delta"]
    np.save(path("structured.npy"), a)

    # behind.npy: header behind its data, as a killed appender leaves it:
    # a valid (4, 3) file, then two more whole rows written after it without
    # the header being updated. status trailing; npy repair -> shape (6, 3)
    full = np.arange(18, dtype="<f8").reshape(6, 3)
    np.save(path("behind.npy"), full[:4])
    with open(path("behind.npy"), "ab") as f:
        f.write(full[4:].tobytes())

    # truncated.npy: a valid (5, 3) float64 file cut short in the middle of
    # its 4th row: 3 whole rows (72 bytes) + 12 of the 24 bytes of the 4th.
    # status truncated;
    # npy repair -> (3, 3); npy repair --zero-fill -> (4, 3)
    np.save(path("truncated.npy"), np.arange(15, dtype="<f8").reshape(5, 3))
    h = header_len(path("truncated.npy"))
    with open(path("truncated.npy"), "r+b") as f:
        f.truncate(h + 3 * 24 + 12)

    # stacked.npy: the classic question: np.save called three times on one
    # open file. np.load reads only the first. status stacked (3 arrays);
    # npy convert-stacked -> (3, 2) like np.vstack
    with open(path("stacked.npy"), "wb") as f:
        np.save(f, np.zeros(2))
        np.save(f, np.ones(2))
        np.save(f, np.full(2, 2.0))

    # chunks/chunk_0..3.npy: four row chunks (3, 3, 2, 2 rows) of one (10, 4)
    # int64 array, for npy concat. status ok each
    os.makedirs(path("chunks"), exist_ok=True)
    whole = np.arange(40, dtype="<i8").reshape(10, 4)
    for i, piece in enumerate(np.array_split(whole, 4, axis=0)):
        np.save(path("chunks", f"chunk_{i}.npy"), piece)

    for name in ["clean.npy", "fortran.npy", "structured.npy", "behind.npy",
                 "truncated.npy", "stacked.npy"] + [f"chunks/chunk_{i}.npy" for i in range(4)]:
        print(f"{name:22s} {os.path.getsize(path(name)):5d} bytes")


if __name__ == "__main__":
    main()
