"""Lazy reading of large images (tifffile + zarr) and tiled-TIFF writing of label images."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError

__all__ = ["LazyImage", "open_image", "read_labels", "write_tiled_tiff"]

_TIFF = (".tif", ".tiff")


@dataclass
class LazyImage:
    """An image read window by window: a TIFF through zarr (only the touched tiles are decoded), or an array.

    ``shape`` is (H, W) or (H, W, 3); :meth:`read` returns a window as an array of the dtype
    :func:`seglab.load_image` would give.
    """

    source: Any
    shape: tuple[int, ...]
    dtype: np.dtype
    path: str | None = None
    planar: bool = False

    @property
    def height(self) -> int:
        return int(self.shape[0])

    @property
    def width(self) -> int:
        return int(self.shape[1])

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` (a copy, never a view of the caller's array)."""
        if isinstance(self.source, np.ndarray):  # validated by load_image already
            return np.array(self.source[y0:y1, x0:x1], copy=True)
        if self.planar:
            data = np.moveaxis(np.asarray(self.source[:, y0:y1, x0:x1]), 0, -1)
        else:
            data = np.asarray(self.source[y0:y1, x0:x1])
        if data.ndim == 3 and data.shape[2] == 4:
            data = data[:, :, :3]
        if data.ndim == 3 and data.shape[2] == 1:
            data = data[:, :, 0]
        if data.dtype == bool:
            return data.astype(np.uint8) * 255
        if data.dtype.kind == "f":
            return data.astype(np.float32)
        if data.dtype not in (np.uint8, np.uint16):
            return data.astype(np.uint16)
        return np.array(data, copy=True)


def open_image(source: Any) -> LazyImage:
    """Open ``source`` (a TIFF read lazily, any other image file loaded whole, or an array) as a :class:`LazyImage`.

    Raises
    ------
    InputError
        A missing file or a bad array.
    FormatError
        A TIFF that is not a grey or colour image.
    """
    if isinstance(source, LazyImage):
        return source
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in _TIFF:
        return _open_tiff(Path(source))
    from seglab.core.image import load_image

    array = load_image(source, max_pixels=None)
    return LazyImage(array, array.shape, array.dtype, str(source) if isinstance(source, (str, Path)) else None)


def _open_tiff(path: Path) -> LazyImage:
    import tifffile
    import zarr

    if not path.is_file():
        raise InputError(f"image file {str(path)!r} does not exist")
    try:
        store = tifffile.imread(path, aszarr=True, key=0)
        array = zarr.open(store, mode="r")
    except Exception as error:  # noqa: BLE001 - tifffile raises many types for broken files
        raise FormatError(f"TIFF file {str(path)!r} could not be read lazily: {error}") from None
    if isinstance(array, zarr.Group):  # pyramidal TIFF: level 0
        array = array["0"]
    shape = tuple(int(s) for s in array.shape)
    planar = len(shape) == 3 and shape[0] in (3, 4) and shape[2] not in (3, 4)
    if planar:
        shape = (shape[1], shape[2], shape[0])
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4))):
        raise FormatError(f"TIFF file {str(path)!r} has shape {shape}, not a grey or colour image")
    if len(shape) == 3:
        shape = shape[:2] if shape[2] == 1 else (shape[0], shape[1], 3)
    return LazyImage(array, shape, np.dtype(array.dtype), str(path), planar)


def label_dtype(max_label: int) -> np.dtype:
    """The smallest unsigned dtype that holds ``max_label``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_label <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise InputError(f"labels must be below 2**32, got {max_label}")


def write_tiled_tiff(path: Any, shape: tuple[int, int], tile: int, dtype: np.dtype,
                     tiles: Iterable[np.ndarray]) -> None:
    """Write a 2D label image as a tiled, deflate-compressed TIFF from tiles in row-major order (atomically).

    Each tile is at most ``tile`` x ``tile`` (edge tiles smaller); they are padded as TIFF requires.
    """
    import tifffile

    from seglab.core.atomic import atomic_path

    def padded() -> Iterator[np.ndarray]:
        for block in tiles:
            full = np.zeros((tile, tile), dtype)
            full[: block.shape[0], : block.shape[1]] = block
            yield full

    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, padded(), shape=shape, dtype=dtype, tile=(tile, tile), compression="zlib",
                         photometric="minisblack", metadata=None)


def read_labels(path: Any, window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Labels from a tiled label TIFF, whole or a window ``(y0, y1, x0, x1)``, as int64."""
    image = _open_tiff(Path(path))
    y0, y1, x0, x1 = window or (0, image.height, 0, image.width)
    return np.asarray(image.source[y0:y1, x0:x1]).astype(np.int64)
