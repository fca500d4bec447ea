"""Reading and writing images: one loader that returns what every method expects.

``load_image`` returns a (H, W) grey or (H, W, 3) RGB array:

- uint8 for 8-bit files (and 1-bit files, as 0/255);
- uint16 for 16-bit PNG and TIFF, kept so methods that can use the depth do;
- float32 for floating-point TIFF.

Rules: EXIF orientation is applied; palette images become RGB; an alpha channel is dropped
(colour kept as stored, not composited), with a warning when it is not fully opaque; for
multi-page TIFF and animated GIF/WebP the first page is read, with a warning. Images larger
than ``max_pixels`` (default 2**28) are refused from their header, before any decoding.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_path
from seglab.core.errors import FormatError, InputError
from seglab.core.validate import as_image, drop_alpha

__all__ = ["load_image", "save_image", "DEFAULT_MAX_PIXELS", "IMAGE_SUFFIXES"]

DEFAULT_MAX_PIXELS = 2**28
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
_TIFF = (".tif", ".tiff")
_PIL_LOCK = threading.Lock()


def load_image(source: Any, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Load an image file, or validate an image array, as (H, W) or (H, W, 3).

    Parameters
    ----------
    source : str, path-like or ndarray
        A file (PNG, JPEG, TIFF, BMP, GIF, WebP) or an array. Arrays are validated and
        returned without a copy when already in shape.
    max_pixels : int or None
        Refuse images with more pixels than this, read from the header before decoding
        (decompression bombs). None disables the check.

    Returns
    -------
    image : (H, W) or (H, W, 3) ndarray
        uint8, uint16 or float32; see the module docstring.

    Raises
    ------
    InputError
        Missing path, a directory, a zero-size image, an image above ``max_pixels``.
    FormatError
        An empty, truncated or unreadable file, or an unsupported image mode.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> seglab.load_image(np.zeros((4, 5, 3), np.uint8)).shape
    (4, 5, 3)
    """
    if isinstance(source, np.ndarray) or not _is_path(source):
        return as_image(source)
    path = Path(source)
    if not path.exists():
        raise InputError(f"image file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"image path {str(path)!r} is a directory, expected an image file")
    if path.stat().st_size == 0:
        raise FormatError(f"image file {str(path)!r} is empty (0 bytes)")
    if path.suffix.lower() in _TIFF:
        image = _load_tiff(path, max_pixels)
    elif path.suffix.lower() == ".png" and _png_is_16bit_colour(path):
        image = _load_png16_colour(path, max_pixels)
    else:
        image = _load_pil(path, max_pixels)
    if image.ndim == 3 and image.shape[2] == 4:
        image = drop_alpha(image, repr(str(path)))
    if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha
        image = image[:, :, 0]
    if image.size == 0:
        raise InputError(f"image file {str(path)!r} has zero size {image.shape[:2]}")
    return np.ascontiguousarray(image)


def _is_path(source: Any) -> bool:
    return isinstance(source, str) or hasattr(source, "__fspath__")


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    if width == 0 or height == 0:
        raise InputError(f"image file {str(path)!r} has zero size (width {width}, height {height})")
    if max_pixels is not None and width * height > max_pixels:
        raise InputError(
            f"image {str(path)!r} must have at most max_pixels={max_pixels} pixels, got "
            f"{width} x {height} = {width * height}; pass a larger max_pixels if you trust the file"
        )


@contextlib.contextmanager
def _pil_unlimited() -> Iterator[None]:
    """Turn off Pillow's own bomb check while we apply ours (under a lock, then restore it)."""
    from PIL import Image

    with _PIL_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _load_pil(path: Path, max_pixels: int | None) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _pil_unlimited():
            handle = Image.open(path)
    except UnidentifiedImageError:
        raise FormatError(f"{str(path)!r} is not an image file seglab can read") from None
    except OSError as error:
        raise FormatError(f"image file {str(path)!r} could not be opened: {error}") from None
    with handle as image:
        _check_pixels(path, image.width, image.height, max_pixels)
        if getattr(image, "n_frames", 1) > 1:
            warnings.warn(
                f"{str(path)!r} has {image.n_frames} frames; reading the first",
                UserWarning,
                stacklevel=3,
            )
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError) as error:
            raise FormatError(f"image file {str(path)!r} is truncated or corrupt: {error}") from None
        return _pil_to_array(image, path)


def _pil_to_array(image: Any, path: Path) -> np.ndarray:
    mode = image.mode
    if mode == "1":
        return np.asarray(image, dtype=np.uint8) * 255
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode in ("LA", "RGBA", "La", "RGBa"):
        return np.asarray(image.convert("RGBA" if mode.startswith("RGB") else "LA"))
    if mode in ("P", "PA"):
        converted = image.convert("RGBA") if "transparency" in image.info or mode == "PA" else image.convert("RGB")
        return np.asarray(converted)
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        data = np.asarray(image)
        if data.min() >= 0 and data.max() <= 65535:
            return data.astype(np.uint16)
        raise FormatError(f"image file {str(path)!r} holds 32-bit integers outside 0..65535 (mode 'I')")
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode in ("CMYK", "YCbCr"):
        return np.asarray(image.convert("RGB"))
    raise FormatError(
        f"image file {str(path)!r} has mode {mode!r}; supported modes are 1, L, LA, P, RGB, RGBA, "
        "CMYK, YCbCr, I;16, I and F"
    )


def _png_is_16bit_colour(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(26)
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6)


def _load_png16_colour(path: Path, max_pixels: int | None) -> np.ndarray:
    """Pillow reduces 16-bit colour PNG to 8 bits; OpenCV keeps all 16."""
    import cv2

    with open(path, "rb") as handle:
        head = handle.read(24)
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    _check_pixels(path, width, height, max_pixels)
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise FormatError(f"image file {str(path)!r} is truncated or corrupt")
    return cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA if data.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _load_tiff(path: Path, max_pixels: int | None) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise FormatError(f"TIFF file {str(path)!r} has no pages")
            page = tif.pages[0]
            _check_pixels(path, page.imagewidth, page.imagelength, max_pixels)
            if len(tif.pages) > 1:
                warnings.warn(
                    f"{str(path)!r} has {len(tif.pages)} pages; reading the first", UserWarning, stacklevel=3
                )
            data = page.asarray()
    except (FormatError, InputError):
        raise
    except Exception as error:  # noqa: BLE001 - tifffile raises many types for broken files
        try:  # Pillow decodes some compressions tifffile needs imagecodecs for (LZW, JPEG)
            return _load_pil(path, max_pixels)
        except FormatError:
            pass
        raise FormatError(f"TIFF file {str(path)!r} is truncated or corrupt: {error}") from None
    if data.ndim == 3 and data.shape[0] in (3, 4) and data.shape[2] not in (3, 4):
        data = np.moveaxis(data, 0, -1)
    if data.dtype == bool:
        data = data.astype(np.uint8) * 255
    elif data.dtype.kind == "f":
        data = data.astype(np.float32)
    elif data.dtype not in (np.uint8, np.uint16):
        if data.min() < 0 or data.max() > 65535:
            raise FormatError(f"TIFF file {str(path)!r} has dtype {data.dtype} with values outside 0..65535")
        data = data.astype(np.uint16)
    if not (data.ndim == 2 or (data.ndim == 3 and data.shape[2] in (1, 2, 3, 4))):
        raise FormatError(f"TIFF file {str(path)!r} has shape {data.shape}, not a grey or colour image")
    return data[:, :, 0] if data.ndim == 3 and data.shape[2] == 1 else data


def save_image(path: Any, image: np.ndarray, *, quality: int = 95) -> Path:
    """Write an image atomically; the format follows the extension.

    uint8 goes to any format; uint16 to PNG or TIFF; float32 to TIFF. Bool is written as 0/255.

    Parameters
    ----------
    path : str or path-like
        Target file; its folder is created. An existing file is replaced (atomically).
    image : (H, W) or (H, W, 3|4) ndarray
    quality : int
        JPEG / WebP quality.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"path must end in one of {', '.join(IMAGE_SUFFIXES)}, got {str(path)!r}")
    data = np.asarray(image)
    if data.dtype == bool:
        data = data.astype(np.uint8) * 255
    if not (data.ndim == 2 or (data.ndim == 3 and data.shape[2] in (3, 4))):
        raise InputError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {data.shape}")
    with atomic_path(path) as tmp:
        if suffix in _TIFF:
            import tifffile

            tifffile.imwrite(tmp, data, photometric="rgb" if data.ndim == 3 else "minisblack")
        elif data.dtype == np.uint16 and suffix == ".png":
            import cv2

            bgr = data if data.ndim == 2 else cv2.cvtColor(data, cv2.COLOR_RGB2BGR if data.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
            if not cv2.imwrite(str(tmp), bgr):
                raise InputError(f"could not write {str(path)!r}")
        elif data.dtype == np.uint8:
            from PIL import Image

            options = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
            Image.fromarray(data).save(tmp, format=_PIL_FORMATS[suffix], **options)
        else:
            raise InputError(
                f"image dtype must be uint8 for {suffix} (uint16 for .png/.tif, float32 for .tif), got {data.dtype}"
            )
    return path


_PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF", ".webp": "WEBP"}
