"""Diffusion inpainting: OpenCV's Telea and Navier-Stokes, scikit-image's biharmonic.

These propagate smooth colour from the hole's edge inwards: excellent for thin holes
(scratches, strokes, small objects), blurry on wide ones, where :mod:`seglab.inpaint.exemplar`
copies texture instead.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from seglab.core.validate import check_float
from seglab.inpaint.api import channels, register_inpaint

__all__ = ["telea", "ns", "biharmonic"]


def _radius_margin(size: tuple[int, int], params: dict[str, Any]) -> int:
    return int(np.ceil(float(params.get("radius", 5.0)))) + 2


def _opencv(image: np.ndarray, mask: np.ndarray, radius: float, flag: int) -> np.ndarray:
    """cv2.inpaint on any dtype: 8-bit colour in one call, else per channel in uint16 or float32."""
    radius = check_float("radius", radius, minimum=0.0, exclusive_minimum=True)
    mask8 = mask.astype(np.uint8)
    if image.dtype == np.uint8:
        return cv2.inpaint(image, mask8, radius, flag)
    if image.dtype == np.uint16:
        planes = [cv2.inpaint(np.ascontiguousarray(plane), mask8, radius, flag) for plane in channels(image)]
        return planes[0] if image.ndim == 2 else np.dstack(planes)
    # OpenCV's float Telea assumes a 0..255 range (it diverges on 0..1 data): scale there and back.
    data = image.astype(np.float64)
    low, high = float(data.min()), float(data.max())
    span = high - low if high > low else 1.0
    work = ((data - low) * (255.0 / span)).astype(np.float32)
    planes = [cv2.inpaint(np.ascontiguousarray(plane), mask8, radius, flag) for plane in channels(work)]
    filled = planes[0] if image.ndim == 2 else np.dstack(planes)
    return filled.astype(np.float64) * (span / 255.0) + low


@register_inpaint("telea", margin=_radius_margin)
def telea(image: np.ndarray, mask: np.ndarray, *, radius: float = 5.0) -> np.ndarray:
    """Fast marching inpainting (Telea 2004, OpenCV): weighted averages marched in from the edge.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        uint8, uint16 or float image (16-bit and float are filled per channel at full depth).
    mask : (H, W) bool ndarray
        True where pixels are filled.
    radius : float
        Neighbourhood (pixels) each filled pixel averages over.

    Returns
    -------
    ndarray
        The image with the hole filled, same shape; uint8 and uint16 keep their dtype.

    References
    ----------
    A. Telea, "An image inpainting technique based on the fast marching method", J. Graphics
    Tools 9(1), 2004.
    """
    return _opencv(image, mask, radius, cv2.INPAINT_TELEA)


@register_inpaint("ns", margin=_radius_margin)
def ns(image: np.ndarray, mask: np.ndarray, *, radius: float = 5.0) -> np.ndarray:
    """Navier-Stokes inpainting (Bertalmio et al. 2001, OpenCV): isophotes continued into the hole.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        uint8, uint16 or float image (16-bit and float are filled per channel at full depth).
    mask : (H, W) bool ndarray
        True where pixels are filled.
    radius : float
        Neighbourhood (pixels) considered around each filled pixel.

    Returns
    -------
    ndarray
        The image with the hole filled, same shape.

    References
    ----------
    M. Bertalmio, A. L. Bertozzi, G. Sapiro, "Navier-Stokes, fluid dynamics, and image and video
    inpainting", CVPR 2001.
    """
    return _opencv(image, mask, radius, cv2.INPAINT_NS)


@register_inpaint("biharmonic", margin=4)
def biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Biharmonic inpainting (scikit-image): the smoothest surface that meets the hole's edge.

    Best PSNR on thin holes; slow on wide ones (a sparse solve over every hole pixel).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype; solved in float64 at full precision.
    mask : (H, W) bool ndarray
        True where pixels are filled.

    Returns
    -------
    ndarray
        float64 values in the image's range (rounded back to its dtype by :func:`inpaint`).

    References
    ----------
    S. B. Damelin, N. S. Hoang, "On surface completion and image inpainting by biharmonic
    functions: numerical aspects", Int. J. Math. Math. Sci., 2018.
    """
    from skimage.restoration import inpaint_biharmonic

    data = image.astype(np.float64)
    scale = max(float(np.abs(data).max()), 1e-12)
    out = inpaint_biharmonic(data / scale, mask, channel_axis=-1 if image.ndim == 3 else None)
    return out * scale


def _harmonic_fill(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The membrane (Laplace) fill: each hole pixel the mean of its 4 neighbours, solved exactly.

    Unlike the biharmonic fill it obeys the maximum principle: it never leaves the range of the
    hole's edge, so a dark rim at the edge cannot overshoot into a darker blob. The image's
    border is a free (Neumann) edge; a hole that covers the whole image is left as it is.
    ``completion`` takes its smooth base from it.

    Parameters
    ----------
    values : (H, W, C) float ndarray
        The image; only its known pixels are read.
    hole : (H, W) bool ndarray
        True where pixels are filled.

    Returns
    -------
    (H, W, C) float32 ndarray
        ``values`` with the hole filled.
    """
    import scipy.sparse as sparse
    from scipy.sparse.linalg import spsolve

    out = values.astype(np.float32)
    count = int(hole.sum())
    if count == 0 or count == hole.size:
        return out
    height, width = hole.shape
    index = np.full(hole.shape, -1, np.int64)
    index[hole] = np.arange(count)
    rows, cols = np.nonzero(hole)
    own = np.arange(count)
    degree = np.zeros(count)
    known_sum = np.zeros((count, values.shape[2]))
    links_from, links_to = [], []
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        degree[inside] += 1
        me, r, c = own[inside], r[inside], c[inside]
        in_hole = hole[r, c]
        links_from.append(me[in_hole])
        links_to.append(index[r[in_hole], c[in_hole]])
        np.add.at(known_sum, me[~in_hole], values[r[~in_hole], c[~in_hole]])
    start, end = np.concatenate(links_from), np.concatenate(links_to)
    system = sparse.csc_matrix((np.concatenate([degree, -np.ones(start.size)]),
                                (np.concatenate([own, start]), np.concatenate([own, end]))), shape=(count, count))
    # every hole component touches a known pixel (only a hole over the whole image does not),
    # so the system is irreducibly diagonally dominant: one exact sparse solve for all channels
    solution = spsolve(system, known_sum)
    out[hole] = np.asarray(solution, np.float32).reshape(count, -1)
    return out
