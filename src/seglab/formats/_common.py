"""Helpers every format shares: checking items, class names, empty regions, errors, JSON."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError, describe
from seglab.core.segmentation import Segmentation

__all__ = [
    "BACKGROUND_NAMES",
    "Item",
    "broken",
    "build_segmentation",
    "category_names",
    "check_items",
    "check_size",
    "drop_empty",
    "image_path",
    "object_class_names",
    "read_json",
]

#: Largest image an annotation file may declare (H x W), as for image files (core.image).
MAX_PIXELS = 2**28
MAX_JSON_BYTES = 512 * 2**20

Item = tuple[Path, Segmentation]
BACKGROUND_NAMES = ("background", "_background_", "__background__")


def check_items(items: Any) -> list[Item]:
    """Return ``items`` as a list of ``(Path, Segmentation)`` pairs with distinct image names.

    Raises
    ------
    InputError
        If an item is not a pair of an image path and a Segmentation, or two share a file stem.
    """
    if isinstance(items, tuple) and len(items) == 2 and isinstance(items[1], Segmentation):
        items = [items]
    out: list[Item] = []
    seen: dict[str, Path] = {}
    for index, item in enumerate(items):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], Segmentation)):
            raise InputError(
                f"items[{index}] must be an (image_path, Segmentation) pair, got {describe(item)}"
            )
        path = Path(item[0])
        if path.stem in seen:
            raise InputError(
                f"image names must be unique (annotation files are named after them), got "
                f"{str(seen[path.stem])!r} and {str(path)!r}"
            )
        seen[path.stem] = path
        out.append((path, item[1]))
    return out


def object_class_names(seg: Segmentation) -> list[str]:
    """The class name of each region: its name, ``class_<id>`` without names, ``object`` without classes."""
    if seg.class_ids is None:
        return ["object"] * len(seg)
    if seg.class_names:
        return [seg.class_names[int(c)] for c in seg.class_ids]
    return [f"class_{int(c)}" for c in seg.class_ids]


def category_names(items: Iterable[Item]) -> list[str]:
    """Every class name of the items, background excluded, in order of first appearance.

    A segmentation's full ``class_names`` count (also classes no region uses), so a label set
    survives an image where a class is absent.
    """
    names: list[str] = []
    for _, seg in items:
        if seg.class_ids is not None and seg.class_names:
            candidates = list(seg.class_names)
        else:
            candidates = object_class_names(seg)
        for name in candidates:
            if name.lower() not in BACKGROUND_NAMES and name not in names:
                names.append(name)
    return names


def build_segmentation(
    labels: np.ndarray,
    names: Sequence[str],
    categories: Sequence[str],
    *,
    scores: Sequence[float] | None = None,
    meta: dict[str, Any] | None = None,
) -> Segmentation:
    """A Segmentation with ``class_names = ("background", *categories)`` and each region's class by name."""
    index = {name: i + 1 for i, name in enumerate(categories)}
    class_ids = np.array([index[name] for name in names], dtype=np.int64)
    return Segmentation(
        labels.astype(np.int32, copy=False),
        class_ids=class_ids,
        scores=None if scores is None else np.asarray(scores, dtype=np.float64),
        class_names=("background", *categories),
        meta=dict(meta or {}),
    )


def drop_empty(seg: Segmentation, image: Path, fmt: str) -> Segmentation:
    """``seg`` without its empty regions (no format can store them), with a warning when there were any."""
    empty = seg.areas == 0
    if empty.any():
        warnings.warn(
            f"{image.name}: {int(empty.sum())} empty region(s) cannot be stored in {fmt} and are left out",
            UserWarning,
            stacklevel=3,
        )
        return seg[~empty]
    return seg


def broken(where: Any, what: str, expectation: str, actual: Any) -> FormatError:
    """A FormatError ``"{where}: {what} must be {expectation}, got {actual}"``."""
    return FormatError(f"{where}: {what} must be {expectation}, got {describe(actual)}")


def read_json(path: Path) -> Any:
    """Parse a JSON file, raising FormatError (not JSONDecodeError) for a missing or broken one."""
    if not path.is_file():
        raise InputError(f"annotation file {str(path)!r} does not exist")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise FormatError(f"{str(path)!r} must be at most {MAX_JSON_BYTES >> 20} MiB, got {path.stat().st_size} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"{str(path)!r} must be a JSON file, got invalid JSON: {error}") from None
    except RecursionError:
        raise FormatError(f"{str(path)!r} must be a JSON file, got nesting too deep to parse") from None


def check_size(where: Any, height: Any, width: Any, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """``(height, width)`` declared by an annotation, refused unless positive integers within ``max_pixels``.

    The reader allocates an (H, W) label image from these numbers, so a few bytes of JSON
    must not be able to ask for gigabytes.
    """
    for key, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise broken(where, f"the image {key}", "a positive integer", value)
    if height * width > max_pixels:
        raise broken(
            where, "the image size", f"at most {max_pixels} pixels (as for image files)", f"{height} x {width}"
        )
    return height, width


def image_path(name: Any, root: Path | None, where: Any, *, base: Path | None = None) -> Path:
    """The image an annotation file names, which must lie inside the image folder ``root``.

    ``name`` is taken relative to ``base`` (default ``root``). Without a root, only relative
    paths without ``..`` are accepted. An annotation file must not be able to point seglab at
    files elsewhere on the machine (``convert`` copies the images it names).

    Raises
    ------
    FormatError
        For an empty name, a NUL byte, or a path (or symlink) that leaves ``root``.
    """
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise broken(where, "the image path", "a non-empty file name", name)
    text = name.replace("\\", "/")
    relative = Path(text)
    if root is None:
        if relative.is_absolute() or re.match(r"^[A-Za-z]:", text) or ".." in relative.parts:
            raise broken(
                where, "the image path", "a relative path without '..' (give the image folder to allow more)", name
            )
        return relative
    if re.match(r"^[A-Za-z]:", text):
        raise broken(where, "the image path", "a path inside the image folder", name)
    full = Path(os.path.normpath(Path(base if base is not None else root) / relative))
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(full))
    if not real.is_relative_to(real_root):
        raise broken(where, "the image path", f"inside the image folder {str(root)!r}", name)
    return full
