"""Helpers every format shares: checking items, class names, empty regions, errors, JSON."""

from __future__ import annotations

import json
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
    "drop_empty",
    "object_class_names",
    "read_json",
]

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
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"{str(path)!r} must be a JSON file, got invalid JSON: {error}") from None
