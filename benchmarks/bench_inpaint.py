"""Inpainting quality and speed on real photos: seglab's methods against OpenCV and scikit-image.

Holes of four kinds are cut into BSDS500 val photos (seeded, so runs repeat):

- ``strokes``: random thick scribbles (3-9 px wide), like scratches or drawn-over text;
- ``box``: one box covering 5-10 % of the image;
- ``large_box``: one box covering 15-20 % of the image;
- ``horse``: a Weizmann horse silhouette (scaled to 8-15 % of the image) moved onto the photo.

For each method the hole is filled and compared with the original photo: PSNR and SSIM inside
the hole (SSIM map averaged over hole pixels) and on the whole image, and the time per image.
``cv2_telea`` / ``cv2_ns`` call ``cv2.inpaint`` on the whole image directly (the baselines,
same algorithm as seglab's ``telea`` / ``ns``, which work in a crop around the hole).

Run::

    .venv/bin/python benchmarks/bench_inpaint.py --images 8 --markdown
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_inpaint.py --images 12 --markdown \
        --methods auto,patch,telea,ns,biharmonic,cv2_telea      # the table in docs/inpainting.md

(``--data`` or ``SEGLAB_DATA`` point at the datasets folder; default ``../shared/data``.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from seglab.core.image import load_image
from seglab.inpaint import inpaint

KINDS = ("strokes", "box", "large_box", "horse")
METHODS = ("auto", "blend", "patch", "exemplar", "telea", "ns", "biharmonic", "cv2_telea", "cv2_ns")


def strokes_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    height, width = shape
    for _ in range(rng.integers(4, 8)):
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height)))]
        for _ in range(rng.integers(3, 7)):
            x, y = points[-1]
            points.append((int(np.clip(x + rng.integers(-80, 81), 0, width - 1)),
                           int(np.clip(y + rng.integers(-80, 81), 0, height - 1))))
        cv2.polylines(mask, [np.array(points, np.int32)], False, 1, int(rng.integers(3, 10)))
    return mask > 0


def box_mask(shape: tuple[int, int], rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    height, width = shape
    area = rng.uniform(low, high) * height * width
    aspect = rng.uniform(0.6, 1.6)
    bh = int(min(np.sqrt(area / aspect), height - 2))
    bw = int(min(area / bh, width - 2))
    y0, x0 = int(rng.integers(1, height - bh)), int(rng.integers(1, width - bw))
    mask = np.zeros(shape, bool)
    mask[y0:y0 + bh, x0:x0 + bw] = True
    return mask


def horse_mask(shape: tuple[int, int], rng: np.random.Generator, horses: list[Path]) -> np.ndarray:
    silhouette = load_image(horses[int(rng.integers(len(horses)))])
    silhouette = (silhouette if silhouette.ndim == 2 else silhouette[:, :, 0]) > 127
    rows, cols = np.nonzero(silhouette)
    silhouette = silhouette[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    height, width = shape
    target = rng.uniform(0.08, 0.15) * height * width
    scale = np.sqrt(target / silhouette.sum())
    size = (max(int(silhouette.shape[1] * scale), 1), max(int(silhouette.shape[0] * scale), 1))
    size = (min(size[0], width - 2), min(size[1], height - 2))
    resized = cv2.resize(silhouette.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    y0, x0 = int(rng.integers(1, height - size[1])), int(rng.integers(1, width - size[0]))
    mask = np.zeros(shape, bool)
    mask[y0:y0 + size[1], x0:x0 + size[0]] = resized
    return mask


def make_mask(kind: str, shape: tuple[int, int], rng: np.random.Generator, horses: list[Path]) -> np.ndarray:
    if kind == "strokes":
        return strokes_mask(shape, rng)
    if kind == "box":
        return box_mask(shape, rng, 0.05, 0.10)
    if kind == "large_box":
        return box_mask(shape, rng, 0.15, 0.20)
    return horse_mask(shape, rng, horses)


def run_method(name: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if name == "cv2_telea":
        return cv2.inpaint(image, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    if name == "cv2_ns":
        return cv2.inpaint(image, mask.astype(np.uint8), 5, cv2.INPAINT_NS)
    return inpaint(image, mask, name)


def scores(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> tuple[float, float, float, float]:
    diff = (original.astype(np.float64) - filled.astype(np.float64)) ** 2
    psnr_hole = 10 * np.log10(255.0**2 / max(diff[mask].mean(), 1e-10))
    psnr_all = 10 * np.log10(255.0**2 / max(diff.mean(), 1e-10))
    ssim_all, ssim_map = structural_similarity(original, filled, channel_axis=2, data_range=255, full=True)
    ssim_hole = float(ssim_map.mean(axis=2)[mask].mean())
    return psnr_hole, ssim_hole, psnr_all, float(ssim_all)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SEGLAB_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")))
    parser.add_argument("--images", type=int, default=8, help="BSDS500 val images to use (first N, sorted)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    photos = sorted((args.data / "bsds500" / "images" / "val").glob("*.jpg"))[: args.images]
    horses = sorted((args.data / "weizmann_horse" / "figure_ground").glob("*.jpg"))
    if not photos or not horses:
        print(f"no BSDS500 / Weizmann horse data under {args.data}", file=sys.stderr)
        return 1
    methods, kinds = args.methods.split(","), args.kinds.split(",")
    rng = np.random.default_rng(args.seed)
    results: dict[tuple[str, str], list[tuple[float, ...]]] = defaultdict(list)
    for photo in photos:
        image = load_image(photo)
        for kind in kinds:
            mask = make_mask(kind, image.shape[:2], rng, horses)
            for method in methods:
                start = time.perf_counter()
                filled = run_method(method, image, mask)
                elapsed = time.perf_counter() - start
                results[kind, method].append((*scores(image, filled, mask), elapsed))
        print(f"done {photo.name}", file=sys.stderr, flush=True)
    print_table(results, kinds, methods, len(photos), args.markdown)
    return 0


def print_table(results: dict, kinds: list[str], methods: list[str], count: int, markdown: bool) -> None:
    header = ("hole", "method", "PSNR hole", "SSIM hole", "PSNR image", "SSIM image", "s / image")
    if markdown:
        print(f"\n{count} BSDS500 val images per hole kind; means.\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print("  ".join(f"{h:>11}" for h in header))
    for kind in kinds:
        for method in methods:
            mean = np.mean(np.array(results[kind, method]), axis=0)
            cells = (kind, method, f"{mean[0]:.2f}", f"{mean[1]:.3f}", f"{mean[2]:.2f}", f"{mean[3]:.4f}", f"{mean[4]:.3f}")
            print("| " + " | ".join(cells) + " |" if markdown else "  ".join(f"{c:>11}" for c in cells))


if __name__ == "__main__":
    sys.exit(main())
