"""Argument checks and dtype conversions shared by every method.

Methods call these instead of writing their own checks, so every error reads the
same way and the caller's array is never modified.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from seglab.core.errors import InputError, describe, expected

__all__ = [
    "as_image",
    "drop_alpha",
    "as_mask",
    "as_points",
    "as_box",
    "check_int",
    "check_float",
    "check_choice",
    "to_gray",
    "to_uint8",
    "to_float01",
    "to_rgb",
]

_SUPPORTED_KINDS = "biuf"


def as_image(image: Any, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as (H, W) or (H, W, 3), never a copy of the caller's data unless needed.

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) arrays of bool, integer or float dtype.
    A single channel is squeezed; an alpha channel is dropped (colour channels kept as they are),
    with a warning when it is not fully opaque, because transparent pixels then carry colours
    the user never saw.

    Raises
    ------
    InputError
        If ``image`` is not an array of a supported shape and dtype, is empty, or holds NaN.
    """
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        raise expected(name, "an image array (use seglab.load_image for a file)", image)
    array = np.asarray(image)
    if array.dtype.kind not in _SUPPORTED_KINDS:
        raise expected(name, "an array of bool, integer or float dtype", array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 4:
        array = drop_alpha(array, name)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise expected(name, "a 2D (H, W) grey or 3D (H, W, 3) colour array", array)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise expected(name, "a non-empty image", array)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise expected(name, "finite (no NaN or infinity)", array)
    return array


def drop_alpha(image: np.ndarray, what: str) -> np.ndarray:
    """The colour channels of an (H, W, 4) image, as stored (not composited over a background).

    Warns when the alpha channel is not fully opaque, because transparent pixels then carry
    colours the user never saw.
    """
    alpha = image[:, :, 3]
    opaque = np.iinfo(image.dtype).max if image.dtype.kind in "iu" else 1.0
    if (alpha != opaque).any():
        warnings.warn(
            f"{what} has transparent pixels; seglab drops alpha and keeps the colour channels "
            "as stored (not composited over a background)",
            UserWarning,
            stacklevel=4,
        )
    return image[:, :, :3]


def as_mask(mask: Any, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    """Return ``mask`` as a boolean (H, W) array matching ``shape``.

    Raises
    ------
    InputError
        If the mask is not 2D or its shape differs from ``shape``.
    """
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[:, :, 0]
    if array.ndim != 2:
        raise expected(name, f"a 2D array with shape {tuple(shape)} like the image", array)
    if array.shape != tuple(shape[:2]):
        raise InputError(
            f"{name} must have shape {tuple(shape[:2])} like the image, got {array.shape}"
        )
    return array > 0 if array.dtype != bool else array


def as_points(points: Any, shape: tuple[int, int], name: str = "points") -> np.ndarray:
    """Return ``(x, y)`` pixel points as an (N, 2) int array of (x, y), all inside ``shape``.

    Raises
    ------
    InputError
        If the points are not pairs of numbers or fall outside the image.
    """
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise expected(name, "a list of (x, y) pixel coordinates", points) from None
    if array.ndim == 1 and array.size == 2:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise expected(name, "a non-empty list of (x, y) pixel coordinates", points)
    pixels = np.round(array).astype(np.int64)
    height, width = shape[:2]
    outside = (pixels[:, 0] < 0) | (pixels[:, 0] >= width) | (pixels[:, 1] < 0) | (pixels[:, 1] >= height)
    if outside.any():
        bad = tuple(int(v) for v in pixels[np.argmax(outside)])
        raise InputError(
            f"{name} must lie inside the image (0 <= x < {width}, 0 <= y < {height}), got (x, y) = {bad}"
        )
    return pixels


def as_box(box: Any, shape: tuple[int, int], name: str = "box") -> tuple[int, int, int, int]:
    """Return ``(x0, y0, x1, y1)`` clipped to the image, as ints, with x0 < x1 and y0 < y1.

    Raises
    ------
    InputError
        If ``box`` is not four numbers, is empty, or lies outside the image.
    """
    try:
        values = [float(v) for v in box]
    except (TypeError, ValueError):
        raise expected(name, "four numbers (x0, y0, x1, y1)", box) from None
    if len(values) != 4:
        raise expected(name, "four numbers (x0, y0, x1, y1)", box)
    x0, y0, x1, y1 = (int(round(v)) for v in values)
    if x1 <= x0 or y1 <= y0:
        raise expected(name, "(x0, y0, x1, y1) with x0 < x1 and y0 < y1", box)
    height, width = shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 <= cx0 or cy1 <= cy0:
        raise InputError(
            f"{name} must overlap the image of width {width} and height {height}, got {tuple(box)}"
        )
    return cx0, cy0, cx1, cy1


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, checking it is an integer within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise expected(name, _range_text("an integer", minimum, maximum), value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise expected(name, _range_text("an integer", minimum, maximum), value)
    return value


def check_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """Return ``value`` as a float, checking it is a finite number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise expected(name, _range_text("a number", minimum, maximum, exclusive_minimum), value)
    value = float(value)
    low_bad = minimum is not None and (value <= minimum if exclusive_minimum else value < minimum)
    if low_bad or (maximum is not None and value > maximum):
        raise expected(name, _range_text("a number", minimum, maximum, exclusive_minimum), value)
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise naming them all."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name} must be one of {listed}, got {describe(value)}")
    return value


def _range_text(kind: str, minimum: Any, maximum: Any, exclusive_minimum: bool = False) -> str:
    low = ">" if exclusive_minimum else ">="
    if minimum is not None and maximum is not None:
        return f"{kind} {low} {minimum} and <= {maximum}"
    if minimum is not None:
        return f"{kind} {low} {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind


def to_gray(image: np.ndarray) -> np.ndarray:
    """Return a (H, W) luminance image (ITU-R BT.601 weights) in the input's dtype family.

    Colour input becomes float32 for float images and the same integer dtype otherwise.
    """
    if image.ndim == 2:
        return image
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gray = image.astype(np.float32) @ weights
    if image.dtype.kind in "iu":
        return np.clip(np.rint(gray), np.iinfo(image.dtype).min, np.iinfo(image.dtype).max).astype(image.dtype)
    return gray


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Return an (H, W, 3) image; grey is repeated into three channels."""
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as uint8 with its full range mapped to 0..255.

    uint8 is returned as is (no copy); uint16 is divided by 257; other integers and floats
    outside [0, 1] are rescaled from their min..max with a warning; floats in [0, 1] are
    multiplied by 255.
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    data = image.astype(np.float64)
    low, high = float(data.min()), float(data.max())
    if image.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        return np.rint(data * 255.0).astype(np.uint8)
    if image.dtype.kind in "iu" and low >= 0 and high <= 255:
        return data.astype(np.uint8)
    warnings.warn(
        f"image of dtype {image.dtype} has values in [{low:g}, {high:g}], outside the usual range; "
        "rescaling min..max to 0..255",
        UserWarning,
        stacklevel=3,
    )
    scale = 255.0 / (high - low) if high > low else 0.0
    return np.rint((data - low) * scale).astype(np.uint8)


def to_float01(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as float32 in [0, 1] (integers divided by their dtype's maximum)."""
    if image.dtype.kind == "f":
        data = image.astype(np.float32, copy=False)
        low, high = float(data.min()), float(data.max())
        if low < 0.0 or high > 1.0:
            warnings.warn(
                f"float image has values in [{low:g}, {high:g}], outside [0, 1]; rescaling min..max",
                UserWarning,
                stacklevel=3,
            )
            return (data - low) / (high - low) if high > low else np.zeros_like(data)
        return data
    if image.dtype.kind == "u":
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    return to_uint8(image).astype(np.float32) / np.float32(255.0)
