"""Clicks to objects: seglab's ``prompt`` against a cv2.grabCut clicker, by the simulated user.

The protocol of :mod:`seglab.metrics.interactive` (Xu et al. 2016, as RITM runs it): the first
click at the centre of the object, each next one at the centre of the largest error, 20 at most.
Both clickers see the same clicks and are timed in the same run. The cv2 clicker draws every
click as a definite foreground / background disc and starts each round from its last mask
(probable foreground inside, probable background outside), as a GrabCut user would.

Objects: Weizmann horses (RGB resized to the mask size) and BSDS500 val (the first annotator's
largest region covering 2-40% of the image).

    python benchmarks/bench_interactive.py --data ../shared/data              # horses 1-164, BSDS val
    python benchmarks/bench_interactive.py --horses 40 --bsds 30              # a subset
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import seglab
from seglab.metrics.interactive import ClickRun, simulate, summarize

Obj = tuple[str, np.ndarray, np.ndarray]


def horses(root: Path, count: int) -> Iterator[Obj]:
    folder = root / "weizmann_horse"
    for index in range(1, count + 1):
        name = f"horse{index:03d}.jpg"
        truth = np.asarray(Image.open(folder / "figure_ground" / name).convert("L")) > 127
        rgb = np.asarray(Image.open(folder / "rgb" / name).convert("RGB"))
        yield name, cv2.resize(rgb, truth.shape[::-1], interpolation=cv2.INTER_AREA), truth


def bsds_objects(root: Path, count: int) -> Iterator[Obj]:
    from scipy.io import loadmat

    folder = root / "bsds500"
    for image_path in sorted((folder / "images" / "val").glob("*.jpg"))[:count]:
        labels = loadmat(folder / "groundTruth" / "val" / f"{image_path.stem}.mat")["groundTruth"][0, 0]
        labels = labels["Segmentation"][0, 0]
        ids, areas = np.unique(labels, return_counts=True)
        share = areas / labels.size
        fits = (share >= 0.02) & (share <= 0.40)
        if not fits.any():
            continue
        region = ids[fits][np.argmax(areas[fits])]
        yield image_path.stem, np.asarray(Image.open(image_path).convert("RGB")), labels == region


def prompt_clicker(rgb: np.ndarray, **params: object):
    def predict(points: list, previous: np.ndarray | None) -> np.ndarray:
        return seglab.segment(rgb, "prompt", points=points, previous=previous, **params).labels == 1

    return predict


def cv2_clicker(rgb: np.ndarray, radius: int = 5, iterations: int = 5):
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    def predict(points: list, previous: np.ndarray | None) -> np.ndarray:
        mask = np.full(rgb.shape[:2], cv2.GC_PR_BGD, np.uint8)
        if previous is not None:
            mask[previous] = cv2.GC_PR_FGD
        for x, y, label in points:
            cv2.circle(mask, (int(x), int(y)), radius, cv2.GC_FGD if label else cv2.GC_BGD, -1)
        cv2.setRNGSeed(0)
        cv2.grabCut(bgr, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), iterations, cv2.GC_INIT_WITH_MASK)
        return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)

    return predict


def run(objects: list[Obj], max_clicks: int, params: dict) -> dict[str, tuple[list[ClickRun], float]]:
    results: dict[str, tuple[list[ClickRun], float]] = {"prompt": ([], 0.0), "cv2.grabCut": ([], 0.0)}
    for _name, rgb, truth in objects:
        for method, clicker in (("prompt", prompt_clicker(rgb, **params)), ("cv2.grabCut", cv2_clicker(rgb))):
            start = time.perf_counter()
            click_run = simulate(clicker, truth, max_clicks=max_clicks, stop_iou=0.90)
            runs, seconds = results[method]
            runs.append(click_run)
            results[method] = (runs, seconds + (time.perf_counter() - start) / len(click_run.ious))
    return results


def table(title: str, results: dict[str, tuple[list[ClickRun], float]], max_clicks: int) -> list[str]:
    lines = [f"### {title} ({len(next(iter(results.values()))[0])} objects)", "",
             "| clicker | NoC@85 | NoC@90 | IoU@1 | IoU@3 | IoU@5 | never 0.90 | s per click |",
             "|---|---|---|---|---|---|---|---|"]
    for method, (runs, seconds) in results.items():
        s = summarize(runs, max_clicks)
        lines.append(f"| {method} | {s['noc85']:.2f} | {s['noc90']:.2f} | {s['iou@1']:.3f} | {s['iou@3']:.3f} | "
                     f"{s['iou@5']:.3f} | {100 * s['fail@90']:.0f}% | {seconds / len(runs):.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    parser.add_argument("--horses", type=int, default=164, help="horses 1..N (0 to skip)")
    parser.add_argument("--bsds", type=int, default=100, help="the first N BSDS val images (0 to skip)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("-p", "--param", action="append", default=[], help="prompt parameter key=value")
    args = parser.parse_args()
    from seglab.core.registry import get_method, parse_params

    params = parse_params(get_method("prompt"), args.param)
    lines = [f"max {args.max_clicks} clicks, a run stops at IoU 0.90 (IoU@k then repeats its last value); "
             f"prompt params {params or 'default'}", ""]
    if args.horses:
        lines += table(f"Weizmann horses 1-{args.horses}",
                       run(list(horses(args.data, args.horses)), args.max_clicks, params), args.max_clicks) + [""]
    if args.bsds:
        lines += table(f"BSDS500 val, first {args.bsds} images",
                       run(list(bsds_objects(args.data, args.bsds)), args.max_clicks, params), args.max_clicks)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
