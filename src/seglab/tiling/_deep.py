"""Deep models through the tiling engine: blended probabilities, class labels written tile by tile.

A model's prediction at a pixel depends on its receptive field, so tiles overlap by a halo and
their probabilities are blended (:func:`seglab.tiling.blend.blend_strips`); the arg-max class is
written to the output as soon as a band of rows is final. Memory is one band of
``tile + 2 * halo`` rows per class, whatever the image height.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from seglab.tiling._io import LazyImage
from seglab.tiling.blend import blend_strips

__all__ = ["deep_label_tiles", "model_class_names"]


def _predict_tile(params: dict[str, Any]) -> Any:
    from seglab.core.registry import segment

    def predict(window: np.ndarray) -> np.ndarray:
        # the registered "model" method caches the loaded model, so each window costs one forward pass
        return segment(window, "model", **params).probabilities

    return predict


def model_class_names(params: dict[str, Any]) -> tuple[str, ...]:
    """Class names stored in the checkpoint named by ``params["model"]``."""
    from seglab.deep import load

    return tuple(load(params["model"]).class_names)


def deep_label_tiles(image: LazyImage, params: dict[str, Any], *, tile: int, halo: int) -> Iterator[np.ndarray]:
    """Class-index tiles (uint8, 0 = background) in row-major order of a ``tile`` grid."""
    width = image.width
    band = np.zeros((tile, width), np.uint8)
    filled = 0  # rows of ``band`` already written, counted from the band's first image row
    band_top = 0
    for y0, y1, probs in blend_strips(image, _predict_tile(params), tile=tile, halo=halo):
        classes = probs.argmax(axis=0).astype(np.uint8)
        row = y0
        while row < y1:
            take = min(y1 - row, tile - filled)
            band[filled:filled + take] = classes[row - y0:row - y0 + take]
            filled, row = filled + take, row + take
            if filled == tile or band_top + filled == image.height:
                for x0 in range(0, width, tile):
                    yield band[:filled, x0:x0 + tile].copy()
                band_top += filled
                filled = 0
