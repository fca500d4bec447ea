"""Pixel metrics of a label map against ground truth: confusion matrix, accuracy, IoU, Dice, F1.

Every metric is computed from one confusion matrix (built with ``np.bincount``, one pass over
the pixels), with an ``ignore_index`` (a ground-truth value left out, e.g. 255 = void in PASCAL
VOC) and an optional validity mask (e.g. DRIVE's field of view).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected

__all__ = [
    "confusion_matrix",
    "dice_per_class",
    "iou_per_class",
    "mean_iou",
    "metrics_from_confusion",
    "pixel_accuracy",
    "pixel_metrics",
    "precision_recall_f1",
]


def _as_labels(array: Any, name: str) -> np.ndarray:
    if hasattr(array, "labels") and hasattr(array, "class_map"):
        array = array.class_map() if getattr(array, "class_ids", None) is not None else array.labels
    values = np.asarray(array)
    if values.ndim != 2:
        raise expected(name, "a 2D (H, W) label array", values)
    if values.dtype == bool:
        return values.astype(np.int64)
    if values.dtype.kind not in "iu":
        if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
            return values.astype(np.int64)
        raise expected(name, "an integer or boolean label array", values)
    return values.astype(np.int64, copy=False)


def confusion_matrix(
    prediction: Any,
    target: Any,
    *,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    valid_mask: Any = None,
) -> np.ndarray:
    """Count pixels of each (target class, predicted class) pair.

    Parameters
    ----------
    prediction, target : (H, W) ndarray of int or bool
        Class labels (a :class:`~seglab.Segmentation` is read through ``class_map()``).
    num_classes : int, optional
        Size of the matrix; by default one more than the largest label seen (ignoring
        ``ignore_index``).
    ignore_index : int, optional
        Ground-truth value whose pixels are left out (e.g. 255 for VOC's void).
    valid_mask : (H, W) ndarray of bool, optional
        Only pixels where it is true count (e.g. DRIVE's field of view).

    Returns
    -------
    (C, C) ndarray of int64
        ``matrix[t, p]`` = pixels of target class ``t`` predicted as ``p``.

    Raises
    ------
    InputError
        If the shapes differ, labels are negative, or a label is ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]])).tolist()
    [[1, 1], [0, 2]]
    """
    pred = _as_labels(prediction, "prediction")
    true = _as_labels(target, "target")
    if pred.shape != true.shape:
        raise InputError(f"prediction must have shape {true.shape} like the target, got {pred.shape}")
    keep = np.ones(true.shape, dtype=bool)
    if ignore_index is not None:
        keep &= true != ignore_index
    if valid_mask is not None:
        mask = np.asarray(valid_mask)
        if mask.shape != true.shape:
            raise InputError(f"valid_mask must have shape {true.shape} like the target, got {mask.shape}")
        keep &= mask.astype(bool)
    p, t = pred[keep], true[keep]
    if p.size and (p.min() < 0 or t.min() < 0):
        raise expected("labels", "non-negative integers", int(min(p.min(), t.min())))
    seen = int(max(p.max(initial=0), t.max(initial=0))) + 1
    if num_classes is None:
        num_classes = seen
    elif seen > num_classes:
        raise expected("every label", f"< num_classes = {num_classes}", seen - 1)
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def metrics_from_confusion(matrix: np.ndarray) -> dict[str, Any]:
    """Every pixel metric from a confusion matrix (rows = target, columns = prediction).

    Classes absent from both target and prediction get NaN per-class values and are left out
    of the means.

    Returns
    -------
    dict
        ``pixel_accuracy``, ``mean_iou``, ``mean_dice``, ``mean_precision``, ``mean_recall``,
        ``mean_f1``, and per-class lists ``iou``, ``dice``, ``precision``, ``recall``, ``f1``,
        ``support`` (target pixels per class).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    target_total = matrix.sum(axis=1)
    pred_total = matrix.sum(axis=0)
    iou = _ratio(tp, target_total + pred_total - tp)
    dice = _ratio(2 * tp, target_total + pred_total)
    precision = _ratio(tp, pred_total)
    recall = _ratio(tp, target_total)
    f1 = dice.copy()
    total = matrix.sum()

    def mean(values: np.ndarray) -> float:
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    return {
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "mean_iou": mean(iou),
        "mean_dice": mean(dice),
        "mean_precision": mean(precision),
        "mean_recall": mean(recall),
        "mean_f1": mean(f1),
        "iou": iou.tolist(),
        "dice": dice.tolist(),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": target_total.astype(np.int64).tolist(),
    }


def pixel_metrics(prediction: Any, target: Any, *, num_classes: int | None = None,
                  ignore_index: int | None = None, valid_mask: Any = None) -> dict[str, Any]:
    """All pixel metrics at once (see :func:`metrics_from_confusion`).

    Examples
    --------
    >>> m = pixel_metrics(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
    >>> m["pixel_accuracy"], m["iou"]
    (0.75, [0.5, 0.6666666666666666])
    """
    matrix = confusion_matrix(prediction, target, num_classes=num_classes,
                              ignore_index=ignore_index, valid_mask=valid_mask)
    return metrics_from_confusion(matrix)


def pixel_accuracy(prediction: Any, target: Any, *, ignore_index: int | None = None,
                   valid_mask: Any = None) -> float:
    """Fraction of counted pixels whose predicted class equals the target class."""
    matrix = confusion_matrix(prediction, target, ignore_index=ignore_index, valid_mask=valid_mask)
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else float("nan")


def iou_per_class(prediction: Any, target: Any, *, num_classes: int | None = None,
                  ignore_index: int | None = None, valid_mask: Any = None) -> np.ndarray:
    """Intersection over union of each class (NaN for a class absent from both)."""
    matrix = confusion_matrix(prediction, target, num_classes=num_classes,
                              ignore_index=ignore_index, valid_mask=valid_mask)
    return np.asarray(metrics_from_confusion(matrix)["iou"])


def dice_per_class(prediction: Any, target: Any, *, num_classes: int | None = None,
                   ignore_index: int | None = None, valid_mask: Any = None) -> np.ndarray:
    """Dice coefficient (= F1) of each class (NaN for a class absent from both)."""
    matrix = confusion_matrix(prediction, target, num_classes=num_classes,
                              ignore_index=ignore_index, valid_mask=valid_mask)
    return np.asarray(metrics_from_confusion(matrix)["dice"])


def mean_iou(prediction: Any, target: Any, *, num_classes: int | None = None,
             ignore_index: int | None = None, valid_mask: Any = None) -> float:
    """Mean of the per-class IoU over classes present in the target or the prediction."""
    matrix = confusion_matrix(prediction, target, num_classes=num_classes,
                              ignore_index=ignore_index, valid_mask=valid_mask)
    return metrics_from_confusion(matrix)["mean_iou"]


def precision_recall_f1(prediction: Any, target: Any, *, positive: int = 1,
                        ignore_index: int | None = None, valid_mask: Any = None) -> tuple[float, float, float]:
    """Precision, recall and F1 of one class (``positive``, default 1) against the rest.

    Examples
    --------
    >>> precision_recall_f1(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
    (0.6666666666666666, 1.0, 0.8)
    """
    pred = _as_labels(prediction, "prediction") == positive
    true = np.asarray(_as_labels(target, "target"))
    binary_true = (true == positive).astype(np.int64)
    if ignore_index is not None:
        binary_true[true == ignore_index] = 2
    matrix = confusion_matrix(pred, binary_true, num_classes=3,
                              ignore_index=2, valid_mask=valid_mask)[:2, :2]
    tp, fp, fn = matrix[1, 1], matrix[0, 1], matrix[1, 0]
    precision = float(tp / (tp + fp)) if tp + fp else 0.0
    recall = float(tp / (tp + fn)) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
