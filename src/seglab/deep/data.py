"""Training data: (image, class-index mask) pairs, a torch Dataset with joint augmentation.

Datasets on disk are read with the shared readers of :mod:`seglab.datasets` (one copy for
evaluation and training); :func:`read_labelled` turns their :class:`~seglab.datasets.Sample`
records into :class:`Pair` records for the trainer. Masks hold class indices 0..K-1 and
``IGNORE`` (255) for pixels that do not count: VOC's void (255), outside DRIVE's field of
view, Cityscapes' void classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seglab.core.errors import InputError, expected

__all__ = ["Pair", "read_labelled", "read_pairs", "read_isbi", "read_drive", "sample_to_pair",
           "SegmentationDataset", "split_pairs", "normalization_stats", "FORMATS", "IGNORE"]

#: Formats the trainer reads (the semantic ones of :data:`seglab.datasets.FORMATS`).
FORMATS = ("folder", "voc", "coco", "isbi", "drive", "cityscapes")
IGNORE = 255


@dataclass(frozen=True)
class Pair:
    """One labelled image: ``mask`` holds class indices (uint8), ``IGNORE`` where unlabelled."""

    image: np.ndarray
    mask: np.ndarray
    name: str = ""


#: Cityscapes labelIds -> trainIds (19 classes; the rest are void), from cityscapesScripts.
_CITYSCAPES_TRAIN = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
                     25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
CITYSCAPES_CLASSES = ("void", "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
                      "bus", "train", "motorcycle", "bicycle")


def _cityscapes_lut() -> np.ndarray:
    """labelIds (0..255) -> class index (trainId + 1; 0 = void is never a target) or IGNORE."""
    lut = np.full(256, IGNORE, np.uint8)
    for label_id, train_id in _CITYSCAPES_TRAIN.items():
        lut[label_id] = train_id + 1
    return lut


def _coco_lut(class_names: tuple[str, ...]) -> tuple[dict[int, int], tuple[str, ...]]:
    """COCO category ids (any, sparse) -> contiguous class indices 1..K; background is 0."""
    ids = [cid for cid, name in enumerate(class_names) if name]
    if len(ids) >= IGNORE:
        raise expected("COCO categories", f"at most {IGNORE - 1} for training", len(ids))
    return {cid: k + 1 for k, cid in enumerate(ids)}, ("background", *(class_names[c] for c in ids))


def sample_to_pair(sample: Any, format: str, *, coco_ids: dict[int, int] | None = None) -> Pair:
    """A :class:`seglab.datasets.Sample` -> a :class:`Pair` with a uint8 class map.

    ``valid_mask`` (DRIVE's field of view) and the format's void value become ``IGNORE``;
    a COCO target (a Segmentation of instances) becomes its class map through ``coco_ids``.
    """
    target = sample.target
    name = str(sample.meta.get("name", ""))
    if format == "coco":
        lut = np.zeros(len(target.class_ids) + 1, np.uint8)
        for k, cid in enumerate(np.asarray(target.class_ids).tolist()):
            if coco_ids is not None and cid not in coco_ids:
                raise InputError(f"annotation category of {name!r} must be one of the categories of the "
                                 f"COCO file, got {cid}")
            lut[k + 1] = coco_ids[cid] if coco_ids is not None else cid
        mask = lut[target.labels]
    else:
        if isinstance(target, list):
            raise InputError(f"format must be a semantic dataset for training, got {format!r} "
                             "(several annotations per image)")
        target = np.asarray(target)
        if format == "cityscapes":
            mask = _cityscapes_lut()[np.clip(target, 0, 255)]
        else:
            ignore = sample.meta.get("ignore_index", IGNORE)
            valid = target[target != ignore]
            if valid.size and (valid.max() > IGNORE or valid.min() < 0):
                bad = int(valid.max() if valid.max() > IGNORE else valid.min())
                raise expected(f"mask of {name!r}", f"class indices 0..{IGNORE - 1} ({IGNORE} = ignore)", bad)
            mask = np.where(target == ignore, IGNORE, target).astype(np.uint8)
    if sample.valid_mask is not None:
        mask = np.where(sample.valid_mask, mask, IGNORE).astype(np.uint8)
    return Pair(sample.image, mask, name)


def _split_option(root: Path, format: str, split: str) -> dict[str, Any] | None:
    """Reader options for a named split, or None when the dataset does not have it."""
    if format == "voc":
        base = root / "VOC2012" if (root / "VOC2012").is_dir() and not (root / "JPEGImages").is_dir() else root
        return {"split": split} if (base / "ImageSets" / "Segmentation" / f"{split}.txt").is_file() else None
    if format == "cityscapes":
        return {"split": split} if (root / "leftImg8bit" / split).is_dir() else None
    return None


def read_labelled(root: str | Path, format: str = "folder", *, split: str | None = None,
                  **options: Any) -> tuple[list[Pair], tuple[str, ...]]:
    """Read a labelled dataset with :func:`seglab.datasets.read_dataset` into Pairs.

    Parameters
    ----------
    root : path-like
        The dataset folder (for ``coco`` the annotation JSON or its folder).
    format : {"folder", "voc", "coco", "isbi", "drive", "cityscapes"}
    split : str, optional
        ``"train"`` / ``"val"`` for VOC and Cityscapes (all labelled VOC images when the list
        is missing); other formats read their training data.
    **options
        More reader options (e.g. ``images=`` for folder and coco).

    Returns
    -------
    pairs : list of Pair
    class_names : tuple of str
        Index = class index, empty when the format has none (folder). COCO categories are
        renumbered 1..K in id order, 0 = background; Cityscapes uses trainId + 1 (0 = void).

    Raises
    ------
    InputError
        Unknown format, missing folder, or masks that are not class indices.
    FormatError
        A broken dataset (from the reader).
    """
    from seglab.core.validate import check_choice
    from seglab.datasets import read_dataset

    check_choice("format", format, FORMATS)
    root = Path(root)
    if not root.exists():
        raise InputError(f"dataset folder {str(root)!r} does not exist")
    if split is not None and format in ("voc", "cityscapes"):
        options = {**(_split_option(root, format, split) or {"split": None if format == "voc" else split}),
                   **options}
    dataset = read_dataset(root, format, **options)
    names: tuple[str, ...] = tuple(dataset.class_names)
    coco_ids = None
    if format == "coco":
        coco_ids, names = _coco_lut(names)
    elif format == "cityscapes":
        names = CITYSCAPES_CLASSES
    pairs = [sample_to_pair(sample, format, coco_ids=coco_ids) for sample in dataset]
    if not pairs:
        raise InputError(f"dataset {str(root)!r} must hold labelled images, got none")
    return pairs, names


def read_pairs(root: str | Path, format: str = "folder", **options: Any) -> list[Pair]:
    """The Pairs of :func:`read_labelled` (without the class names)."""
    return read_labelled(root, format, **options)[0]


def read_isbi(root: str | Path, slices: Any = range(30)) -> list[Pair]:
    """ISBI 2012 training slices by number (``train/image/N.png``), through :mod:`seglab.datasets`."""
    pairs = {p.name: p for p in read_pairs(root, "isbi")}
    missing = [s for s in slices if str(s) not in pairs]
    if missing:
        raise InputError(f"ISBI slice {missing[0]} must exist in {str(root)!r}, got none")
    return [pairs[str(s)] for s in slices]


def read_drive(root: str | Path) -> list[Pair]:
    """DRIVE ``training/``: vessels = class 1, outside the field of view = ``IGNORE``."""
    return read_pairs(root, "drive")


def split_pairs(pairs: list[Pair], val_fraction: float) -> tuple[list[Pair], list[Pair]]:
    """Contiguous split: the last ``val_fraction`` of the pairs validate (neighbours are correlated)."""
    if len(pairs) < 2:
        raise expected("dataset", "at least 2 labelled images to split into train and validation", len(pairs))
    n_val = min(len(pairs) - 1, max(1, int(round(len(pairs) * val_fraction))))
    return pairs[:-n_val], pairs[-n_val:]


def to_channels(image: np.ndarray, in_channels: int) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] with ``in_channels`` channels."""
    from seglab.core.validate import to_float01, to_gray, to_rgb

    image = to_gray(image) if in_channels == 1 else to_rgb(image)
    data = to_float01(image)
    return data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)


def normalization_stats(pairs: list[Pair], in_channels: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the training images (in [0, 1] units)."""
    total = np.zeros(in_channels)
    squares = np.zeros(in_channels)
    count = 0
    for pair in pairs:
        data = to_channels(pair.image, in_channels).reshape(in_channels, -1).astype(np.float64)
        total += data.sum(1)
        squares += (data**2).sum(1)
        count += data.shape[1]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-8))
    return [float(v) for v in mean], [float(max(v, 1e-3)) for v in std]


class SegmentationDataset(Dataset):
    """Random patches with joint augmentation (training) or whole images (validation).

    Parameters
    ----------
    pairs : list of Pair
    in_channels : int
    mean, std : sequence of float
        Normalisation, applied after augmentation.
    crop_size : int or None
        Training patch edge; None yields whole images (validation).
    samples : int, optional
        Patches per epoch (default: one per image, at least 64 for tiny datasets).
    augment : bool
        Flips, 90-degree rotations, scale (0.75-1.33), brightness/contrast (and ``elastic``).
    rotate : bool
        With ``augment``: the 90-degree rotations (off for objects with a preferred direction).
    foreground : float
        Fraction of patches centred on a pixel of a class drawn uniformly among the classes
        present (nnU-Net samples one third this way), so rare classes are seen; the others are
        placed uniformly.
    """

    def __init__(self, pairs: list[Pair], in_channels: int, mean: Any, std: Any, *,
                 crop_size: int | None = 256, samples: int | None = None, augment: bool = True,
                 elastic: bool = False, seed: int = 0, foreground: float = 0.0, rotate: bool = True) -> None:
        self.images = [torch.from_numpy(to_channels(p.image, in_channels).copy()) for p in pairs]
        self.masks = [torch.from_numpy(p.mask.astype(np.int64)) for p in pairs]
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.crop_size = crop_size
        self.augment = augment and crop_size is not None
        self.rotate = rotate
        self.samples = samples or (len(pairs) if crop_size is None else max(len(pairs), 64))
        self.elastic = self._elastic() if elastic and self.augment else None
        self.foreground = float(foreground) if crop_size is not None else 0.0
        self.seed = seed
        self.class_pixels = self._class_pixels(pairs) if self.foreground > 0 else {}

    @staticmethod
    def _class_pixels(pairs: list[Pair], keep: int = 4096) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Class -> [(image index, (n, 2) row/col of up to ``keep`` of its pixels)]."""
        rng = np.random.default_rng(0)
        found: dict[int, list[tuple[int, np.ndarray]]] = {}
        for k, pair in enumerate(pairs):
            for c in np.unique(pair.mask):
                if c == IGNORE:
                    continue
                coords = np.argwhere(pair.mask == c)
                if len(coords) > keep:
                    coords = coords[rng.choice(len(coords), keep, replace=False)]
                found.setdefault(int(c), []).append((k, coords))
        return found

    @staticmethod
    def _elastic() -> Any:
        from torchvision import tv_tensors
        from torchvision.transforms import v2

        fill = {tv_tensors.Image: 0.0, tv_tensors.Mask: IGNORE}
        return v2.RandomApply([v2.ElasticTransform(alpha=30.0, sigma=5.0, fill=fill)], p=0.3)

    def __len__(self) -> int:
        return self.samples

    def _centre(self, k: int) -> tuple[int, tuple[int, int] | None]:
        if self.foreground and torch.rand(()) < self.foreground and self.class_pixels:
            classes = sorted(self.class_pixels)
            entries = self.class_pixels[classes[int(torch.randint(0, len(classes), ()))]]
            k, coords = entries[int(torch.randint(0, len(entries), ()))]
            row, col = coords[int(torch.randint(0, len(coords), ()))]
            return k, (int(row), int(col))
        return k, None

    def _patch(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A (scaled) window around a chosen centre or at a uniform place, resized to crop_size."""
        crop = int(self.crop_size)  # type: ignore[arg-type]
        k, centre = self._centre(k)
        image, mask = self.images[k], self.masks[k]
        height, width = mask.shape
        size = crop
        if self.augment and torch.rand(()) < 0.5:
            size = max(8, int(round(crop * float(torch.empty(()).uniform_(0.75, 1.33)))))
        if centre is None:
            top = int(torch.randint(min(0, height - size), max(0, height - size) + 1, ()))
            left = int(torch.randint(min(0, width - size), max(0, width - size) + 1, ()))
        else:
            jitter = size // 4
            top = centre[0] - size // 2 + int(torch.randint(-jitter, jitter + 1, ()))
            left = centre[1] - size // 2 + int(torch.randint(-jitter, jitter + 1, ()))
            top = min(max(top, min(0, height - size)), max(0, height - size))
            left = min(max(left, min(0, width - size)), max(0, width - size))
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + size, height), min(left + size, width)
        pad = (x0 - left, left + size - x1, y0 - top, top + size - y1)
        image = torch.nn.functional.pad(image[:, y0:y1, x0:x1], pad)
        mask = torch.nn.functional.pad(mask[y0:y1, x0:x1], pad, value=IGNORE)
        if size != crop:
            image = torch.nn.functional.interpolate(image[None], size=(crop, crop), mode="bilinear",
                                                    align_corners=False)[0]
            mask = torch.nn.functional.interpolate(mask[None, None].float(), size=(crop, crop),
                                                   mode="nearest")[0, 0].long()
        return image, mask

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        k = index % len(self.images)
        image, mask = self.images[k], self.masks[k]
        if self.crop_size is not None:
            image, mask = self._patch(k)
            if self.elastic is not None:
                from torchvision import tv_tensors

                image, mask = self.elastic(tv_tensors.Image(image), tv_tensors.Mask(mask[None]))
                image, mask = image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)[0]
            if self.augment:
                if torch.rand(()) < 0.5:
                    image, mask = image.flip(2), mask.flip(1)
                if torch.rand(()) < 0.5:
                    image, mask = image.flip(1), mask.flip(0)
                if self.rotate:
                    turns = int(torch.randint(0, 4, ()).item())
                    image, mask = torch.rot90(image, turns, (1, 2)), torch.rot90(mask, turns, (0, 1))
                contrast = 1.0 + 0.2 * (2 * torch.rand(()) - 1)
                brightness = 0.1 * (2 * torch.rand(()) - 1)
                image = ((image - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)
        else:
            image, mask = _pad32(image, mask)
        image = (image - self.mean) / self.std
        return image.contiguous(), mask.contiguous()


def _pad32(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    height, width = image.shape[1:]
    pad_h, pad_w = (-height) % 32, (-width) % 32
    if pad_h or pad_w:
        image = torch.nn.functional.pad(image, (0, pad_w, 0, pad_h))
        mask = torch.nn.functional.pad(mask, (0, pad_w, 0, pad_h), value=IGNORE)
    return image, mask
