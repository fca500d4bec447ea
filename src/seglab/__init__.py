"""seglab: image segmentation in one toolkit.

Classical methods, deep models trained on your own labels, and the jobs people segment for
(objects, annotation, inpainting), all returning one :class:`Segmentation`.

>>> import seglab
>>> seg = seglab.segment(seglab.data.coins(), "otsu")   # doctest: +SKIP

``import seglab`` imports numpy only; everything else loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Segmentation": "seglab.core.segmentation",
    "SeglabError": "seglab.core.errors",
    "InputError": "seglab.core.errors",
    "FormatError": "seglab.core.errors",
    "load_image": "seglab.core.image",
    "save_image": "seglab.core.image",
    "segment": "seglab.core.registry",
    "methods": "seglab.core.registry",
    "get_method": "seglab.core.registry",
    "register": "seglab.core.registry",
    "MethodInfo": "seglab.core.registry",
}
_SUBMODULES = (
    "classical", "core", "data", "datasets", "deep", "formats", "inpaint", "metrics",
    "objects", "tiling", "batch", "viz", "cli", "web",
)

__all__ = sorted([*_LAZY, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from seglab.core.errors import FormatError, InputError, SeglabError
    from seglab.core.image import load_image, save_image
    from seglab.core.registry import MethodInfo, get_method, methods, register, segment
    from seglab.core.segmentation import Segmentation


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"seglab.{name}")
    raise AttributeError(f"module 'seglab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES])
