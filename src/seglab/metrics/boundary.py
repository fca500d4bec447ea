"""Boundary precision / recall / F: a Python port of the BSDS500 boundary benchmark.

Machine boundary pixels are matched one-to-one to each human annotator's boundary pixels
within ``max_dist`` x the image diagonal (0.0075 in BSDS), like the benchmark's
``correspondPixels`` (a minimum-cost bipartite assignment with outlier edges). A machine pixel
counts as correct if it matches in any annotator; recall sums over every annotator. Soft
boundary maps are thresholded and thinned (``bwmorph(..., 'thin', inf)``) before matching.
Results are summed over images and summarised as ODS, OIS and AP exactly as
``collect_eval_bdry.m`` does.

References
----------
D. Martin, C. Fowlkes, J. Malik, "Learning to detect natural image boundaries using local
brightness, color, and texture cues", TPAMI 2004. P. Arbelaez, M. Maire, C. Fowlkes, J. Malik,
"Contour detection and hierarchical image segmentation", TPAMI 2011.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_bipartite_matching

from seglab.core.errors import InputError, expected

__all__ = [
    "correspond_pixels",
    "seg2bmap",
    "thin",
    "BoundaryCounts",
    "boundary_counts",
    "summarize_boundaries",
    "fmeasure",
]

MAX_DIST = 0.0075
DENSE_LIMIT = 4_000_000  # cells of one component's dense cost matrix (32 MB)


def fmeasure(recall: Any, precision: Any) -> Any:
    """Harmonic mean of recall and precision (0 where both are 0), as in the BSDS code."""
    r, p = np.asarray(recall, float), np.asarray(precision, float)
    total = r + p
    return 2 * p * r / (total + (total == 0))


@lru_cache(maxsize=32)
def _offsets(radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reach = int(np.ceil(radius))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    dist = np.hypot(dy, dx)
    keep = dist <= radius
    order = np.argsort(dist[keep], kind="stable")
    return dy[keep][order], dx[keep][order], dist[keep][order]


def _candidate_pairs(bmap1: np.ndarray, bmap2: np.ndarray, radius: float) -> tuple[np.ndarray, ...]:
    """Every (pixel of bmap1, pixel of bmap2) pair within ``radius``, with its distance."""
    height, width = bmap1.shape
    ys, xs = np.nonzero(bmap1)
    index2 = np.full(bmap2.shape, -1, dtype=np.int64)
    index2[bmap2] = np.arange(int(bmap2.sum()))
    rows, cols, costs = [], [], []
    ids1 = np.arange(ys.size)
    for dy, dx, dist in zip(*_offsets(radius)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        target = np.full(ys.size, -1, dtype=np.int64)
        target[inside] = index2[ny[inside], nx[inside]]
        hit = target >= 0
        rows.append(ids1[hit])
        cols.append(target[hit])
        costs.append(np.full(int(hit.sum()), dist))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(costs)


def _nearest_first_matching(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray,
                            n1: int, n2: int) -> np.ndarray:
    """A maximum matching (Hopcroft-Karp) whose search tries each pixel's nearest partners first."""
    order = np.lexsort((costs, rows))
    indptr = np.zeros(n1 + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n1), out=indptr[1:])
    graph = sp.csr_matrix((np.ones(rows.size), cols[order], indptr), shape=(n1, n2))
    graph.has_sorted_indices = True  # keep the nearest-first order: do not let scipy re-sort
    partner = maximum_bipartite_matching(graph, perm_type="column")
    found = partner >= 0
    return np.stack([np.flatnonzero(found), partner[found]])


def _min_cost_matching(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray,
                       n1: int, n2: int) -> np.ndarray:
    """A maximum matching of least total distance, solved per connected component."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse.csgraph import connected_components

    graph = sp.coo_matrix((np.ones(rows.size), (rows, cols + n1)), shape=(n1 + n2, n1 + n2))
    _, component = connected_components(graph, directed=False)
    edge_component = component[rows]
    order = np.argsort(edge_component, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_component[order])) + 1
    pairs = []
    for group in np.split(order, bounds):
        left, li = np.unique(rows[group], return_inverse=True)
        right, ri = np.unique(cols[group], return_inverse=True)
        if left.size * right.size > DENSE_LIMIT:  # too big for a dense problem: nearest first
            sub = _nearest_first_matching(li, ri, costs[group], left.size, right.size)
            pairs.append(np.stack([left[sub[0]], right[sub[1]]]))
            continue
        big = 1e3 * (costs.max() + 1)
        dense = np.full((left.size, right.size), big)
        dense[li, ri] = costs[group]
        a, b = linear_sum_assignment(dense)
        real = dense[a, b] < big
        pairs.append(np.stack([left[a[real]], right[b[real]]]))
    return np.concatenate(pairs, axis=1)


def correspond_pixels(
    bmap1: Any,
    bmap2: Any,
    *,
    max_dist: float = MAX_DIST,
    method: str = "assignment",
) -> tuple[np.ndarray, np.ndarray]:
    """Match boundary pixels of two maps one to one within ``max_dist`` x the diagonal.

    Parameters
    ----------
    bmap1, bmap2 : (H, W) ndarray of bool
        Boundary maps (machine and human in the benchmark).
    max_dist : float
        Tolerance as a fraction of the image diagonal (0.0075 in BSDS).
    method : {"assignment", "cardinality"}
        ``"assignment"`` (default) finds a maximum matching of least total distance like the
        BSDS ``correspondPixels``; ``"cardinality"`` only a maximum matching (Hopcroft-Karp),
        which gives the same recall and almost the same precision (the search tries nearest
        partners first). Components of the candidate graph larger than 4 million pairs always
        use the latter, to bound memory.

    Returns
    -------
    match1, match2 : (H, W) ndarray of bool
        Pixels of ``bmap1`` (resp. ``bmap2``) that found a partner.

    Examples
    --------
    >>> a = np.zeros((20, 20), bool); a[5, 2:12] = True
    >>> b = np.zeros((20, 20), bool); b[6, 4:18] = True
    >>> m1, m2 = correspond_pixels(a, b)
    >>> int(m1.sum()), int(m2.sum())
    (10, 10)
    """
    b1, b2 = np.asarray(bmap1) > 0, np.asarray(bmap2) > 0
    if b1.ndim != 2:
        raise expected("bmap1", "a 2D (H, W) boundary map", b1)
    if b1.shape != b2.shape:
        raise InputError(f"bmap2 must have shape {b1.shape} like bmap1, got {b2.shape}")
    if method not in ("assignment", "cardinality"):
        raise InputError(f"method must be one of 'assignment', 'cardinality', got {method!r}")
    radius = max_dist * float(np.hypot(*b1.shape))
    match1, match2 = np.zeros_like(b1), np.zeros_like(b2)
    n1, n2 = int(b1.sum()), int(b2.sum())
    if n1 == 0 or n2 == 0:
        return match1, match2
    rows, cols, costs = _candidate_pairs(b1, b2, radius)
    if rows.size == 0:
        return match1, match2
    if method == "cardinality":
        pairs = _nearest_first_matching(rows, cols, costs, n1, n2)
    else:
        pairs = _min_cost_matching(rows, cols, costs, n1, n2)
    coords1, coords2 = np.flatnonzero(b1), np.flatnonzero(b2)
    match1.flat[coords1[pairs[0]]] = True
    match2.flat[coords2[pairs[1]]] = True
    return match1, match2


def seg2bmap(labels: Any) -> np.ndarray:
    """Boundary map of a label image, as BSDS ``seg2bmap``: a pixel whose east, south or
    south-east neighbour has another label (one pixel thick, on the top-left side).

    Examples
    --------
    >>> seg2bmap(np.array([[1, 1, 2], [1, 1, 2]])).astype(int).tolist()
    [[0, 1, 0], [0, 1, 0]]
    """
    seg = np.asarray(labels)
    if seg.ndim != 2:
        raise expected("labels", "a 2D (H, W) label image", seg)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg != east) | (seg != south) | (seg != south_east)
    bmap[-1, :] = seg[-1, :] != east[-1, :]
    bmap[:, -1] = seg[:, -1] != south[:, -1]
    bmap[-1, -1] = False
    return bmap


def thin(bmap: np.ndarray) -> np.ndarray:
    """Thin a binary map to one-pixel lines (MATLAB ``bwmorph(bmap, 'thin', inf)``)."""
    from skimage.morphology import thin as _thin

    return _thin(np.asarray(bmap, dtype=bool))


@dataclass
class BoundaryCounts:
    """Per-threshold counts of one image: ``cnt_r`` matched human pixels out of ``sum_r``,
    ``cnt_p`` matched machine pixels out of ``sum_p`` (the BSDS ``_ev1.txt`` file)."""

    thresholds: np.ndarray
    cnt_r: np.ndarray
    sum_r: np.ndarray
    cnt_p: np.ndarray
    sum_p: np.ndarray


def _match_counts(bmap: np.ndarray, gt_boundaries: Sequence[np.ndarray], max_dist: float,
                  method: str) -> tuple[int, int, int, int]:
    matched_machine = np.zeros(bmap.shape, dtype=bool)
    cnt_r = sum_r = 0
    for gt in gt_boundaries:
        match1, match2 = correspond_pixels(bmap, gt, max_dist=max_dist, method=method)
        matched_machine |= match1
        sum_r += int(gt.sum())
        cnt_r += int(match2.sum())
    return cnt_r, sum_r, int(matched_machine.sum()), int(bmap.sum())


def boundary_counts(
    prediction: Any,
    gt_boundaries: Sequence[Any],
    *,
    thresholds: Any = 99,
    max_dist: float = MAX_DIST,
    thin_boundaries: bool = True,
    method: str = "assignment",
) -> BoundaryCounts:
    """Boundary counts of one image over thresholds (BSDS ``evaluation_bdry_image``).

    Parameters
    ----------
    prediction : (H, W) ndarray of float in [0, 1], or a list of (H, W) label images
        A soft boundary map (thresholded with ``>=``), or segmentations (one "threshold" each,
        turned into boundaries with :func:`seg2bmap`).
    gt_boundaries : list of (H, W) ndarray
        Boundary maps of every human annotator.
    thresholds : int or sequence of float
        Number of thresholds (``linspace(1/(n+1), n/(n+1), n)`` as in BSDS) or the values.
    max_dist : float
        Matching tolerance as a fraction of the image diagonal.
    thin_boundaries : bool
        Thin each thresholded map first (BSDS does).
    method : {"assignment", "cardinality"}
        See :func:`correspond_pixels`.

    Returns
    -------
    BoundaryCounts
    """
    gts = [np.asarray(g) > 0 for g in gt_boundaries]
    if not gts:
        raise expected("gt_boundaries", "at least one human boundary map", gt_boundaries)
    if isinstance(prediction, (list, tuple)):
        maps = [seg2bmap(s) for s in prediction]
        values = np.arange(1, len(maps) + 1, dtype=float)
    else:
        pb = np.asarray(prediction, dtype=np.float64)
        values = _threshold_values(thresholds)
        maps = None
    shape = gts[0].shape
    counts = np.zeros((4, values.size), dtype=np.int64)
    previous: tuple[int, tuple[int, int, int, int]] | None = None
    for t, value in enumerate(values):
        bmap = maps[t] if maps is not None else pb >= value
        if bmap.shape != shape:
            raise InputError(f"prediction must have shape {shape} like the ground truth, got {bmap.shape}")
        key = int(bmap.sum())
        if maps is None and previous is not None and previous[0] == key:
            counts[:, t] = previous[1]
            continue
        if thin_boundaries:
            bmap = thin(bmap)
        result = _match_counts(bmap, gts, max_dist, method)
        counts[:, t] = result
        previous = (key, result)
    return BoundaryCounts(values, counts[0], counts[1], counts[2], counts[3])


def _threshold_values(thresholds: Any) -> np.ndarray:
    if isinstance(thresholds, (int, np.integer)):
        n = int(thresholds)
        if n < 1:
            raise expected("thresholds", "an integer >= 1 or a list of values", thresholds)
        return np.linspace(1.0 / (n + 1), 1.0 - 1.0 / (n + 1), n)
    return np.asarray(thresholds, dtype=np.float64).ravel()


def _max_f(thresholds: np.ndarray, recall: np.ndarray, precision: np.ndarray) -> tuple[float, ...]:
    """Best F along the PR curve, interpolating linearly between thresholds (BSDS ``maxF``)."""
    best = (thresholds[0], recall[0], precision[0], float(fmeasure(recall[0], precision[0])))
    steps = np.linspace(0, 1, 100)
    for i in range(1, thresholds.size):
        t = thresholds[i] * steps + thresholds[i - 1] * (1 - steps)
        r = recall[i] * steps + recall[i - 1] * (1 - steps)
        p = precision[i] * steps + precision[i - 1] * (1 - steps)
        f = fmeasure(r, p)
        k = int(np.argmax(f))
        if f[k] > best[3]:
            best = (t[k], r[k], p[k], float(f[k]))
    return tuple(float(v) for v in best)


def _ratio(count: np.ndarray, total: np.ndarray) -> np.ndarray:
    total = np.asarray(total, dtype=np.float64)
    return np.asarray(count, dtype=np.float64) / (total + (total == 0))


def summarize_boundaries(per_image: Sequence[BoundaryCounts]) -> dict[str, Any]:
    """ODS, OIS and AP over images, as BSDS ``collect_eval_bdry``.

    Returns
    -------
    dict
        ``{"ods": {"threshold", "recall", "precision", "f"}, "ois": {"recall", "precision",
        "f"}, "ap", "curve": {"threshold", "recall", "precision", "f"}, "images": [...]}``.
    """
    if not per_image:
        raise expected("per_image", "at least one image's counts", per_image)
    thresholds = per_image[0].thresholds
    totals = np.zeros((4, thresholds.size))
    best = np.zeros(4)
    images = []
    for counts in per_image:
        stack = np.stack([counts.cnt_r, counts.sum_r, counts.cnt_p, counts.sum_p]).astype(float)
        totals += stack
        r, p = _ratio(stack[0], stack[1]), _ratio(stack[2], stack[3])
        t, br, bp, bf = _max_f(thresholds, r, p)
        images.append({"threshold": t, "recall": br, "precision": bp, "f": bf})
        best += stack[:, int(np.argmax(fmeasure(r, p)))]
    recall, precision = _ratio(totals[0], totals[1]), _ratio(totals[2], totals[3])
    t, r, p, f = _max_f(thresholds, recall, precision)
    r_ois, p_ois = float(_ratio(best[0], best[1])), float(_ratio(best[2], best[3]))
    return {
        "ods": {"threshold": t, "recall": r, "precision": p, "f": f},
        "ois": {"recall": r_ois, "precision": p_ois, "f": float(fmeasure(r_ois, p_ois))},
        "ap": _average_precision(recall, precision),
        "curve": {"threshold": thresholds.tolist(), "recall": recall.tolist(),
                  "precision": precision.tolist(), "f": fmeasure(recall, precision).tolist()},
        "images": images,
    }


def _average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the PR curve sampled at recall 0, 0.01, ..., 1 (0 outside the curve's range)."""
    unique_r, first = np.unique(recall, return_index=True)
    if unique_r.size < 2:
        return 0.0
    unique_p = precision[first]
    grid = np.linspace(0, 1, 101)
    interp = np.interp(grid, unique_r, unique_p, left=np.nan, right=np.nan)
    return float(np.nansum(interp) * 0.01)
