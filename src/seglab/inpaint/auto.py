"""The default inpainting method: pick by the hole's width.

Diffusion is hard to beat on thin holes (strokes, scratches, thin masks): the missing pixels
are all close to known ones and a smooth fill is nearly right. On wide holes diffusion blurs,
and multi-scale patch voting (``patch``) restores structure and texture; it measured better
than every diffusion method inside wide holes (PSNR and SSIM, ``docs/inpainting.md``). The hole's width is measured as twice the
largest distance from a hole pixel to the nearest known pixel (the diameter of its largest
inscribed disk), which is what decides how far colour must travel.
"""

from __future__ import annotations

import cv2
import numpy as np

from seglab.inpaint.api import _REGISTRY, register_inpaint

__all__ = ["auto", "choose_method", "WIDE_HOLE"]

#: Holes at least this wide (pixels) are filled with ``patch``, thinner ones with ``telea``.
WIDE_HOLE = 24


def hole_width(mask: np.ndarray) -> float:
    """Twice the largest distance (pixels) from a hole pixel to the nearest known pixel."""
    padded = np.pad(mask, 1, constant_values=False).astype(np.uint8)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)
    return 2.0 * float(distance.max())


def choose_method(mask: np.ndarray) -> str:
    """The method ``auto`` uses for ``mask``: ``"patch"`` for wide holes, else ``"telea"``."""
    return "patch" if hole_width(mask) >= WIDE_HOLE else "telea"


def _margin(size: tuple[int, int], params: dict) -> int:
    return _REGISTRY["patch"].margin(size, {})


@register_inpaint("auto", margin=_margin)
def auto(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pick by hole width: ``telea`` for thin holes, ``patch`` for wide ones (the default).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype.
    mask : (H, W) bool ndarray
        True where pixels are filled.

    Returns
    -------
    ndarray
        The filled image, same shape.
    """
    name = choose_method(mask)
    return _REGISTRY[name].info.function(image, mask)
