"""Threshold methods: a fixed or automatic global threshold, Otsu, multi-level Otsu and adaptive.

Every method works on grey levels (colour images are converted with
:func:`seglab.core.validate.to_gray`) in the image's own units: 0..255 for uint8, 0..65535 for
uint16, the values as they are for float images. A pixel is foreground when it is strictly
*above* the threshold (``invert=True`` gives the complement), as in ``cv2.THRESH_BINARY`` and
scikit-image. The binary methods return one region (label 1, class 1 ``"foreground"``), which
may be disconnected or empty; :meth:`Segmentation.split_connected` splits it into objects.

Backends: OpenCV for uint8 (``cv2.threshold``, Otsu, ``cv2.adaptiveThreshold``), which is the
fastest; scikit-image for the automatic thresholds of other dtypes (full 16-bit precision).
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import cv2
import numpy as np
from skimage import filters

from seglab.classical._regions import foreground_segmentation
from seglab.core.errors import InputError, expected
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_image, check_choice, check_float, check_int, to_gray

__all__ = ["threshold", "otsu", "multiotsu", "adaptive"]

_AUTO = {
    "li": filters.threshold_li,
    "yen": filters.threshold_yen,
    "triangle": filters.threshold_triangle,
    "mean": filters.threshold_mean,
}
_KINDS = ("fixed", *_AUTO)
_MAX_CLASSES = 5


def _gray(image: np.ndarray) -> np.ndarray:
    return to_gray(as_image(image))


def _binarize(gray: np.ndarray, value: float, invert: bool) -> np.ndarray:
    """0/1 uint8 (or bool) mask of ``gray > value`` (``<=`` when inverted)."""
    if gray.dtype == np.uint8:
        mode = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
        return cv2.threshold(gray, float(value), 1, mode)[1]
    return gray <= value if invert else gray > value


def _constant(gray: np.ndarray, invert: bool, method: str) -> tuple[float, np.ndarray]:
    """Threshold and mask for a constant image: no level separates it, so nothing is foreground."""
    level = float(gray.flat[0])
    warnings.warn(
        f"image is constant (every pixel is {level:g}); {method} finds no threshold, so every pixel "
        f"is {'foreground' if invert else 'background'}",
        UserWarning,
        stacklevel=3,
    )
    return level, np.full(gray.shape, invert, dtype=bool)


def _range(gray: np.ndarray) -> tuple[float, float]:
    """(min, max) of a grey image; OpenCV's single pass where it takes the dtype."""
    if gray.dtype in (np.uint8, np.uint16, np.float32):
        low, high = cv2.minMaxLoc(gray)[:2]
        return float(low), float(high)
    return float(gray.min()), float(gray.max())


def _is_constant(gray: np.ndarray) -> bool:
    low, high = _range(gray)
    return low == high


@register("threshold", kind="threshold", tiling="global")
def threshold(
    image: np.ndarray,
    *,
    value: float = 127.0,
    kind: Literal["fixed", "li", "yen", "triangle", "mean"] = "fixed",
    invert: bool = False,
) -> Segmentation:
    """Global threshold: a fixed grey level, or one chosen automatically (Li, Yen, triangle, mean).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float.
    value : float
        The fixed threshold, in the image's own units (0..255 for uint8, 0..65535 for uint16,
        as is for float); used only when ``kind="fixed"``. Default 127 as in OpenCV's example.
    kind : {"fixed", "li", "yen", "triangle", "mean"}
        ``"fixed"`` uses ``value``; the others compute the threshold with scikit-image's
        ``threshold_li`` (minimum cross-entropy), ``threshold_yen`` (maximum correlation),
        ``threshold_triangle`` (for one dominant peak) or ``threshold_mean``.
    invert : bool
        Make the pixels at or below the threshold the foreground (dark objects on light).

    Returns
    -------
    Segmentation
        Label 1 = pixels above the threshold (class 1 ``"foreground"``), 0 = the rest.
        ``meta["threshold"]`` is the threshold used (float), ``meta["kind"]`` the kind.

    Raises
    ------
    InputError
        If the image is not a valid image array, ``value`` is not a finite number or ``kind``
        is unknown.

    Warns
    -----
    UserWarning
        If a fixed ``value`` lies outside the image's range of values (every pixel then falls
        on one side; often a threshold in 0..255 units given for a float image), or the image is
        constant for an automatic kind.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 200], [130, 90]], np.uint8)
    >>> threshold(image).labels.tolist()
    [[0, 1], [1, 0]]
    >>> threshold(image, value=100, invert=True).labels.tolist()
    [[1, 0], [0, 1]]
    """
    gray = _gray(image)
    check_choice("kind", kind, _KINDS)
    value = check_float("value", value)
    invert = bool(invert)
    if kind == "fixed":
        _warn_outside(gray, value)
        level, mask = value, _binarize(gray, value, invert)
    elif _is_constant(gray):
        level, mask = _constant(gray, invert, f"threshold kind={kind!r}")
    else:
        level = float(_AUTO[kind](gray))
        mask = _binarize(gray, level, invert)
    return foreground_segmentation(mask, {"threshold": float(level), "kind": kind, "invert": invert})


def _warn_outside(gray: np.ndarray, value: float) -> None:
    low, high = _range(gray)
    if low <= value <= high:
        return
    side = "background" if value > high else "foreground"
    warnings.warn(
        f"value={value:g} lies outside the image's range [{low:g}, {high:g}] (dtype {gray.dtype}), so "
        f"every pixel is {side} before invert; give value in the image's own units",
        UserWarning,
        stacklevel=3,
    )


@register("otsu", kind="threshold", tiling="global")
def otsu(image: np.ndarray, *, invert: bool = False) -> Segmentation:
    """Otsu's threshold: the grey level that best separates two classes (maximum between-class variance).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float. uint8 uses
        OpenCV's Otsu; other dtypes scikit-image's ``threshold_otsu`` (uint16 keeps all 65536
        levels; float uses 256 bins between its min and max, thresholded at the upper edge of
        the chosen bin so that the whole bin stays in the lower class).
    invert : bool
        Make the pixels at or below the threshold the foreground.

    Returns
    -------
    Segmentation
        Label 1 = pixels above the threshold (class 1 ``"foreground"``), 0 = the rest;
        ``meta["threshold"]`` is the threshold in the image's units.

    Raises
    ------
    InputError
        If the image is not a valid image array.

    Warns
    -----
    UserWarning
        If the image is constant (then nothing is foreground, or everything with ``invert``).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[10, 20, 200], [15, 210, 220]], np.uint8)
    >>> seg = otsu(image)
    >>> seg.labels.tolist(), seg.meta["threshold"]
    ([[0, 0, 1], [0, 1, 1]], 20.0)
    """
    gray = _gray(image)
    invert = bool(invert)
    if gray.dtype == np.uint8:
        mode = (cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY) | cv2.THRESH_OTSU
        level, mask = cv2.threshold(gray, 0, 1, mode)
        if level == 0 and _is_constant(gray):  # OpenCV returns 0 for a constant image
            level, mask = _constant(gray, invert, "otsu")
    elif _is_constant(gray):
        level, mask = _constant(gray, invert, "otsu")
    elif gray.dtype.kind in "iu":
        level = filters.threshold_otsu(gray)  # one bin per integer level: exact
        mask = _binarize(gray, level, invert)
    else:
        counts, _, edges = _histogram(gray)
        level = otsu_level_from_histogram(counts, edges)
        mask = _binarize(gray, level, invert)
    return foreground_segmentation(mask, {"threshold": float(level), "invert": invert})


def _histogram(gray: np.ndarray, bins: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, centres and edges of a ``bins``-bin histogram between the image's min and max."""
    counts, edges = np.histogram(gray, bins=bins, range=(float(gray.min()), float(gray.max())))
    return counts, (edges[:-1] + edges[1:]) / 2, edges


def otsu_level_from_histogram(counts: np.ndarray, edges: np.ndarray) -> float:
    """Otsu's level for a float image from its 256-bin histogram: the upper edge of the chosen bin.

    The rule :func:`otsu` applies to non-integer images; the tiler calls it on a histogram
    streamed over the tiles, so both give the same threshold.
    """
    centers = (edges[:-1] + edges[1:]) / 2
    return float(edges[_bin_index(filters.threshold_otsu(hist=(counts, centers)), centers) + 1])


def _bin_index(value: float, centers: np.ndarray) -> int:
    """Index of the bin whose centre scikit-image returned as a threshold.

    scikit-image counts the pixels of that bin in the lower class but returns its centre, so
    ``image > centre`` would move the upper half of the bin up; seglab thresholds at the bin's
    upper edge instead, which agrees with the histogram the threshold was chosen on.
    """
    return int(np.clip(np.searchsorted(centers, value - 1e-9 * max(1.0, abs(value))), 0, centers.size - 1))


@register("multiotsu", kind="threshold")
def multiotsu(image: np.ndarray, *, classes: int = 3) -> Segmentation:
    """Multi-level Otsu: ``classes - 1`` thresholds that split the grey levels into ``classes`` bands.

    The darkest band is the background (label 0); regions ``1..classes-1`` are the brighter
    bands in increasing order of brightness, with ``class_ids`` ``1..classes-1``. A pixel
    belongs to band ``k`` when it is strictly above ``k`` thresholds, the same rule as
    :func:`otsu`.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float.
        uint8 uses its 256 levels; other dtypes a 256-bin histogram between their min and max.
    classes : int
        Number of bands, 2 to 5 (the search grows as 256 ** (classes - 1); 5 takes seconds).

    Returns
    -------
    Segmentation
        Regions ``1..classes-1`` (possibly disconnected or empty), ``class_names``
        ``("background", "level 1", ...)``; ``meta["thresholds"]`` lists the thresholds.

    Raises
    ------
    InputError
        If ``classes`` is not an integer from 2 to 5, or the image has fewer than ``classes``
        distinct grey levels.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 100, 100, 250, 250]], np.uint8)
    >>> seg = multiotsu(image, classes=3)
    >>> seg.labels.tolist(), seg.class_ids.tolist()
    ([[0, 0, 1, 1, 2, 2]], [1, 2])
    """
    gray = _gray(image)
    classes = check_int("classes", classes, minimum=2, maximum=_MAX_CLASSES)
    if gray.dtype == np.uint8:
        counts, centers, edges = np.bincount(gray.ravel(), minlength=256), np.arange(256.0), None
    else:
        counts, centers, edges = _histogram(gray)
    present = counts > 0
    levels = int(present.sum())
    if levels < classes:
        raise InputError(
            f"image must have at least {classes} distinct grey levels for classes={classes}, got {levels}"
        )
    first, last = np.flatnonzero(present)[[0, -1]]
    hist = (counts[first : last + 1], centers[first : last + 1])
    found = filters.threshold_multiotsu(classes=classes, hist=hist)
    if gray.dtype == np.uint8:
        thresholds = np.asarray(found, dtype=np.float64)
    else:  # the upper edge of each threshold bin (see _bin_index)
        thresholds = np.array([edges[_bin_index(t, centers) + 1] for t in found], dtype=np.float64)
    if gray.dtype == np.uint8:
        lut = np.digitize(np.arange(256), thresholds, right=True).astype(np.int32)
        labels = lut[gray]
    else:
        labels = np.digitize(gray, thresholds, right=True).astype(np.int32)
    names = ("background", *(f"level {k}" for k in range(1, classes)))
    return Segmentation(
        labels,
        class_ids=np.arange(1, classes),
        class_names=names,
        meta={"thresholds": [float(t) for t in thresholds]},
    )


@register("adaptive", kind="threshold", tiling="pixel", halo=lambda p: int(p["block_size"]) // 2 + 1)
def adaptive(
    image: np.ndarray,
    *,
    block_size: int = 35,
    offset: float = 0.0,
    kind: Literal["mean", "gaussian"] = "gaussian",
    invert: bool = False,
) -> Segmentation:
    """Adaptive (local) threshold: each pixel is compared with the mean of its neighbourhood.

    A pixel is foreground when ``pixel > local_mean - offset``, the convention of both
    scikit-image's ``threshold_local`` (``offset``) and OpenCV's ``adaptiveThreshold`` (``C``):
    a positive ``offset`` makes more pixels foreground. uint8 images use
    ``cv2.adaptiveThreshold`` (its local mean is rounded to a whole grey level); other dtypes
    compute the same local mean in float64 with ``cv2.boxFilter`` / ``cv2.GaussianBlur``, so
    the two agree except for pixels within half a grey level of the threshold. The image border
    is replicated. The Gaussian window is OpenCV's ``block_size`` x ``block_size`` kernel
    with sigma ``0.3 * ((block_size - 1) / 2 - 1) + 0.8`` (5.6 for 35).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float.
    block_size : int
        Side of the square neighbourhood in pixels, odd and >= 3; about the size of the
        objects (or larger) works best.
    offset : float
        Subtracted from the local mean, in the image's own units: a positive offset lowers the
        threshold (more foreground), a negative one raises it (keeps noise in flat areas out).
    kind : {"mean", "gaussian"}
        Plain mean of the window, or a Gaussian-weighted mean.
    invert : bool
        Make the pixels at or below the local threshold the foreground.

    Returns
    -------
    Segmentation
        Label 1 = pixels above their local threshold (class 1 ``"foreground"``), 0 = the rest.

    Raises
    ------
    InputError
        If ``block_size`` is not an odd integer >= 3, ``offset`` is not a finite number or
        ``kind`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 100, np.uint8); image[2, 2] = 120
    >>> adaptive(image, block_size=3).areas.tolist()  # only the bright pixel beats its neighbours
    [1]
    """
    gray = _gray(image)
    integer = isinstance(block_size, (int, np.integer)) and not isinstance(block_size, bool)
    if not integer or block_size < 3 or block_size % 2 == 0:
        raise expected("block_size", "an odd integer >= 3", block_size)
    block_size = int(block_size)
    offset = check_float("offset", offset)
    check_choice("kind", kind, ("mean", "gaussian"))
    invert = bool(invert)
    if gray.dtype == np.uint8:
        method = cv2.ADAPTIVE_THRESH_MEAN_C if kind == "mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
        mode = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
        # OpenCV rounds C up for BINARY and down for BINARY_INV; an integer C keeps the two
        # exact complements, and ceil(offset) is exact for integer pixels and local means.
        mask = cv2.adaptiveThreshold(gray, 1, method, mode, block_size, math.ceil(offset))
    else:
        data = gray.astype(np.float64)
        if kind == "mean":
            local = cv2.boxFilter(data, cv2.CV_64F, (block_size, block_size), borderType=cv2.BORDER_REPLICATE)
        else:
            local = cv2.GaussianBlur(data, (block_size, block_size), 0, borderType=cv2.BORDER_REPLICATE)
        # a tolerance far below one grey level keeps flat areas (pixel == local mean) background
        # despite rounding in the filter
        tolerance = 1e-9 * max(1.0, float(np.abs(data).max()))
        above = (data - local) > tolerance - offset
        mask = ~above if invert else above
    meta = {"block_size": block_size, "offset": offset, "kind": kind, "invert": invert}
    return foreground_segmentation(mask, meta)
