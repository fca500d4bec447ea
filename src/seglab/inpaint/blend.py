"""Consensus inpainting: the mean of a Telea, a biharmonic and a patch-voting fill.

Inside a wide hole no method knows the true pixels; each gives one plausible guess with its own
kind of error: Telea (fast marching) drags edge colours in along straight lines, biharmonic
diffusion gives the smoothest surface through the boundary, and patch voting copies texture
and structure that may be misplaced. Their errors are only partly correlated, so their mean is
closer to the truth on average than any one of them (lower squared error, and higher SSIM,
because misplaced texture costs SSIM more than missing texture). Measured on BSDS500 photos it
beats every single method inside box and object-shaped holes, in PSNR and SSIM
(``docs/inpainting.md``). The price, which is why it is no longer the default: the mean is a
smooth fill (texture ratio about 0.07 on real horse removals, against 0.8 for ``completion``),
so the removed object's silhouette stays visible as a blurred ghost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seglab.core.errors import expected
from seglab.inpaint.api import _REGISTRY, register_inpaint
from seglab.inpaint.diffusion import biharmonic, telea

__all__ = ["blend"]


def _margin(size: tuple[int, int], params: dict[str, Any]) -> int:
    return _REGISTRY["patch"].margin(size, {"patch_size": params.get("patch_size", 7)})


@register_inpaint("blend", margin=_margin)
def blend(image: np.ndarray, mask: np.ndarray, *, patch_size: int = 7, with_patch: bool = True) -> np.ndarray:
    """Mean of the ``telea``, ``biharmonic`` and ``patch`` fills: the best PSNR in wide holes, but smooth.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype; averaged in float64.
    mask : (H, W) bool ndarray
        True where pixels are filled.
    patch_size : int
        Patch side for the ``patch`` fill (odd, >= 3).
    with_patch : bool
        Include the ``patch`` fill (slow, seconds). Without it, the mean of ``telea`` and
        ``biharmonic`` alone (fast), which is what ``auto`` uses on thin holes.

    Returns
    -------
    ndarray
        float64 values in the image's range (rounded back to its dtype by :func:`inpaint`).

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.inpaint import inpaint
    >>> image = np.full((40, 40), 90, np.uint8); hole = np.zeros((40, 40), bool); hole[10:30, 10:30] = True
    >>> int(inpaint(image, hole, "blend")[20, 20])
    90
    """
    from seglab.inpaint.patch import patch  # here: patch -> auto -> blend would be circular at import

    if not isinstance(with_patch, (bool, np.bool_)):
        raise expected("with_patch", "True or False", with_patch)
    fills = [telea(image, mask), biharmonic(image, mask)]
    if with_patch:
        fills.append(patch(image, mask, patch_size=patch_size))
    return np.mean([np.asarray(fill, np.float64) for fill in fills], axis=0)
