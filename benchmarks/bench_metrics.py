"""Speed of the BSDS boundary matching and of the full benchmark on the self-test.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [DATA_DIR]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def main(data: Path) -> None:
    from seglab.metrics.boundary import correspond_pixels, thin
    from seglab.metrics.bsds import evaluate_bsds, load_bsds_ground_truth, load_bsds_prediction

    root = data / "bsds500" / "bench_selftest"
    _, bounds = load_bsds_ground_truth(root / "groundTruth" / "2018.mat")
    pb = load_bsds_prediction(root / "ucm2" / "2018.mat")["ucm2"][2::2, 2::2]
    bmap = thin(pb >= 1 / 6)
    for method in ("assignment", "cardinality"):
        start = time.perf_counter()
        for _ in range(5):
            correspond_pixels(bmap, bounds[0], method=method)
        print(f"correspond_pixels ({method}): {(time.perf_counter() - start) / 5 * 1000:.1f} ms "
              f"({int(bmap.sum())} x {int(bounds[0].sum())} pixels)")
    stems = sorted(p.stem for p in (root / "ucm2").glob("*.mat"))
    start = time.perf_counter()
    result = evaluate_bsds([root / "ucm2" / f"{s}.mat" for s in stems],
                           [root / "groundTruth" / f"{s}.mat" for s in stems], thresholds=5)
    print(f"self-test test_1 (5 images, 5 thresholds): {time.perf_counter() - start:.1f} s, "
          f"ODS F {result['boundary']['ods']['f']:.4f}")
    np.set_printoptions(precision=4)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
