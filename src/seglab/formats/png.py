"""PNG masks: one label PNG per image, or one mask PNG per object.

- ``per_object=False``: ``STEM.png`` is a grey label PNG (8-bit up to 255 regions, else
  16-bit) whose pixel value is the region id; class ids, class names and scores ride in its
  ``seglab`` text chunk (:mod:`seglab.core.segmentation_io`), so it loads back equal.
- ``per_object=True``: ``STEM/0001.png``, ``STEM/0002.png``, ... are 0/255 masks, and
  ``STEM/objects.json`` lists each file with its class name and score.

Reading takes any grey label PNG (values are region ids) and any folder of mask PNGs (a
later mask wins where two overlap, with a warning).
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_path, atomic_write_text
from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation
from seglab.formats._common import (
    Item,
    broken,
    build_segmentation,
    category_names,
    check_items,
    image_path,
    object_class_names,
    read_json,
)

__all__ = ["from_png", "to_png"]


def to_png(items: Any, target: Any, *, per_object: bool = False) -> Path:
    """Write ``(image_path, Segmentation)`` pairs as label PNGs or per-object mask PNGs in ``target``.

    Returns
    -------
    Path
        ``target``.
    """
    items = check_items(items)
    target = Path(target)
    categories = category_names(items)
    for path, seg in items:
        source = _relative(path, target)
        seg = dataclasses.replace(seg, meta={**seg.meta, "source": source})
        if not per_object:
            seg.save(target / f"{path.stem}.png", kind="labels")
            continue
        folder = target / path.stem
        entries = []
        for index, name in enumerate(object_class_names(seg)):
            file = f"{index + 1:04d}.png"
            _write_mask(folder / file, seg.labels == index + 1)
            entry: dict[str, Any] = {"file": file, "class_name": name}
            if seg.scores is not None:
                entry["score"] = float(seg.scores[index])
            entries.append(entry)
        document = {
            "image": source,
            "shape": list(seg.shape),
            "categories": categories,
            "objects": entries,
        }
        atomic_write_text(folder / "objects.json", json.dumps(document, indent=2) + "\n")
    return target


def _relative(image: Path, folder: Path) -> str:
    """The image path as the reader takes it: relative to the output folder."""
    if image.is_absolute() or image.exists():
        return Path(os.path.relpath(image.resolve(), folder.resolve())).as_posix()
    return image.name


def _write_mask(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(mask.astype(np.uint8) * 255).save(tmp, format="PNG")


def from_png(target: Any, *, image_root: Any = None) -> list[Item]:
    """Read label PNGs (``target/*.png``) and per-object mask folders (``target/STEM/*.png``).

    The image each file records (``meta.source``, ``objects.json`` ``image``) is taken relative
    to ``target`` and must lie inside ``image_root``, by default the folder holding ``target``;
    mask files named in ``objects.json`` must lie in their folder.

    Raises
    ------
    FormatError
        An unreadable PNG, masks of different sizes, an objects.json naming a missing file.
    """
    target = Path(target)
    if not target.is_dir():
        raise InputError(f"PNG folder {str(target)!r} does not exist")
    root = Path(image_root) if image_root is not None else target.parent
    out: list[Item] = []
    for file in sorted(target.glob("*.png")):
        seg = Segmentation.load(file)
        if seg.labels.size and len(seg) < int(seg.labels.max()):
            raise broken(file.name, "the label PNG", "labels 0..N", int(seg.labels.max()))
        source = seg.meta.get("source")
        image = image_path(source, root, f"{file.name}: meta.source", base=target) if source is not None else file
        out.append((image, seg))
    for folder in sorted(p for p in target.iterdir() if p.is_dir() and any(p.glob("*.png"))):
        out.append(_read_masks(folder, root))
    return out


def _read_masks(folder: Path, root: Path) -> Item:
    index_file = folder / "objects.json"
    if index_file.is_file():
        document = read_json(index_file)
        if not isinstance(document, dict) or not isinstance(document.get("objects"), list):
            raise broken(index_file, "the file", "a dict with an 'objects' list", type(document).__name__)
        entries = document["objects"]
        image = image_path(document.get("image", folder.name), root, f"{index_file}: image", base=folder.parent)
    else:
        entries = [{"file": p.name, "class_name": "object"} for p in sorted(folder.glob("*.png"))]
        document, image = {}, Path(folder.name)
    labels: np.ndarray | None = None
    names, scores = [], []
    for number, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)):
            raise broken(index_file, f"object {number}", "a dict with a 'file'", entry)
        mask = _read_mask(image_path(entry["file"], folder, f"{index_file}: object {number} file"))
        if labels is None:
            labels = np.zeros(mask.shape, dtype=np.int32)
        if mask.shape != labels.shape:
            raise broken(
                folder / entry["file"], "the mask", f"of shape {labels.shape} like the others", mask.shape
            )
        if (labels[mask] > 0).any():
            warnings.warn(
                f"{folder.name}/{entry['file']} overlaps an earlier mask; it wins there",
                UserWarning,
                stacklevel=3,
            )
        labels[mask] = number + 1
        names.append(str(entry.get("class_name", "object")))
        scores.append(entry.get("score"))
    if labels is None:
        shape = document.get("shape", [1, 1])
        labels = np.zeros(tuple(shape), dtype=np.int32)
    categories = [str(c) for c in document.get("categories", [])]
    categories += [n for n in dict.fromkeys(names) if n not in categories]
    has_scores = bool(scores) and all(isinstance(s, (int, float)) for s in scores)
    return image, build_segmentation(
        labels,
        names,
        categories,
        scores=scores if has_scores else None,
        meta={"source": str(image), "format": "png"},
    )


def _read_mask(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise broken(path.parent / "objects.json", "a mask file", "present", path.name)
    from seglab.core.image import PIL_FORMATS

    try:
        with Image.open(path, formats=PIL_FORMATS) as image:
            array = np.asarray(image.convert("L") if image.mode not in ("L", "1", "I;16", "I") else image)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise broken(path, "the mask", "a readable PNG", str(error)) from None
    return array > 0
