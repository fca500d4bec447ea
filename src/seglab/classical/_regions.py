"""Shared helpers that turn a foreground mask or an edge map into a label image.

Private to :mod:`seglab.classical`: the threshold methods build their one-region result with
:func:`foreground_segmentation`, the edge methods tile the image with :func:`regions_from_edges`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from seglab.core.segmentation import Segmentation

__all__ = ["FOREGROUND_NAMES", "foreground_segmentation", "regions_from_edges"]

#: ``class_names`` of every binary threshold result.
FOREGROUND_NAMES = ("background", "foreground")


def foreground_segmentation(mask: np.ndarray, meta: dict[str, Any]) -> Segmentation:
    """One region (label 1, class 1 ``"foreground"``) made of the nonzero pixels of ``mask``.

    ``mask`` is bool or a 0/1 integer array (as ``cv2.threshold(..., maxval=1, ...)`` gives);
    the region may be disconnected or empty.
    """
    labels = mask.astype(np.int32)
    return Segmentation(
        labels, class_ids=np.array([1]), class_names=FOREGROUND_NAMES, meta=meta
    )


def regions_from_edges(
    edges: np.ndarray, *, min_size: int, gray: np.ndarray | None = None, gap: int = 1
) -> np.ndarray:
    """Tile the image with the regions between the edges of a boolean edge map.

    1. Gaps of up to ``gap`` pixels in the edge map are closed (morphological closing with a
       square of side ``2 * ceil(gap / 2) + 1``: 3x3 for one-pixel gaps).
    2. The non-edge pixels are split into 4-connected components, so that a thin 8-connected
       edge line (as Canny draws them) separates the regions on its two sides.
    3. Components smaller than ``min_size`` pixels are dropped.
    4. Every pixel left over (edge pixels and dropped components) joins a kept region: grown
       ring by ring from the kept regions, each pixel takes the neighbouring region whose mean
       grey level is closest to its own (so a boundary lands where the intensity changes, not
       in the middle of a thick edge band); without ``gray``, or for what is still left after
       ``_MAX_GROW`` rings, the nearest region (Euclidean distance).

    When no component is kept (the image is all edges, or every component is smaller than
    ``min_size``) the whole image is one region.

    Parameters
    ----------
    edges : (H, W) ndarray of bool
        True on edge pixels.
    min_size : int
        Smallest region kept, in pixels.
    gray : (H, W) ndarray, optional
        Grey levels used to assign the left-over pixels.
    gap : int
        Widest gap in the edges to close first, in pixels; 0 for none.

    Returns
    -------
    labels : (H, W) ndarray of int32
        Regions ``1..N`` in raster order of their first pixel; no zeros.
    """
    edge_map = edges.astype(np.uint8)
    if gap > 0:
        side = 2 * ((gap + 1) // 2) + 1
        kernel = np.ones((side, side), np.uint8)
        edge_map = cv2.morphologyEx(edge_map, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    count, components, stats, _ = cv2.connectedComponentsWithStats(
        (edge_map == 0).astype(np.uint8), connectivity=4, ltype=cv2.CV_32S
    )
    keep = stats[:, cv2.CC_STAT_AREA] >= min_size
    keep[0] = False  # component 0 is the edge pixels
    if not keep.any():
        return np.ones(edges.shape, dtype=np.int32)
    lut = np.zeros(count, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    labels = lut[components]
    if gray is not None:
        _grow_by_similarity(labels, gray)
    unassigned = labels == 0
    if unassigned.any():
        nearest = ndimage.distance_transform_edt(unassigned, return_distances=False, return_indices=True)
        labels = labels[nearest[0], nearest[1]]
    return labels


_MAX_GROW = 64
_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _grow_by_similarity(labels: np.ndarray, gray: np.ndarray) -> None:
    """Give each unlabelled pixel (0) the adjacent label of closest mean grey level, in place.

    Ring by ring: the unlabelled pixels with a labelled 8-neighbour all take, at once, the
    neighbouring label whose mean is closest to their grey level. The unlabelled pixels are
    listed once, as flat indices into a copy padded with a ring of zeros (so neighbours need no
    bounds checks), and each ring only looks at the pixels still unlabelled.
    """
    height, width = labels.shape
    values = gray.astype(np.float64, copy=False)
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=int(flat.max()) + 1).astype(np.float64)
    sums = np.bincount(flat, weights=values.ravel(), minlength=counts.size)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    stride = width + 2
    padded = np.zeros((height + 2, stride), dtype=np.int32)
    padded[1:-1, 1:-1] = labels
    known = (padded > 0).view(np.uint8)
    rows, cols = np.nonzero(labels == 0)
    todo = (rows + 1) * stride + (cols + 1)
    todo_values = values[rows, cols]
    offsets = [dr * stride + dc for dr, dc in _OFFSETS]
    kernel = np.ones((3, 3), np.uint8)
    padded_flat, known_flat = padded.ravel(), known.ravel()
    for _ in range(_MAX_GROW):
        if todo.size == 0:
            break
        near = cv2.dilate(known, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).ravel()
        in_ring = near[todo].astype(bool)
        ring, pixel = todo[in_ring], todo_values[in_ring]
        if ring.size == 0:
            break
        best = np.zeros(ring.size, dtype=np.int32)
        best_cost = np.full(ring.size, np.inf)
        for offset in offsets:
            neighbour = padded_flat[ring + offset]
            cost = np.where(neighbour > 0, np.abs(pixel - means[neighbour]), np.inf)
            better = cost < best_cost
            best[better], best_cost[better] = neighbour[better], cost[better]
        padded_flat[ring] = best
        known_flat[ring] = 1
        todo, todo_values = todo[~in_ring], todo_values[~in_ring]
    labels[...] = padded[1:-1, 1:-1]
