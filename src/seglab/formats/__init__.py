"""Annotation formats: COCO, Pascal VOC, YOLO segmentation, labelme and PNG masks.

Each format is a pair of free functions in its own module::

    to_X(items, target, **options) -> Path
    from_X(target, **options) -> list[(image_path, Segmentation)]

where ``items`` are ``(image_path, Segmentation)`` pairs. ``target`` is a JSON file for COCO
and a folder for the others. Every file is written atomically, so a failed export leaves no
half-written file. Round trips keep every object exactly for COCO (RLE), VOC and PNG, and to
within a pixel band for the polygon formats; holes stay holes everywhere.

>>> from seglab import formats
>>> sorted(formats.FORMATS)
['coco', 'labelme', 'png', 'voc', 'yolo']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seglab.core.errors import InputError

__all__ = ["FORMATS", "format_names", "get_format", "read", "write"]

#: Format name -> (module, writer, reader, whether the target is one file).
FORMATS: dict[str, tuple[str, str, str, bool]] = {
    "coco": ("seglab.formats.coco", "to_coco", "from_coco", True),
    "voc": ("seglab.formats.voc", "to_voc", "from_voc", False),
    "yolo": ("seglab.formats.yolo", "to_yolo", "from_yolo", False),
    "labelme": ("seglab.formats.labelme", "to_labelme", "from_labelme", False),
    "png": ("seglab.formats.png", "to_png", "from_png", False),
}


def format_names() -> list[str]:
    """The format names, sorted."""
    return sorted(FORMATS)


def get_format(name: str) -> tuple[Callable[..., Path], Callable[..., list[tuple[Path, Any]]]]:
    """``(to_X, from_X)`` of the format ``name``.

    Raises
    ------
    InputError
        For an unknown name, listing the choices.
    """
    from seglab.core.registry import suggest

    if not isinstance(name, str) or name.lower() not in FORMATS:
        raise InputError(
            f"format must be one of {', '.join(format_names())}, got {name!r}{suggest(name, format_names())}"
        )
    module_name, writer, reader, _ = FORMATS[name.lower()]
    module = importlib.import_module(module_name)
    return getattr(module, writer), getattr(module, reader)


def write(items: Any, target: Any, format: str, **options: Any) -> Path:
    """Write ``items`` to ``target`` in ``format`` (see the format's ``to_X`` for options)."""
    return get_format(format)[0](items, target, **options)


def read(target: Any, format: str, **options: Any) -> list[tuple[Path, Any]]:
    """Read ``target`` in ``format`` (see the format's ``from_X`` for options)."""
    return get_format(format)[1](target, **options)


def __getattr__(name: str) -> Any:
    for module_name, writer, reader, _ in FORMATS.values():
        if name in (writer, reader):
            return getattr(importlib.import_module(module_name), name)
    raise AttributeError(f"module 'seglab.formats' has no attribute {name!r}")
