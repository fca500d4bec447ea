"""Training data: (image, class-index mask) pairs, a torch Dataset with joint augmentation.

The readers here are minimal stand-ins (folder pairs, ISBI 2012, DRIVE) behind one small
interface, :func:`read_pairs` -> ``list[Pair]``; they can be swapped for the shared readers of
:mod:`seglab.datasets` without touching the trainer. Masks hold class indices 0..K-1 and
``ignore_index`` (255) for pixels that do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seglab.core.errors import InputError, expected
from seglab.core.image import IMAGE_SUFFIXES, load_image

__all__ = ["Pair", "read_pairs", "read_folder", "read_isbi", "read_drive", "SegmentationDataset",
           "split_pairs", "normalization_stats", "FORMATS"]

FORMATS = ("folder", "isbi", "drive")
IGNORE = 255


@dataclass(frozen=True)
class Pair:
    """One labelled image: ``mask`` holds class indices (uint8), ``IGNORE`` where unlabelled."""

    image: np.ndarray
    mask: np.ndarray
    name: str = ""


def _binary(mask: np.ndarray) -> np.ndarray:
    if mask.ndim == 3:
        mask = mask[..., 0]
    return (mask > 127).astype(np.uint8)


def _indices(mask: np.ndarray) -> np.ndarray:
    """A 0/255 mask becomes 0/1; any other mask is taken as class indices."""
    if mask.ndim == 3:
        mask = mask[..., 0]
    values = np.unique(mask)
    if set(values.tolist()) <= {0, 255} and values.size:
        return (mask > 127).astype(np.uint8)
    if values.max() > 255:
        raise expected("mask", "class indices 0..254 (255 = ignore)", int(values.max()))
    return mask.astype(np.uint8)


def read_folder(root: str | Path, *, images: str = "images", masks: str = "masks") -> list[Pair]:
    """``root/images/NAME.*`` with ``root/masks/NAME.png`` (0/255 binary or class indices)."""
    root = Path(root)
    image_dir, mask_dir = root / images, root / masks
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise InputError(f"folder dataset {str(root)!r} must have a {folder.name}/ subfolder, got none")
    masks_by_stem = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem in masks_by_stem:
            pairs.append(Pair(load_image(path), _indices(load_image(masks_by_stem[path.stem])), path.stem))
    if not pairs:
        raise InputError(f"folder dataset {str(root)!r} must hold images with masks of the same name, got none")
    return pairs


def read_isbi(root: str | Path, slices: Any = range(30)) -> list[Pair]:
    """ISBI 2012 ``train/image/N.png`` + ``train/label/N.png`` (255 = cell interior = class 1)."""
    root = Path(root)
    base = root / "train" if (root / "train").is_dir() else root
    pairs = []
    for index in slices:
        image_path, label_path = base / "image" / f"{index}.png", base / "label" / f"{index}.png"
        if not image_path.is_file() or not label_path.is_file():
            raise InputError(f"ISBI slice {index} must exist as {image_path} and {label_path}")
        pairs.append(Pair(load_image(image_path), _binary(load_image(label_path)), str(index)))
    return pairs


def read_drive(root: str | Path) -> list[Pair]:
    """DRIVE ``training/``: vessels = class 1, outside the field of view = ignore."""
    root = Path(root)
    base = root / "training" if (root / "training").is_dir() else root
    pairs = []
    for path in sorted((base / "images").glob("*.tif")):
        number = path.stem.split("_")[0]
        vessels = _binary(load_image(base / "1st_manual" / f"{number}_manual1.gif"))
        fov = _binary(load_image(base / "mask" / f"{number}_training_mask.gif"))
        pairs.append(Pair(_load_tiff(path), np.where(fov > 0, vessels, IGNORE).astype(np.uint8), number))
    if not pairs:
        raise InputError(f"DRIVE folder {str(root)!r} must hold training/images/*.tif, got none")
    return pairs


def _load_tiff(path: Path) -> np.ndarray:
    """DRIVE TIFFs are LZW-compressed: tifffile needs imagecodecs for that, Pillow does not."""
    from seglab.core.errors import FormatError

    try:
        return load_image(path)
    except FormatError:
        from PIL import Image

        with Image.open(path) as handle:
            return np.asarray(handle.convert("RGB"))


def read_pairs(root: str | Path, format: str = "folder") -> list[Pair]:
    """Read a labelled dataset in ``format`` (one of :data:`FORMATS`)."""
    readers = {"folder": read_folder, "isbi": read_isbi, "drive": read_drive}
    if format not in readers:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not Path(root).is_dir():
        raise InputError(f"dataset folder {str(root)!r} does not exist")
    return readers[format](root)


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
    """Random crops with joint augmentation (training) or whole images (validation).

    Parameters
    ----------
    pairs : list of Pair
    in_channels : int
    mean, std : sequence of float
        Normalisation, applied after augmentation.
    crop_size : int or None
        Training crop edge; None yields whole images (validation).
    samples : int, optional
        Crops per epoch (default: one per image, at least 64 for tiny datasets).
    augment : bool
        Flips, 90-degree rotations, scale-crop, brightness/contrast (and ``elastic``).
    """

    def __init__(self, pairs: list[Pair], in_channels: int, mean: Any, std: Any, *,
                 crop_size: int | None = 256, samples: int | None = None, augment: bool = True,
                 elastic: bool = False, seed: int = 0) -> None:
        self.images = [torch.from_numpy(to_channels(p.image, in_channels).copy()) for p in pairs]
        self.masks = [torch.from_numpy(p.mask.astype(np.int64)) for p in pairs]
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.crop_size = crop_size
        self.augment = augment and crop_size is not None
        self.samples = samples or (len(pairs) if crop_size is None else max(len(pairs), 64))
        self.transform = self._transforms(crop_size, elastic) if crop_size is not None else None
        self.seed = seed

    def _transforms(self, crop: int, elastic: bool) -> Any:
        from torchvision.transforms import v2
        from torchvision import tv_tensors

        fill = {tv_tensors.Image: 0.0, tv_tensors.Mask: IGNORE}
        steps: list[Any] = []
        if self.augment:
            steps.append(v2.RandomApply([v2.RandomAffine(degrees=0, scale=(0.75, 1.33))], p=0.5))
            if elastic:
                steps.append(v2.RandomApply([v2.ElasticTransform(alpha=30.0, sigma=5.0, fill=fill)], p=0.3))
        steps.append(v2.RandomCrop(crop, pad_if_needed=True, fill=fill, padding_mode="constant"))
        if self.augment:
            steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
        return v2.Compose(steps)

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from torchvision import tv_tensors

        k = index % len(self.images)
        image, mask = self.images[k], self.masks[k]
        if self.transform is not None:
            image, mask = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask[None]))
            image, mask = image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)[0]
            if self.augment:
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
