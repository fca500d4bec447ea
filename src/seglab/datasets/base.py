"""The reader interface (:class:`Sample`, :class:`Dataset`, :func:`read_dataset`) and file helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError
from seglab.core.registry_base import Registry

__all__ = ["Sample", "Dataset", "read_dataset", "FORMATS", "READERS", "read_mask", "read_image", "check_size"]


@dataclass
class Sample:
    """One image with its ground truth (see :mod:`seglab.datasets` for ``target`` per format)."""

    image: np.ndarray
    target: Any
    meta: dict[str, Any] = field(default_factory=dict)
    valid_mask: np.ndarray | None = None


class Dataset:
    """A lazily loaded sequence of :class:`Sample`: ``len``, ``[i]``, iteration, ``names``.

    Parameters
    ----------
    entries : list of dict
        One per sample, with at least ``name``; passed to ``loader``.
    loader : callable
        ``loader(entry) -> Sample``.
    format : str
        The format name.
    class_names : tuple of str
        Class names where the format defines them.
    """

    def __init__(self, entries: list[dict[str, Any]], loader: Callable[[dict[str, Any]], Sample],
                 format: str, class_names: tuple[str, ...] = ()) -> None:
        self.entries = entries
        self._loader = loader
        self.format = format
        self.class_names = class_names

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Sample:
        sample = self._loader(self.entries[index])
        sample.meta.setdefault("name", self.entries[index]["name"])
        sample.meta.setdefault("format", self.format)
        return sample

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self)):
            yield self[index]

    @property
    def names(self) -> list[str]:
        """Sample names (file stems), in order."""
        return [e["name"] for e in self.entries]

    def subset(self, indices: Any) -> Dataset:
        """A dataset of the samples at ``indices`` (a split, a limit)."""
        return Dataset([self.entries[i] for i in indices], self._loader, self.format, self.class_names)

    def __repr__(self) -> str:
        return f"Dataset(format={self.format!r}, samples={len(self)})"


def read_image(path: Path) -> np.ndarray:
    """Load an image, turning any failure into a FormatError naming the file."""
    from seglab.core.image import load_image

    try:
        return load_image(path)
    except FormatError:
        if Path(path).suffix.lower() not in (".tif", ".tiff"):
            raise
        return _read_tiff_pil(path)  # e.g. LZW TIFFs (DRIVE) that tifffile reads only with imagecodecs
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"image {str(path)!r} must be a readable image file, got {error}") from None


def _read_tiff_pil(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as handle:
            return np.asarray(handle.convert("RGB") if handle.mode not in ("L", "I;16", "RGB") else handle).copy()
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"image {str(path)!r} must be a readable TIFF file, got {error}") from None


def read_mask(path: Path) -> np.ndarray:
    """Load a mask / label image as stored: palette indices, grey values, or 16-bit labels."""
    from PIL import Image

    try:
        with Image.open(path) as handle:
            handle.seek(0)
            if handle.mode in ("RGB", "RGBA"):
                array = np.asarray(handle)[..., 0]
            elif handle.mode in ("L", "P", "1", "I;16", "I;16B", "I", "LA", "PA"):
                array = np.asarray(handle if handle.mode not in ("LA", "PA") else handle.getchannel(0))
            else:
                array = np.asarray(handle.convert("L"))
    except FileNotFoundError:
        raise FormatError(f"mask {str(path)!r} must exist, got a missing file") from None
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"mask {str(path)!r} must be a readable image file, got {error}") from None
    return np.asarray(array).astype(np.int64)


def check_size(image: np.ndarray, target: np.ndarray, path: Path) -> None:
    """Raise FormatError naming ``path`` when ``target`` and ``image`` differ in size."""
    if target.shape[:2] != image.shape[:2]:
        raise FormatError(f"mask {str(path)!r} must have the image's size {image.shape[:2]}, "
                          f"got {target.shape[:2]}")


#: Dataset reader by format name: ``reader(root, **options) -> Dataset``. A plugin adds a layout with
#: ``@READERS.decorator("name")``; each built-in reader is one function in ``readers`` or ``annotated``.
READERS: Registry[Callable[..., Dataset]] = Registry(
    "format", builtins=("seglab.datasets.readers", "seglab.datasets.annotated"))


FORMATS = ("folder", "bsds", "isbi", "drive", "voc", "coco", "cityscapes")


def read_dataset(root: str | Path, format: str, **options: Any) -> Dataset:
    """Open a labelled dataset.

    Parameters
    ----------
    root : path
        The dataset folder (for ``coco``: the annotation JSON, or a folder holding one).
    format : {"folder", "bsds", "isbi", "drive", "voc", "coco", "cityscapes"}
        The layout (see :mod:`seglab.datasets`).
    **options
        Reader options, e.g. ``split="val"`` (bsds, voc, cityscapes, isbi, drive),
        ``images=`` / ``masks=`` folder names (folder), ``images=`` folder (coco).

    Returns
    -------
    Dataset

    Raises
    ------
    InputError
        Unknown format or missing folder.
    FormatError
        A broken dataset (missing mask, unreadable annotation file).

    Examples
    --------
    >>> read_dataset("/no/such/folder", "folder")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    InputError: dataset folder '/no/such/folder' does not exist
    """
    from seglab.core.validate import check_choice

    check_choice("format", format, [*FORMATS, *(name for name in READERS.names() if name not in FORMATS)])
    root = Path(root)
    if not root.exists():
        raise InputError(f"dataset folder {str(root)!r} does not exist")
    return READERS.get(format)(root, **options)
