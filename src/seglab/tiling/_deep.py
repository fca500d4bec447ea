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


def _window_predictor(params: dict[str, Any]) -> Any:
    """``predict(window) -> (C, h, w)``: the checkpoint loaded once, one prediction per window.

    The tiler's windows are the tiles, so the model's own sliding window is sized to the whole
    window (no tiles inside tiles).
    """
    from seglab.deep.method import load_cached
    from seglab.deep.predict import predict

    model = load_cached(params["model"], params.get("device"))
    options = {k: params[k] for k in ("backend", "tta", "device") if k in params}

    def run(window: np.ndarray) -> np.ndarray:
        size = max(window.shape[:2])
        return predict(model, window, tile_size=size, overlap=0, batch_size=1, **options).probabilities

    return run


def model_class_names(params: dict[str, Any]) -> tuple[str, ...]:
    """Class names stored in the checkpoint named by ``params["model"]`` (the cached model's)."""
    from seglab.deep.method import load_cached

    return tuple(load_cached(params["model"], params.get("device")).class_names)


def deep_label_tiles(image: LazyImage, params: dict[str, Any], *, tile: int, halo: int) -> Iterator[np.ndarray]:
    """Class-index tiles (uint8, 0 = background) in row-major order of a ``tile`` grid."""
    width = image.width
    band = np.zeros((tile, width), np.uint8)
    filled = 0  # rows of ``band`` already written, counted from the band's first image row
    band_top = 0
    for y0, y1, probs in blend_strips(image, _window_predictor(params), tile=tile, halo=halo):
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
