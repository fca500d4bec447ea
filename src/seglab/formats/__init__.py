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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seglab.core.registry_base import Registry
from seglab.formats._common import BACKGROUND_NAMES

__all__ = ["BACKGROUND_NAMES", "FORMATS", "FORMAT_REGISTRY", "FormatInfo", "format_names", "get_format", "read", "write"]


@dataclass(frozen=True)
class FormatInfo:
    """An annotation format: the module with its writer and reader, imported on first use.

    ``single_file``: the target is one file (COCO's JSON) rather than a folder.
    """

    name: str
    module: str
    writer: str
    reader: str
    single_file: bool = False

    def functions(self) -> tuple[Callable[..., Path], Callable[..., list[tuple[Path, Any]]]]:
        """``(to_X, from_X)``."""
        module = importlib.import_module(self.module)
        return getattr(module, self.writer), getattr(module, self.reader)


#: Annotation formats by name; a plugin adds one with ``FORMAT_REGISTRY.add(name, FormatInfo(...))``.
FORMAT_REGISTRY: Registry[FormatInfo] = Registry("format")
for _info in (
    FormatInfo("coco", "seglab.formats.coco", "to_coco", "from_coco", True),
    FormatInfo("voc", "seglab.formats.voc", "to_voc", "from_voc"),
    FormatInfo("yolo", "seglab.formats.yolo", "to_yolo", "from_yolo"),
    FormatInfo("labelme", "seglab.formats.labelme", "to_labelme", "from_labelme"),
    FormatInfo("png", "seglab.formats.png", "to_png", "from_png"),
):
    FORMAT_REGISTRY.add(_info.name, _info, origin=f"{_info.module}.{_info.writer}")

#: The same registry under its old name (``sorted(FORMATS)`` lists the names).
FORMATS = FORMAT_REGISTRY


def format_names() -> list[str]:
    """The format names, sorted."""
    return FORMAT_REGISTRY.names()


def get_format(name: str) -> tuple[Callable[..., Path], Callable[..., list[tuple[Path, Any]]]]:
    """``(to_X, from_X)`` of the format ``name``.

    Raises
    ------
    InputError
        For an unknown name, listing the choices.
    """
    return FORMAT_REGISTRY.get(name).functions()


def write(items: Any, target: Any, format: str, **options: Any) -> Path:
    """Write ``items`` to ``target`` in ``format`` (see the format's ``to_X`` for options)."""
    return get_format(format)[0](items, target, **options)


def read(target: Any, format: str, **options: Any) -> list[tuple[Path, Any]]:
    """Read ``target`` in ``format`` (see the format's ``from_X`` for options)."""
    return get_format(format)[1](target, **options)


def __getattr__(name: str) -> Any:
    for info in FORMAT_REGISTRY.values():
        if name in (info.writer, info.reader):
            return getattr(importlib.import_module(info.module), name)
    raise AttributeError(f"module 'seglab.formats' has no attribute {name!r}")
