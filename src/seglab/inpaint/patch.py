"""Multi-scale patch inpainting: nearest-neighbour patches and voting, coarse to fine (Wexler et al.).

The hole is filled on an image pyramid. At the coarsest level, where the hole is only a couple
of patches wide, it starts from a smooth (Telea) fill. At each level every patch that overlaps
the hole is matched to its nearest fully-known patch, and each hole pixel becomes the average
of what the matched patches say it should be (voting); a few such rounds make the fill
coherent with its surroundings. The result is upsampled as the start of the next finer level.

Votes are weighted as in Wexler et al.: each hole patch takes its ``neighbours`` nearest
known patches (weighted by how close each is to the best match), and a patch deep inside the
hole votes less than one anchored on known pixels (``confidence ** -distance``).

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

from seglab.core.validate import check_float, check_int
from seglab.inpaint.api import register_inpaint
from seglab.inpaint.auto import hole_width
from seglab.inpaint.exemplar import _working

__all__ = ["patch"]

_MAX_SOURCES = 40000


def _margin(size: tuple[int, int], params: dict[str, Any]) -> int:
    return int(np.clip(max(size) // 2, 24, 128)) + int(params.get("patch_size", 7))


@register_inpaint("patch", margin=_margin)
def patch(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    patch_size: int = 7,
    iterations: int = 4,
    dims: int = 16,
    neighbours: int = 4,
    confidence: float = 1.3,
) -> np.ndarray:
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
    neighbours : int
        Candidate matches per hole patch; each votes, weighted by how close it is to the best
        one (1: only the nearest, sharper but noisier).
    confidence : float
        Wexler's spatial confidence base (>= 1): a patch ``d`` pixels deep in the hole votes
        with weight ``confidence ** -d``, so patches anchored on known pixels lead (1: all equal).

    Returns
    -------
    ndarray
        float32 values in the image's range (rounded back to its dtype by :func:`inpaint`).
    """
    size = check_int("patch_size", patch_size, minimum=3) | 1
    rounds = check_int("iterations", iterations, minimum=1)
    dims = check_int("dims", dims, minimum=1)
    neighbours = check_int("neighbours", neighbours, minimum=1)
    confidence = check_float("confidence", confidence, minimum=1.0)
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
        estimate = _complete(estimate, holes[level], size, rounds, dims, neighbours, confidence)
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


def _complete(
    estimate: np.ndarray, hole: np.ndarray, size: int, rounds: int, dims: int, neighbours: int, confidence: float
) -> np.ndarray:
    """Match-and-vote rounds at one level; known pixels never change."""
    h = size // 2
    height, width = estimate.shape[:2]
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
    weight = _target_weights(hole, tr, tc, size, confidence)
    for _ in range(rounds):
        windows = np.lib.stride_tricks.sliding_window_view(estimate, (size, size), axis=(0, 1))
        targets = windows[tr - h, tc - h].reshape(tr.size, -1)
        # at coarse levels there may be fewer source patches than neighbours asked for
        distance, match = tree.query((targets - mean) @ basis, k=min(neighbours, len(sources)))
        votes = _vote_weights(distance.reshape(tr.size, -1), weight)
        estimate = _vote(estimate, hole, sources, match.reshape(tr.size, -1), votes, target_flat)
    return estimate


def _vote_weights(distance: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Weight of each (target patch, candidate) vote: the target's confidence times how close
    the candidate is to the best match (Gaussian in the distance gap; the best one weighs 1)."""
    gap = distance - distance[:, :1]
    scale = max(float(np.median(distance[:, 0])), 1e-3)
    return np.exp(-((gap / scale) ** 2)) * confidence[:, None]


def _vote(estimate: np.ndarray, hole: np.ndarray, sources: np.ndarray, match: np.ndarray,
          weights: np.ndarray, target_flat: np.ndarray) -> np.ndarray:
    """Each hole pixel becomes the weighted mean of what the matched patches say it is."""
    height, width, depth = estimate.shape
    cells = height * width
    pixels = target_flat.size // match.shape[0]
    total = np.zeros((cells, depth))
    count = np.zeros(cells)
    for j in range(match.shape[1]):
        votes = sources[match[:, j]].reshape(match.shape[0], depth, pixels).transpose(0, 2, 1).reshape(-1, depth)
        weight = np.repeat(weights[:, j], pixels)
        count += np.bincount(target_flat, weights=weight, minlength=cells)
        for channel in range(depth):
            total[:, channel] += np.bincount(target_flat, weights=votes[:, channel] * weight, minlength=cells)
    flat = estimate.reshape(-1, depth).copy()
    voted = hole.ravel() & (count > 0)
    flat[voted] = total[voted] / count[voted, None]
    return flat.reshape(height, width, depth).astype(np.float32)


def _target_weights(hole: np.ndarray, tr: np.ndarray, tc: np.ndarray, size: int, gamma: float) -> np.ndarray:
    """Wexler's spatial confidence: a target patch counts ``gamma ** -d`` (d: its pixels' mean
    distance from the known area), so patches that overlap the known area lead the fill."""
    if gamma == 1.0:
        return np.ones(tr.size)
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    trust = cv2.blur(np.power(gamma, -distance).astype(np.float32), (size, size), borderType=cv2.BORDER_REPLICATE)
    return trust[tr, tc].astype(np.float64)


def _pca(samples: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the first ``dims`` principal directions (columns) of ``samples``."""
    rng = np.random.default_rng(0)
    subset = samples[rng.choice(samples.shape[0], min(samples.shape[0], 4000), replace=False)]
    mean = subset.mean(axis=0)
    centred = (subset - mean).astype(np.float64)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return mean, np.ascontiguousarray(vectors[:, ::-1][:, :dims]).astype(np.float32)
