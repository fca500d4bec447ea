"""Per-tile work and the seam stitching: union-find (graph components) over label pairs along the seams."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seglab.tiling._global import Tile
from seglab.tiling._io import LazyImage, label_dtype, open_image

__all__ = ["TilePlan", "TileResult", "merge_tables", "run_tile"]

_BAND = 4  # pixels each side of a seam compared between neighbouring tiles (regions mode)


@dataclass(frozen=True)
class TilePlan:
    """What each tile runs: a method with fixed parameters, and how tiles are joined.

    ``mode``: ``"pixel"`` keeps each tile's labels (pixel-wise methods, exact); ``"components"``
    splits them into connected components joined across seams; ``"regions"`` joins the regions
    of neighbouring tiles that cover the same pixels in their overlap.
    """

    method: str
    params: dict[str, Any]
    mode: str
    halo: int


@dataclass
class TileResult:
    tile: Tile
    labels: np.ndarray                       # core labels (local ids for components / regions)
    count: int = 0                           # local ids 1..count
    first: np.ndarray | None = None          # (count,) global raster index of each id's first core pixel
    classes: np.ndarray | None = None        # (count + 1,) class of each local id (components)
    bands: dict[str, np.ndarray] = field(default_factory=dict)  # seam strips, see _bands
    class_names: tuple[str, ...] = ()        # what the tile's method called its classes


def run_tile(source: Any, tile: Tile, plan: TilePlan, width: int) -> TileResult:
    """Segment one tile window and keep what stitching needs (runs in a worker: ``source`` may be a path)."""
    from seglab.core.registry import segment

    image = source if isinstance(source, LazyImage) else open_image(source)
    window = image.read(*tile.window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. a tile that lies wholly on one side of the threshold
        seg = segment(window, plan.method, **plan.params)
    labels = seg.labels
    core = np.ascontiguousarray(labels[tile.inner])
    if plan.mode == "pixel":
        return TileResult(tile, core, int(core.max(initial=0)), class_names=tuple(seg.class_names))
    if plan.mode == "components":
        from skimage.measure import label

        components = label(core, background=0, connectivity=2).astype(np.int32)
        count = int(components.max(initial=0))
        classes = np.zeros(count + 1, np.int32)
        classes[components.ravel()] = core.ravel()
        result = TileResult(tile, components, count, classes=classes, class_names=tuple(seg.class_names))
        # copies, so that the tile's label array is freed once it is stored
        result.bands = {"top": components[0].copy(), "bottom": components[-1].copy(),
                        "left": components[:, 0].copy(), "right": components[:, -1].copy()}
    else:
        count = int(labels.max(initial=0))
        result = TileResult(tile, core, count)
        result.bands = _bands(labels, tile)
    result.first = _first_pixels(result.labels, count, tile, width)
    # the smallest dtype that holds the tile's ids: a quarter of the bytes to pickle back from a
    # worker and to keep on disk until stitching, for most tiles
    result.labels = result.labels.astype(label_dtype(count), copy=False)
    return result


def _first_pixels(labels: np.ndarray, count: int, tile: Tile, width: int) -> np.ndarray:
    """Global raster index of each local id's first pixel in the core (a large sentinel when absent)."""
    first = np.full(count + 1, np.iinfo(np.int64).max, np.int64)
    flat = labels.ravel()
    # Ids numbered in raster order of their first pixel (connected components always are) first
    # appear exactly where the running maximum steps up by one: one linear pass instead of a sort.
    steps = np.diff(np.maximum.accumulate(flat), prepend=0)
    if count and flat.min() >= 0 and steps.max() <= 1:
        index = np.flatnonzero(steps)
        ids = flat[index]
    else:
        ids, index = np.unique(flat, return_index=True)
    rows, cols = np.divmod(index, labels.shape[1])
    first[ids] = (rows + tile.core[0]) * width + cols + tile.core[2]
    return first[1:]


def _bands(labels: np.ndarray, tile: Tile) -> dict[str, np.ndarray]:
    """Window labels on both sides of the right and bottom seams (and the left and top ones), in global coordinates."""
    wy0, wy1, wx0, wx1 = tile.window
    y0, y1, x0, x1 = tile.core
    bands = {}
    for side, (lo, hi, axis, origin) in {
        "right": (x1 - _BAND, x1 + _BAND, 1, wx0), "left": (x0 - _BAND, x0 + _BAND, 1, wx0),
        "bottom": (y1 - _BAND, y1 + _BAND, 0, wy0), "top": (y0 - _BAND, y0 + _BAND, 0, wy0),
    }.items():
        lo, hi = max(lo, wx0 if axis else wy0), min(hi, wx1 if axis else wy1)
        strip = labels[:, lo - origin:hi - origin] if axis else labels[lo - origin:hi - origin, :]
        other = (y0, y1) if axis else (x0, x1)  # keep only the rows (cols) of the core along the seam
        start = other[0] - (wy0 if axis else wx0)
        strip = strip[start:start + other[1] - other[0], :] if axis else strip[:, start:start + other[1] - other[0]]
        bands[side] = (lo, strip.copy())
    return bands


def _pairs_components(a: TileResult, b: TileResult, vertical: bool) -> np.ndarray:
    """Local id pairs of 8-connected, same-class pixels across the seam between a (left/top) and b."""
    edge_a = a.bands["right" if vertical else "bottom"]
    edge_b = b.bands["left" if vertical else "top"]
    pairs = []
    for shift in (-1, 0, 1):
        if shift < 0:
            ea, eb = edge_a[1:], edge_b[:-1]
        elif shift > 0:
            ea, eb = edge_a[:-1], edge_b[1:]
        else:
            ea, eb = edge_a, edge_b
        keep = (ea > 0) & (eb > 0)
        keep &= a.classes[ea] == b.classes[eb]
        pairs.append(np.stack([ea[keep], eb[keep]], axis=1))
    return np.concatenate(pairs)


def _pairs_regions(a: TileResult, b: TileResult, vertical: bool) -> np.ndarray:
    """Pairs (id in a, id in b) that cover mostly the same pixels of the overlap across the seam."""
    lo_a, strip_a = a.bands["right" if vertical else "bottom"]
    lo_b, strip_b = b.bands["left" if vertical else "top"]
    lo, hi = max(lo_a, lo_b), min(lo_a + strip_a.shape[1 if vertical else 0], lo_b + strip_b.shape[1 if vertical else 0])
    if hi <= lo:
        return np.zeros((0, 2), np.int64)
    sa = strip_a[:, lo - lo_a:hi - lo_a] if vertical else strip_a[lo - lo_a:hi - lo_a]
    sb = strip_b[:, lo - lo_b:hi - lo_b] if vertical else strip_b[lo - lo_b:hi - lo_b]
    keep = (sa > 0) & (sb > 0)
    pairs, counts = np.unique(np.stack([sa[keep], sb[keep]], axis=1), axis=0, return_counts=True)
    if not len(pairs):
        return np.zeros((0, 2), np.int64)
    size_a = np.bincount(sa.ravel(), minlength=a.count + 1)
    size_b = np.bincount(sb.ravel(), minlength=b.count + 1)
    smaller = np.minimum(size_a[pairs[:, 0]], size_b[pairs[:, 1]])
    return pairs[2 * counts >= smaller]  # the pair covers at least half of the smaller of the two


def merge_tables(results: dict[tuple[int, int], TileResult], mode: str) -> tuple[dict[tuple[int, int], np.ndarray], int]:
    """A lookup table per tile from local ids to final ids (raster order of first pixel); and the count.

    Local ids become global by an offset per tile; pairs along every seam are edges of a graph
    whose connected components (scipy's union-find) are the merged regions.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keys = sorted(results)
    offsets, total = {}, 0
    for key in keys:
        offsets[key] = total
        total += results[key].count
    pair_fn = _pairs_components if mode == "components" else _pairs_regions
    edges = [np.zeros((0, 2), np.int64)]
    for (i, j) in keys:
        for neighbour, vertical in (((i, j + 1), True), ((i + 1, j), False)):
            if neighbour in results:
                pairs = pair_fn(results[(i, j)], results[neighbour], vertical).astype(np.int64)
                edges.append(np.stack([pairs[:, 0] - 1 + offsets[(i, j)], pairs[:, 1] - 1 + offsets[neighbour]], 1))
    edge = np.concatenate(edges)
    graph = coo_matrix((np.ones(len(edge)), (edge[:, 0], edge[:, 1])), shape=(total, total))
    _, root = connected_components(graph, directed=False)
    first = np.concatenate([results[k].first for k in keys]) if total else np.zeros(0, np.int64)
    root_first = np.full(total, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(root_first, root, first)
    present = np.flatnonzero(root_first < np.iinfo(np.int64).max)
    order = present[np.argsort(root_first[present], kind="stable")]
    final = np.zeros(total, np.int64)
    final[order] = np.arange(1, len(order) + 1)
    tables = {}
    for key in keys:
        start = offsets[key]
        table = np.zeros(results[key].count + 1, np.int64)
        table[1:] = final[root[start:start + results[key].count]]
        tables[key] = table
    return tables, len(order)
