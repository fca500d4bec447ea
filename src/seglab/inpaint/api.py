"""``inpaint(image, mask, method=...)``: the inpainting registry and the code every method shares.

A method is a plain function ``fn(image, mask, **params) -> image`` registered with
:func:`register_inpaint`. :func:`inpaint` validates the input, cuts a crop around the hole
(the hole's box plus a margin the method asks for, so the cost follows the hole and not the
image), runs the method on the crop, and pastes back only the pixels under the mask, so every
pixel outside the mask is returned bit-exact in the input's shape and dtype.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.registry import MethodInfo, check_params, describe_function
from seglab.core.registry_base import Registry
from seglab.core.validate import as_image, as_mask

__all__ = ["INPAINT_METHODS", "register_inpaint", "inpaint", "inpaint_methods", "get_inpaint_method", "DEFAULT_METHOD"]

#: The method used when none is named: the average of telea and biharmonic, plus the patch fill
#: for holes wider than 24 px (see :mod:`seglab.inpaint.auto` and docs/inpainting.md).
DEFAULT_METHOD = "auto"

_BUILTIN_MODULES = (
    "seglab.inpaint.diffusion",
    "seglab.inpaint.exemplar",
    "seglab.inpaint.patch",
    "seglab.inpaint.auto",
    "seglab.inpaint.blend",
)

MarginFn = Callable[[tuple[int, int], dict[str, Any]], int]


@dataclass(frozen=True)
class _Entry:
    info: MethodInfo
    margin: MarginFn


#: Inpainting methods by name (an entry holds the method's description and its margin rule).
INPAINT_METHODS: Registry[_Entry] = Registry("inpainting method", builtins=_BUILTIN_MODULES)
_REGISTRY = INPAINT_METHODS._entries  # the entries by name, for the built-ins that combine others


def register_inpaint(name: str, *, margin: MarginFn | int = 8) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Register an inpainting function under ``name``.

    Parameters
    ----------
    name : str
        Lower-case name.
    margin : int or callable
        Context (pixels) around the hole's box that the method needs; a callable gets the
        hole's box size ``(height, width)`` and the call's parameters.
    """
    margin_fn: MarginFn = margin if callable(margin) else (lambda size, params, _m=int(margin): _m)

    def decorator(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        info = describe_function(name, "inpaint", function, inputs=2)  # the image and the mask
        INPAINT_METHODS.add(name, _Entry(info, margin_fn), origin=f"{function.__module__}.{function.__qualname__}")
        return function

    return decorator


def inpaint_methods() -> list[MethodInfo]:
    """The registered inpainting methods (name, parameters with types and defaults, summary), by name.

    Examples
    --------
    >>> from seglab.inpaint import inpaint_methods
    >>> [m.name for m in inpaint_methods()]
    ['auto', 'biharmonic', 'blend', 'exemplar', 'ns', 'patch', 'telea']
    """
    return [entry.info for entry in INPAINT_METHODS.values()]


def get_inpaint_method(name: str) -> MethodInfo:
    """The inpainting method registered as ``name``.

    Raises
    ------
    InputError
        If no method has that name (the message lists the choices and the closest match).
    """
    return INPAINT_METHODS.get(name).info


def inpaint(image: Any, mask: Any, method: str = DEFAULT_METHOD, **params: Any) -> np.ndarray:
    """Fill the pixels under ``mask`` from the rest of the image.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray or path-like
        uint8, uint16 or float image (a file is loaded with :func:`seglab.load_image`).
    mask : (H, W) array-like
        Non-zero where pixels are to be filled.
    method : str
        ``"auto"`` (default: the average of ``telea`` and ``biharmonic``, plus the ``patch`` fill
        for holes wider than 24 px, see :mod:`seglab.inpaint.auto`), ``"blend"``, ``"telea"``,
        ``"ns"``, ``"biharmonic"``, ``"patch"`` or ``"exemplar"``; :func:`inpaint_methods` lists
        them with their parameters.
    **params
        The method's keyword parameters.

    Returns
    -------
    (H, W) or (H, W, 3) ndarray
        A new array of the image's shape and dtype; pixels outside the mask are bit-exact copies.

    Raises
    ------
    InputError
        Unknown method or parameter, a mask whose shape differs from the image's, or a mask
        that covers the whole image (nothing to fill from).

    Warns
    -----
    UserWarning
        When the mask is empty; the image is returned unchanged (as a copy).

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.inpaint import inpaint
    >>> image = np.full((32, 32), 100, np.uint8); image[10:14, 10:14] = 255
    >>> hole = image == 255
    >>> out = inpaint(image, hole, "biharmonic")
    >>> int(out[12, 12]), out.dtype.name
    (100, 'uint8')
    """
    from seglab.core.image import load_image

    info = get_inpaint_method(method)
    check_params(info, params)
    pixels = load_image(image) if not isinstance(image, np.ndarray) else as_image(image)
    hole = as_mask(mask, pixels.shape[:2])
    filled = int(np.count_nonzero(hole))
    if filled == 0:
        warnings.warn("mask is empty; returning the image unchanged", UserWarning, stacklevel=2)
        return pixels.copy()
    if filled == hole.size:
        raise InputError(
            f"mask must leave some pixels outside it to fill from, got a mask covering all {hole.size} pixels"
        )
    entry = _REGISTRY[info.name]
    rows, cols = _crop_slices(hole, entry.margin, params)
    crop, crop_mask = pixels[rows, cols], hole[rows, cols]
    result = info.function(crop, crop_mask, **params)
    _check_result(info.name, result, crop)
    out = pixels.copy()
    out_crop = out[rows, cols]
    out_crop[crop_mask] = _to_dtype(np.asarray(result)[crop_mask], pixels.dtype)
    return out


def _crop_slices(hole: np.ndarray, margin_fn: MarginFn, params: dict[str, Any]) -> tuple[slice, slice]:
    """The hole's bounding box plus the method's margin, clipped to the image."""
    rows = np.flatnonzero(hole.any(axis=1))
    cols = np.flatnonzero(hole.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    margin = max(int(margin_fn((int(r1 - r0), int(c1 - c0)), params)), 1)
    height, width = hole.shape
    return slice(max(r0 - margin, 0), min(r1 + margin, height)), slice(max(c0 - margin, 0), min(c1 + margin, width))


def _check_result(name: str, result: Any, crop: np.ndarray) -> None:
    if not isinstance(result, np.ndarray) or result.shape != crop.shape:
        shape = getattr(result, "shape", None)
        raise RuntimeError(f"inpainting method {name!r} returned shape {shape}, expected {crop.shape}")


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip ``values`` into ``dtype`` (integers) or cast (floats)."""
    if values.dtype == dtype:
        return values
    if np.dtype(dtype).kind in "iu":
        limits = np.iinfo(dtype)
        return np.clip(np.rint(values), limits.min, limits.max).astype(dtype)
    return values.astype(dtype)


def channels(image: np.ndarray) -> list[np.ndarray]:
    """The image's channels as a list of (H, W) arrays (one for grey)."""
    return [image] if image.ndim == 2 else [image[:, :, c] for c in range(image.shape[2])]
