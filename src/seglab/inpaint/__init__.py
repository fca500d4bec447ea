"""Inpainting: fill or remove a region, with its mask taken from a file, a segmentation, a point or a box.

>>> import numpy as np
>>> from seglab.inpaint import inpaint
>>> image = np.full((24, 24, 3), 90, np.uint8); image[8:12, 8:12] = 255
>>> inpaint(image, (image == 255).all(axis=2), "biharmonic")[10, 10].tolist()
[90, 90, 90]

Methods (``inpaint_methods()``): ``auto`` (default: ``completion`` on wide holes, diffusion on
thin ones), ``completion``, ``telea``, ``ns``, ``biharmonic``, ``patch``, ``exemplar``, ``blend``. See ``docs/inpainting.md`` for the measured comparison.
"""

from __future__ import annotations

from seglab.inpaint.api import DEFAULT_METHOD, get_inpaint_method, inpaint, inpaint_methods, register_inpaint
from seglab.inpaint.masks import (
    dilate_mask,
    extend_to_shadow,
    mask_from_box,
    mask_from_file,
    mask_from_point,
    mask_from_segmentation,
)

__all__ = [
    "DEFAULT_METHOD",
    "inpaint",
    "inpaint_methods",
    "get_inpaint_method",
    "register_inpaint",
    "dilate_mask",
    "extend_to_shadow",
    "mask_from_box",
    "mask_from_file",
    "mask_from_point",
    "mask_from_segmentation",
]
