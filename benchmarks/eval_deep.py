"""Real-data numbers for seglab.deep: DRIVE (accuracy and AUC inside the field of view) and
Weizmann horse (foreground IoU on held-back images).

DRIVE: train with the CLI (the last 5 of the 20 training images validate), then evaluate::

    seglab train DATA/drive_retina --format drive --val-fraction 0.25 --max-minutes 10 ... --out runs/drive
    python benchmarks/eval_deep.py drive runs/drive/best.pt [--data DATA]

or both in one (the default plan, or ``--arch forest`` / any architecture; prints the plan)::

    python benchmarks/eval_deep.py drive-train runs/drive --max-minutes 10 [--arch forest]

Horse: train on horse001-131 and evaluate on horse132-164 (gray/ images, figure_ground masks),
with the default plan (or ``--arch``; ``--width`` and ``--downscale`` override the plan's smallunet)::

    python benchmarks/eval_deep.py horse runs/horse [--data DATA] [--max-minutes 10] [--arch forest]

The 5 DRIVE images and the 33 horses also choose ``best.pt`` and the threshold (the 15/5 and
131/33 protocols of issue 16): they are validation, not sealed test, numbers.

Mask R-CNN from random weights on synthetic disks (48 training images, 16 held out; mask AP with
pycocotools)::

    python benchmarks/eval_deep.py maskrcnn runs/mrcnn --max-minutes 6 [--image-size 96] [--min-size 96]

DATA defaults to ``$SEGLAB_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged)."""
    from scipy.stats import rankdata

    truth = truth.astype(bool)
    ranks = rankdata(scores)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def drive(model_path: str, data: Path, val: int = 5) -> None:
    from seglab.deep.data import IGNORE, read_drive
    from seglab.deep.models import load
    from seglab.deep.predict import predict

    model = load(model_path, device="cpu")
    pairs = read_drive(data / "drive_retina")[-val:]
    scores, truths, correct = [], [], []
    for pair in pairs:
        seg = predict(model, pair.image, tile_size=608, overlap=0)
        inside = pair.mask != IGNORE
        prob = seg.probabilities[1][inside]
        truth = pair.mask[inside] == 1
        scores.append(prob)
        truths.append(truth)
        correct.append(np.mean((prob > 0.5) == truth))
        print(f"DRIVE {pair.name}: accuracy {correct[-1]:.4f}, AUC {auc(prob, truth):.4f}")
    all_scores, all_truth = np.concatenate(scores), np.concatenate(truths)
    print(f"DRIVE images {pairs[0].name}-{pairs[-1].name} inside the FOV: accuracy "
          f"{np.mean(np.concatenate([(s > 0.5) == t for s, t in zip(scores, truths)])):.4f} (pooled), "
          f"AUC {auc(all_scores, all_truth):.4f} (pooled); all-background accuracy {1 - all_truth.mean():.4f}; "
          "second human observer 0.9473")


def horse_pairs(data: Path) -> list:
    from seglab.core.image import load_image
    from seglab.deep.data import Pair

    root = data / "weizmann_horse"
    pairs = []
    for path in sorted((root / "gray").glob("horse*.jpg")):
        mask = load_image(root / "figure_ground" / path.name)
        mask = (mask[..., 0] if mask.ndim == 3 else mask) > 127
        pairs.append(Pair(load_image(path), mask.astype(np.uint8), path.stem))
    return pairs


def _log(event: dict) -> None:
    if event["event"] == "plan":
        print("\n".join(f"plan: {line}" for line in event["lines"]), flush=True)
    elif event["event"] == "epoch":
        print(event["text"], flush=True)


def _options(arch: str | None, width: int | None = None, downscale: int | None = None) -> dict:
    options: dict = {} if arch is None else {"arch": arch}
    model_args = {k: v for k, v in (("base", width), ("downscale", downscale)) if v is not None}
    return {**options, "model_args": model_args} if model_args else options


def drive_train(out: str, data: Path, max_minutes: float, arch: str | None, in_channels: int | None = None,
                **model_args: int | None) -> None:
    from seglab.deep.train import train

    result = train(data / "drive_retina", format="drive", val_fraction=0.25, out=out, max_minutes=max_minutes,
                   overwrite=True, progress=_log, in_channels=in_channels, **_options(arch, **model_args))
    print(f"trained {result.metrics['steps']} steps, {result.metrics['epochs_run']} epochs in "
          f"{result.metrics['train_seconds']:.0f} s; best epoch {result.metrics['best_epoch']}", flush=True)
    drive(str(result.best_path), data)


def horse(out: str, data: Path, max_minutes: float, held_back: int = 33, arch: str | None = None,
          **model_args: int | None) -> None:
    from seglab.deep.predict import predict
    from seglab.deep.train import train

    pairs = horse_pairs(data)
    train_pairs, val_pairs = pairs[:-held_back], pairs[-held_back:]
    result = train(train_pairs, val=val_pairs, out=out, max_minutes=max_minutes, overwrite=True, progress=_log,
                   class_names=("background", "horse"), **_options(arch, **model_args))
    ious = []
    for pair in val_pairs:
        found = predict(result.model, pair.image, tile_size=512).class_map() == 1
        truth = pair.mask == 1
        ious.append(np.logical_and(found, truth).sum() / max(np.logical_or(found, truth).sum(), 1))
    print(f"horse {val_pairs[0].name}-{val_pairs[-1].name} ({len(val_pairs)} held back): foreground IoU "
          f"mean {np.mean(ious):.4f}, median {np.median(ious):.4f}; trained {result.metrics['epochs_run']} "
          f"epochs ({result.metrics['steps']} steps) in {result.metrics['train_seconds']:.0f} s on "
          f"{len(train_pairs)} images")


def maskrcnn(out: str, max_minutes: float, image_size: int, min_size: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "deep"))
    from deep_helpers import disk_instances

    from seglab import Segmentation
    from seglab.deep.maskrcnn import train_maskrcnn
    from seglab.metrics.coco import coco_ap

    train = disk_instances(48, size=image_size, seed=10, count=5)
    held_out = disk_instances(16, size=image_size, seed=99, count=5)
    model, metrics = train_maskrcnn(train, out=out, epochs=1000, max_minutes=max_minutes, batch_size=4, lr=1e-3,
                                    backbone="mobilenet_v3", channels=64, representation=256,
                                    min_size=min_size, max_size=min_size)
    predictions = [model.predict(image, score_threshold=0.05) for image, _ in held_out]
    scores = coco_ap(predictions, [Segmentation.from_labels(labels) for _, labels in held_out])
    losses = metrics["history"]["train_loss"]
    print(f"maskrcnn: {len(losses)} epochs in {metrics['train_seconds']:.0f} s, loss {losses[0]:.3f} -> "
          f"{losses[-1]:.3f}; held out: mask AP {scores['ap']:.3f}, AP50 {scores['ap50']:.3f}; "
          f"{np.mean([len(p) for p in predictions]):.1f} detections per image (5 disks each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("drive", "drive-train", "horse", "maskrcnn"))
    parser.add_argument("path", help="DRIVE: the checkpoint; horse, maskrcnn: the run folder to write")
    parser.add_argument("--data", default=os.environ.get("SEGLAB_DATA", "../shared/data"))
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--arch", default=None, help="drive-train, horse: architecture (default: the plan's)")
    parser.add_argument("--in-channels", type=int, default=None, help="drive-train: 1 trains on the grey image")
    parser.add_argument("--width", type=int, default=None, help="drive-train, horse: smallunet base channels")
    parser.add_argument("--downscale", type=int, default=None, help="drive-train, horse: smallunet downscale")
    parser.add_argument("--image-size", type=int, default=96, help="maskrcnn: synthetic image side")
    parser.add_argument("--min-size", type=int, default=96, help="maskrcnn: the side images are resized to")
    args = parser.parse_args()
    if args.task == "drive":
        drive(args.path, Path(args.data))
    elif args.task == "drive-train":
        drive_train(args.path, Path(args.data), args.max_minutes, args.arch, in_channels=args.in_channels,
                    width=args.width,
                    downscale=args.downscale)
    elif args.task == "horse":
        horse(args.path, Path(args.data), args.max_minutes, arch=args.arch, width=args.width,
              downscale=args.downscale)
    else:
        maskrcnn(args.path, args.max_minutes, args.image_size, args.min_size)


if __name__ == "__main__":
    main()
