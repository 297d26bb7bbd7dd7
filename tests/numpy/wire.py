#!/usr/bin/env python3
"""Packs .npy files into the two .npz flavours numpy writes, for the
`A.npz:NAME` tests (tests/wire.rs).

Usage: wire.py OUTDIR NAME=FILE...

Loads each FILE with np.load and writes OUTDIR/stored.npz with np.savez and
OUTDIR/deflated.npz with np.savez_compressed, member NAME holding it.
Prints {"packed": [NAME...], "failed": {NAME: error}} as JSON.

stdlib + numpy only.
"""

import json
import os
import sys

import numpy as np


def main(argv):
    out = argv[1]
    arrays, failed = {}, {}
    for arg in argv[2:]:
        name, path = arg.split("=", 1)
        try:
            arrays[name] = np.load(path)
        except Exception as e:  # reported: the test decides what may fail
            failed[name] = repr(e)
    np.savez(os.path.join(out, "stored.npz"), **arrays)
    np.savez_compressed(os.path.join(out, "deflated.npz"), **arrays)
    print(json.dumps({"packed": sorted(arrays), "failed": failed}))


if __name__ == "__main__":
    main(sys.argv)
