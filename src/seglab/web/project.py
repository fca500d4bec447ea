"""A project folder: its images (only files under DIR), previews, masks on the wire, export.

Masks travel between the page and the server as *crop runs*: the box ``x, y, w, h`` of the
object and the run lengths of its mask inside that box in row-major order, starting with a
run of zeros. The server keeps full-size COCO RLE in the database.
"""

from __future__ import annotations

import contextlib
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
from seglab.web.storage import Store, default_url, mask_box, private_dir

__all__ = ["PixelSource", "Project", "crop_runs", "mask_from_runs", "resolve_under"]

PRIVATE = ".seglab"
MAX_PREVIEW = 4096
#: Preview sizes served: a request is snapped up to one of these, so the cache stays small.
PREVIEW_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
MAX_CACHED_PREVIEWS = 512


def resolve_under(root: Path, relative: str, *, decode: bool = True) -> Path | None:
    """The file ``relative`` names inside ``root``, or None for anything that leaves it.

    With ``decode``, ``relative`` is also decoded again and again (``%252e`` -> ``%2e`` ->
    ``.``) and every form is checked, so no encoding of ``..`` gets through while a file
    really named ``a%20b.png`` is still found; absolute paths, NUL bytes, hidden parts
    (``.seglab``) and symlinks that point out of ``root`` all give None.
    """
    forms = [relative]
    while decode and len(forms) < 6:
        decoded = urllib.parse.unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    if any(_leaves(form) for form in forms[1:]):
        return None
    for form in forms:
        found = _resolve_literal(root, form)
        if found is not None:
            return found
    return None


def _leaves(text: str) -> bool:
    """True for a path that is absolute or climbs with ``..`` (whatever its other parts)."""
    text = text.replace("\\", "/")
    return text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in text.split("/")


def _resolve_literal(root: Path, text: str) -> Path | None:
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
    if x < 0 or y < 0 or w < 0 or h < 0 or x + w > width or y + h > height:
        raise InputError(f"mask box must lie inside the image ({width}x{height}), got x={x} y={y} w={w} h={h}")
    raw = runs["counts"]
    # checked as Python integers first: in int64 huge runs wrap to a small sum and np.repeat crashes
    if any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= w * h for c in raw):
        bad = next(c for c in raw if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= w * h)
        raise InputError(f"mask counts must be integers between 0 and w*h = {w * h}, got {bad!r}")
    if sum(raw) != w * h:
        raise InputError(f"mask counts must be non-negative and sum to w*h = {w * h}, got sum {sum(raw)}")
    counts = np.asarray(raw, dtype=np.int64)
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

        from seglab.core.image import PIL_FORMATS

        with Image.open(path, formats=PIL_FORMATS) as image:
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
        self.private = private_dir(self.root)
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
                path = resolve_under(self.root, relative, decode=False)
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
        found = resolve_under(self.root, info["path"], decode=False)
        if found is None:
            raise InputError(f"image must be a file under the project folder, got {info['path']!r}")
        return found

    def public(self, message: str) -> str:
        """``message`` without the server's absolute project path (the page sees ``DIR/...``)."""
        return message.replace(str(self.root), self.root.name).replace(str(self.root.parent) + os.sep, "")

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
        max_side = next((s for s in PREVIEW_SIZES if s >= max_side), PREVIEW_SIZES[-1])
        stamp = int(self.path(info).stat().st_mtime)
        folder = self.private / "previews"
        cache = folder / f"{info['id']}_{max_side}_{stamp}.jpg"
        if cache.is_file():
            return cache.read_bytes(), "image/jpeg"
        data = _jpeg(self.pixels(info), max_side, quality=90)
        from seglab.core.atomic import atomic_path

        try:
            with atomic_path(cache) as tmp:
                tmp.write_bytes(data)
            _prune(folder, MAX_CACHED_PREVIEWS)
        except OSError:  # a read-only project folder is served without a preview cache
            pass
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


def _prune(folder: Path, keep: int) -> None:
    """Delete the oldest cached previews beyond ``keep`` files."""
    files = sorted(folder.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
    for old in files[: max(len(files) - keep, 0)]:
        with contextlib.suppress(OSError):
            old.unlink()


class PixelSource:
    """The pixels of a project's images, for a worker process (picklable: only the root travels).

    The last images read are kept per process, so clicks on one image decode it once.
    """

    _cache: OrderedDict[tuple[str, str, float], np.ndarray] = OrderedDict()

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def pixels(self, info: dict[str, Any]) -> np.ndarray:
        from seglab.core.image import load_image

        path = resolve_under(self.root, info["path"], decode=False)
        if path is None:
            raise InputError(f"image must be a file under the project folder, got {info['path']!r}")
        key = (str(self.root), info["path"], path.stat().st_mtime)
        if key not in self._cache:
            self._cache[key] = load_image(path)
            while len(self._cache) > 2:
                self._cache.popitem(last=False)
        return self._cache[key]


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
