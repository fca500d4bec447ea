"""Multi-scale patch inpainting: nearest-neighbour patches and voting, coarse to fine (Wexler et al.).

The hole is filled on an image pyramid. At the coarsest level, where the hole is only a couple
of patches wide, it starts from a smooth (Telea) fill. At each level every patch that overlaps
the hole is matched to its nearest fully-known patch, and each hole pixel becomes the average
of what the matched patches say it should be (voting); a few such rounds make the fill
coherent with its surroundings. The result is upsampled as the start of the next finer level.

The nearest-neighbour search is vectorised: known patches are projected on their first
principal components and put in a k-d tree (``scipy.spatial.cKDTree``), and all hole patches
are looked up in one query per round, so the cost follows the number of hole pixels.

References
----------
Y. Wexler, E. Shechtman, M. Irani, "Space-time completion of video", IEEE TPAMI 29(3), 2007.
C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch", SIGGRAPH 2009.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy.spatial import cKDTree

from seglab.core.validate import check_int
from seglab.inpaint.api import register_inpaint
from seglab.inpaint.auto import hole_width
from seglab.inpaint.exemplar import _working

__all__ = ["patch"]

_MAX_SOURCES = 40000


def _margin(size: tuple[int, int], params: dict[str, Any]) -> int:
    return int(np.clip(max(size) // 2, 24, 128)) + int(params.get("patch_size", 7))


@register_inpaint("patch", margin=_margin)
def patch(image: np.ndarray, mask: np.ndarray, *, patch_size: int = 7, iterations: int = 4, dims: int = 16) -> np.ndarray:
    """Multi-scale patch voting (Wexler-style): coherent texture and structure on large holes.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype; matched and voted in float32.
    mask : (H, W) bool ndarray
        True where pixels are filled.
    patch_size : int
        Side of the square patches (odd, >= 3).
    iterations : int
        Match-and-vote rounds per pyramid level.
    dims : int
        Principal components kept for the nearest-neighbour search.

    Returns
    -------
    ndarray
        float32 values in the image's range (rounded back to its dtype by :func:`inpaint`).
    """
    size = check_int("patch_size", patch_size, minimum=3) | 1
    rounds = check_int("iterations", iterations, minimum=1)
    dims = check_int("dims", dims, minimum=1)
    work = _working(image)
    scale = _scale_back(image)
    levels = int(max(0, np.ceil(np.log2(max(hole_width(mask) / (2.0 * size), 1.0)))))
    images, holes = [work], [mask]
    for _ in range(levels):
        smaller_image, smaller_hole = _downsample(images[-1], holes[-1])
        if min(smaller_hole.shape) < 2 * size or smaller_hole.all():
            break
        images.append(smaller_image)
        holes.append(smaller_hole)
    estimate = _smooth_fill(images[-1], holes[-1])
    for level in range(len(images) - 1, -1, -1):
        if level < len(images) - 1:
            height, width = holes[level].shape
            up = cv2.resize(estimate, (width, height), interpolation=cv2.INTER_LINEAR).reshape(images[level].shape)
            estimate = np.where(holes[level][:, :, None], up, images[level])
        estimate = _complete(estimate, holes[level], size, rounds, dims)
    return scale(estimate)


def _scale_back(image: np.ndarray) -> Any:
    """Map working values (0..255 float32, (H, W, C)) back to the image's range and shape."""
    def back(values: np.ndarray) -> np.ndarray:
        out = values.astype(np.float64)
        if image.dtype.kind in "iu" and image.dtype != np.uint8:
            out *= float(np.iinfo(image.dtype).max) / 255.0
        elif image.dtype.kind == "f":
            low, high = float(image.min()), float(image.max())
            out = out * ((high - low) / 255.0) + low
        return out[:, :, 0] if image.ndim == 2 else out

    return back


def _downsample(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half size; known pixels averaged from known pixels only, any hole coverage stays hole."""
    height, width = (hole.shape[0] + 1) // 2, (hole.shape[1] + 1) // 2
    known = (~hole).astype(np.float32)
    weighted = cv2.resize(image * known[:, :, None], (width, height), interpolation=cv2.INTER_AREA)
    share = cv2.resize(known, (width, height), interpolation=cv2.INTER_AREA)
    smaller_hole = share < 0.999
    values = weighted.reshape(height, width, -1) / np.maximum(share, 1e-6)[:, :, None]
    values[smaller_hole] = 0
    return values.astype(np.float32), smaller_hole


def _smooth_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    mask8 = hole.astype(np.uint8)
    planes = [cv2.inpaint(np.ascontiguousarray(image[:, :, c]), mask8, 3, cv2.INPAINT_TELEA) for c in range(image.shape[2])]
    return np.dstack(planes).astype(np.float32)


def _complete(estimate: np.ndarray, hole: np.ndarray, size: int, rounds: int, dims: int) -> np.ndarray:
    """Match-and-vote rounds at one level; known pixels never change."""
    h = size // 2
    height, width, depth = estimate.shape
    if height < size or width < size:
        return estimate
    known = (~hole).astype(np.float32)
    full = cv2.boxFilter(known, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    centre_ok = np.zeros(hole.shape, bool)
    centre_ok[h:height - h, h:width - h] = True
    sr, sc = np.nonzero((full >= size * size - 0.5) & centre_ok)
    if sr.size == 0:
        return estimate
    step = int(np.ceil(np.sqrt(sr.size / _MAX_SOURCES)))
    if step > 1:
        keep = (sr % step == 0) & (sc % step == 0)
        sr, sc = sr[keep], sc[keep]
    kernel = np.ones((size, size), np.uint8)
    touching = cv2.dilate(hole.astype(np.uint8), kernel) > 0
    tr, tc = np.nonzero(touching & centre_ok)
    windows = np.lib.stride_tricks.sliding_window_view(estimate, (size, size), axis=(0, 1))
    sources = windows[sr - h, sc - h].reshape(sr.size, -1)
    mean, basis = _pca(sources, dims)
    tree = cKDTree((sources - mean) @ basis)
    offsets_r, offsets_c = np.mgrid[-h:h + 1, -h:h + 1]
    target_flat = ((tr[:, None] + offsets_r.ravel()) * width + (tc[:, None] + offsets_c.ravel())).ravel()
    fill = hole.ravel()
    for _ in range(rounds):
        windows = np.lib.stride_tricks.sliding_window_view(estimate, (size, size), axis=(0, 1))
        targets = windows[tr - h, tc - h].reshape(tr.size, -1)
        _, match = tree.query((targets - mean) @ basis, k=1)
        votes = sources[match].reshape(tr.size, depth, size * size).transpose(0, 2, 1).reshape(-1, depth)
        count = np.bincount(target_flat, minlength=height * width)
        flat = estimate.reshape(-1, depth).copy()
        for channel in range(depth):
            total = np.bincount(target_flat, weights=votes[:, channel], minlength=height * width)
            voted = fill & (count > 0)
            flat[voted, channel] = total[voted] / count[voted]
        estimate = flat.reshape(height, width, depth).astype(np.float32)
    return estimate


def _pca(samples: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the first ``dims`` principal directions (columns) of ``samples``."""
    rng = np.random.default_rng(0)
    subset = samples[rng.choice(samples.shape[0], min(samples.shape[0], 4000), replace=False)]
    mean = subset.mean(axis=0)
    centred = (subset - mean).astype(np.float64)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return mean, np.ascontiguousarray(vectors[:, ::-1][:, :dims]).astype(np.float32)
