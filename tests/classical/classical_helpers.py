"""Helpers the classical-method tests share: dtype conversions of test images, and IoU."""

from __future__ import annotations

import numpy as np


def from_uint8(image: np.ndarray, dtype: type | str) -> np.ndarray:
    """The uint8 ``image`` in another dtype with the same relative levels (floats in [0, 1])."""
    dtype = np.dtype(dtype)
    if dtype == np.uint16:
        return image.astype(np.uint16) * 257
    if dtype.kind == "f":
        return image / 255.0
    return image.copy()


def from_unit(image: np.ndarray, dtype: type | str) -> np.ndarray:
    """A [0, 1] float ``image`` in ``dtype``'s full range (rounded for integer dtypes)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return image.astype(dtype)
    return np.rint(image * np.iinfo(dtype).max).astype(dtype)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    return float((a & b).sum() / (a | b).sum())
