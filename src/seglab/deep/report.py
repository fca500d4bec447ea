"""What a training run writes besides its checkpoints: results.csv, plan.json, pictures.

- ``results.csv``: one row per epoch (step, seconds, learning rate, losses, metrics, per-class IoU);
- ``plan.json``: the plan (:mod:`seglab.deep.plan`);
- ``confusion.png``: the best epoch's confusion matrix, each row normalised to 1, with class names;
- ``val_predictions/epoch_NNN.png``: validation images, their ground truth and the prediction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["append_results", "write_plan", "confusion_picture", "prediction_picture", "RUN_FILES"]

#: Files whose presence makes a folder a training run (refused without overwrite/resume).
RUN_FILES = ("best.pt", "last.pt", "results.csv", "plan.json")


def append_results(path: Path, row: dict[str, Any]) -> None:
    """Append one epoch to ``results.csv`` (header on the first row; rewritten atomically)."""
    from seglab.core.atomic import atomic_write_text

    old = path.read_text() if path.is_file() else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
    if not old:
        writer.writeheader()
    writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write_text(path, old + buffer.getvalue())


def write_plan(path: Path, plan: dict[str, Any]) -> None:
    from seglab.core.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(plan, indent=2) + "\n")


def _save(figure: Any, path: Path) -> Path:
    from seglab.core.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    return path


def confusion_picture(matrix: Sequence[Sequence[int]], class_names: Sequence[str], path: Path) -> Path:
    """The confusion matrix with rows (truth) normalised to sum to 1, annotated, to a PNG."""
    from matplotlib.figure import Figure

    m = np.asarray(matrix, np.float64)
    rows = m / np.maximum(m.sum(1, keepdims=True), 1)
    size = 2.5 + 0.5 * len(class_names)
    figure = Figure(figsize=(size, size))
    axes = figure.add_subplot(1, 1, 1)
    axes.imshow(rows, vmin=0, vmax=1, cmap="Blues")
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            axes.text(j, i, f"{rows[i, j]:.2f}", ha="center", va="center",
                      color="white" if rows[i, j] > 0.5 else "black", fontsize=8)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(ticks, class_names, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("truth")
    figure.tight_layout()
    return _save(figure, path)


def prediction_picture(images: Sequence[np.ndarray], truths: Sequence[np.ndarray], predictions: Sequence[np.ndarray],
                       path: Path, *, ignore: int = 255, title: str = "") -> Path:
    """Rows of image | ground truth | prediction (class colours; ignored pixels grey), to a PNG."""
    from matplotlib.figure import Figure

    from seglab.core.segmentation_io import label_palette
    from seglab.viz import display_image

    count = max(int(max(int(t[t != ignore].max(initial=0)) for t in truths)), 1,
                max(int(p.max(initial=0)) for p in predictions))
    palette = label_palette(count).astype(np.float64) / 255
    palette[0] = (0.05, 0.05, 0.05)

    def colour(labels: np.ndarray) -> np.ndarray:
        out = palette[np.minimum(labels, count)]
        out[labels == ignore] = 0.5
        return out

    figure = Figure(figsize=(9, 3 * len(images)))
    for row, (image, truth, found) in enumerate(zip(images, truths, predictions)):
        for col, (picture, name) in enumerate(((display_image(image), "image"), (colour(truth), "truth"),
                                               (colour(found), "prediction"))):
            axes = figure.add_subplot(len(images), 3, 3 * row + col + 1)
            axes.imshow(picture)
            axes.set_axis_off()
            if row == 0:
                axes.set_title(name if not title or col != 2 else f"{name} ({title})", fontsize=9)
    figure.tight_layout()
    return _save(figure, path)
