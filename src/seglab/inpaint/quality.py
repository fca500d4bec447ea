"""How good a fill looks, measured as people judge it: texture, continued edges, no ghost.

PSNR inside the hole rewards blur (a grey smear is closer on average to any photo than
plausible but misplaced texture), so these scores measure what a viewer sees instead:

- :func:`texture_ratio`: mean absolute Laplacian inside the fill over the same in a ring
  around the hole. A blurred fill scores about 0.1-0.3; real texture about 1.
- :func:`edge_continuity`: the share of the image edges that reach the hole which carry on
  into the fill.
- :func:`ghost_score`: the share of filled pixels whose colour is nearer the removed object's
  colours than the surroundings' (the "ghost" a fill leaves when it drags the object back in).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> noise = rng.integers(0, 255, (64, 64), dtype=np.uint8)
>>> hole = np.zeros((64, 64), bool); hole[24:40, 24:40] = True
>>> 0.8 < texture_ratio(noise, hole) < 1.2
True
>>> flat = noise.copy(); flat[hole] = 128
>>> texture_ratio(flat, hole) < 0.1
True
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from seglab.core.errors import expected
from seglab.core.validate import as_mask, check_int

__all__ = ["colour_centres", "edge_continuity", "ghost_score", "nearest_distance", "ring", "texture_ratio", "to_lab"]


def ring(mask: np.ndarray, width: int = 15) -> np.ndarray:
    """The known pixels within ``width`` pixels of the hole (a disk-shaped dilation minus the hole)."""
    width = check_int("width", width, minimum=1)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (cv2.dilate(mask.astype(np.uint8), disk) > 0) & ~mask


def _grey(image: Any) -> np.ndarray:
    """float32 grey on a 0..255 scale, whatever the dtype."""
    data = np.asarray(image)
    if data.ndim not in (2, 3):
        raise expected("image", "a (H, W) or (H, W, C) array", data)
    values = data.astype(np.float32)
    if data.dtype.kind in "iu" and data.dtype != np.uint8:
        values *= 255.0 / float(np.iinfo(data.dtype).max)
    elif data.dtype.kind == "f" and float(np.nanmax(np.abs(values))) <= 1.0:
        values *= 255.0
    return values if values.ndim == 2 else values[:, :, :3].mean(axis=2)


def texture_ratio(filled: Any, mask: Any, *, ring_width: int = 15) -> float:
    """Mean |Laplacian| inside the fill divided by the same in a ring around the hole.

    Parameters
    ----------
    filled : (H, W[, C]) ndarray
        The filled image.
    mask : (H, W) array-like
        The hole that was filled.
    ring_width : int
        Width (pixels) of the ring of known pixels compared against.

    Returns
    -------
    float
        About 1 when the fill is as textured as its surroundings; 0.1-0.3 for a smooth fill.
        The hole's outermost pixels are left out (their Laplacian straddles the edge).
    """
    grey = _grey(filled)
    hole = as_mask(mask, grey.shape)
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    inside = cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not inside.any():
        inside = hole
    around = ring(hole, ring_width)
    if not around.any() or not inside.any():
        return float("nan")
    return float(laplacian[inside].mean() / max(float(laplacian[around].mean()), 1e-6))


def _edges(grey: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(np.clip(grey, 0, 255).astype(np.uint8), (0, 0), 1.0)
    return cv2.Canny(smooth, 50, 120) > 0


def edge_continuity(original: Any, filled: Any, mask: Any, *, reach: int = 4) -> float:
    """The share of the original's edges at the hole that carry on into the fill.

    The edges (Canny) of ``original`` in a band 3 px wide just outside the hole are the ones
    that enter it; one counts as continued when the fill has an edge pixel inside the hole
    within ``reach`` pixels of it.

    Returns
    -------
    float
        0..1; NaN when no edge reaches the hole.
    """
    before, after = _grey(original), _grey(filled)
    hole = as_mask(mask, before.shape)
    band = ring(hole, 3)
    entering = _edges(before) & band
    if not entering.any():
        return float("nan")
    inside = _edges(after) & hole
    if not inside.any():
        return 0.0
    distance = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    return float(np.mean(distance[entering] <= reach))


def ghost_score(original: Any, filled: Any, mask: Any, *, object_mask: Any = None,
                clusters: int = 4, ring_width: int = 15) -> float:
    """The share of filled pixels whose colour is nearer the removed object's than the ring's.

    The object's colours (the ``original`` under ``object_mask``, default ``mask``) and the
    ring's colours (known pixels around the hole) are each summarised by ``clusters`` k-means
    centres in CIE Lab; each filled pixel goes to its nearest centre.

    Returns
    -------
    float
        0..1; lower is better. Even a perfect fill scores above 0 where the object shares
        colours with its surroundings, so compare methods on the same holes.
    """
    before, after = np.asarray(original), np.asarray(filled)
    hole = as_mask(mask, before.shape[:2])
    removed = hole if object_mask is None else as_mask(object_mask, before.shape[:2], name="object_mask")
    clusters = check_int("clusters", clusters, minimum=1)
    lab_before, lab_after = to_lab(before), to_lab(after)
    around = ring(hole, ring_width)
    if not removed.any() or not around.any():
        return float("nan")
    centres_object = colour_centres(lab_before[removed], clusters)
    centres_ring = colour_centres(lab_before[around], clusters)
    pixels = lab_after[hole]
    near_object = nearest_distance(pixels, centres_object)
    near_ring = nearest_distance(pixels, centres_ring)
    return float(np.mean(near_object < near_ring))


def to_lab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 CIE Lab of an RGB or grey image (grey: its 0..255 value in all three columns).

    Integer images are read on their dtype's full scale, float images as 0..1.
    """
    if image.ndim == 2:
        grey = _grey(image)
        return np.dstack([grey, grey, grey])
    rgb = image[:, :, :3].astype(np.float32)
    if image.dtype.kind in "iu":
        rgb /= float(np.iinfo(image.dtype).max)
    return cv2.cvtColor(np.clip(rgb, 0, 1), cv2.COLOR_RGB2Lab)


def colour_centres(samples: np.ndarray, k: int) -> np.ndarray:
    """``k`` k-means centres (seeded, so repeatable) of ``(N, C)`` colour samples; fewer when N < k."""
    samples = np.ascontiguousarray(samples.reshape(len(samples), -1), np.float32)
    k = min(k, len(samples))
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres


def nearest_distance(pixels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each pixel's squared distance to its nearest centre."""
    pixels = pixels.reshape(len(pixels), -1).astype(np.float32)
    nearest = np.full(len(pixels), np.inf, np.float32)
    for centre in np.asarray(centres, np.float32):  # a few centres: no (N, K, C) temporary
        np.minimum(nearest, ((pixels - centre) ** 2).sum(axis=1), out=nearest)
    return nearest
