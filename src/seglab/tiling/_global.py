"""Global parameters from a streamed pass over the tiles, so pixel-wise methods tile exactly."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.registry_base import Registry
from seglab.core.tiles import Tile, tile_grid
from seglab.tiling._io import LazyImage

__all__ = ["GLOBAL_PASSES", "GlobalPass", "Tile", "TileMap", "global_otsu", "gray_counts", "gray_histogram",
           "gray_range", "otsu_from_histogram_u8", "tile_grid"]


#: ``map_tiles(function, items)``: yields ``function(item)`` for each item, in any order, here or in
#: worker processes (see ``seglab.tiling._engine.tile_mapper``).
TileMap = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]


def _gray(source: Any, core: tuple[int, int, int, int]) -> np.ndarray:
    """The grey levels of one core (no halo, so every pixel counts once), as the methods compute them."""
    from seglab.core.validate import to_gray
    from seglab.tiling._io import open_image

    image = source if isinstance(source, LazyImage) else open_image(source)
    return to_gray(image.read(*core))


def gray_range(source: Any, core: tuple[int, int, int, int]) -> tuple[Any, Any]:
    """(min, max) grey level of one core."""
    gray = _gray(source, core)
    return gray.min(), gray.max()


def gray_counts(source: Any, levels: int, core: tuple[int, int, int, int]) -> np.ndarray:
    """How many pixels of one (integer) core have each grey level."""
    return np.bincount(_gray(source, core).ravel(), minlength=levels)


def gray_histogram(source: Any, low: float, high: float, core: tuple[int, int, int, int]) -> np.ndarray:
    """The 256-bin histogram of one (float) core over ``[low, high]``."""
    return np.histogram(_gray(source, core), bins=256, range=(low, high))[0]


def otsu_from_histogram_u8(counts: np.ndarray) -> float:
    """OpenCV's Otsu threshold (``cv2.THRESH_OTSU``) computed from a 256-bin histogram, step for step."""
    total = float(counts.sum())
    scale = 1.0 / total
    mu = float(np.dot(np.arange(256, dtype=np.float64), counts)) * scale
    eps = float(np.finfo(np.float32).eps)
    q1 = mu1 = max_sigma = 0.0
    max_val = 0
    for i in range(256):
        p_i = float(counts[i]) * scale
        mu1 *= q1
        q1 += p_i
        q2 = 1.0 - q1
        if min(q1, q2) < eps or max(q1, q2) > 1.0 - eps:
            continue
        mu1 = (mu1 + i * p_i) / q1
        mu2 = (mu - q1 * mu1) / q2
        sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2)
        if sigma > max_sigma:
            max_sigma, max_val = sigma, i
    return float(max_val)


def global_otsu(image: LazyImage, tile: int, map_tiles: TileMap | None = None, source: Any = None) -> dict[str, Any]:
    """Otsu's threshold of the whole image from per-tile histograms; equal to :func:`seglab.classical.threshold.otsu`'s.

    ``map_tiles`` runs the per-tile passes (on worker processes or a Dask cluster, reading
    ``source``, the image's path); by default they run here, one tile after another.

    Returns ``{"value": T}``, or ``{"constant": level}`` for a constant image.
    """
    from skimage.filters import threshold_otsu

    map_tiles = map_tiles or (lambda function, items: map(function, items))
    source = image if source is None else source
    cores = [t.core for t in tile_grid(image.shape, tile, 0)]
    dtype = np.dtype(image.dtype)
    if dtype not in (np.uint8, np.uint16):
        low = high = None  # numpy scalars of the grey dtype, as np.histogram(range=None) uses them
        for a, b in map_tiles(partial(gray_range, source), cores):
            low, high = (a, b) if low is None else (min(low, a), max(high, b))
        if low == high:
            return {"constant": float(low)}
        counts = np.zeros(256, np.int64)
        for part in map_tiles(partial(gray_histogram, source, float(low), float(high)), cores):
            counts += part
        edges = np.histogram_bin_edges(np.array([low, high]), bins=256, range=(float(low), float(high)))
        return {"value": _float_level(counts, edges)}
    levels = 256 if dtype == np.uint8 else 65536
    counts = np.zeros(levels, np.int64)
    for part in map_tiles(partial(gray_counts, source, levels), cores):
        counts += part
    present = np.flatnonzero(counts)
    if present[0] == present[-1]:
        return {"constant": float(present[0])}
    if dtype == np.uint8:
        return {"value": otsu_from_histogram_u8(counts)}
    first, last = int(present[0]), int(present[-1])
    return {"value": float(threshold_otsu(hist=(counts[first:last + 1], np.arange(first, last + 1))))}


def _float_level(counts: np.ndarray, edges: np.ndarray) -> float:
    """The float-image rule of :func:`seglab.classical.threshold.otsu` (the same function, not a copy)."""
    from seglab.classical.threshold import otsu_level_from_histogram

    return otsu_level_from_histogram(counts, edges)


# ---------------------------------------------------------------------------- global passes
#: ``pass(image, params, *, tile, map_tiles, source) -> (method, params, meta)``: what each tile
#: runs once the whole image has been seen (see :data:`GLOBAL_PASSES`).
GlobalPass = Callable[..., tuple[str, dict[str, Any], dict[str, Any]]]

#: The whole-image pass of each method registered with ``tiling="global"``, by method name. A
#: plugin method that tiles this way registers its pass here too.
GLOBAL_PASSES: Registry[GlobalPass] = Registry("global pass")


@GLOBAL_PASSES.decorator("otsu")
def otsu_pass(image: LazyImage, params: dict[str, Any], *, tile: int, map_tiles: TileMap | None = None,
              source: Any = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Otsu: the threshold from a histogram streamed over the tiles, then a fixed threshold per tile."""
    found = global_otsu(image, tile, map_tiles, source)
    if "constant" in found:
        raise InputError(f"image must not be constant for tiled otsu, got every pixel {found['constant']:g}")
    tile_params = {"value": found["value"], "invert": bool(params.get("invert", False))}
    return "threshold", tile_params, {"threshold": found["value"]}


@GLOBAL_PASSES.decorator("threshold")
def threshold_pass(image: LazyImage, params: dict[str, Any], **_: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A fixed threshold needs no pass; the automatic kinds are not streamed (yet)."""
    if params.get("kind", "fixed") != "fixed":
        raise InputError(f"threshold kind must be 'fixed' for tiled processing (or use otsu), got {params['kind']!r}")
    return "threshold", dict(params), {}
