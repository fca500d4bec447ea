"""Region metrics against one or several human segmentations: covering, PRI, VOI, Rand error.

A port of the BSDS500 region benchmark (``evaluation_reg_image.m``, ``match_segmentations``,
``compare_segmentations``, ``collect_eval_reg``): segmentation covering (area-weighted best
IoU of each human region, over every annotator), Probabilistic Rand Index and Variation of
Information (averaged over annotators), plus the adapted Rand error of the ISBI 2012 challenge.

All of them come from one contingency table per (segmentation, annotator) pair, built with
``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected

__all__ = [
    "RegionCounts",
    "adapted_rand_error",
    "contingency",
    "covering",
    "rand_index",
    "region_counts",
    "summarize_regions",
    "ucm_to_segmentations",
    "variation_of_information",
]


def _labels(array: Any, name: str) -> np.ndarray:
    if hasattr(array, "labels") and hasattr(array, "split_connected"):
        array = array.labels
    values = np.asarray(array)
    if values.ndim != 2:
        raise expected(name, "a 2D (H, W) label image", values)
    if values.dtype.kind not in "biuf":
        raise expected(name, "an integer label image", values)
    values = values.astype(np.int64)
    if values.size and values.min() < 0:
        values = values - values.min()
    return values


def contingency(segmentation: Any, ground_truth: Any) -> np.ndarray:
    """Pixel counts of each (segmentation label, ground-truth label) pair.

    Returns
    -------
    (S + 1, G + 1) ndarray of int64
        ``table[s, g]`` with ``S`` and ``G`` the largest labels (row / column 0 = label 0).

    Raises
    ------
    InputError
        If the shapes differ.
    """
    seg = _labels(segmentation, "segmentation")
    gt = _labels(ground_truth, "ground_truth")
    if seg.shape != gt.shape:
        raise InputError(f"segmentation must have shape {gt.shape} like the ground truth, got {seg.shape}")
    rows, cols = int(seg.max(initial=0)) + 1, int(gt.max(initial=0)) + 1
    return np.bincount((seg * cols + gt).ravel(), minlength=rows * cols).reshape(rows, cols)


def rand_index(table: np.ndarray) -> float:
    """Rand index of a contingency table (fraction of pixel pairs on which both agree)."""
    n = np.asarray(table, dtype=np.float64)
    total = n.sum()
    pairs = total * (total - 1) / 2
    if pairs == 0:
        return 1.0
    disagree = ((n.sum(1) ** 2).sum() / 2 + (n.sum(0) ** 2).sum() / 2 - (n**2).sum())
    return float(1 - disagree / pairs)


def variation_of_information(table: np.ndarray) -> float:
    """Variation of information (bits) of a contingency table: H(A) + H(B) - 2 I(A; B)."""
    n = np.asarray(table, dtype=np.float64)
    joint = n / n.sum()
    p1, p2 = joint.sum(1), joint.sum(0)
    h1 = -np.sum(p1[p1 > 0] * np.log2(p1[p1 > 0]))
    h2 = -np.sum(p2[p2 > 0] * np.log2(p2[p2 > 0]))
    rows, cols = np.nonzero(joint)
    values = joint[rows, cols]
    mutual = np.sum(values * np.log2(values / (p1[rows] * p2[cols])))
    return float(h1 + h2 - 2 * mutual)


def adapted_rand_error(segmentation: Any, ground_truth: Any) -> float:
    """Adapted Rand error of the ISBI 2012 challenge (1 - Rand F-score; ground-truth label 0
    is ignored as "no label"), as in ``skimage.metrics.adapted_rand_error``.

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2]])
    >>> adapted_rand_error(gt, gt)
    0.0
    """
    table = contingency(segmentation, ground_truth)[:, 1:].astype(np.float64)
    total = table.sum()
    if total == 0:
        return 0.0
    sum_ij = (table**2).sum() - total
    sum_a = (table.sum(1) ** 2).sum() - total
    sum_b = (table.sum(0) ** 2).sum() - total
    precision = sum_ij / sum_a if sum_a else 1.0
    recall = sum_ij / sum_b if sum_b else 1.0
    if precision + recall == 0:
        return 1.0
    return float(1 - 2 * precision * recall / (precision + recall))


def _best_overlaps(seg: np.ndarray, gts: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Best IoU of each segment over every human region, and of each human region per annotator."""
    best_seg = np.zeros(int(seg.max(initial=0)), dtype=np.float64)
    best_gt, gt_areas = [], []
    for gt in gts:
        table = contingency(seg, gt).astype(np.float64)
        seg_area, gt_area = table.sum(1), table.sum(0)
        union = seg_area[:, None] + gt_area[None, :] - table
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(union > 0, table / np.maximum(union, 1), 0.0)[1:, 1:]
        if iou.size:
            best_seg = np.maximum(best_seg, iou.max(axis=1))
        best_gt.append(iou.max(axis=0) if iou.shape[0] else np.zeros(iou.shape[1]))
        gt_areas.append(gt_area[1:])
    return best_seg, best_gt, gt_areas


def covering(segmentation: Any, ground_truths: Any) -> float:
    """Segmentation covering of the human segmentations by ``segmentation``.

    The area-weighted mean, over every region of every annotator, of its best IoU with a
    segment (BSDS ``R`` of the region benchmark).

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2]])
    >>> covering(np.array([[1, 1, 1, 1]]), [gt])
    0.5
    """
    gts = ground_truths if isinstance(ground_truths, (list, tuple)) else [ground_truths]
    seg = _labels(segmentation, "segmentation")
    _, best_gt, areas = _best_overlaps(seg, [_labels(g, "ground_truth") for g in gts])
    total = sum(float(a.sum()) for a in areas)
    return sum(float((a * b).sum()) for a, b in zip(areas, best_gt)) / total if total else 0.0


@dataclass
class RegionCounts:
    """Per-threshold region results of one image (BSDS ``_ev2``, ``_ev3`` and ``_ev4`` files)."""

    thresholds: np.ndarray
    cnt_r: np.ndarray
    sum_r: np.ndarray
    cnt_p: np.ndarray
    sum_p: np.ndarray
    pri: np.ndarray
    voi: np.ndarray
    best_cnt_r: float
    best_sum_r: float


def ucm_to_segmentations(ucm2: Any, thresholds: Any) -> list[np.ndarray]:
    """Segmentations of a hierarchy at double resolution (BSDS ``ucm2``), one per threshold:
    8-connected regions of ``ucm2 <= t`` sampled at ``[1::2, 1::2]``."""
    from scipy import ndimage

    ucm = np.asarray(ucm2, dtype=np.float64)
    if ucm.ndim != 2 or ucm.shape[0] < 3 or ucm.shape[1] < 3:
        raise expected("ucm2", "a 2D hierarchy at double resolution (2H + 1, 2W + 1)", ucm)
    structure = np.ones((3, 3), dtype=bool)
    return [ndimage.label(ucm <= t, structure=structure)[0][1::2, 1::2] for t in thresholds]


def region_counts(segmentations: Sequence[Any], ground_truths: Sequence[Any],
                  thresholds: Any = None) -> RegionCounts:
    """Region counts of one image for each segmentation (threshold) of a hierarchy.

    Parameters
    ----------
    segmentations : list of (H, W) label images
        One per threshold (e.g. from :func:`ucm_to_segmentations`).
    ground_truths : list of (H, W) label images
        Every human annotator's segmentation (labels from 1).
    thresholds : sequence of float, optional
        The threshold of each segmentation (default 1, 2, ...).

    Returns
    -------
    RegionCounts
    """
    gts = [_labels(g, "ground_truth") for g in ground_truths]
    if not gts:
        raise expected("ground_truths", "at least one human segmentation", ground_truths)
    n = len(segmentations)
    values = np.arange(1, n + 1, dtype=float) if thresholds is None else np.asarray(thresholds, float)
    out = np.zeros((6, n))
    best_gt: list[np.ndarray] | None = None
    areas: list[np.ndarray] = []
    for t, segmentation in enumerate(segmentations):
        seg = _labels(segmentation, "segmentation")
        best_seg, matches_gt, areas = _best_overlaps(seg, gts)
        seg_area = np.bincount(seg.ravel())[1:]
        out[0, t] = sum(float((a * b).sum()) for a, b in zip(areas, matches_gt))
        out[1, t] = sum(float(a.sum()) for a in areas)
        out[2, t] = float((seg_area * best_seg[: seg_area.size]).sum())
        out[3, t] = float(seg_area.sum())
        tables = [contingency(seg, gt) for gt in gts]
        out[4, t] = np.mean([rand_index(tab) for tab in tables])
        out[5, t] = np.mean([variation_of_information(tab) for tab in tables])
        best_gt = matches_gt if best_gt is None else [np.maximum(a, b) for a, b in zip(best_gt, matches_gt)]
    best_cnt = sum(float((a * b).sum()) for a, b in zip(areas, best_gt or []))
    best_sum = sum(float(a.sum()) for a in areas)
    return RegionCounts(values, *out, best_cnt_r=best_cnt, best_sum_r=best_sum)


def summarize_regions(per_image: Sequence[RegionCounts]) -> dict[str, Any]:
    """Covering, PRI and VOI over images, as BSDS ``collect_eval_reg``.

    Returns
    -------
    dict
        ``{"covering": {"ods", "ois", "best", "threshold"}, "pri": {"ods", "ois", "threshold"},
        "voi": {"ods", "ois", "threshold"}}`` (VOI: lower is better).
    """
    if not per_image:
        raise expected("per_image", "at least one image's counts", per_image)
    thresholds = per_image[0].thresholds
    cnt_r = sum(c.cnt_r for c in per_image)
    sum_r = sum(c.sum_r for c in per_image)
    recall = cnt_r / (sum_r + (sum_r == 0))
    ods = int(np.argmax(recall))
    best_cnt = best_sum = 0.0
    for c in per_image:
        r = c.cnt_r / (c.sum_r + (c.sum_r == 0))
        k = int(np.argmax(r))
        best_cnt += c.cnt_r[k]
        best_sum += c.sum_r[k]
    total_best_cnt = sum(c.best_cnt_r for c in per_image)
    total_best_sum = sum(c.best_sum_r for c in per_image)
    pri = np.mean([c.pri for c in per_image], axis=0)
    voi = np.mean([c.voi for c in per_image], axis=0)
    k_pri, k_voi = int(np.argmax(pri)), int(np.argmin(voi))
    return {
        "covering": {"ods": float(recall[ods]), "ois": float(best_cnt / best_sum) if best_sum else 0.0,
                     "best": total_best_cnt / total_best_sum if total_best_sum else 0.0,
                     "threshold": float(thresholds[ods])},
        "pri": {"ods": float(pri[k_pri]), "ois": float(np.mean([c.pri.max() for c in per_image])),
                "threshold": float(thresholds[k_pri])},
        "voi": {"ods": float(voi[k_voi]), "ois": float(np.mean([c.voi.min() for c in per_image])),
                "threshold": float(thresholds[k_voi])},
    }
