"""Export a project straight from its store: one mask per object, negatives kept, folders kept.

Which images: every image marked Done (with or without objects: a Done image without objects
is a negative) and every image with objects. Which classes: the project's classes by name,
whatever the name (``background`` too), plus ``object`` for objects without a class.

- COCO: one annotation per object with the stored RLE as it is (overlaps kept); every
  exported image is listed, negatives with no annotations; ``file_name`` is the path inside
  the project folder.
- labelme: one JSON per image at the image's path inside the project (``sub/a.json``), one
  polygon shape per connected part of each object (parts share a ``group_id``), overlaps
  kept; ``imagePath`` is relative to the JSON file and points at the image.
- YOLO: ``labels/sub/a.txt`` with one polygon line per object (overlaps kept) and
  ``images/sub/a.jpg``, as Ultralytics lays out nested datasets.
- VOC and label PNGs hold one label per pixel: objects are flattened (later objects on top)
  and every object that loses pixels is named in a warning. Images are grouped by folder,
  each folder its own dataset, so stems repeated in different folders never collide.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab.core.atomic import atomic_path, atomic_write_text
from seglab.web.storage import decode_mask

if TYPE_CHECKING:
    from seglab.web.project import Project

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_project"]

EXPORT_FORMATS = ("coco", "voc", "yolo", "labelme", "png")
UNCLASSED = "object"


@dataclass
class ExportResult:
    """What an export wrote: the target, image and object counts, and what it had to change."""

    path: Path
    images: int = 0
    objects: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    info: dict[str, Any]
    objects: list[dict[str, Any]]  # drawing order, non-empty masks only
    names: list[str]               # class name of each object


def export_project(project: Project, format: str, target: Any, *, copy_images: bool = False) -> ExportResult:
    """Write the project's annotations to ``target`` in ``format``.

    Parameters
    ----------
    project : Project
    format : {"coco", "voc", "yolo", "labelme", "png"}
    target : path-like
        A JSON file for COCO, a folder for the others.
    copy_images : bool
        Copy the images next to the annotations (labelme: beside each JSON; YOLO always copies
        them into ``images/``, which its readers need).

    Returns
    -------
    ExportResult

    Raises
    ------
    InputError
        For an unknown format name, listing the choices.
    """
    from seglab import formats

    format = str(format).lower()
    formats.get_format(format)  # unknown names fail here, listing the choices
    entries, categories = _entries(project)
    target = Path(target)
    result = ExportResult(target, images=len(entries), objects=sum(len(e.objects) for e in entries))
    if format == "coco":
        _coco(project, entries, categories, target)
    elif format == "labelme":
        _labelme(project, entries, target, copy_images)
    elif format == "yolo":
        _yolo(project, entries, categories, target)
    else:
        result.warnings = _flat(project, entries, categories, target, format)
    return result


def _entries(project: Project) -> tuple[list[_Entry], list[str]]:
    classes = project.store.classes()
    by_id = {c["id"]: c["name"] for c in classes}
    grouped = project.store.all_objects()
    entries = []
    for info in project.images():
        objects = [o for o in grouped.get(info["id"], []) if o["area"] > 0]
        if not objects and not info["done"]:
            continue
        names = [by_id.get(o["class_id"], UNCLASSED) if o["class_id"] is not None else UNCLASSED for o in objects]
        entries.append(_Entry(info, objects, names))
    categories = [c["name"] for c in classes]
    if any(UNCLASSED in e.names for e in entries) and UNCLASSED not in categories:
        categories.append(UNCLASSED)
    return entries, categories


def _mask(entry: _Entry, obj: dict[str, Any]) -> np.ndarray:
    return decode_mask(obj["rle"], entry.info["height"], entry.info["width"])


# ---------------------------------------------------------------------------- COCO
def _coco(project: Project, entries: list[_Entry], categories: list[str], target: Path) -> None:
    category_id = {name: i + 1 for i, name in enumerate(categories)}
    images, annotations = [], []
    for number, entry in enumerate(entries, start=1):
        info = entry.info
        images.append({"id": number, "file_name": info["path"], "height": info["height"], "width": info["width"]})
        for obj, name in zip(entry.objects, entry.names, strict=True):
            x0, y0, x1, y1 = obj["bbox"]
            annotation = {
                "id": len(annotations) + 1, "image_id": number, "category_id": category_id[name],
                "segmentation": {"size": [info["height"], info["width"]], "counts": obj["rle"]},
                "area": int(obj["area"]), "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0,
            }
            if obj["score"] is not None:
                annotation["score"] = float(obj["score"])
            annotations.append(annotation)
    data = {
        "info": {"description": f"exported by seglab from {project.root.name}", "version": "1.0"},
        "licenses": [], "images": images, "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in category_id.items()],
    }
    atomic_write_text(target, json.dumps(data) + "\n")


# ---------------------------------------------------------------------------- labelme
def _labelme(project: Project, entries: list[_Entry], target: Path, copy_images: bool) -> None:
    from seglab.formats.geometry import bridge, centre_contours
    from seglab.formats.labelme import LABELME_VERSION

    for entry in entries:
        info = entry.info
        relative = PurePosixPath(info["path"])
        json_path = target.joinpath(*relative.with_suffix(".json").parts)
        image = project.root.joinpath(*relative.parts)
        if copy_images:
            image = _copy(image, target.joinpath(*relative.parts))
        shapes = []
        for group, (obj, name) in enumerate(zip(entry.objects, entry.names, strict=True), start=1):
            x0, y0, x1, y1 = obj["bbox"]
            crop = _mask(entry, obj)[y0:y1, x0:x1]
            for outer, holes in centre_contours(crop):
                polygon = bridge([outer, *holes])
                while len(polygon) < 3:  # labelme needs 3 points: a tiny part repeats its points
                    polygon = np.concatenate([polygon, polygon[-1:]])
                shapes.append({
                    "label": name, "points": (polygon + (x0, y0)).astype(float).tolist(), "group_id": group,
                    "description": "" if obj["score"] is None else f"score={obj['score']:.6g}",
                    "shape_type": "polygon", "flags": {}, "mask": None,
                })
        document = {
            "version": LABELME_VERSION, "flags": {}, "shapes": shapes,
            "imagePath": Path(os.path.relpath(image, json_path.parent)).as_posix(),
            "imageData": None, "imageHeight": info["height"], "imageWidth": info["width"],
        }
        atomic_write_text(json_path, json.dumps(document, indent=2) + "\n")


def _copy(source: Path, destination: Path) -> Path:
    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)
    return destination


# ---------------------------------------------------------------------------- YOLO
def _yolo(project: Project, entries: list[_Entry], categories: list[str], target: Path) -> None:
    from seglab.formats.yolo import object_polygon

    class_index = {name: i for i, name in enumerate(categories)}
    for entry in entries:
        info = entry.info
        relative = PurePosixPath(info["path"])
        lines = []
        for obj, name in zip(entry.objects, entry.names, strict=True):
            x0, y0, x1, y1 = obj["bbox"]
            polygon = (object_polygon(_mask(entry, obj)[y0:y1, x0:x1]) + (x0, y0)) / (info["width"], info["height"])
            lines.append(f"{class_index[name]} " + " ".join(f"{v:.6f}" for v in polygon.ravel()))
        label_file = target.joinpath("labels", *relative.with_suffix(".txt").parts)
        atomic_write_text(label_file, "".join(f"{line}\n" for line in lines))
        _copy(project.root.joinpath(*relative.parts), target.joinpath("images", *relative.parts))
    names = "".join(f"  {i}: {json.dumps(name)}\n" for i, name in enumerate(categories))
    text = f"# written by seglab\npath: .\ntrain: images\nval: images\nnc: {len(categories)}\nnames:\n{names}"
    atomic_write_text(target / "data.yaml", text)


# ---------------------------------------------------------------------------- VOC, label PNG
def _flat(project: Project, entries: list[_Entry], categories: list[str], target: Path, format: str) -> list[str]:
    """Flatten each image's objects into one label image and write them folder by folder."""
    from seglab import formats
    from seglab.core.segmentation import Segmentation

    # the formats treat a class named "background" as class 0; rename ours so it stays a class
    names = [_not_background(n) for n in categories]
    notes = [f"class {old!r} is written as {new!r} ({format} keeps class 0 for the background)"
             for old, new in zip(categories, names, strict=True) if old != new]
    index = {name: i + 1 for i, name in enumerate(categories)}
    groups: dict[PurePosixPath, list[tuple[Path, Segmentation]]] = defaultdict(list)
    for entry in entries:
        info = entry.info
        labels = np.zeros((info["height"], info["width"]), dtype=np.int32)
        masks = [_mask(entry, obj) for obj in entry.objects]
        for number, mask in enumerate(masks, start=1):
            labels[mask] = number
        kept, class_ids = [], []
        for number, (mask, name) in enumerate(zip(masks, entry.names, strict=True), start=1):
            left = int((labels[mask] == number).sum())
            if left < mask.sum():
                what = "is hidden entirely" if not left else f"loses {int(mask.sum()) - left} of {int(mask.sum())} px"
                notes.append(f"{info['path']}: object {number} ({name}) {what} under later objects "
                             f"({format} holds one label per pixel)")
            if left:
                kept.append(number)
                class_ids.append(index[name])
        lut = np.zeros(len(masks) + 1, dtype=np.int32)
        lut[kept] = np.arange(1, len(kept) + 1)
        seg = Segmentation(lut[labels], class_ids=np.asarray(class_ids, dtype=np.int64),
                           class_names=("background", *names))
        relative = PurePosixPath(info["path"])
        groups[relative.parent].append((project.root.joinpath(*relative.parts), seg))
    for folder, items in sorted(groups.items()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            formats.write(items, target.joinpath(*folder.parts), format)
        notes.extend(str(w.message) for w in caught)
    if not entries:
        target.mkdir(parents=True, exist_ok=True)
    return notes


def _not_background(name: str) -> str:
    from seglab.formats import BACKGROUND_NAMES

    return f"{name} (class)" if name.lower() in BACKGROUND_NAMES else name
