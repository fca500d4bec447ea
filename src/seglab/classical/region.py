"""Region methods: seeded region growing and the watershed transform.

Both work in 8-bit intensity units whatever the input dtype: uint8 as is, uint16 divided by
257, floats in [0, 1] multiplied by 255, so a ``tolerance`` or ``h`` means the same contrast
on every image.
"""

from __future__ import annotations

import warnings
from typing import Literal

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage import morphology
from skimage import segmentation as sksegmentation

from seglab.core.errors import InputError, expected
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import (
    as_image,
    as_points,
    check_choice,
    check_float,
    check_int,
    to_float01,
    to_gray,
)

__all__ = ["region_growing", "watershed"]

#: Otsu separability (between-class / total variance) above which ``mode="auto"`` treats an
#: image as objects on a background.
NEAR_BINARY = 0.9


# ---------------------------------------------------------------------------- shared helpers
def float255(image: np.ndarray) -> np.ndarray:
    """``image`` as a new contiguous float32 array in 8-bit units (0..255)."""
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    return np.ascontiguousarray(to_float01(image) * np.float32(255.0), dtype=np.float32)


def gradient_magnitude(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed Sobel gradient magnitude in 8-bit units (a step of A reads about A).

    Colour images combine the channels' gradients (root of the summed squares).
    """
    work = float255(image)
    if sigma > 0:
        work = cv2.GaussianBlur(work, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    gx = cv2.Sobel(work, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(work, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    squared = gx * gx + gy * gy
    if squared.ndim == 3:
        squared = squared.sum(axis=2)
    return np.sqrt(squared) * np.float32(0.25)


# ---------------------------------------------------------------------------- region growing
@register("region_growing", kind="region", tiling="none", prompts={"seeds": "seeds"})
def region_growing(
    image: np.ndarray,
    *,
    seeds: list[tuple[float, float]] | None = None,
    tolerance: float = 20.0,
    connectivity: int = 8,
    max_seeds: int = 64,
) -> Segmentation:
    """Grow one region from each seed over connected pixels close to the seed's value.

    A pixel joins the region of seed ``i`` when it is connected to the seed (through pixels
    that also joined) and every channel differs from the seed pixel's value by at most
    ``tolerance`` (a fixed range around the seed, not a running mean). Pixels no seed reaches
    stay 0 (background).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype.
    seeds : list of (x, y), optional
        Seed pixels as (x, y) = (column, row); region ``i + 1`` grows from ``seeds[i]``.
        Seeds grow in list order and an earlier region keeps every pixel it reached, so where
        two seeds could claim a pixel the earlier seed wins; every seed keeps at least its own
        pixel. None picks seeds automatically: the image is cut into about ``max_seeds``
        square cells, the pixel with the smallest smoothed gradient (``sigma=1``) in each
        cell is a candidate, and candidates grow flattest first, skipping any already inside
        an earlier region.
    tolerance : float
        Largest per-channel difference from the seed's value, in 8-bit units (0..255).
        uint16 images are compared after dividing by 257, floats in [0, 1] after
        multiplying by 255.
    connectivity : int
        4 or 8 neighbours.
    max_seeds : int
        Number of grid cells for automatic seeds (ignored when ``seeds`` is given).

    Returns
    -------
    Segmentation
        Regions ``1..N`` (``N = len(seeds)`` when seeds are given); ``meta["seeds_xy"]`` holds
        the seed of each region.

    Raises
    ------
    InputError
        A seed outside the image, two seeds on one pixel, a negative tolerance, a
        connectivity other than 4 or 8, or ``max_seeds < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((10, 10), np.uint8); image[:, 5:] = 200
    >>> seg = region_growing(image, seeds=[(1, 1), (8, 8)], tolerance=10)
    >>> seg.areas.tolist()
    [50, 50]
    """
    pixels = as_image(image)
    tolerance = check_float("tolerance", tolerance, minimum=0.0)
    connectivity = check_choice("connectivity", connectivity, (4, 8))
    max_seeds = check_int("max_seeds", max_seeds, minimum=1)
    shape = pixels.shape[:2]
    if seeds is None:
        points, reserve = _auto_seeds(pixels, max_seeds), False
    else:
        points, reserve = as_points(seeds, shape, name="seeds"), True
        _check_distinct(points)
    # cv2.floodFill takes uint8 as is (its integer ranges equal the float ones on integer values),
    # which spares a float copy of the whole image: the fill itself only touches the region. With
    # FLOODFILL_MASK_ONLY it never writes the image, but its binding still wants a writable array.
    if pixels.dtype == np.uint8 and pixels.flags.writeable and pixels.flags.c_contiguous:
        work = pixels
    else:
        work = np.array(pixels) if pixels.dtype == np.uint8 else float255(pixels)
    labels, grown, areas = _grow(work, points, tolerance, connectivity, reserve)
    if reserve:
        _warn_blocked(work, labels, points, areas, tolerance)
    return Segmentation(labels, meta={"method": "region_growing", "seeds_xy": grown.tolist()})


def _check_distinct(points: np.ndarray) -> None:
    _, first, counts = np.unique(points, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        x, y = (int(v) for v in points[first[np.argmax(counts > 1)]])
        raise InputError(f"seeds must be distinct pixels, got (x, y) = ({x}, {y}) more than once")


def _auto_seeds(pixels: np.ndarray, max_seeds: int) -> np.ndarray:
    """The flattest pixel of each grid cell, flattest cell first, as (x, y)."""
    grad = gradient_magnitude(pixels, 1.0)
    height, width = grad.shape
    cell = max(1, int(np.ceil(np.sqrt(height * width / max_seeds))))
    rows, cols = -(-height // cell), -(-width // cell)
    padded = np.full((rows * cell, cols * cell), np.inf, dtype=np.float32)
    padded[:height, :width] = grad
    blocks = padded.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows, cols, cell * cell)
    best = blocks.argmin(axis=2)
    values = np.take_along_axis(blocks, best[:, :, None], axis=2)[:, :, 0]
    y = np.arange(rows)[:, None] * cell + best // cell
    x = np.arange(cols)[None, :] * cell + best % cell
    order = np.argsort(values, axis=None, kind="stable")
    return np.stack([x.ravel()[order], y.ravel()[order]], axis=1)


def _grow(
    work: np.ndarray, points: np.ndarray, tolerance: float, connectivity: int, reserve: bool
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Flood-fill each seed in order (cv2.floodFill, fixed range, mask only); labels, seeds grown, areas.

    Work is proportional to each region's bounding box, not to the image."""
    height, width = work.shape[:2]
    mask = np.zeros((height + 2, width + 2), dtype=np.uint8)
    labels = np.zeros((height, width), dtype=np.int32)
    diff = (tolerance,) * 3 if work.ndim == 3 else (tolerance,)
    flags = connectivity | (2 << 8) | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY
    if reserve:  # every seed keeps its own pixel
        mask[points[:, 1] + 1, points[:, 0] + 1] = 1
    grown, areas = [], []
    for x, y in points:
        if reserve:
            mask[y + 1, x + 1] = 0
        elif mask[y + 1, x + 1]:
            continue
        area, _, _, (rx, ry, rw, rh) = cv2.floodFill(work, mask, (int(x), int(y)), 0, diff, diff, flags)
        grown.append((int(x), int(y)))
        areas.append(int(area))
        window = mask[ry + 1 : ry + rh + 1, rx + 1 : rx + rw + 1]
        new = window == 2
        labels[ry : ry + rh, rx : rx + rw][new] = len(grown)
        window[new] = 1
    return labels, np.array(grown, dtype=np.int64).reshape(-1, 2), areas


def _warn_blocked(work: np.ndarray, labels: np.ndarray, points: np.ndarray, areas: list[int],
                  tolerance: float) -> None:
    """Warn about a seed that got only its own pixel because an earlier region surrounds it."""
    for index in np.flatnonzero(np.asarray(areas) == 1):
        x, y = (int(v) for v in points[index])
        window = labels[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
        values = work[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].astype(np.float32)
        seed_value = values[min(y, 1), min(x, 1)]  # the seed's place in its 3x3 window
        close = np.abs(values - seed_value).reshape(window.shape + (-1,)).max(axis=2) <= tolerance
        earlier = window[close & (window > 0) & (window <= index)]
        if earlier.size:
            warnings.warn(
                f"seeds[{index}] at (x, y) = ({x}, {y}) lies inside the region grown from "
                f"seeds[{int(earlier.min()) - 1}]; its region is only the seed pixel (earlier seeds win)",
                UserWarning,
                stacklevel=3,
            )


# ---------------------------------------------------------------------------- watershed
@register("watershed", kind="region")
def watershed(
    image: np.ndarray,
    *,
    markers: int | np.ndarray | None = None,
    mode: Literal["auto", "objects", "gradient"] = "auto",
    compactness: float = 0.0,
    h: float | None = None,
    sigma: float = 1.0,
    min_size: int = 64,
) -> Segmentation:
    """Watershed transform, flooding from markers on a gradient or a distance map.

    Two pipelines, chosen by ``mode``:

    * ``"objects"`` (objects on a background, e.g. a binary mask or coins): the grey image is
      thresholded with Otsu; the foreground is the side that covers less of the image border
      (the brighter side on a tie); holes are filled and components smaller than
      ``min_size`` pixels dropped. Markers are maxima of the Euclidean distance transform
      (h-maxima of height ``h`` pixels, so touching round objects split at their neck), and
      the watershed of the negated distance is confined to the foreground: background is 0.
    * ``"gradient"`` (photos): the watershed of the Gaussian-smoothed Sobel gradient
      (``sigma``), with markers at its h-minima (minima at least ``h`` deep, 8-bit units).
      Every pixel gets a region.

    ``"auto"`` picks ``"objects"`` when the image is near-binary: the Otsu threshold explains at
    least 90 % of the grey-level variance (between-class / total variance >= 0.9, true for
    binary masks and clean two-tone images; ordinary photos score 0.5-0.88). Otherwise
    ``"gradient"``. ``meta["mode"]`` records the choice.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype.
    markers : int or (H, W) ndarray of int, optional
        Automatic (None), a number of markers (int), or a label image of markers.
        None: automatic markers as above. An int ``n``: ``"objects"`` keeps the ``n`` highest
        distance maxima; ``"gradient"`` places ``n`` markers on a regular grid (with
        ``compactness > 0`` this gives compact superpixels). A label image: 0 = unmarked,
        every positive label floods one region; regions are renumbered ``1..N`` in
        increasing order of their marker labels.
    mode : {"auto", "objects", "gradient"}
        Distance-map pipeline for objects, gradient pipeline for photos, or auto (see above).
    compactness : float
        0 = classical watershed; larger values give more regular regions (compact watershed).
    h : float, optional
        Marker depth: gradient minima depth in 8-bit units, or distance maxima height in px.
        Minima of the gradient shallower than ``h`` (``"gradient"``, default 20) or maxima of
        the distance map lower than ``h`` pixels (``"objects"``, default 2) merge with their
        neighbours; larger values give fewer regions.
    sigma : float
        Gaussian smoothing before the gradient, in pixels (``"gradient"`` only).
    min_size : int
        Foreground components smaller than this many pixels are dropped (``"objects"`` only).

    Returns
    -------
    Segmentation
        With ``meta["mode"]`` set to the pipeline used.

    Raises
    ------
    InputError
        A markers array of the wrong shape or dtype, negative or without positive labels;
        ``markers < 1``; a negative ``compactness``, ``h`` or ``sigma``; ``min_size < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> rows, cols = np.mgrid[:40, :70]
    >>> left = (rows - 20) ** 2 + (cols - 20) ** 2 < 15 ** 2
    >>> right = (rows - 20) ** 2 + (cols - 47) ** 2 < 15 ** 2
    >>> image = left | right  # two disks touching at a neck
    >>> seg = watershed(image)
    >>> len(seg), seg.meta["mode"]
    (2, 'objects')
    """
    pixels = as_image(image)
    mode = check_choice("mode", mode, ("auto", "objects", "gradient"))
    compactness = check_float("compactness", compactness, minimum=0.0)
    sigma = check_float("sigma", sigma, minimum=0.0)
    min_size = check_int("min_size", min_size, minimum=0)
    if h is not None:
        h = check_float("h", h, minimum=0.0)
    markers = _check_markers(markers, pixels.shape[:2])
    gray = float255(to_gray(pixels))
    threshold, separability = _otsu(gray)
    if mode == "auto":
        mode = "objects" if separability >= NEAR_BINARY else "gradient"
    if mode == "objects":
        depth = 2.0 if h is None else h
        labels, contiguous = _watershed_objects(gray, threshold, markers, compactness, depth, min_size)
    else:
        depth = 20.0 if h is None else h
        labels, contiguous = _watershed_gradient(pixels, markers, compactness, depth, sigma)
    meta = {"method": "watershed", "mode": mode}
    return Segmentation(labels if contiguous else _renumber(labels), meta=meta)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered ``1..N`` in increasing order (a lookup table: np.unique is slower)."""
    top = int(labels.max())
    if top > 4 * labels.size:
        return Segmentation.from_labels(labels).labels
    present = np.bincount(labels.ravel(), minlength=top + 1) > 0
    present[0] = False
    lut = np.cumsum(present, dtype=np.int32)
    lut[0] = 0
    return lut[labels]


def _check_markers(markers: object, shape: tuple[int, int]) -> int | np.ndarray | None:
    if markers is None:
        return None
    if not isinstance(markers, np.ndarray):
        return check_int("markers", markers, minimum=1)
    if markers.dtype.kind not in "iub":
        raise expected("markers", "an integer label image", markers)
    if markers.ndim != 2 or markers.shape != tuple(shape):
        raise InputError(f"markers must have shape {tuple(shape)} like the image, got {markers.shape}")
    if markers.size and markers.min() < 0:
        raise expected("markers", "non-negative labels (0 = unmarked)", int(markers.min()))
    if not markers.any():
        raise InputError("markers must contain at least one positive label, got only zeros")
    return markers.astype(np.int32)


def _otsu(gray: np.ndarray) -> tuple[float, float]:
    """Otsu threshold of a float 0..255 image and its separability (0..1)."""
    hist = np.bincount(np.clip(gray, 0, 255).astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    prob = hist / hist.sum()
    omega = np.cumsum(prob)
    mu = np.cumsum(prob * levels)
    total_mean = mu[-1]
    total_var = float((prob * (levels - total_mean) ** 2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * omega - mu) ** 2 / (omega * (1.0 - omega))
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    index = int(np.argmax(between))
    separability = float(between[index] / total_var) if total_var > 0 else 0.0
    return index + 0.5, separability


def _watershed_objects(
    gray: np.ndarray, threshold: float, markers: int | np.ndarray | None,
    compactness: float, h: float, min_size: int,
) -> tuple[np.ndarray, bool]:
    foreground = gray > threshold
    border = np.concatenate([foreground[0], foreground[-1], foreground[:, 0], foreground[:, -1]])
    if border.mean() > 0.5:
        foreground = ~foreground
    foreground = ndi.binary_fill_holes(foreground)
    components, count = ndi.label(foreground, structure=np.ones((3, 3)))
    if min_size > 1 and count:
        keep = np.bincount(components.ravel()) >= min_size
        keep[0] = False
        foreground = keep[components]
        components, count = ndi.label(foreground, structure=np.ones((3, 3)))
    if count == 0:
        message = "watershed found no foreground objects; the segmentation is empty"
        warnings.warn(message, UserWarning, stacklevel=3)
        return np.zeros(gray.shape, dtype=np.int32), True
    distance = cv2.distanceTransform(foreground.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    if isinstance(markers, np.ndarray):
        seeds, contiguous = markers, False
    else:
        seeds, contiguous = _distance_markers(distance, components, count, h, markers)
    labels = sksegmentation.watershed(-distance, seeds, mask=foreground, compactness=compactness)
    return labels.astype(np.int32, copy=False), contiguous


def _distance_markers(
    distance: np.ndarray, components: np.ndarray, count: int, h: float, n: int | None
) -> tuple[np.ndarray, bool]:
    """h-maxima of the distance map; a component without one becomes a marker itself."""
    maxima = morphology.h_maxima(distance, h) if h > 0 else morphology.local_maxima(distance)
    seeds, found = ndi.label(maxima, structure=np.ones((3, 3)))
    if n is not None:
        heights = ndi.maximum(distance, seeds, np.arange(1, found + 1))
        keep = np.zeros(found + 1, dtype=np.int32)
        top = np.argsort(-np.asarray(heights), kind="stable")[:n]
        keep[top + 1] = np.arange(1, top.size + 1)
        return keep[seeds], True
    marked = np.zeros(count + 1, dtype=bool)
    marked[components[seeds > 0]] = True
    missing = ~marked[components] & (components > 0)
    if missing.any():
        seeds[missing] = found + components[missing]
        return seeds, False
    return seeds, True


def _watershed_gradient(
    pixels: np.ndarray, markers: int | np.ndarray | None, compactness: float, h: float, sigma: float
) -> tuple[np.ndarray, bool]:
    grad = gradient_magnitude(pixels, sigma)
    contiguous = not isinstance(markers, np.ndarray)
    if markers is None:
        minima = morphology.h_minima(grad, h) if h > 0 else morphology.local_minima(grad)
        markers, count = ndi.label(minima)
        if count == 0:  # contrast below h everywhere: one region from the lowest point
            markers[np.unravel_index(np.argmin(grad), grad.shape)] = 1
    labels = sksegmentation.watershed(grad, markers, compactness=compactness)
    return labels.astype(np.int32, copy=False), contiguous
