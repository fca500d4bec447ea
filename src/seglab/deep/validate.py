"""Validation of a model during training: sliding-window probabilities, threshold tuning, scores.

Each validation image goes through the same tiled prediction as ``seglab predict``
(:func:`seglab.deep.predict.predict_probabilities`, optional flip TTA), so the score that picks
``best.pt`` is the score the user gets. For two classes the threshold on P(class 1) that
maximises the mean IoU is searched on a 1/256 grid through histograms (one pass, any number of
pixels), and the area under the ROC curve comes from the same histograms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["validate", "runner_probabilities", "binary_sweep", "scores_from_matrix", "Runner"]

Runner = Callable[[np.ndarray], np.ndarray]
BINS = 256


def scores_from_matrix(matrix: np.ndarray) -> dict[str, Any]:
    """Pixel accuracy, mean IoU / Dice over present classes and per-class IoU of a confusion matrix."""
    m = matrix.astype(np.float64)
    tp = np.diag(m)
    target, predicted = m.sum(1), m.sum(0)
    present = (target + predicted) > 0
    iou = tp / np.maximum(target + predicted - tp, 1)
    dice = 2 * tp / np.maximum(target + predicted, 1)
    return {
        "pixel_acc": float(tp.sum() / max(m.sum(), 1)),
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "dice": float(dice[present].mean()) if present.any() else 0.0,
        "iou_per_class": [float(v) for v in iou],
    }


def binary_sweep(positive: np.ndarray, negative: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Best threshold (by mean IoU), its confusion matrix and the AUC from two histograms of P(class 1).

    ``positive[k]`` / ``negative[k]`` count class-1 / class-0 pixels whose probability falls in
    bin ``k`` of ``BINS`` equal bins of [0, 1]. A pixel is called class 1 when its bin is at or
    above the threshold's bin.
    """
    pos, neg = positive.astype(np.float64), negative.astype(np.float64)
    tp = np.cumsum(pos[::-1])[::-1]  # class-1 pixels at or above each bin
    fp = np.cumsum(neg[::-1])[::-1]
    fn, tn = pos.sum() - tp, neg.sum() - fp
    iou1 = tp / np.maximum(tp + fp + fn, 1)
    iou0 = tn / np.maximum(tn + fn + fp, 1)
    best = int(np.argmax(iou0 + iou1))
    matrix = np.array([[tn[best], fp[best]], [fn[best], tp[best]]], np.int64)
    # ROC: the points (fp, tp) for thresholds from high to low, trapezoids
    tpr = np.concatenate([[0.0], tp[::-1]]) / max(pos.sum(), 1)
    fpr = np.concatenate([[0.0], fp[::-1]]) / max(neg.sum(), 1)
    auc = float(np.trapezoid(tpr, fpr)) if pos.sum() and neg.sum() else float("nan")
    return best / BINS, matrix, auc


def validate(pairs: Sequence[Any], probabilities: Callable[[np.ndarray], np.ndarray], classes: int, *,
             ignore: int = 255, keep: int = 0) -> dict[str, Any]:
    """Score a model on validation pairs.

    Parameters
    ----------
    pairs : sequence of Pair
    probabilities : callable
        Image -> (classes, H, W) float32 probabilities (for a network:
        :func:`seglab.deep.predict.predict_probabilities` over a runner, see :func:`runner_probabilities`).
    classes : int
    keep : int
        Return the class maps of the first ``keep`` images (for pictures).

    Returns
    -------
    dict
        ``loss`` (cross-entropy of the probabilities), ``pixel_acc``, ``miou``, ``dice``,
        ``iou_per_class``, ``confusion`` (rows = truth); for two classes also ``threshold``
        (tuned) and ``auc``; ``maps``: the kept class maps.
    """
    matrix = np.zeros((classes, classes), np.int64)
    positive, negative = np.zeros(BINS, np.int64), np.zeros(BINS, np.int64)
    losses, counted, kept = 0.0, 0, []
    for k, pair in enumerate(pairs):
        probs = probabilities(pair.image)
        valid = pair.mask != ignore
        truth = pair.mask[valid].astype(np.int64)
        chosen = probs[:, valid]
        losses -= float(np.log(np.maximum(np.take_along_axis(chosen, truth[None], 0), 1e-7)).sum())
        counted += truth.size
        if classes == 2:
            bins = np.minimum((chosen[1] * BINS).astype(np.int64), BINS - 1)
            positive += np.bincount(bins[truth == 1], minlength=BINS)
            negative += np.bincount(bins[truth == 0], minlength=BINS)
        else:
            matrix += np.bincount(truth * classes + chosen.argmax(0), minlength=classes**2).reshape(classes, classes)
        if k < keep:
            kept.append(probs)
    extra: dict[str, Any] = {}
    if classes == 2:
        threshold, matrix, auc = binary_sweep(positive, negative)
        extra = {"threshold": threshold, "auc": auc}
    maps = []
    for probs in kept:
        if classes == 2:
            maps.append((probs[1] >= extra["threshold"]).astype(np.uint8))
        else:
            maps.append(probs.argmax(0).astype(np.uint8))
    return {"loss": losses / max(counted, 1), **scores_from_matrix(matrix), **extra,
            "confusion": matrix.tolist(), "maps": maps}


def runner_probabilities(prepare: Callable[[np.ndarray], np.ndarray], run: Runner, classes: int, *,
                         tile_size: int = 512, tta: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Image -> probabilities through the tiled prediction of ``seglab predict`` (optional flip TTA)."""
    from seglab.deep.predict import predict_probabilities

    def probabilities(image: np.ndarray) -> np.ndarray:
        return predict_probabilities(prepare(image), run, classes, tile_size=tile_size, overlap=64, tta=tta)

    return probabilities
