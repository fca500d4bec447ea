"""Readers for folder pairs, BSDS500, ISBI 2012 and DRIVE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError
from seglab.core.image import IMAGE_SUFFIXES
from seglab.datasets.base import READERS, Dataset, Sample, check_size, read_image, read_mask

__all__ = ["read_folder", "read_bsds", "read_isbi", "read_drive", "list_images"]


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder, sorted by name."""
    if not folder.is_dir():
        raise FormatError(f"dataset folder {str(folder)!r} must exist, got a missing folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _by_stem(files: list[Path]) -> dict[str, Path]:
    return {p.stem: p for p in files}


def _pair(images: list[Path], masks: dict[str, Path], stem_of: Any, mask_folder: Path) -> list[dict[str, Any]]:
    entries = []
    for image in images:
        key = stem_of(image.stem)
        if key not in masks:
            raise FormatError(f"image {str(image)!r} must have a mask named {key}.* in "
                              f"{str(mask_folder)!r}, got none")
        entries.append({"name": image.stem, "image_path": image, "target_path": masks[key]})
    if not entries:
        raise FormatError(f"dataset folder {str(mask_folder.parent)!r} must contain images, got none")
    return entries


def _class_map(mask: np.ndarray) -> np.ndarray:
    values = np.unique(mask)
    if values.size <= 2 and values.max(initial=0) == 255:  # a 0/255 binary mask
        return (mask > 127).astype(np.int64)
    return mask


def _load_pair(entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    image = read_image(entry["image_path"])
    target = read_mask(entry["target_path"])
    check_size(image, target, entry["target_path"])
    meta = {"image_path": str(entry["image_path"]), "target_path": str(entry["target_path"])}
    return image, target, meta


@READERS.decorator("folder")
def read_folder(root: Path, *, images: str = "images", masks: str = "masks") -> Dataset:
    """``root/images/*`` with ``root/masks/*`` matched by stem; label PNGs or 0/255 masks."""
    image_dir, mask_dir = root / images, root / masks
    entries = _pair(list_images(image_dir), _by_stem(list_images(mask_dir)), lambda s: s, mask_dir)

    def load(entry: dict[str, Any]) -> Sample:
        image, target, meta = _load_pair(entry)
        return Sample(image, _class_map(target), meta)

    return Dataset(entries, load, "folder")


@READERS.decorator("bsds")
def read_bsds(root: Path, *, split: str = "val") -> Dataset:
    """BSDS500: ``images/<split>/*.jpg`` with ``groundTruth/<split>/*.mat`` (every annotator).

    A folder with ``images/*.jpg`` and ``groundTruth/*.mat`` directly (the benchmark's
    self-test) works too.
    """
    image_dir, gt_dir = root / "images" / split, root / "groundTruth" / split
    if not image_dir.is_dir() and (root / "images").is_dir():
        image_dir, gt_dir = root / "images", root / "groundTruth"
    if not image_dir.is_dir():
        raise InputError(f"BSDS folder {str(root)!r} must contain images/{split}, got none")
    mats = {p.stem: p for p in gt_dir.glob("*.mat")} if gt_dir.is_dir() else {}
    entries = _pair(list_images(image_dir), mats, lambda s: s, gt_dir)

    def load(entry: dict[str, Any]) -> Sample:
        from seglab.core.bsds_io import load_bsds_ground_truth

        image = read_image(entry["image_path"])
        segs, bounds = load_bsds_ground_truth(entry["target_path"])
        for seg in segs:
            check_size(image, seg, entry["target_path"])
        meta = {"image_path": str(entry["image_path"]), "target_path": str(entry["target_path"]),
                "boundaries": bounds, "annotators": len(segs)}
        return Sample(image, [s.astype(np.int64) for s in segs], meta)

    return Dataset(entries, load, "bsds")


@READERS.decorator("isbi")
def read_isbi(root: Path, *, split: str = "train") -> Dataset:
    """ISBI 2012 EM membranes: ``<split>/image/*.png`` + ``<split>/label/*.png``
    (255 = cell interior -> 1, 0 = membrane -> 0)."""
    image_dir, label_dir = root / split / "image", root / split / "label"
    if not image_dir.is_dir():
        raise InputError(f"ISBI folder {str(root)!r} must contain {split}/image, got none")
    entries = _pair(list_images(image_dir), _by_stem(list_images(label_dir)), lambda s: s, label_dir)
    entries.sort(key=lambda e: (len(e["name"]), e["name"]))  # 0, 1, ..., 10: slice order

    def load(entry: dict[str, Any]) -> Sample:
        image, target, meta = _load_pair(entry)
        return Sample(image, (target > 127).astype(np.int64), meta)

    return Dataset(entries, load, "isbi", ("membrane", "cell"))


@READERS.decorator("drive")
def read_drive(root: Path, *, split: str = "training") -> Dataset:
    """DRIVE: ``<split>/images/NN_<split>.tif``, ``1st_manual/NN_manual1.gif`` (1 = vessel) and
    ``mask/NN_<split>_mask.gif`` (the field of view, returned as ``valid_mask``)."""
    base = root / split if (root / split).is_dir() else root
    image_dir, manual_dir, fov_dir = base / "images", base / "1st_manual", base / "mask"
    if not image_dir.is_dir():
        raise InputError(f"DRIVE folder {str(root)!r} must contain {split}/images, got none")
    manuals = _by_stem(list_images(manual_dir))
    entries = _pair(list_images(image_dir), manuals, lambda s: s.split("_")[0] + "_manual1", manual_dir)
    fovs = _by_stem(list_images(fov_dir)) if fov_dir.is_dir() else {}
    for entry in entries:
        entry["fov_path"] = fovs.get(entry["name"] + "_mask")

    def load(entry: dict[str, Any]) -> Sample:
        image, target, meta = _load_pair(entry)
        fov = None
        if entry["fov_path"] is not None:
            fov = read_mask(entry["fov_path"]) > 127
            check_size(image, fov, entry["fov_path"])
            meta["fov_path"] = str(entry["fov_path"])
        return Sample(image, (target > 127).astype(np.int64), meta, valid_mask=fov)

    return Dataset(entries, load, "drive", ("background", "vessel"))
