"""Boundary precision / recall / F: a Python port of the BSDS500 boundary benchmark.

Machine boundary pixels are matched one-to-one to each human annotator's boundary pixels
within ``max_dist`` x the image diagonal (0.0075 in BSDS), like the benchmark's
``correspondPixels`` (a minimum-cost bipartite assignment with outlier edges). A machine pixel
counts as correct if it matches in any annotator; recall sums over every annotator. Soft
boundary maps are thresholded and thinned (``bwmorph(..., 'thin', inf)``) before matching.
Results are summed over images and summarised as ODS, OIS and AP exactly as
``collect_eval_bdry.m`` does.

Speed (per image): each human map's candidate graph is built once, as a CSR matrix from every
pixel to the human pixels within reach, and a threshold's graph is a row slice of it;
thresholds whose map does not change are not matched again; the graph is split into
connected components, one-pixel sides are settled at once, and every other component is
solved by a dense assignment only the first time it appears (solutions are cached by their
machine pixels, valid across thresholds); thinning runs on the foreground pixels only.

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

from seglab.core.errors import InputError, expected

__all__ = [
    "BoundaryCounts",
    "boundary_counts",
    "correspond_pixels",
    "fmeasure",
    "seg2bmap",
    "summarize_boundaries",
    "thin",
]

MAX_DIST = 0.0075
DENSE_LIMIT = 250_000  # cells of a component's dense cost matrix; larger ones: maximum flow


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


class _Neighbours:
    """Every pixel of an image linked to the boundary pixels of one map within ``radius``, as a
    CSR matrix (H * W, n) whose rows list their partners nearest first. Built once per human
    map; the candidate graph of any machine map is then a row slice (:meth:`graph`)."""

    def __init__(self, bmap: np.ndarray, radius: float) -> None:
        height, width = bmap.shape
        ys, xs = np.nonzero(bmap)
        self.size = ys.size
        self.cache: dict[bytes, np.ndarray] = {}  # solved components, see _assignment_matched
        ids = np.arange(ys.size)
        rows, cols, costs = [], [], []
        for dy, dx, dist in zip(*_offsets(radius)):  # offsets nearest first
            ny, nx = ys + dy, xs + dx
            inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
            rows.append(ny[inside] * width + nx[inside])
            cols.append(ids[inside])
            costs.append(np.full(int(inside.sum()), dist))
        row, col, cost = np.concatenate(rows), np.concatenate(cols), np.concatenate(costs)
        order = np.argsort(row, kind="stable")  # stable: each row keeps the nearest-first order
        indptr = np.zeros(height * width + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=height * width), out=indptr[1:])
        self.matrix = sp.csr_matrix((cost[order], col[order], indptr), shape=(height * width, ys.size))

    def graph(self, flat_pixels: np.ndarray) -> sp.csr_matrix:
        """Candidate pairs of the machine pixels at ``flat_pixels`` (rows, in that order)."""
        sub = self.matrix[flat_pixels]
        sub.has_sorted_indices = True  # keep the nearest-first order: do not let scipy re-sort
        return sub


def _candidate_pairs(bmap1: np.ndarray, bmap2: np.ndarray, radius: float) -> tuple[np.ndarray, ...]:
    """Every (pixel of bmap1, pixel of bmap2) pair within ``radius``, with its distance."""
    graph = _Neighbours(bmap2, radius).graph(np.flatnonzero(bmap1)).tocoo()
    return graph.row.astype(np.int64), graph.col.astype(np.int64), graph.data


def _max_matching(rows: np.ndarray, cols: np.ndarray, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """A maximum-cardinality matching as a unit-capacity maximum flow (Dinic's algorithm).

    Returns the matched rows and the matched columns (bool masks). Not scipy's
    ``maximum_bipartite_matching``: its depth-first phase never marks dead ends (scipy issue
    26147) and takes minutes on some of these chain-like graphs, where Dinic takes milliseconds.
    """
    from scipy.sparse.csgraph import maximum_flow

    source, sink = n1 + n2, n1 + n2 + 1
    head = np.concatenate([np.full(n1, source), rows, n1 + np.arange(n2)])
    tail = np.concatenate([np.arange(n1), n1 + cols, np.full(n2, sink)])
    network = sp.csr_matrix((np.ones(head.size, dtype=np.int32), (head, tail)), shape=(sink + 1, sink + 1))
    network.data[:] = 1  # duplicate pairs were summed: capacity 1 each
    flow = maximum_flow(network, source, sink, method="dinic").flow.tocsr()
    matched_rows = np.zeros(n1, dtype=bool)
    out = flow[source]
    matched_rows[out.indices[(out.data > 0) & (out.indices < n1)]] = True
    into = flow[:, [sink]].tocoo()
    matched_cols = np.zeros(n2, dtype=bool)
    matched_cols[into.row[(into.data > 0) & (into.row >= n1) & (into.row < n1 + n2)] - n1] = True
    return matched_rows, matched_cols


def _cardinality_matched(graph: sp.csr_matrix) -> np.ndarray:
    """Rows (machine pixels) matched by a maximum-cardinality matching."""
    if graph.nnz == 0:
        return np.zeros(graph.shape[0], dtype=bool)
    coo = graph.tocoo()
    return _max_matching(coo.row.astype(np.int64), coo.col.astype(np.int64), *graph.shape)[0]


def _cardinality_pairs(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray,
                            n1: int, n2: int) -> np.ndarray:
    """The matched rows and the matched columns (2, k; as two sets, not paired) of a
    maximum-cardinality matching, for components too large for a dense assignment (``costs``
    unused)."""
    matched_rows, matched_cols = _max_matching(rows, cols, n1, n2)
    return np.stack([np.flatnonzero(matched_rows), np.flatnonzero(matched_cols)])


def _solve_component(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Rows matched by a least-cost maximum matching of one component (dense assignment)."""
    from scipy.optimize import linear_sum_assignment

    first = np.r_[True, rows[1:] != rows[:-1]]  # rows come sorted (CSR order)
    left, li = rows[first], np.cumsum(first) - 1
    right, ri = np.unique(cols, return_inverse=True)
    if left.size * right.size > DENSE_LIMIT:
        return left[_cardinality_pairs(li, ri, costs, left.size, right.size)[0]]
    big = 1e3 * (costs.max() + 1)
    dense = np.full((left.size, right.size), big)
    dense[li, ri] = costs
    a, b = linear_sum_assignment(dense)
    return left[a[dense[a, b] < big]]


def _assignment_matched(graph: sp.csr_matrix, flat: np.ndarray, cache: dict[bytes, np.ndarray]) -> np.ndarray:
    """Machine pixels (rows) matched by a least-cost maximum matching, component by component.

    Components with one machine or one human pixel are settled at once (one pair; the nearest
    machine pixel); the others are looked up in ``cache`` (keyed by their machine pixels, valid
    for one human map: most components do not change from one threshold to the next) or
    solved with a dense assignment."""
    from scipy.sparse.csgraph import connected_components

    n1, n2 = graph.shape
    coo = graph.tocoo()
    rows, cols, costs = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    matched = np.zeros(n1, dtype=bool)
    if rows.size == 0:
        return matched
    link = sp.coo_matrix((np.ones(rows.size), (rows, cols + n1)), shape=(n1 + n2, n1 + n2))
    count, component = connected_components(link, directed=False)
    edge_component = component[rows]
    lefts = np.bincount(component[np.unique(rows)], minlength=count)
    rights = np.bincount(component[n1 + np.unique(cols)], minlength=count)
    single_left = lefts[edge_component] == 1
    matched[rows[single_left]] = True
    single_right = (rights[edge_component] == 1) & ~single_left
    if single_right.any():
        order = np.lexsort((costs[single_right], edge_component[single_right]))
        comp = edge_component[single_right][order]
        first = np.r_[True, comp[1:] != comp[:-1]]
        matched[rows[single_right][order][first]] = True
    rest = ~(single_left | (rights[edge_component] == 1))
    if not rest.any():
        return matched
    index = np.flatnonzero(rest)
    index = index[np.argsort(edge_component[index], kind="stable")]
    bounds = np.flatnonzero(np.diff(edge_component[index])) + 1
    for group in np.split(index, bounds):
        group_rows = rows[group]  # sorted: CSR order, kept by the stable sort
        key = flat[group_rows[np.r_[True, group_rows[1:] != group_rows[:-1]]]].tobytes()
        found = cache.get(key)
        if found is None:
            found = flat[_solve_component(rows[group], cols[group], costs[group])]
            cache[key] = found
        matched[np.searchsorted(flat, found)] = True
    return matched


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
        if left.size * right.size > DENSE_LIMIT:  # too big for a dense problem: cardinality only
            sub = _cardinality_pairs(li, ri, costs[group], left.size, right.size)
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
        BSDS ``correspondPixels``; ``"cardinality"`` only a maximum matching (maximum flow),
        which gives the same recall and almost the same precision. Components of the
        candidate graph whose dense cost matrix would exceed ``DENSE_LIMIT`` cells (250 000)
        always use the latter, to bound time and memory.

    Returns
    -------
    match1, match2 : (H, W) ndarray of bool
        Pixels of ``bmap1`` (resp. ``bmap2``) that found a partner.

    Examples
    --------
    >>> a = np.zeros((20, 20), bool); a[5, 2:12] = True
    >>> b = np.zeros((20, 20), bool); b[6, 4:18] = True
    >>> m1, m2 = correspond_pixels(a, b, max_dist=0.075)  # 0.075 x diagonal = 2.1 px here
    >>> int(m1.sum()), int(m2.sum())  # a's columns 3..11 each find one partner on the next row
    (9, 9)
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
        pairs = _cardinality_pairs(rows, cols, costs, n1, n2)
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


_THIN_WEIGHTS = ((-1, -1, 8), (-1, 0, 4), (-1, 1, 2), (0, -1, 16), (0, 1, 1), (1, -1, 32), (1, 0, 64),
                 (1, 1, 128))


def thin(bmap: np.ndarray) -> np.ndarray:
    """Thin a binary map to one-pixel lines (MATLAB ``bwmorph(bmap, 'thin', inf)``).

    The two-subiteration algorithm of scikit-image's ``thin`` (Guo and Hall), pixel for pixel,
    but computed on the foreground pixels only (about 5x faster on boundary maps).

    Examples
    --------
    >>> square = np.zeros((7, 7), bool); square[1:6, 2:5] = True
    >>> int(thin(square).sum())  # as skimage.morphology.thin: a 3-pixel spine
    3
    """
    from skimage.morphology._skeletonize import G123_LUT, G123P_LUT

    b = np.asarray(bmap, dtype=bool)
    if b.ndim != 2:
        raise expected("bmap", "a 2D (H, W) binary map", b)
    height, width = b.shape
    padded = np.zeros((height + 2, width + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = b
    flat = padded.ravel()
    pixels = np.flatnonzero(flat)
    shifts = [(dy * (width + 2) + dx, np.uint8(weight)) for dy, dx, weight in _THIN_WEIGHTS]
    tables = (np.asarray(G123_LUT, dtype=bool), np.asarray(G123P_LUT, dtype=bool))
    changed = True
    while changed:
        changed = False
        for table in tables:
            code = np.zeros(pixels.size, dtype=np.uint8)
            for shift, weight in shifts:
                code |= flat[pixels + shift] * weight
            delete = table[code]
            if delete.any():
                flat[pixels[delete]] = 0
                pixels = pixels[~delete]
                changed = True
    return padded[1:-1, 1:-1].astype(bool)


@dataclass
class BoundaryCounts:
    """Per-threshold counts of one image: ``cnt_r`` matched human pixels out of ``sum_r``,
    ``cnt_p`` matched machine pixels out of ``sum_p`` (the BSDS ``_ev1.txt`` file)."""

    thresholds: np.ndarray
    cnt_r: np.ndarray
    sum_r: np.ndarray
    cnt_p: np.ndarray
    sum_p: np.ndarray


def _match_counts(bmap: np.ndarray, neighbours: Sequence[_Neighbours], method: str) -> tuple[int, int, int, int]:
    """(matched human, human, matched machine, machine) pixel counts of one machine map."""
    flat = np.flatnonzero(bmap)
    matched_machine = np.zeros(flat.size, dtype=bool)
    cnt_r = sum_r = 0
    for human in neighbours:
        sum_r += human.size
        graph = human.graph(flat)
        if graph.nnz == 0:
            continue
        if method == "cardinality":
            matched = _cardinality_matched(graph)
        else:
            matched = _assignment_matched(graph, flat, human.cache)
        matched_machine |= matched
        cnt_r += int(matched.sum())
    return cnt_r, sum_r, int(matched_machine.sum()), int(flat.size)


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
    if method not in ("assignment", "cardinality"):
        raise InputError(f"method must be one of 'assignment', 'cardinality', got {method!r}")
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
    radius = max_dist * float(np.hypot(*shape))
    neighbours = [_Neighbours(g, radius) for g in gts]
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
        result = _match_counts(bmap, neighbours, method)
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
