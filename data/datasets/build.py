"""Rebuild the bundled dataset files from their sources (run once; the outputs are committed).

    python data/datasets/build.py /work/shared/data

writes `digits.npz` (uint8 pixels, labels and the stored stratified split) and `tinyshakespeare.txt.gz`
(the whole corpus, gzip with a zero timestamp so the bytes are reproducible). The split is made here, once,
with seed 0, and stored: labs read it back rather than recomputing it, so every attempt is graded on the
same test images.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

from labs.datasets import SPLIT_FRACTIONS, stratified_split

HERE = Path(__file__).resolve().parent


def build_digits(source: Path) -> None:
    table = np.loadtxt(source, delimiter=",", dtype=np.int64)
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.shape[1] != 64 or pixels.min() < 0 or pixels.max() > 16:
        raise SystemExit(f"{source}: expected 64 pixel columns in 0..16 and a label column")
    split = stratified_split(labels, SPLIT_FRACTIONS, seed=0)
    np.savez_compressed(
        HERE / "digits.npz",
        pixels=pixels.astype(np.uint8),
        labels=labels.astype(np.uint8),
        split=split.astype(np.uint8),
    )


def build_text(source: Path) -> None:
    data = source.read_bytes()
    data.decode("utf-8")  # fail loudly on a corrupt source
    with open(HERE / "tinyshakespeare.txt.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(data)


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
    build_digits(src / "digits.csv.gz")
    build_text(src / "tinyshakespeare.txt")
    print(f"wrote {HERE / 'digits.npz'} and {HERE / 'tinyshakespeare.txt.gz'}")
