"""Probability blending for deep models: overlapping tiles weighted by ramps, accumulated in a rolling strip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.tiling._global import tile_grid
from seglab.tiling._io import open_image

__all__ = ["blend_strips", "blend_tiles"]


def _ramp(length: int, low: int, high: int, halo: int) -> np.ndarray:
    """Weights along one axis: rising over the halo at a side with a neighbour, 1 elsewhere."""
    ramp = np.ones(length, np.float32)
    if halo > 0:
        rise = (np.arange(halo, dtype=np.float32) + 1) / (halo + 1)
        if low:
            ramp[:min(halo, length)] = np.minimum(ramp[:min(halo, length)], rise[:min(halo, length)])
        if high:
            ramp[-min(halo, length):] = np.minimum(ramp[-min(halo, length):], rise[::-1][-min(halo, length):])
    return ramp


def blend_strips(image: Any, predict_tile: Callable[[np.ndarray], np.ndarray], *, tile: int = 512,
                 halo: int = 32) -> Iterator[tuple[int, int, np.ndarray]]:
    """Blended probabilities, one finished band of rows at a time: yields ``(y0, y1, probs (C, y1 - y0, W))``.

    Memory is one band of ``tile + 2 * halo`` rows by the image width per class, whatever the height.

    Parameters
    ----------
    image : path-like, ndarray or LazyImage
        The image (a TIFF is read lazily).
    predict_tile : callable
        ``predict_tile(window) -> (C, h, w)`` probabilities for an (h, w[, 3]) window.
    tile, halo : int
        Core tile edge and the overlap added on each side; overlapping predictions are
        averaged with weights that fall linearly towards each window's inner edges.
    """
    lazy = open_image(image)
    height, width = lazy.height, lazy.width
    tiles = tile_grid(lazy.shape, tile, halo)
    rows = sorted({t.row for t in tiles})
    acc = weight = None
    base = 0  # first row held in acc
    for row in rows:
        band = [t for t in tiles if t.row == row]
        wy1 = band[0].window[1]
        for t in band:
            y0, y1, x0, x1 = t.window
            probs = np.asarray(predict_tile(lazy.read(y0, y1, x0, x1)), dtype=np.float32)
            if probs.ndim != 3 or probs.shape[1:] != (y1 - y0, x1 - x0):
                raise InputError(f"predict_tile output must have shape (C, {y1 - y0}, {x1 - x0}), got {probs.shape}")
            if acc is None:
                acc = np.zeros((probs.shape[0], tile + 2 * halo, width), np.float32)
                weight = np.zeros((tile + 2 * halo, width), np.float32)
            w = np.outer(_ramp(y1 - y0, y0 > 0, y1 < height, halo), _ramp(x1 - x0, x0 > 0, x1 < width, halo))
            acc[:, y0 - base:y1 - base, x0:x1] += probs * w
            weight[y0 - base:y1 - base, x0:x1] += w
        done = band[0].core[1] - halo if row != rows[-1] else height  # rows no later tile touches
        done = max(done, base)
        yield base, done, acc[:, :done - base] / weight[:done - base]
        keep = wy1 - done
        acc[:, :keep] = acc[:, done - base:wy1 - base]
        acc[:, keep:] = 0
        weight[:keep] = weight[done - base:wy1 - base]
        weight[keep:] = 0
        base = done


def blend_tiles(image: Any, predict_tile: Callable[[np.ndarray], np.ndarray], *, tile: int = 512,
                halo: int = 32) -> np.ndarray:
    """(C, H, W) float32 probabilities of the whole image, blended from overlapping tiles (see :func:`blend_strips`).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((50, 70), np.uint8)
    >>> probs = blend_tiles(image, lambda w: np.ones((2,) + w.shape[:2]) / 2, tile=16, halo=4)
    >>> probs.shape, float(probs.min()), float(probs.max())
    ((2, 50, 70), 0.5, 0.5)
    """
    lazy = open_image(image)
    out = None
    for y0, y1, probs in blend_strips(lazy, predict_tile, tile=tile, halo=halo):
        if out is None:
            out = np.zeros((probs.shape[0], lazy.height, lazy.width), np.float32)
        out[:, y0:y1] = probs
    return out
