"""Overlapping tiles and the one probability blender, shared by deep prediction and the tiler.

Both ``seglab.deep.predict`` (any image size, bounded activations) and ``seglab.tiling`` (images
larger than memory) cut an image into a grid of cores grown by a halo, predict each window, and
blend overlapping windows with weights that fall linearly towards the inner edges of a window,
one band of rows at a time. This module is that code, once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from seglab.core.errors import InputError

__all__ = ["ArrayWindows", "Tile", "WindowReader", "blend_strips", "edge_ramp", "one_at_a_time", "tile_grid"]


@dataclass(frozen=True)
class Tile:
    """One tile: ``core`` is the part it owns in the output, ``window`` the core plus the halo (clipped)."""

    row: int
    col: int
    core: tuple[int, int, int, int]    # y0, y1, x0, x1
    window: tuple[int, int, int, int]  # y0, y1, x0, x1

    @property
    def inner(self) -> tuple[slice, slice]:
        """The core as slices into the window's array."""
        return (slice(self.core[0] - self.window[0], self.core[1] - self.window[0]),
                slice(self.core[2] - self.window[2], self.core[3] - self.window[2]))


def tile_grid(shape: tuple[int, ...], tile: int, halo: int) -> list[Tile]:
    """Tiles of ``tile`` x ``tile`` (edge ones smaller) in row-major order, windows grown by ``halo``."""
    height, width = int(shape[0]), int(shape[1])
    tiles = []
    for i in range(math.ceil(height / tile)):
        for j in range(math.ceil(width / tile)):
            y0, x0 = i * tile, j * tile
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            window = (max(0, y0 - halo), min(height, y1 + halo), max(0, x0 - halo), min(width, x1 + halo))
            tiles.append(Tile(i, j, (y0, y1, x0, x1), window))
    return tiles


def edge_ramp(length: int, low: bool, high: bool, halo: int) -> np.ndarray:
    """Weights along one axis: rising over ``halo`` pixels at a side that has a neighbour, 1 elsewhere."""
    ramp = np.ones(length, np.float32)
    if halo > 0:
        n = min(halo, length)
        rise = (np.arange(halo, dtype=np.float32) + 1) / (halo + 1)
        if low:
            ramp[:n] = np.minimum(ramp[:n], rise[:n])
        if high:
            ramp[-n:] = np.minimum(ramp[-n:], rise[::-1][-n:])
    return ramp


class WindowReader(Protocol):
    """What the blender reads: an image's size and any window of it."""

    height: int
    width: int

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray: ...


class ArrayWindows:
    """A :class:`WindowReader` over an in-memory array, (H, W[, C]) or channels first (C, H, W)."""

    def __init__(self, array: np.ndarray, *, channels_first: bool = False) -> None:
        self.array, self.channels_first = array, channels_first
        self.height, self.width = (array.shape[1:3] if channels_first else array.shape[:2])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return self.array[:, y0:y1, x0:x1] if self.channels_first else self.array[y0:y1, x0:x1]


#: ``predict_windows([window, ...]) -> [(C, h, w) probabilities, ...]`` for one band's windows.
PredictWindows = Callable[[Sequence[np.ndarray]], Sequence[np.ndarray]]


def blend_strips(image: WindowReader, predict_windows: PredictWindows, *, tile: int = 512, halo: int = 32,
                 batch_size: int = 1) -> Iterator[tuple[int, int, np.ndarray]]:
    """Blended probabilities, one finished band of rows at a time: yields ``(y0, y1, probs (C, y1 - y0, W))``.

    Memory is one band of ``tile + 2 * halo`` rows by the image width per class, whatever the height.

    Parameters
    ----------
    image : WindowReader
        The image (an :class:`ArrayWindows`, or a lazily read file).
    predict_windows : callable
        Probabilities (C, h, w) for each (h, w[, 3]) window (or (C, h, w) for channel-first
        readers) in a list of at most ``batch_size`` windows of one band of tiles.
    tile, halo : int
        Core tile edge and the overlap added on each side; overlapping predictions are averaged
        with weights that fall linearly over the halo towards each window's inner edges.
    batch_size : int
        Windows per call of ``predict_windows``.
    """
    height, width = image.height, image.width
    tiles = tile_grid((height, width), tile, halo)
    rows = sorted({t.row for t in tiles})
    acc = weight = None
    base = 0  # first row held in acc
    for row in rows:
        band = [t for t in tiles if t.row == row]
        wy1 = band[0].window[1]
        for start in range(0, len(band), batch_size):
            group = band[start:start + batch_size]
            outputs = predict_windows([image.read(*t.window) for t in group])
            for t, probs in zip(group, outputs):
                y0, y1, x0, x1 = t.window
                probs = np.asarray(probs, dtype=np.float32)
                if probs.ndim != 3 or probs.shape[1:] != (y1 - y0, x1 - x0):
                    raise InputError(f"predict_tile output must have shape (C, {y1 - y0}, {x1 - x0}), "
                                     f"got {probs.shape}")
                if acc is None:
                    acc = np.zeros((probs.shape[0], tile + 2 * halo, width), np.float32)
                    weight = np.zeros((tile + 2 * halo, width), np.float32)
                w = np.outer(edge_ramp(y1 - y0, y0 > 0, y1 < height, halo),
                             edge_ramp(x1 - x0, x0 > 0, x1 < width, halo))
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


def one_at_a_time(predict_tile: Callable[[np.ndarray], Any]) -> PredictWindows:
    """Adapt ``predict_tile(window) -> (C, h, w)`` to the batched form :func:`blend_strips` calls."""
    return lambda windows: [predict_tile(w) for w in windows]
