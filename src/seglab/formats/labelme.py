"""labelme JSON: one file per image with polygon shapes, the image path and size.

Each connected part of an object is one polygon shape; the parts of one object share its
``group_id`` (labelme's own ``shapes_to_label`` merges shapes with the same label and group id
into one instance). labelme has no holes: a hole is joined to the outline around it by a
zero-width bridge, which labelme (PIL) and OpenCV both fill leaving the hole open, so holes
survive a round trip. Vertices are pixel centres; shapes are filled with their outline.

``imageData`` is left empty (``null``): labelme loads the image from ``imagePath``, which is
written relative to the JSON file.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_write_text
from seglab.core.errors import InputError
from seglab.formats._common import (
    BACKGROUND_NAMES,
    Item,
    broken,
    build_segmentation,
    check_items,
    check_size,
    drop_empty,
    image_path,
    object_class_names,
    read_json,
)
from seglab.formats.geometry import bridge, centre_contours, fill_polygons

__all__ = ["LABELME_VERSION", "from_labelme", "to_labelme"]

LABELME_VERSION = "5.5.0"


def to_labelme(items: Any, target: Any) -> Path:
    """Write one labelme JSON per ``(image_path, Segmentation)`` pair into the folder ``target``.

    Returns
    -------
    Path
        ``target``.

    Warns
    -----
    UserWarning
        For an object whose polygons do not rasterise back to its exact mask (a hole whose
        bridge has to cross the background), with the pixel change.
    """
    items = check_items(items)
    target = Path(target)
    for path, seg in items:
        seg = drop_empty(seg, path, "labelme")
        shapes = []
        for index, name in enumerate(object_class_names(seg)):
            x0, y0, x1, y1 = (int(v) for v in seg.boxes_xyxy[index])
            crop = seg.labels[y0:y1, x0:x1] == index + 1
            polygons = [_part_polygon(outer, holes) for outer, holes in centre_contours(crop)]
            changed = int((fill_polygons(polygons, crop.shape) != crop).sum())
            if changed:
                warnings.warn(
                    f"{path.name}: region {index + 1} ({name}) changes by {changed} pixel(s) "
                    "as labelme polygons",
                    UserWarning,
                    stacklevel=2,
                )
            for polygon in polygons:
                shapes.append(
                    {
                        "label": name,
                        "points": (polygon + (x0, y0)).astype(float).tolist(),
                        "group_id": index + 1,
                        "description": "" if seg.scores is None else f"score={float(seg.scores[index]):.6g}",
                        "shape_type": "polygon",
                        "flags": {},
                        "mask": None,
                    }
                )
        document = {
            "version": LABELME_VERSION,
            "flags": {},
            "shapes": shapes,
            "imagePath": _relative(path, target),
            "imageData": None,
            "imageHeight": int(seg.shape[0]),
            "imageWidth": int(seg.shape[1]),
        }
        atomic_write_text(target / f"{path.stem}.json", json.dumps(document, indent=2) + "\n")
    return target


def _fill_in_box(
    polygons: list[np.ndarray], points: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """``fill_polygons`` over the points' box (clipped to the image) instead of the whole image."""
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, width))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, height))
    x1 = int(np.clip(np.ceil(points[:, 0].max()) + 1, x0, width))
    y1 = int(np.clip(np.ceil(points[:, 1].max()) + 1, y0, height))
    return fill_polygons([p - (x0, y0) for p in polygons], (y1 - y0, x1 - x0)), (x0, y0)


def _part_polygon(outer: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    polygon = bridge([outer, *holes])
    while len(polygon) < 3:  # labelme needs 3 points: a one- or two-pixel part repeats its points
        polygon = np.concatenate([polygon, polygon[-1:]])
    return polygon


def _relative(image: Path, folder: Path) -> str:
    if image.is_absolute() or image.exists():
        return Path(os.path.relpath(image.resolve(), folder.resolve())).as_posix()
    return image.name


# ---------------------------------------------------------------------------- reading
def from_labelme(target: Any, *, image_root: Any = None) -> list[Item]:
    """Read labelme JSON files: a folder of them, or one file.

    ``imagePath`` is relative to the JSON file and must stay inside ``image_root``; by default
    that is the folder holding the JSON folder (so ``../images/a.png`` next to ``labels/`` works).

    Shapes with the same label and ``group_id`` form one object (a shape without a group id is
    its own object); ``polygon``, ``rectangle`` and ``circle`` shapes are read, other kinds are
    skipped with a warning; shapes labelled ``_background_`` erase.

    Raises
    ------
    FormatError
        Invalid JSON, a missing size, a polygon with fewer than 3 points, a point outside the image.
    """
    target = Path(target)
    if target.is_dir():
        files = sorted(target.glob("*.json"))
    elif target.is_file():
        files = [target]
    else:
        raise InputError(f"labelme path {str(target)!r} does not exist")
    root = Path(image_root) if image_root is not None else (target if target.is_dir() else target.parent).parent
    documents = [(file, _read_document(file)) for file in files]
    found: dict[str, None] = {}
    for _, document in documents:
        for shape in document["shapes"]:
            if shape["label"].lower() not in BACKGROUND_NAMES:
                found.setdefault(shape["label"])
    categories = list(found)
    out = []
    for file, document in documents:
        out.append(_read_one(file, document, categories, root))
    return out


def _read_document(file: Path) -> dict[str, Any]:
    document = read_json(file)
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        raise broken(file.name, "the file", "a labelme dict with a 'shapes' list", type(document).__name__)
    for key in ("imageHeight", "imageWidth"):
        value = document.get(key)
        if isinstance(value, bool) or not (isinstance(value, int) and value > 0):
            raise broken(file.name, key, "a positive integer", value)
    check_size(file.name, document["imageHeight"], document["imageWidth"])
    for number, shape in enumerate(document["shapes"]):
        if not (
            isinstance(shape, dict)
            and isinstance(shape.get("label"), str)
            and isinstance(shape.get("points"), list)
        ):
            raise broken(file.name, f"shape {number}", "a dict with a 'label' and 'points'", shape)
    return document


def _read_one(file: Path, document: dict[str, Any], categories: list[str], root: Path) -> Item:
    height, width = document["imageHeight"], document["imageWidth"]
    labels = np.zeros((height, width), dtype=np.int32)
    instances: dict[tuple[str, Any], int] = {}  # a dict, not a list: 40,000 shapes must stay linear
    for number, shape in enumerate(document["shapes"]):
        where = f"{file.name}: shape {number} ({shape['label']!r})"
        drawn = _shape_mask(shape, height, width, where)
        if drawn is None:
            continue
        mask, (x0, y0) = drawn
        window = labels[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]  # only the shape's box
        if shape["label"].lower() in BACKGROUND_NAMES:
            window[mask] = 0
            continue
        group = shape.get("group_id")
        if not (group is None or isinstance(group, (int, str)) and not isinstance(group, bool)):
            raise broken(where, "group_id", "an integer, a string or null", group)
        key = (shape["label"], group if group is not None else ("shape", number))
        instances.setdefault(key, len(instances) + 1)
        window[mask] = instances[key]
    name = document.get("imagePath") or f"{file.stem}.png"
    image = image_path(name, root, f"{file.name}: imagePath", base=file.parent)
    seg = build_segmentation(
        labels,
        [label for label, _ in instances],
        categories,
        meta={"source": str(image), "format": "labelme"},
    )
    return image, seg


def _shape_mask(
    shape: dict[str, Any], height: int, width: int, where: str
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The shape's mask inside its box (clipped to the image) and the box's ``(x0, y0)``, or None."""
    kind = shape.get("shape_type") or "polygon"
    try:
        points = np.asarray(shape["points"], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise broken(where, "points", "a list of [x, y] pairs", shape["points"]) from None
    if not np.isfinite(points).all():
        raise broken(where, "points", "finite numbers", shape["points"])
    if points.size and (points.min() < -1 or (points[:, 0] > width).any() or (points[:, 1] > height).any()):
        raise broken(
            where,
            "points",
            f"inside the image of width {width} and height {height}",
            points[
                np.argmax((points < -1).any(1) | (points[:, 0] > width) | (points[:, 1] > height))
            ].tolist(),
        )
    if kind == "polygon":
        if len(points) < 3:
            raise broken(where, "a polygon", "at least 3 points", len(points))
        return _fill_in_box([points], points, height, width)
    if kind == "rectangle":
        if len(points) != 2:
            raise broken(where, "a rectangle", "2 points", len(points))
        (xa, ya), (xb, yb) = points
        corners = np.array([[xa, ya], [xb, ya], [xb, yb], [xa, yb]])
        return _fill_in_box([corners], corners, height, width)
    if kind == "circle":
        import cv2

        if len(points) != 2:
            raise broken(where, "a circle", "2 points (centre, rim)", len(points))
        radius = int(round(float(np.hypot(*(points[1] - points[0])))))
        cx, cy = (int(round(v)) for v in points[0])
        x0, y0 = max(cx - radius, 0), max(cy - radius, 0)
        x1, y1 = min(cx + radius + 1, width), min(cy + radius + 1, height)
        mask = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), dtype=np.uint8)
        if mask.size:
            cv2.circle(mask, (cx - x0, cy - y0), radius, 1, -1)
        return mask.astype(bool), (x0, y0)
    warnings.warn(f"{where}: shape_type {kind!r} has no area; skipped", UserWarning, stacklevel=3)
    return None
