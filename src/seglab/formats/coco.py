"""COCO instance segmentation JSON: many images in one file, masks as RLE or polygons.

Writing
-------
Each region becomes one annotation with ``area`` (its pixel count, never the box area) and
``bbox = [x, y, width, height]`` from the mask. Masks are compressed RLE (pycocotools) by
default: exact for any shape. With ``polygons=True`` they are polygons in the corner
convention, which pycocotools rasterises back to the exact mask; several parts become several
polygons of one annotation. COCO polygons cannot express holes (pycocotools merges the parts
by union, which fills them), so an object with a hole is written as RLE, with a warning.

Categories come from the class names (background left out), ids from 1 in order of first
appearance; regions without classes are ``object``. Scores are kept as ``score``.

Reading
-------
Polygons, uncompressed and compressed RLE are read with pycocotools; RLE counts are checked
first (pycocotools decodes broken counts into garbage without complaint). Class names come
back as ``("background", *categories by id)``.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_write_text
from seglab.core.segmentation import Segmentation
from seglab.formats._common import (
    Item,
    broken,
    build_segmentation,
    category_names,
    check_items,
    check_size,
    drop_empty,
    image_path,
    object_class_names,
    read_json,
)
from seglab.formats.geometry import corner_polygons, has_holes

__all__ = ["CocoBuilder", "coco_dict", "from_coco", "rle_counts", "to_coco"]


def to_coco(items: Any, target: Any, *, polygons: bool = False, image_root: Any = None) -> Path:
    """Write ``(image_path, Segmentation)`` pairs to one COCO JSON file.

    Parameters
    ----------
    items : sequence of (path, Segmentation)
    target : path-like
        The JSON file to write (atomically).
    polygons : bool
        Polygons instead of RLE (objects with holes stay RLE, with a warning).
    image_root : path-like, optional
        ``file_name`` is the image path relative to this folder; by default the file name.

    Returns
    -------
    Path
        ``target``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> seg = Segmentation(np.array([[0, 1], [1, 1]]))
    >>> path = to_coco([("a.png", seg)], os.path.join(tempfile.mkdtemp(), "a.json"))
    >>> from_coco(path)[0][1].areas.tolist()
    [3]
    """
    target = Path(target)
    data = coco_dict(items, polygons=polygons, image_root=image_root)
    atomic_write_text(target, json.dumps(data) + "\n")
    return target


def coco_dict(items: Any, *, polygons: bool = False, image_root: Any = None) -> dict[str, Any]:
    """The COCO dictionary :func:`to_coco` writes."""
    builder = CocoBuilder(polygons=polygons, image_root=image_root)
    for path, seg in check_items(items):
        builder.add(path, seg)
    return builder.to_dict()


class CocoBuilder:
    """Builds a COCO dictionary one image at a time, so a long run never holds every segmentation.

    Categories get ids in order of first appearance (a segmentation's full ``class_names``
    count), as :func:`coco_dict` gives them.

    Examples
    --------
    >>> import numpy as np
    >>> builder = CocoBuilder()
    >>> builder.add("a.png", Segmentation(np.array([[0, 1], [1, 1]])))
    >>> data = builder.to_dict()
    >>> [a["area"] for a in data["annotations"]], data["categories"][0]["name"]
    ([3], 'object')
    """

    def __init__(self, *, polygons: bool = False, image_root: Any = None) -> None:
        self.polygons = polygons
        self.image_root = None if image_root is None else Path(image_root)
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.category_id: dict[str, int] = {}

    def add(self, path: Any, seg: Segmentation) -> None:
        """Add one image and its regions (empty regions are left out with a warning)."""
        path = Path(path)
        for name in category_names([(path, seg)]):
            self.category_id.setdefault(name, len(self.category_id) + 1)
        image_id = len(self.images) + 1
        name = str(path.relative_to(self.image_root)) if self.image_root is not None else path.name
        height, width = seg.shape
        self.images.append({"id": image_id, "file_name": name, "height": height, "width": width})
        seg = drop_empty(seg, path, "COCO")
        names = object_class_names(seg)
        for index in range(len(seg)):
            annotation = _annotation(seg, index, self.polygons, path)
            annotation.update(
                id=len(self.annotations) + 1, image_id=image_id, category_id=self.category_id[names[index]]
            )
            if seg.scores is not None:
                annotation["score"] = float(seg.scores[index])
            self.annotations.append(annotation)

    def to_dict(self) -> dict[str, Any]:
        """The COCO dictionary of everything added so far."""
        return {
            "info": {"description": "exported by seglab", "version": "1.0"},
            "licenses": [],
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in self.category_id.items()],
        }


def _annotation(seg: Segmentation, index: int, polygons: bool, path: Path) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    x0, y0, x1, y1 = (int(v) for v in seg.boxes_xyxy[index])
    mask = np.zeros(seg.shape, dtype=np.uint8, order="F")
    mask[y0:y1, x0:x1] = seg.labels[y0:y1, x0:x1] == index + 1
    segmentation: Any = None
    if polygons:
        if has_holes(mask[y0:y1, x0:x1]):
            warnings.warn(
                f"{path.name}: region {index + 1} has a hole, which COCO polygons cannot hold; "
                "writing it as RLE",
                UserWarning,
                stacklevel=4,
            )
        else:
            segmentation = [
                [round(float(v), 2) for v in (polygon + (x0, y0)).ravel()]
                for polygon in corner_polygons(mask[y0:y1, x0:x1])
            ]
    if segmentation is None:
        rle = mask_utils.encode(mask)
        segmentation = {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
    return {
        "segmentation": segmentation,
        "area": int(seg.areas[index]),
        "bbox": [x0, y0, x1 - x0, y1 - y0],
        "iscrowd": 0,
    }


# ---------------------------------------------------------------------------- reading
def from_coco(target: Any, *, image_root: Any = None) -> list[Item]:
    """Read a COCO instance segmentation JSON file.

    Parameters
    ----------
    target : path-like
        The JSON file.
    image_root : path-like, optional
        Folder the ``file_name`` entries are relative to; the returned image paths join it.

    Returns
    -------
    list of (Path, Segmentation)
        One pair per image entry, regions in annotation order (a later annotation wins where
        two overlap, with a warning).

    Raises
    ------
    FormatError
        Invalid JSON, a missing key, invalid RLE counts, a polygon with fewer than 3 points,
        a box outside the image, an annotation for a missing image or category.
    """
    path = Path(target)
    data = read_json(path)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations")
    ):
        raise broken(
            path, "the file", "a COCO dict with 'images' and 'annotations' lists", type(data).__name__
        )
    categories = _categories(path, data.get("categories", []))
    names = [name for _, name in sorted(categories.items())]
    images = _images(path, data["images"])
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for number, annotation in enumerate(data["annotations"]):
        name = annotation.get("id", f"#{number}") if isinstance(annotation, dict) else f"#{number}"
        where = f"{path.name}: annotation {name}"
        if not isinstance(annotation, dict):
            raise broken(where, "an annotation", "a dict", annotation)
        image_id = annotation.get("image_id")
        if not _is_id(image_id) or image_id not in images:
            raise broken(where, "image_id", "the id of an image in 'images'", image_id)
        if not _is_id(annotation.get("category_id")) or annotation["category_id"] not in categories:
            raise broken(
                where,
                "category_id",
                f"one of the category ids {sorted(categories)}",
                annotation.get("category_id"),
            )
        by_image[image_id].append(annotation)
    root = None if image_root is None else Path(image_root)
    out: list[Item] = []
    for image_id, (file_name, height, width) in images.items():
        image_file = image_path(file_name, root, f"{path.name}: image {image_id}")
        labels = np.zeros((height, width), dtype=np.int32)
        classes, scores = [], []
        for annotation in by_image[image_id]:
            where = f"{path.name}: annotation {annotation.get('id')} (image {file_name!r})"
            mask = decode_annotation(annotation, height, width, where)
            if (labels[mask] > 0).any():
                warnings.warn(
                    f"{where} overlaps an earlier annotation; it wins there", UserWarning, stacklevel=2
                )
            labels[mask] = len(classes) + 1
            classes.append(categories[annotation["category_id"]])
            scores.append(annotation.get("score"))
        has_scores = bool(scores) and all(isinstance(s, (int, float)) for s in scores)
        out.append(
            (
                image_file,
                build_segmentation(
                    labels,
                    classes,
                    names,
                    scores=scores if has_scores else None,
                    meta={"source": str(image_file), "format": "coco"},
                ),
            )
        )
    return out


def _categories(path: Path, entries: Any) -> dict[int, str]:
    categories: dict[int, str] = {}
    if not isinstance(entries, list):
        raise broken(path.name, "'categories'", "a list", entries)
    for entry in entries:
        if not (isinstance(entry, dict) and _is_id(entry.get("id")) and isinstance(entry.get("name"), str)):
            raise broken(path.name, "a category", "a dict with an integer 'id' and a 'name'", entry)
        if entry["id"] in categories:
            raise broken(path.name, "category ids", "unique", entry["id"])
        categories[entry["id"]] = entry["name"]
    return categories


def _images(path: Path, entries: list[Any]) -> dict[int, tuple[str, int, int]]:
    images: dict[int, tuple[str, int, int]] = {}
    for entry in entries:
        ok = isinstance(entry, dict) and _is_id(entry.get("id")) and isinstance(entry.get("file_name"), str)
        ok = ok and all(_is_id(entry.get(k)) and entry[k] > 0 for k in ("height", "width"))
        if not ok:
            raise broken(
                path.name,
                "an image entry",
                "a dict with integer 'id', 'height', 'width' and a 'file_name'",
                entry,
            )
        if entry["id"] in images:  # a second entry would silently replace the first image
            raise broken(path.name, "image ids", "unique", entry["id"])
        height, width = check_size(f"{path.name}: image {entry['id']}", entry["height"], entry["width"])
        images[entry["id"]] = (entry["file_name"], height, width)
    return images


def _is_id(value: Any) -> bool:
    """An integer id that fits in 64 bits (JSON allows any size; bool is not an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def decode_annotation(annotation: dict[str, Any], height: int, width: int, where: str) -> np.ndarray:
    """The (H, W) boolean mask of one COCO annotation, after checking its segmentation and box."""
    from pycocotools import mask as mask_utils

    _check_bbox(annotation.get("bbox"), height, width, where)
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list):
        if not segmentation:
            return _box_mask(annotation.get("bbox"), height, width, where)
        for number, polygon in enumerate(segmentation):
            if not isinstance(polygon, list) or len(polygon) % 2 or len(polygon) < 6:
                raise broken(where, f"polygon {number}", "a flat list of at least 3 (x, y) points", polygon)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in polygon):
                raise broken(where, f"polygon {number}", "finite numbers", polygon)
            # pycocotools scales coordinates by 5 into C ints: far-away points overflow and crash it
            xs, ys = polygon[0::2], polygon[1::2]
            if min(xs) < -1 or min(ys) < -1 or max(xs) > width + 1 or max(ys) > height + 1:
                raise broken(
                    where,
                    f"polygon {number}",
                    f"inside the image of width {width} and height {height} (within 1 pixel)",
                    f"x in [{min(xs):g}, {max(xs):g}], y in [{min(ys):g}, {max(ys):g}]",
                )
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, dict):
        size = segmentation.get("size")
        if size != [height, width]:
            raise broken(where, "RLE size", f"[{height}, {width}] like its image", size)
        counts = segmentation.get("counts")
        if isinstance(counts, list):
            valid = all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= height * width for c in counts)
            if not valid or sum(counts) != height * width:
                raise broken(
                    where, "RLE counts", f"non-negative run lengths summing to {height * width}", counts
                )
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(counts, str):
            total = rle_counts(counts, where)
            if total != height * width:
                raise broken(
                    where, "RLE counts", f"run lengths summing to {height * width}", f"a sum of {total}"
                )
            rle = {"size": [height, width], "counts": counts.encode("ascii")}
        else:
            raise broken(where, "RLE counts", "a string or a list of integers", counts)
    else:
        raise broken(where, "segmentation", "a list of polygons or an RLE dict", segmentation)
    with warnings.catch_warnings():  # pycocotools vs numpy 2: a harmless copy-keyword DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def rle_counts(counts: str, where: str = "RLE") -> int:
    """Check a compressed COCO RLE string and return the sum of its run lengths.

    Raises
    ------
    FormatError
        On a character outside the encoding or a negative run length.
    """
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if shift >= 7:  # pycocotools writes 32-bit counts in at most 7 characters; more overflows its C decoder
                raise broken(where, "RLE counts", "run lengths of at most 7 characters each", counts[position - 7 : position + 1])
            if position >= len(counts):
                raise broken(where, "RLE counts", "a complete compressed RLE string", counts[-20:])
            code = ord(counts[position]) - 48
            if not 0 <= code < 64:
                raise broken(where, "RLE counts", "characters '0'..'o' of compressed RLE", counts[position])
            value |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position += 1
            shift += 1
            if not more and code & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise broken(where, "RLE counts", "non-negative run lengths", value)
        runs.append(value)
    return sum(runs)


def _check_bbox(bbox: Any, height: int, width: int, where: str) -> None:
    if bbox is None:
        return
    ok = isinstance(bbox, list) and len(bbox) == 4
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in bbox)
    if not ok:
        raise broken(where, "bbox", "[x, y, width, height]", bbox)
    x, y, w, h = bbox
    tolerance = 1e-3
    if (
        w < 0
        or h < 0
        or x < -tolerance
        or y < -tolerance
        or x + w > width + tolerance
        or y + h > height + tolerance
    ):
        raise broken(where, "bbox", f"inside the image of width {width} and height {height}", bbox)


def _box_mask(bbox: Any, height: int, width: int, where: str) -> np.ndarray:
    if bbox is None:
        raise broken(where, "segmentation", "polygons, RLE or at least a bbox", None)
    warnings.warn(f"{where} has no mask; using its box", UserWarning, stacklevel=3)
    x, y, w, h = (int(round(v)) for v in bbox)
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask
