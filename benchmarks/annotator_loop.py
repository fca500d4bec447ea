"""The annotator's learning loop measured with a scripted annotator on Weizmann horses.

Through the annotator's JSON API (FastAPI's TestClient, the same routes the page calls), a
scripted annotator labels horses 1..N exactly (the ground truth mask, class ``horse``) and
marks them Done, starts ``POST /api/train`` with a time budget, waits on ``GET /api/train/{job}``
and proposes with the model (``{"method": "model", "params": {"model": NAME}}``) on a fixed
set of 20 later horses. For each it reports the IoU of the proposal and how many corrective
clicks a greedy simulated user needs to reach IoU 0.8 and 0.9, against starting from scratch.

Corrective clicks are the page's Shift+click (add) and Alt+click (cut) with the SLIC superpixel
under the point (what the click tool does with ``slic``): each click goes to the deepest point
(largest distance to its border) of the largest wrong region, missed pixels get the
superpixel added, extra pixels get it cut. From scratch starts with a box around the horse
through GrabCut (counted as 2 clicks, as interactive-segmentation papers count a box), from the
model with its proposal (0 clicks). At most 20 clicks; an image that does not reach 0.9 counts 20.

    python benchmarks/annotator_loop.py --data ../shared/data/weizmann_horse --labelled 4 8 16 --minutes 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

MAX_CLICKS = 20
TARGETS = (0.8, 0.9)


def load_horse(data: Path, number: int) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    mask = np.asarray(Image.open(data / "figure_ground" / f"horse{number:03d}.jpg").convert("L")) > 127
    rgb = Image.open(data / "rgb" / f"horse{number:03d}.jpg").convert("RGB").resize(mask.shape[::-1], Image.LANCZOS)
    return np.asarray(rgb), mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def clicks_to_targets(truth: np.ndarray, start: np.ndarray, superpixels: np.ndarray, used: int) -> list[int]:
    """Greedy corrective clicks (superpixel add / cut) from ``start``: the count at which each of
    TARGETS is first reached, MAX_CLICKS for one never reached."""
    from scipy import ndimage

    mask = start.copy()
    clicks = used
    reached = [clicks if iou(mask, truth) >= t else None for t in TARGETS]
    while None in reached and clicks < MAX_CLICKS:
        wrong = mask != truth
        parts, count = ndimage.label(wrong)
        if not count:
            break
        sizes = ndimage.sum(wrong, parts, range(1, count + 1))
        biggest = parts == (int(np.argmax(sizes)) + 1)
        depth = ndimage.distance_transform_edt(np.pad(biggest, 1))[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
        region = superpixels == superpixels[y, x]
        mask = mask | region if truth[y, x] else mask & ~region
        clicks += 1
        value = iou(mask, truth)
        reached = [r if r is not None else (clicks if value >= t else None) for r, t in zip(reached, TARGETS)]
    return [MAX_CLICKS if r is None else r for r in reached]


def oracle_iou(truth: np.ndarray, superpixels: np.ndarray) -> float:
    """The best the superpixel clicks can do: every superpixel more than half inside the horse."""
    from scipy import ndimage

    inside = ndimage.mean(truth, superpixels, np.arange(superpixels.max() + 1))
    return iou(np.nan_to_num(inside)[superpixels] > 0.5, truth)


def summary(label: int, start: str, results: list[tuple[float, list[int]]], **extra: object) -> dict:
    row = {"labelled": label, "start": start, "iou": float(np.mean([r[0] for r in results])), **extra}
    for k, target in enumerate(TARGETS):
        row[f"clicks_{target}"] = float(np.mean([r[1][k] for r in results]))
        row[f"reached_{target}"] = int(sum(r[1][k] < MAX_CLICKS or r[0] >= target for r in results))
    return row


def scratch_start(client, image_id: int, truth: np.ndarray) -> np.ndarray:
    from seglab.web.project import mask_from_runs

    rows, cols = np.flatnonzero(truth.any(1)), np.flatnonzero(truth.any(0))
    h, w = truth.shape
    # a box 5 px around the horse, kept 3 px inside the image (GrabCut needs some background to learn from)
    box = [max(3, int(cols[0]) - 5), max(3, int(rows[0]) - 5), min(w - 3, int(cols[-1]) + 6), min(h - 3, int(rows[-1]) + 6)]
    response = client.post(f"/api/images/{image_id}/segment", json={"method": "grabcut", "params": {"box": box}})
    if response.status_code != 200:
        raise SystemExit(f"grabcut with box {box}: {response.json()['detail']}")
    result = response.json()
    mask = np.zeros(truth.shape, bool)
    for region in result["regions"]:
        mask |= mask_from_runs(region["mask"], h, w)
    return mask


def model_start(client, image_id: int, model: str, shape: tuple[int, int]) -> np.ndarray:
    from seglab.web.project import mask_from_runs

    result = client.post(f"/api/images/{image_id}/segment",
                         json={"method": "model", "params": {"model": model}})
    result.raise_for_status()
    mask = np.zeros(shape, bool)
    for region in result.json()["regions"]:
        if region["class_name"] == "horse":
            mask |= mask_from_runs(region["mask"], *shape)
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/weizmann_horse"))
    parser.add_argument("--labelled", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--arch", default=None, help="model to train (default: the project's choice)")
    parser.add_argument("--test", type=int, default=20, help="horses after the largest labelled set to propose on")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    import seglab
    from seglab.web.app import create_app
    from seglab.web.project import crop_runs

    largest = max(args.labelled)
    numbers = list(range(1, largest + args.test + 1))
    test_numbers = numbers[largest:]
    with tempfile.TemporaryDirectory(prefix="seglab-loop-") as tmp:
        root = Path(tmp) / "horses"
        root.mkdir()
        truths = {}
        for number in numbers:
            from PIL import Image

            rgb, mask = load_horse(args.data, number)
            Image.fromarray(rgb).save(root / f"horse{number:03d}.png")
            truths[number] = (rgb, mask)
        rows = []
        with TestClient(create_app(root), base_url="http://127.0.0.1") as client:  # a host the Host check allows
            ids = {int(i["path"][5:8]): i["id"] for i in client.get("/api/images").json()}
            horse = client.post("/api/classes", json={"name": "horse", "color": "#ff8800"}).json()["id"]
            superpixels = {n: seglab.segment(truths[n][0], "slic").labels for n in test_numbers}
            ceiling = float(np.mean([oracle_iou(truths[n][1], superpixels[n]) for n in test_numbers]))
            scratch = []
            for n in test_numbers:
                start = scratch_start(client, ids[n], truths[n][1])
                scratch.append((iou(start, truths[n][1]), clicks_to_targets(truths[n][1], start, superpixels[n], 2)))
            rows.append(summary(0, "from scratch: box -> GrabCut (2 clicks)", scratch))
            print(json.dumps(rows[-1]), flush=True)
            labelled = 0
            for target in sorted(args.labelled):
                for n in numbers[labelled:target]:  # the scripted annotator labels exactly, then marks Done
                    client.post(f"/api/images/{ids[n]}/save", json={"upserts": [
                        {"uid": f"h{n}", "mask": crop_runs(truths[n][1]), "class_id": horse}]}).raise_for_status()
                    client.post(f"/api/images/{ids[n]}/done", json={"done": True}).raise_for_status()
                labelled = target
                body = {"max_minutes": args.minutes, **({"arch": args.arch} if args.arch else {})}
                started = time.perf_counter()
                job = client.post("/api/train", json=body)
                job.raise_for_status()
                job = job.json()
                while (status := client.get(f"/api/train/{job['id']}").json())["state"] == "running":
                    time.sleep(1)
                train_s = time.perf_counter() - started
                if status["state"] != "done":
                    raise SystemExit(f"training failed: {status['error']}")
                results = []
                for n in test_numbers:
                    start = model_start(client, ids[n], status["model"], truths[n][1].shape)
                    results.append((iou(start, truths[n][1]), clicks_to_targets(truths[n][1], start, superpixels[n], 0)))
                rows.append(summary(target, f"model proposal: {status['arch']}, job {train_s:.0f} s", results,
                                    val_miou=status["metrics"].get("miou")))
                print(json.dumps(rows[-1]), flush=True)
    n = len(test_numbers)
    print(f"\nproposals on horses {test_numbers[0]}-{test_numbers[-1]}; corrective clicks: SLIC superpixel "
          f"add / cut, at most {MAX_CLICKS} (the best superpixel answer has mean IoU {ceiling:.3f})\n")
    print("| Done images | start | mean IoU of the start | clicks to 0.8 | reached 0.8 | clicks to 0.9 | reached 0.9 |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['labelled']} | {row['start']} | {row['iou']:.3f} | {row['clicks_0.8']:.1f} | "
              f"{row['reached_0.8']}/{n} | {row['clicks_0.9']:.1f} | {row['reached_0.9']}/{n} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
