"""A project folder: its images (only files under DIR), previews, masks on the wire, export.

Masks travel between the page and the server as *crop runs*: the box ``x, y, w, h`` of the
object and the run lengths of its mask inside that box in row-major order, starting with a
run of zeros. The server keeps full-size COCO RLE in the database.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import urllib.parse
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.image import IMAGE_SUFFIXES
from seglab.web.storage import Store, decode_mask, default_url, mask_box

__all__ = ["Project", "crop_runs", "mask_from_runs", "resolve_under"]

PRIVATE = ".seglab"
MAX_PREVIEW = 4096


def resolve_under(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``, or None for anything that leaves it.

    ``relative`` is decoded again and again (``%252e`` -> ``%2e`` -> ``.``) before checking, so
    no encoding of ``..`` gets through; absolute paths, NUL bytes, hidden parts (``.seglab``)
    and symlinks that point out of ``root`` all give None.
    """
    text = relative
    for _ in range(5):
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            break
        text = decoded
    text = text.replace("\\", "/")
    if not text or "\x00" in text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." or p.startswith(".") for p in parts):
        return None
    candidate = Path(root, *parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root.resolve()) or not real.is_file():
        return None
    return real


def crop_runs(mask: np.ndarray) -> dict[str, Any]:
    """``{x, y, w, h, counts}`` of a (H, W) bool mask (see the module docstring)."""
    x0, y0, x1, y1 = mask_box(mask)
    crop = mask[y0:y1, x0:x1].ravel()
    if crop.size == 0:
        return {"x": 0, "y": 0, "w": 0, "h": 0, "counts": []}
    changes = np.flatnonzero(np.diff(crop.astype(np.int8))) + 1
    edges = np.concatenate(([0], changes, [crop.size]))
    counts = np.diff(edges).tolist()
    if crop[0]:
        counts.insert(0, 0)
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "counts": counts}


def mask_from_runs(runs: dict[str, Any], height: int, width: int) -> np.ndarray:
    """Full (H, W) bool mask from crop runs; InputError when they do not fit the image."""
    x, y, w, h = (int(runs[k]) for k in ("x", "y", "w", "h"))
    counts = np.asarray(runs["counts"], dtype=np.int64)
    if x < 0 or y < 0 or w < 0 or h < 0 or x + w > width or y + h > height:
        raise InputError(f"mask box must lie inside the image ({width}x{height}), got x={x} y={y} w={w} h={h}")
    if counts.size and (counts.min() < 0 or int(counts.sum()) != w * h):
        raise InputError(f"mask counts must be non-negative and sum to w*h = {w * h}, got sum {int(counts.sum())}")
    if not counts.size and w * h:
        raise InputError(f"mask counts must sum to w*h = {w * h}, got none")
    values = np.zeros(counts.size, dtype=bool)
    values[1::2] = True
    crop = np.repeat(values, counts).reshape(h, w) if counts.size else np.zeros((h, w), bool)
    mask = np.zeros((height, width), dtype=bool)
    mask[y:y + h, x:x + w] = crop
    return mask


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the header, or None for a file that is not a readable image."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.pages[0].shape
            return int(shape[1]), int(shape[0])
        from PIL import Image

        with Image.open(path) as image:
            return image.size
    except Exception:  # noqa: BLE001 - an unreadable file is simply not listed
        return None


class Project:
    """The images of ``root`` and the store of their annotations.

    Parameters
    ----------
    root : path-like
        The folder of images (searched recursively; hidden folders skipped).
    db : str, optional
        SQLAlchemy URL; by default SQLite in ``root/.seglab/annotations.db``.
    """

    def __init__(self, root: Any, db: str | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise InputError(f"project folder must be an existing directory, got {str(root)!r}")
        self.store = Store(db or default_url(self.root))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Add images found under the root to the database."""
        entries = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                relative = Path(dirpath, name).relative_to(self.root).as_posix()
                path = resolve_under(self.root, relative)
                size = None if path is None else _image_size(path)
                if size is not None:
                    entries.append((relative, size[0], size[1]))
        self.store.sync_images(entries)
        self._present = {e[0] for e in entries}

    def images(self) -> list[dict[str, Any]]:
        return self.store.images(self._present)

    def image(self, image_id: int) -> dict[str, Any] | None:
        info = self.store.image(image_id)
        return info if info is not None and info["path"] in self._present else None

    def path(self, info: dict[str, Any]) -> Path:
        found = resolve_under(self.root, info["path"])
        if found is None:
            raise InputError(f"image must be a file under the project folder, got {info['path']!r}")
        return found

    def pixels(self, info: dict[str, Any]) -> np.ndarray:
        """The image as an array (a few recent images are cached)."""
        from seglab.core.image import load_image

        with self._cache_lock:
            if info["id"] in self._cache:
                self._cache.move_to_end(info["id"])
                return self._cache[info["id"]]
        image = load_image(self.path(info))
        with self._cache_lock:
            self._cache[info["id"]] = image
            while len(self._cache) > 4:
                self._cache.popitem(last=False)
        return image

    def preview(self, info: dict[str, Any], max_side: int) -> tuple[bytes, str]:
        """A downscaled JPEG of at most ``max_side`` pixels, cached on disk."""
        max_side = int(min(max(max_side, 16), MAX_PREVIEW))
        stamp = int(self.path(info).stat().st_mtime)
        cache = self.root / PRIVATE / "previews" / f"{info['id']}_{max_side}_{stamp}.jpg"
        if cache.is_file():
            return cache.read_bytes(), "image/jpeg"
        data = _jpeg(self.pixels(info), max_side, quality=90)
        from seglab.core.atomic import atomic_path

        with atomic_path(cache) as tmp:
            tmp.write_bytes(data)
        return data, "image/jpeg"

    def region(self, info: dict[str, Any], box: tuple[int, int, int, int], max_side: int) -> bytes:
        """A JPEG of the image inside ``box`` = (x0, y0, x1, y1), at full resolution or shrunk to ``max_side``.

        The page asks for the part on screen when it zooms in past the preview's resolution.

        Raises
        ------
        InputError
            If the box is empty or outside the image.
        """
        from seglab.core.validate import as_box

        x0, y0, x1, y1 = as_box(box, (info["height"], info["width"]))
        return _jpeg(self.pixels(info)[y0:y1, x0:x1], max_side, quality=92)

    # ------------------------------------------------------------------ export
    def export(self, format: str, target: Any, *, copy_images: bool = False) -> Any:
        """Write the annotations to ``target`` (see :mod:`seglab.web.export`); returns its ExportResult."""
        from seglab.web.export import export_project

        return export_project(self, format, target, copy_images=copy_images)

    def export_bytes(self, format: str) -> tuple[bytes, str, str, list[str]]:
        """The export as one download: ``(data, media type, file name, warnings)``; folders are zipped.

        A labelme zip carries the images next to their JSON files, so ``imagePath`` resolves.
        """
        import shutil

        format = format.lower()
        with tempfile.TemporaryDirectory(prefix="seglab-export-") as tmp:
            if format == "coco":
                result = self.export(format, Path(tmp) / "annotations.json")
                return result.path.read_bytes(), "application/json", f"{self.root.name}-coco.json", result.warnings
            result = self.export(format, Path(tmp) / format, copy_images=True)
            archive = shutil.make_archive(str(Path(tmp) / "export"), "zip", result.path)
            return Path(archive).read_bytes(), "application/zip", f"{self.root.name}-{format}.zip", result.warnings


def _jpeg(pixels: np.ndarray, max_side: int, *, quality: int) -> bytes:
    """``pixels`` as an RGB JPEG shrunk (Lanczos) to fit ``max_side`` (clamped to 16..MAX_PREVIEW)."""
    from PIL import Image

    from seglab.core.validate import to_uint8

    max_side = int(min(max(max_side, 16), MAX_PREVIEW))
    image = Image.fromarray(np.ascontiguousarray(to_uint8(pixels)))
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
