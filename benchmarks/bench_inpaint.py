"""Inpainting as people judge it, on real photos: seglab's methods against OpenCV, in one run.

Two tests, both seeded so runs repeat:

1. **Holes with a known answer**, cut into BSDS500 val photos: ``strokes`` (random thick
   scribbles 3-9 px wide, like scratches or drawn-over text) and ``horse`` (a Weizmann horse
   silhouette scaled to 8-15 % of the image and moved onto the photo: an object-shaped hole);
   ``box`` and ``large_box`` (5-10 % and 15-20 % of the image) on request. Scores: PSNR and
   SSIM inside the hole (SSIM map averaged over hole pixels), the texture ratio (mean
   |Laplacian| in the fill over the same in a 15 px ring around it: a blurred fill scores
   0.1-0.3, real texture about 1), edge continuity (share of the photo's edges reaching the
   hole that carry on into the fill), seconds per image.
2. **Real object removal** (``removal``): Weizmann horse photos with their true masks (dilated
   by 5 px, as a user's mask would be), the horse removed. No true background exists, so:
   the texture ratio, edge continuity and the ghost score (share of filled pixels whose colour
   is nearer the removed horse's colour clusters than the ring's; lower is better).

Every method runs on the same images and holes: seglab's methods by name, ``cv2_telea`` /
``cv2_ns`` (``cv2.inpaint`` on the whole image, the baseline every time is compared with) and
OpenCV contrib's ``xphoto_shiftmap`` / ``xphoto_fsr`` (``cv2.xphoto.inpaint``, shift-map and
fast frequency-selective reconstruction; only their hole pixels are kept). Times are also
printed as a multiple of ``cv2_telea``'s on the same images.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_inpaint.py --images 12 --markdown

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
from seglab.inpaint import dilate_mask, inpaint
from seglab.inpaint.quality import edge_continuity, ghost_score, texture_ratio

KINDS = ("strokes", "horse", "removal")
METHODS = ("auto", "completion", "blend", "patch", "exemplar", "telea", "ns", "biharmonic",
           "cv2_telea", "cv2_ns", "xphoto_shiftmap", "xphoto_fsr")
BASELINE = "cv2_telea"


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
    if name.startswith("xphoto_"):
        algorithm = cv2.xphoto.INPAINT_SHIFTMAP if name == "xphoto_shiftmap" else cv2.xphoto.INPAINT_FSR_FAST
        out = np.zeros_like(image)
        cv2.xphoto.inpaint(image, np.where(mask, 0, 255).astype(np.uint8), out, algorithm)  # 0 = fill
        return np.where(mask[:, :, None], out, image)
    return inpaint(image, mask, name)


def known_scores(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    diff = (original.astype(np.float64) - filled.astype(np.float64)) ** 2
    _, ssim_map = structural_similarity(original, filled, channel_axis=2, data_range=255, full=True)
    return {
        "PSNR hole": 10 * np.log10(255.0**2 / max(diff[mask].mean(), 1e-10)),
        "SSIM hole": float(ssim_map.mean(axis=2)[mask].mean()),
        "texture": texture_ratio(filled, mask),
        "edges": edge_continuity(original, filled, mask),
    }


def removal_scores(original: np.ndarray, filled: np.ndarray, mask: np.ndarray, horse: np.ndarray) -> dict[str, float]:
    return {
        "texture": texture_ratio(filled, mask),
        "edges": edge_continuity(original, filled, mask),
        "ghost": ghost_score(original, filled, mask, object_mask=horse),
    }


def horse_photos(data: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo resized to its mask, true horse mask) for the first ``count`` Weizmann horses."""
    pairs = []
    for truth in sorted((data / "weizmann_horse" / "figure_ground").glob("*.jpg"))[:count]:
        horse = load_image(truth)
        horse = (horse if horse.ndim == 2 else horse[:, :, 0]) > 127
        photo = load_image(data / "weizmann_horse" / "rgb" / truth.name)
        photo = cv2.resize(photo, (horse.shape[1], horse.shape[0]), interpolation=cv2.INTER_AREA)
        pairs.append((photo, horse))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SEGLAB_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")))
    parser.add_argument("--images", type=int, default=8, help="BSDS500 val photos and horse photos to use (first N, sorted)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"of {', '.join(KINDS)}, box, large_box")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args(argv)
    photos = sorted((args.data / "bsds500" / "images" / "val").glob("*.jpg"))[: args.images]
    horses = sorted((args.data / "weizmann_horse" / "figure_ground").glob("*.jpg"))
    if not photos or not horses:
        print(f"no BSDS500 / Weizmann horse data under {args.data}", file=sys.stderr)
        return 1
    methods, kinds = args.methods.split(","), args.kinds.split(",")
    if BASELINE not in methods:
        methods.append(BASELINE)
    rng = np.random.default_rng(args.seed)
    results: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for photo in photos:
        image = load_image(photo)
        for kind in (k for k in kinds if k != "removal"):
            mask = make_mask(kind, image.shape[:2], rng, horses)
            for method in methods:
                start = time.perf_counter()
                filled = run_method(method, image, mask)
                elapsed = time.perf_counter() - start
                results[kind, method].append({**known_scores(image, filled, mask), "s": elapsed})
        print(f"done {photo.name}", file=sys.stderr, flush=True)
    if "removal" in kinds:
        for index, (image, horse) in enumerate(horse_photos(args.data, args.images)):
            mask = dilate_mask(horse, 5)
            for method in methods:
                start = time.perf_counter()
                filled = run_method(method, image, mask)
                elapsed = time.perf_counter() - start
                results["removal", method].append({**removal_scores(image, filled, mask, horse), "s": elapsed})
            print(f"done horse {index + 1}", file=sys.stderr, flush=True)
    print_tables(results, kinds, methods, len(photos), args.markdown)
    return 0


def print_tables(results: dict, kinds: list[str], methods: list[str], count: int, markdown: bool) -> None:
    for kind in kinds:
        columns = list(results[kind, methods[0]][0])
        header = ("hole", "method", *columns, "x telea")
        what = "Weizmann horse photos, true masks dilated 5 px" if kind == "removal" else f"BSDS500 val photos, {kind} holes"
        print(f"\n{count} {what}; means (edges: over holes that edges reach).\n")
        if markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        else:
            print("  ".join(f"{h:>11}" for h in header))
        base = np.mean([row["s"] for row in results[kind, BASELINE]])
        for method in methods:
            rows = results[kind, method]
            means = {c: float(np.nanmean([row[c] for row in rows])) for c in columns}
            cells = [kind, method] + [_cell(c, means[c]) for c in columns] + [f"{means['s'] / base:.0f}"]
            print("| " + " | ".join(cells) + " |" if markdown else "  ".join(f"{c:>11}" for c in cells))


def _cell(column: str, value: float) -> str:
    if column == "PSNR hole":
        return f"{value:.2f}"
    return f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
