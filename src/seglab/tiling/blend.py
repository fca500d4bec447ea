"""Probability blending over image files: the one blender (:mod:`seglab.core.tiles`) on lazily read images."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from seglab.core.tiles import blend_strips as core_blend_strips
from seglab.core.tiles import one_at_a_time
from seglab.tiling._io import open_image

__all__ = ["blend_strips", "blend_tiles"]


def blend_strips(image: Any, predict_tile: Callable[[np.ndarray], np.ndarray], *, tile: int = 512,
                 halo: int = 32) -> Iterator[tuple[int, int, np.ndarray]]:
    """Blended probabilities, one finished band of rows at a time: yields ``(y0, y1, probs (C, y1 - y0, W))``.

    :func:`seglab.core.tiles.blend_strips` (the one blender, which deep prediction uses too) over
    an image file (a TIFF is read lazily) or array; ``predict_tile(window) -> (C, h, w)``.
    """
    return core_blend_strips(open_image(image), one_at_a_time(predict_tile), tile=tile, halo=halo)


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
