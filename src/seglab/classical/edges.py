"""Edge-detection methods (Sobel, Canny, Laplacian of Gaussian) turned into regions.

An edge map is not a segmentation, so each method returns the regions *between* the edges:
the connected components of the non-edge pixels, after closing one-pixel gaps in the edges,
without the components smaller than ``min_size``; every edge pixel (and every dropped component)
then joins the adjacent kept region closest to it in grey level, so the regions tile the image
(no background, labels ``1..N``, ``class_ids`` None) and a boundary lands where the intensity
changes. See :func:`seglab.classical._regions.regions_from_edges`.

Regions are only as closed as the edges: a contour with a gap wider than one pixel does not
separate the regions on its two sides.

The raw edge map is kept in ``meta["edges"]``: a (H, W) bool array, True on edge pixels (before
gap closing). The CLI's JSON summary drops it (large arrays are not JSON); use it from Python,
for example ``seglab.segment(image, "canny").meta["edges"]``.

Backends: OpenCV (``cv2.Sobel``, ``cv2.Canny``, ``cv2.GaussianBlur``, ``cv2.Laplacian``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage import filters

from seglab.classical._regions import regions_from_edges
from seglab.core.errors import InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_image, check_float, check_int, to_float01, to_gray, to_uint8

__all__ = ["sobel", "canny", "log"]


def _result(edges: np.ndarray, gray: np.ndarray, min_size: int, meta: dict, gap: int = 1) -> Segmentation:
    labels = regions_from_edges(edges, min_size=min_size, gray=gray, gap=gap)
    return Segmentation(labels, meta={"edges": edges, **meta})


@register("sobel", kind="edges")
def sobel(image: np.ndarray, *, threshold: float | None = None, min_size: int = 50) -> Segmentation:
    """Regions between Sobel edges: pixels whose gradient magnitude exceeds a threshold.

    The gradient is the 3x3 Sobel operator on the grey image scaled to [0, 1], divided by 4, so
    a step of height ``h`` gives a magnitude of ``h`` on the two pixels beside it.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float.
    threshold : float or None
        Edge pixels have a gradient magnitude above this, in [0, 1] intensity units (0.1 = a step
        of a tenth of the full range). None chooses it with Otsu's method on the magnitudes.
    min_size : int
        Regions smaller than this many pixels are merged into their neighbours.

    Returns
    -------
    Segmentation
        Regions ``1..N`` tiling the image; ``meta["edges"]`` the (H, W) bool edge map,
        ``meta["threshold"]`` the threshold used.

    Raises
    ------
    InputError
        If ``threshold`` is negative or ``min_size`` is not an integer >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20), np.uint8); image[:, 10:] = 200
    >>> seg = sobel(image, min_size=10)
    >>> len(seg), seg.areas.tolist(), int(seg.meta["edges"].sum())
    (2, [200, 200], 40)
    """
    gray = to_float01(to_gray(as_image(image)))
    if threshold is not None:
        threshold = check_float("threshold", threshold, minimum=0.0)
    min_size = check_int("min_size", min_size, minimum=0)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    magnitude = cv2.magnitude(gx, gy) * np.float32(0.25)
    if threshold is None:
        high = float(magnitude.max())
        threshold = float(filters.threshold_otsu(magnitude)) if high > float(magnitude.min()) else high
    edges = magnitude > threshold
    return _result(edges, gray, min_size, {"threshold": float(threshold)})


@register("canny", kind="edges",
          bounds={"sigma": (0, 50)})
def canny(
    image: np.ndarray, *, low: float = 50.0, high: float = 150.0, sigma: float = 1.0, min_size: int = 50
) -> Segmentation:
    """Regions between Canny edges (``cv2.Canny`` after a Gaussian blur).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float; it is
        converted to uint8 (:func:`seglab.core.validate.to_uint8`) as ``cv2.Canny`` needs.
    low : float
        Hysteresis low threshold on the gradient, in 8-bit units as in ``cv2.Canny`` (3x3
        Sobel, L1 norm: a step of 255 grey levels gives 1020).
    high : float
        Hysteresis high threshold, >= ``low``; edges start at pixels above it.
    sigma : float
        Standard deviation of the Gaussian blur before Canny, in pixels; 0 for none.
    min_size : int
        Regions smaller than this many pixels are merged into their neighbours.

    Returns
    -------
    Segmentation
        Regions ``1..N`` tiling the image; ``meta["edges"]`` the (H, W) bool edge map.

    Raises
    ------
    InputError
        If ``low`` is negative, ``high`` is below ``low``, ``sigma`` is negative or
        ``min_size`` is not an integer >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20), np.uint8); image[:, 10:] = 200
    >>> seg = canny(image, min_size=10)
    >>> len(seg), seg.areas.tolist()
    (2, [200, 200])
    """
    gray = to_uint8(to_gray(as_image(image)))
    low = check_float("low", low, minimum=0.0)
    high = check_float("high", high)
    if high < low:
        raise InputError(f"high must be a number >= low ({low:g}), got {high:g}")
    sigma = check_float("sigma", sigma, minimum=0.0)
    min_size = check_int("min_size", min_size, minimum=0)
    blurred = cv2.GaussianBlur(gray, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) if sigma > 0 else gray
    edges = cv2.Canny(blurred, low, high) > 0
    return _result(edges, gray, min_size, {"low": low, "high": high, "sigma": sigma})


@register("log", kind="edges",
          bounds={"sigma": (0.1, 50)})
def log(
    image: np.ndarray, *, sigma: float = 2.0, threshold: float = 0.05, min_size: int = 50
) -> Segmentation:
    """Regions between the zero crossings of the Laplacian of Gaussian (Marr-Hildreth edges).

    The grey image (scaled to [0, 1]) is blurred with a Gaussian of ``sigma`` and its 4-neighbour
    Laplacian taken. Where the Laplacian changes sign between two 4-neighbours, the pixel nearer
    to zero is an edge candidate, with a strength equal to the jump in the Laplacian across the
    pair; candidates stronger than ``threshold`` times the strongest one are the edges.

    Zero-crossing contours break up where edges meet (at T-junctions the weaker edge's contour
    bends away), so gaps up to ``2 * ceil(sigma)`` pixels are closed before the regions are
    formed (one pixel for Sobel and Canny).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or colour image (colour is converted to grey), uint8, uint16 or float.
    sigma : float
        Standard deviation of the Gaussian in pixels (> 0); larger finds coarser edges.
    threshold : float
        Minimum zero-crossing strength relative to the strongest, in [0, 1); 0 keeps every
        zero crossing (closed contours, but noise too).
    min_size : int
        Regions smaller than this many pixels are merged into their neighbours.

    Returns
    -------
    Segmentation
        Regions ``1..N`` tiling the image; ``meta["edges"]`` the (H, W) bool edge map,
        ``meta["threshold"]`` the absolute strength threshold.

    Raises
    ------
    InputError
        If ``sigma`` is not > 0, ``threshold`` is not in [0, 1) or ``min_size`` is not an
        integer >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((20, 20), np.uint8); image[:, 10:] = 200
    >>> seg = log(image, sigma=1.0, min_size=10)
    >>> len(seg), seg.areas.tolist()
    (2, [200, 200])
    """
    gray = to_float01(to_gray(as_image(image)))
    sigma = check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    threshold = check_float("threshold", threshold, minimum=0.0)
    if threshold >= 1.0:
        raise InputError(f"threshold must be a number >= 0 and < 1, got {threshold!r}")
    min_size = check_int("min_size", min_size, minimum=0)
    blurred = cv2.GaussianBlur(gray, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    laplacian = cv2.Laplacian(blurred, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REPLICATE)
    strength = _zero_crossings(laplacian)
    level = threshold * float(strength.max())
    edges = strength > level
    return _result(edges, gray, min_size, {"threshold": level}, gap=2 * math.ceil(sigma))


def _zero_crossings(laplacian: np.ndarray) -> np.ndarray:
    """Strength of the sign changes between 4-neighbours, put on the pixel nearer to zero."""
    strength = np.zeros(laplacian.shape, dtype=np.float32)
    magnitude = np.abs(laplacian)
    positive, negative = laplacian > 0, laplacian < 0
    for axis in (0, 1):
        first = [slice(None), slice(None)]
        second = [slice(None), slice(None)]
        first[axis], second[axis] = slice(None, -1), slice(1, None)
        a, b = tuple(first), tuple(second)
        cross = (positive[a] & negative[b]) | (negative[a] & positive[b])
        jump = np.where(cross, np.abs(laplacian[a] - laplacian[b]), 0)
        on_first = cross & (magnitude[a] <= magnitude[b])
        on_second = cross & ~on_first
        np.maximum(strength[a], np.where(on_first, jump, 0), out=strength[a])
        np.maximum(strength[b], np.where(on_second, jump, 0), out=strength[b])
    return strength
