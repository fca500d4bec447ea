"""Region quality of one classical method on BSDS500 val: covering, VOI and PRI (BSDS region benchmark).

Each image gets one segmentation (no hierarchy), so ODS = OIS; the numbers are the benchmark's
dataset-level covering, VOI (lower is better) and PRI over every human annotator.

    python benchmarks/bsds_regions.py meanshift                       # defaults (scale=0.5)
    python benchmarks/bsds_regions.py meanshift -p scale=1            # full-resolution filter
    python benchmarks/bsds_regions.py watershed --markers hminima -p backend=scikit-image
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import seglab
from seglab.core.registry import get_method, parse_params
from seglab.datasets.readers import read_bsds
from seglab.metrics.region import region_counts, summarize_regions


def _markers(image: np.ndarray, kind: str) -> np.ndarray:
    from scipy import ndimage
    from skimage import morphology

    from seglab.classical.region import gradient_magnitude

    if kind == "hminima":  # the automatic markers of seglab's gradient pipeline
        return ndimage.label(morphology.h_minima(gradient_magnitude(image, 1.0), 20))[0]
    height, width = image.shape[:2]  # a 16 x 16 grid
    markers = np.zeros((height, width), np.int32)
    rows, cols = np.mgrid[height // 32:height:height // 16, width // 32:width:width // 16]
    markers[rows, cols] = np.arange(1, rows.size + 1).reshape(rows.shape)
    return markers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("method")
    parser.add_argument("-p", "--param", action="append", default=[], help="key=value (repeatable)")
    parser.add_argument("--markers", choices=("hminima", "grid"), help="give watershed a marker image")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/bsds500")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    params = parse_params(get_method(args.method), args.param)
    dataset = read_bsds(args.data, split="val")
    per_image, regions, seconds = [], [], 0.0
    for index in range(len(dataset) if args.limit is None else min(args.limit, len(dataset))):
        sample = dataset[index]
        extra = {"markers": _markers(sample.image, args.markers)} if args.markers else {}
        start = time.perf_counter()
        seg = seglab.segment(sample.image, args.method, **params, **extra)
        seconds += time.perf_counter() - start
        regions.append(len(seg))
        per_image.append(region_counts([seg.labels], sample.target))
    result = summarize_regions(per_image)
    print(f"{args.method} {' '.join(args.param)} {args.markers or ''}: {len(per_image)} images, "
          f"covering {result['covering']['ods']:.4f}, VOI {result['voi']['ods']:.4f}, PRI {result['pri']['ods']:.4f}, "
          f"{np.mean(regions):.1f} regions per image, {seconds:.1f} s in the method")


if __name__ == "__main__":
    main()
