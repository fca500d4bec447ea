"""Readers for PASCAL VOC, COCO JSON and Cityscapes-style datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError
from seglab.datasets.base import READERS, Dataset, Sample, check_size, read_image, read_mask
from seglab.datasets.readers import list_images

__all__ = ["read_voc", "read_coco", "read_cityscapes", "VOC_CLASSES"]

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)


@READERS.decorator("voc")
def read_voc(root: Path, *, split: str | None = "val") -> Dataset:
    """PASCAL VOC: ``JPEGImages/*.jpg`` with ``SegmentationClass/*.png`` (palette indices,
    255 = void) and optional ``SegmentationObject/*.png``; ``ImageSets/Segmentation/<split>.txt``
    lists the names (all labelled images when the file or ``split`` is absent)."""
    if (root / "VOC2012").is_dir() and not (root / "JPEGImages").is_dir():
        root = root / "VOC2012"
    image_dir, class_dir, object_dir = root / "JPEGImages", root / "SegmentationClass", root / "SegmentationObject"
    if not class_dir.is_dir():
        raise InputError(f"VOC folder {str(root)!r} must contain SegmentationClass, got none")
    listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if split is not None and listing.is_file():
        names = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
    else:
        names = [p.stem for p in sorted(class_dir.glob("*.png"))]
    entries = []
    for name in names:
        images = [p for p in (image_dir / f"{name}.jpg", image_dir / f"{name}.png") if p.is_file()]
        if not images:
            raise FormatError(f"image {str(image_dir / (name + '.jpg'))!r} listed in {str(listing)!r} "
                              "must exist, got a missing file")
        target = class_dir / f"{name}.png"
        if not target.is_file():
            raise FormatError(f"image {str(images[0])!r} must have a mask {str(target)!r}, got none")
        objects = object_dir / f"{name}.png"
        entries.append({"name": name, "image_path": images[0], "target_path": target,
                        "object_path": objects if objects.is_file() else None})

    def load(entry: dict[str, Any]) -> Sample:
        image = read_image(entry["image_path"])
        target = read_mask(entry["target_path"])
        check_size(image, target, entry["target_path"])
        meta: dict[str, Any] = {"image_path": str(entry["image_path"]),
                                "target_path": str(entry["target_path"]), "ignore_index": 255}
        if entry["object_path"] is not None:
            objects = read_mask(entry["object_path"])
            check_size(image, objects, entry["object_path"])
            meta["instances"] = np.where(objects == 255, 0, objects)
        return Sample(image, target, meta)

    return Dataset(entries, load, "voc", VOC_CLASSES)


def _coco_json(root: Path) -> Path:
    if root.is_file():
        return root
    candidates = sorted(root.glob("*.json")) + sorted((root / "annotations").glob("*.json"))
    if not candidates:
        raise InputError(f"COCO folder {str(root)!r} must contain an annotation .json, got none")
    return candidates[0]


def _instance_masks(annotation: dict[str, Any], height: int, width: int, path: Path) -> np.ndarray:
    from pycocotools import mask as mask_utils

    segmentation = annotation.get("segmentation")
    try:
        if isinstance(segmentation, list):
            rles = mask_utils.frPyObjects(segmentation, height, width)
            rle = mask_utils.merge(rles)
        elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(segmentation, dict):
            rle = dict(segmentation)
            if isinstance(rle["counts"], str):
                rle["counts"] = rle["counts"].encode("ascii")
        else:
            raise ValueError("no segmentation")
        return mask_utils.decode(rle).astype(bool)
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"annotation {annotation.get('id')!r} in {str(path)!r} must have a polygon "
                          f"or RLE segmentation, got {error}") from None


@READERS.decorator("coco")
def read_coco(root: Path, *, images: str | Path | None = None) -> Dataset:
    """COCO instances: a JSON (``root`` itself, or the first ``*.json`` in ``root`` or
    ``root/annotations``) and its images (``images`` folder; default ``root/images``, the JSON's
    folder, or ``root``). Polygons and RLE (compressed or not) are decoded with pycocotools."""
    path = _coco_json(root)
    try:
        data = json.loads(path.read_text())
        records = {int(im["id"]): im for im in data["images"]}
        categories = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"COCO file {str(path)!r} must be JSON with 'images' and 'annotations', "
                          f"got {error}") from None
    base = root if root.is_dir() else path.parent
    folder = Path(images) if images is not None else next(
        (f for f in (base / "images", path.parent / "images", base, path.parent) if f.is_dir()), base)
    by_image: dict[int, list[dict[str, Any]]] = {i: [] for i in records}
    for annotation in data.get("annotations", []):
        by_image.setdefault(int(annotation["image_id"]), []).append(annotation)
    names = [""] * (max(categories, default=0) + 1)
    for cid, name in categories.items():
        names[cid] = name
    entries = []
    for image_id, record in records.items():
        file = folder / record["file_name"]
        if not file.is_file():
            raise FormatError(f"image {str(file)!r} listed in {str(path)!r} must exist, got a missing file")
        entries.append({"name": Path(record["file_name"]).stem, "image_path": file, "record": record,
                        "annotations": by_image[image_id], "json": path})

    def load(entry: dict[str, Any]) -> Sample:
        from seglab.core.segmentation import Segmentation

        image = read_image(entry["image_path"])
        height, width = image.shape[:2]
        record = entry["record"]
        if (record.get("height", height), record.get("width", width)) != (height, width):
            raise FormatError(f"image {str(entry['image_path'])!r} must have the size "
                              f"{(record['height'], record['width'])} given in {str(entry['json'])!r}, "
                              f"got {(height, width)}")
        labels = np.zeros((height, width), dtype=np.int32)
        class_ids = []
        for annotation in entry["annotations"]:
            mask = _instance_masks(annotation, height, width, entry["json"])
            class_ids.append(int(annotation.get("category_id", 0)))
            labels[mask] = len(class_ids)
        target = Segmentation(labels, class_ids=np.asarray(class_ids, dtype=np.int64),
                              class_names=tuple(names) if categories else ())
        meta = {"image_path": str(entry["image_path"]), "target_path": str(entry["json"]),
                "image_id": int(record["id"]), "annotations": entry["annotations"]}
        return Sample(image, target, meta)

    return Dataset(entries, load, "coco", tuple(names) if categories else ())


@READERS.decorator("cityscapes")
def read_cityscapes(root: Path, *, split: str = "val") -> Dataset:
    """Cityscapes-style: ``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/<name>_gtFine_labelIds.png`` (and ``_instanceIds.png``)."""
    image_root, gt_root = root / "leftImg8bit" / split, root / "gtFine" / split
    if not image_root.is_dir():
        raise InputError(f"Cityscapes folder {str(root)!r} must contain leftImg8bit/{split}, got none")
    entries = []
    for city in sorted(p for p in image_root.iterdir() if p.is_dir()):
        for image in list_images(city):
            stem = image.stem.removesuffix("_leftImg8bit")
            target = gt_root / city.name / f"{stem}_gtFine_labelIds.png"
            if not target.is_file():
                raise FormatError(f"image {str(image)!r} must have a mask {str(target)!r}, got none")
            instances = gt_root / city.name / f"{stem}_gtFine_instanceIds.png"
            entries.append({"name": stem, "image_path": image, "target_path": target,
                            "instance_path": instances if instances.is_file() else None, "city": city.name})
    if not entries:
        raise FormatError(f"dataset folder {str(image_root)!r} must contain images, got none")

    def load(entry: dict[str, Any]) -> Sample:
        image = read_image(entry["image_path"])
        target = read_mask(entry["target_path"])
        check_size(image, target, entry["target_path"])
        meta: dict[str, Any] = {"image_path": str(entry["image_path"]),
                                "target_path": str(entry["target_path"]), "city": entry["city"]}
        if entry["instance_path"] is not None:
            meta["instances"] = read_mask(entry["instance_path"])
        return Sample(image, target, meta)

    return Dataset(entries, load, "cityscapes")
