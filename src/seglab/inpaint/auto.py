"""The default inpainting method: pick the fill per hole, by the hole's width.

Each connected hole of the mask is measured: its width is twice the largest distance from one
of its pixels to the nearest known pixel (the diameter of its largest inscribed disk), which
is how far colour must travel to fill it.

- Thin holes (narrower than :data:`WIDE_HOLE` pixels: scratches, strokes, text) get the mean
  of the ``telea`` and ``biharmonic`` fills: every missing pixel is close to known ones, a
  smooth fill is nearly right, and it is the best in PSNR by 1-2 dB there.
- Wide holes (removed objects, boxes) get ``completion`` (multi-scale PatchMatch with a smooth
  base), which continues texture and structure where diffusion leaves a blurred smear.

The rule is measured (``docs/inpainting.md``): on strokes of a given width cut into BSDS500
photos, the smooth fill's lead in PSNR shrinks with the width (2 dB at 4-8 px, 1.0-1.3 dB at
12-24 px, 0.7 dB at 32 px) while its texture ratio stays about 0.12 against 0.8-1.0 for
``completion``; from 16 px on the smooth smear is plainly visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from seglab.inpaint.api import _REGISTRY, register_inpaint

__all__ = ["WIDE_HOLE", "auto", "choose_method", "hole_width", "hole_widths"]

#: Holes at least this wide (pixels) get ``completion``; thinner ones the telea + biharmonic mean.
WIDE_HOLE = 16

THIN_FILL = "telea+biharmonic"
WIDE_FILL = "completion"


def hole_width(mask: np.ndarray) -> float:
    """Twice the largest distance (pixels) from a hole pixel to the nearest known pixel."""
    padded = np.pad(mask, 1, constant_values=False).astype(np.uint8)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)
    return 2.0 * float(distance.max())


def hole_widths(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The label image of the mask's connected holes (8-connected, 1..N) and each hole's width."""
    from scipy import ndimage

    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return labels, np.zeros(0)
    padded = np.pad(mask, 1, constant_values=False).astype(np.uint8)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    widths = 2.0 * np.asarray(ndimage.maximum(distance, labels, np.arange(1, count)), np.float64)
    return labels, widths


def choose_method(mask: np.ndarray) -> str:
    """What ``auto`` uses on ``mask``: ``"completion"``, ``"telea+biharmonic"``, or both
    (``"completion (2 holes), telea+biharmonic (5 holes)"``) when the mask has holes of both kinds.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((64, 64), bool); mask[30:33, 5:60] = True
    >>> choose_method(mask)
    'telea+biharmonic'
    """
    _, widths = hole_widths(np.asarray(mask, bool))
    wide = int(np.count_nonzero(widths >= WIDE_HOLE))
    thin = widths.size - wide
    if wide and thin:
        return f"{WIDE_FILL} ({wide} hole{'s' * (wide > 1)}), {THIN_FILL} ({thin} hole{'s' * (thin > 1)})"
    return WIDE_FILL if wide else THIN_FILL


def _margin(size: tuple[int, int], params: dict) -> int:
    return _REGISTRY[WIDE_FILL].margin(size, {})


@register_inpaint("auto", margin=_margin)
def auto(image: np.ndarray, mask: np.ndarray, *, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The default: ``completion`` on wide holes, the telea + biharmonic mean on thin ones.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype.
    mask : (H, W) bool ndarray
        True where pixels are filled.
    progress : callable or None
        Called as ``progress(done, total)`` while wide holes are filled.

    Returns
    -------
    ndarray
        The filled image, same shape (float; rounded back to its dtype by :func:`inpaint`).
    """
    from seglab.inpaint.completion import completion
    from seglab.inpaint.diffusion import biharmonic, telea

    labels, widths = hole_widths(mask)
    wide = np.isin(labels, 1 + np.flatnonzero(widths >= WIDE_HOLE))
    thin = mask & ~wide
    out: Any = image.astype(np.float64)
    if thin.any():
        # Telea over the whole mask first, so the thin fills never read a wide hole's pixels
        # (the removed object); biharmonic then runs on the thin holes alone.
        provisional = np.asarray(telea(image, mask), np.float64)
        base = np.where(_expand(wide, image), provisional, out)
        smooth = 0.5 * (provisional + np.asarray(biharmonic(base, thin), np.float64))
        out = np.where(_expand(thin, image), smooth, out)
    if wide.any():
        filled = np.asarray(completion(_like(out, image), wide, progress=progress), np.float64)
        out = np.where(_expand(wide, image), filled, out)
    return out


def _expand(hole: np.ndarray, image: np.ndarray) -> np.ndarray:
    return hole if image.ndim == 2 else hole[:, :, None]


def _like(values: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``values`` back in ``image``'s dtype, so the fills that follow see the same value range."""
    if image.dtype.kind in "iu":
        limits = np.iinfo(image.dtype)
        return np.clip(np.rint(values), limits.min, limits.max).astype(image.dtype)
    return values.astype(image.dtype)
