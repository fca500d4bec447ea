"""Clustering methods: k-means on colour (CIE Lab) and mean-shift regions.

Colours are handled in 8-bit units whatever the input dtype (uint16 divided by 257, floats in
[0, 1] multiplied by 255), so a radius means the same contrast on every image.
"""

from __future__ import annotations

import math
import warnings

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from skimage import measure

from seglab.core.errors import InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_image, check_float, check_int, to_float01, to_rgb, to_uint8

__all__ = ["kmeans", "meanshift"]


# ---------------------------------------------------------------------------- k-means
@register("kmeans", kind="cluster",
          bounds={"k": (2, 64), "sample": (100, 1_000_000)})
def kmeans(
    image: np.ndarray,
    *,
    k: int = 4,
    position_weight: float = 0.0,
    sample: int = 20000,
    seed: int = 0,
) -> Segmentation:
    """Cluster pixel colours in CIE Lab with k-means; one region per cluster.

    The centres are fitted (OpenCV ``cv2.kmeans``, k-means++ start, 3 attempts) on ``sample``
    randomly chosen pixels, then every pixel is assigned to its nearest centre, which is far
    faster than fitting on all pixels and gives nearly the same centres. Regions may be
    disconnected (use :meth:`Segmentation.split_connected` for one region per component).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype. Grey images cluster on lightness L only.
    k : int
        Number of clusters, >= 2.
    position_weight : float
        Weight of pixel position against colour: 0 = colour only, about 0.5-1 = compact regions.
        The position (row, col) is added as features scaled so that crossing the longer
        image side counts ``position_weight * 100`` Lab units (L runs 0..100).
    sample : int
        Pixels used to fit the centres (all pixels when the image has fewer); at least ``k``.
    seed : int
        Seed of the pixel sample and of the k-means++ start: equal seeds give equal results.

    Returns
    -------
    Segmentation
        Regions ordered by the lightness of their centre (darkest first, ties by a then b),
        ``class_ids`` = region id (cluster index + 1) and ``meta["centers_lab"]`` holding the
        (L, a, b) centre of each region. Fewer than ``k`` regions (with a warning) when some
        clusters end up empty, e.g. an image with fewer than ``k`` distinct colours.

    Raises
    ------
    InputError
        ``k < 2``, ``k`` above the number of pixels, ``sample < k``, a negative
        ``position_weight`` or a negative ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((10, 10), np.uint8); image[:, 5:] = 200
    >>> seg = kmeans(image, k=2)
    >>> seg.labels[0].tolist()
    [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    """
    pixels = as_image(image)
    k = check_int("k", k, minimum=2)
    position_weight = check_float("position_weight", position_weight, minimum=0.0)
    sample = check_int("sample", sample, minimum=k)
    seed = check_int("seed", seed, minimum=0)
    features, lab_dims = _features(pixels, position_weight)
    count = features.shape[0]
    if count < k:
        raise InputError(f"k must be at most the number of pixels {count}, got {k}")
    rng = np.random.default_rng(seed)
    fit = features if sample >= count else features[rng.choice(count, size=sample, replace=False)]
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-3)
    _, _, centers = cv2.kmeans(fit, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    nearest = _nearest(features, centers)
    lab = centers[:, :lab_dims]
    order = np.lexsort(tuple(lab[:, i] for i in reversed(range(lab_dims))))
    used = np.bincount(nearest, minlength=k)[order] > 0
    order = order[used]
    if order.size < k:
        message = f"k-means found only {order.size} non-empty clusters of k={k}"
        warnings.warn(message, UserWarning, stacklevel=2)
    lut = np.zeros(k, dtype=np.int32)
    lut[order] = np.arange(1, order.size + 1, dtype=np.int32)
    labels = lut[nearest].reshape(pixels.shape[:2])
    centers_lab = np.round(lab[order].astype(np.float64), 3)
    return Segmentation(
        labels,
        class_ids=np.arange(1, order.size + 1),
        meta={"method": "kmeans", "centers_lab": centers_lab.tolist()},
    )


def _features(pixels: np.ndarray, position_weight: float) -> tuple[np.ndarray, int]:
    """(H*W, D) float32 features: Lab (or L for grey), then scaled (row, col) if asked."""
    rgb = to_float01(to_rgb(pixels))
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)
    lab_dims = 1 if pixels.ndim == 2 else 3
    columns = [lab.reshape(-1, 3)[:, :lab_dims]]
    if position_weight > 0:
        height, width = pixels.shape[:2]
        scale = np.float32(position_weight * 100.0 / max(height, width))
        rows, cols = np.indices((height, width), dtype=np.float32)
        columns.append(np.stack([rows.ravel() * scale, cols.ravel() * scale], axis=1))
    if len(columns) == 1:
        return np.ascontiguousarray(columns[0]), lab_dims
    return np.ascontiguousarray(np.concatenate(columns, axis=1)), lab_dims


def _nearest(features: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each feature row (squared Euclidean distance)."""
    centers = np.ascontiguousarray(centers, dtype=np.float32)
    scores = cv2.gemm(features, centers, -2.0, None, 0.0, flags=cv2.GEMM_2_T)  # much faster than @ here
    scores += (centers * centers).sum(axis=1)
    return scores.argmin(axis=1)


# ---------------------------------------------------------------------------- mean shift
@register("meanshift", kind="cluster",
          bounds={"spatial_radius": (1, 64), "color_radius": (1, 128)})
def meanshift(
    image: np.ndarray,
    *,
    spatial_radius: float = 10.0,
    color_radius: float = 20.0,
    min_size: int = 50,
    scale: float = 0.5,
) -> Segmentation:
    """Mean-shift segmentation: filter, group equal colours into regions, merge small ones.

    1. ``cv2.pyrMeanShiftFiltering`` moves every pixel's colour to the mode of its
       joint spatial-colour neighbourhood (radii ``spatial_radius`` pixels and
       ``color_radius`` 8-bit RGB units). It runs on the image resized by ``scale`` with
       the spatial radius scaled alike, so the window covers the same part of the image;
       its cost falls as ``scale ** 4`` (0.5: about 15x faster than at full resolution).
    2. Neighbouring pixels (8-connected) whose filtered colours differ by at most
       ``color_radius / 2`` (Euclidean, RGB) are grouped into one region, so pixels that
       converged to the same mode join even when their colours differ by a unit or two.
    3. Regions smaller than ``min_size`` pixels are merged, in rounds, into the adjacent
       region whose mean filtered colour is closest, until none is left (or a small region
       has no neighbour, e.g. a tiny image).
    4. With ``scale < 1`` the region image is enlarged back to the image's size (nearest
       neighbour), so boundaries are placed to within ``1 / scale`` pixels.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype (converted to 8-bit RGB).
    spatial_radius : float
        Spatial window radius in pixels, > 0.
    color_radius : float
        Colour window radius in 8-bit RGB units, > 0.
    min_size : int
        Smallest region in pixels (of the full-size image); 1 keeps every region.
    scale : float
        Resolution of the filtering and grouping, 0 < scale <= 1; 1 filters at full
        resolution (slowest, boundaries exact to the pixel). Images are never shrunk below
        64 pixels on a side.

    Returns
    -------
    Segmentation
        Connected regions numbered in raster order of their first pixel; every pixel is in one.

    Raises
    ------
    InputError
        A radius <= 0, ``min_size < 1`` or ``scale`` outside (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20, 3), np.uint8); image[:, 10:] = (200, 40, 40)
    >>> meanshift(image).areas.tolist()
    [200, 200]
    """
    pixels = as_image(image)
    spatial_radius = check_float("spatial_radius", spatial_radius, minimum=0.0, exclusive_minimum=True)
    color_radius = check_float("color_radius", color_radius, minimum=0.0, exclusive_minimum=True)
    min_size = check_int("min_size", min_size, minimum=1)
    scale = check_float("scale", scale, minimum=0.0, exclusive_minimum=True, maximum=1.0)
    rgb = np.ascontiguousarray(to_rgb(to_uint8(pixels)))
    height, width = rgb.shape[:2]
    factor = min(1.0, max(scale, 64 / min(height, width)))
    small = rgb
    if factor < 1.0:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        factor = small.shape[0] * small.shape[1] / (height * width)  # area ratio actually used
    filtered = cv2.pyrMeanShiftFiltering(small, spatial_radius * factor ** 0.5, color_radius, maxLevel=0)
    colours = filtered.reshape(-1, 3).astype(np.float32)
    labels = _group_colours(filtered, color_radius / 2.0)
    if min_size > 1:
        # a small-image region of a pixels stands for a / factor full-size pixels
        labels = _merge_small(labels, colours, max(1, math.ceil(min_size * factor - 1e-9)))
    if labels.shape != (height, width):
        labels = _enlarge(labels, height, width)
    return Segmentation(labels, meta={"method": "meanshift", "scale": round(factor ** 0.5, 4)})


def _enlarge(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour enlargement; every source row and column appears, in order, so regions
    stay connected and keep their raster order."""
    rows = np.minimum(((np.arange(height) + 0.5) * labels.shape[0] / height).astype(np.intp), labels.shape[0] - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * labels.shape[1] / width).astype(np.intp), labels.shape[1] - 1)
    return np.ascontiguousarray(labels[rows][:, cols])


def _group_colours(filtered: np.ndarray, limit: float) -> np.ndarray:
    """Connected components of the graph joining 8-neighbours with colour distance <= limit.

    Equal colours are labelled first (fast), then touching components with close colours
    are joined, which equals grouping the pixel graph directly. Labels follow the raster
    order of each region's first pixel.
    """
    codes = filtered.astype(np.int32)
    codes = (codes[:, :, 0] << 16) | (codes[:, :, 1] << 8) | codes[:, :, 2]
    flat = measure.label(codes, background=-1, connectivity=2)
    n = int(flat.max())
    colour = np.zeros((n + 1, 3), dtype=np.float32)
    colour[flat.ravel()] = filtered.reshape(-1, 3)
    a, b = _adjacent_pairs(flat, diagonal=True)
    diff = colour[a] - colour[b]
    close = (diff * diff).sum(axis=1) <= np.float32(limit * limit)
    edges = (np.ones(int(close.sum()), np.int8), (a[close], b[close]))
    graph = sparse.coo_matrix(edges, shape=(n + 1, n + 1))
    # components are numbered by their smallest node, i.e. in raster order; node 0 is unused
    _, component = csgraph.connected_components(graph, directed=False)
    return component.astype(np.int32)[flat]


def _merge_small(labels: np.ndarray, colours: np.ndarray, min_size: int) -> np.ndarray:
    """Merge regions under ``min_size`` into their most similar neighbour; labels stay 1..N."""
    while True:
        n = int(labels.max())
        flat = labels.ravel()
        areas = np.bincount(flat, minlength=n + 1).astype(np.float64)
        small = areas < min_size
        small[0] = False
        if not small.any() or n < 2:
            return labels
        sums = [np.bincount(flat, weights=colours[:, c], minlength=n + 1) for c in range(3)]
        means = np.stack(sums, axis=1)
        means /= np.maximum(areas, 1)[:, None]
        a, b = _adjacent_pairs(labels)
        pairs = np.concatenate([np.stack([a, b], 1), np.stack([b, a], 1)])
        pairs = pairs[small[pairs[:, 0]]]
        if pairs.size == 0:
            return labels
        cost = ((means[pairs[:, 0]] - means[pairs[:, 1]]) ** 2).sum(axis=1)
        order = np.lexsort((pairs[:, 1], cost, pairs[:, 0]))  # by region, then cost, then id
        pairs = pairs[order]
        first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
        chosen = pairs[first]
        graph = sparse.coo_matrix((np.ones(len(chosen)), (chosen[:, 0], chosen[:, 1])), shape=(n + 1, n + 1))
        _, component = csgraph.connected_components(graph, directed=False)
        # each merged group takes the smallest old label in it, then renumber 1..M in that order
        smallest = np.full(component.max() + 1, n + 1)
        np.minimum.at(smallest, component[1:], np.arange(1, n + 1))
        target = smallest[component]
        target[0] = 0
        present = np.zeros(n + 2, dtype=bool)
        present[target] = True
        dense = (np.cumsum(present) - 1).astype(np.int32)
        labels = dense[target][labels]


def _adjacent_pairs(labels: np.ndarray, diagonal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs ``(a, b)``, ``a < b``, of labels that touch (4-neighbours, or 8 with diagonal)."""
    height, width = labels.shape
    offsets = ((0, 1), (1, 0), (1, 1), (1, -1)) if diagonal else ((0, 1), (1, 0))
    firsts, seconds = [], []
    for dr, dc in offsets:
        first = labels[: height - dr, max(-dc, 0) : width - max(dc, 0)]
        second = labels[dr:, max(dc, 0) : width + min(dc, 0)]
        differ = first != second
        firsts.append(first[differ])
        seconds.append(second[differ])
    a, b = np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)
    base = int(labels.max()) + 1
    keys = np.sort(np.minimum(a, b) * base + np.maximum(a, b))
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys  # np.unique is far slower
    return keys // base, keys % base
