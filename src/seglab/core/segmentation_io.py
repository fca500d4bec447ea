"""Saving and loading a :class:`~seglab.core.segmentation.Segmentation`, losslessly.

Three forms, chosen by ``kind`` and the file extension:

- ``.png`` with ``kind="labels"``: a grey label PNG, 8-bit up to 255 regions and 16-bit up
  to 65535. Class ids, scores, class names and JSON-safe meta ride in a ``seglab`` text chunk.
- ``.png`` with ``kind="color"``: a palette PNG whose index is the label (up to 255 regions),
  pleasant to look at; above 255 regions an RGB PNG whose colour encodes the label as
  ``R + 256 G + 65536 B`` (the COCO panoptic convention).
- ``.npz``: every field, including probabilities.

Every form loads back equal to what was saved (``==`` compares labels, class ids, scores,
class names and probabilities). Files are written atomically: a temporary file, then a rename.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_path
from seglab.core.errors import FormatError, InputError
from seglab.core.segmentation import Segmentation, json_safe

__all__ = ["save_segmentation", "load_segmentation", "label_palette"]

_TEXT_KEY = "seglab"


def label_palette(n: int, seed: int = 0) -> np.ndarray:
    """(n + 1, 3) uint8 colours: black for background, then well-separated bright colours.

    Colours are spaced by the golden ratio in hue so neighbouring ids differ clearly.
    """
    import colorsys

    colours = np.zeros((n + 1, 3), dtype=np.uint8)
    for i in range(1, n + 1):
        hue = (seed * 0.1 + i * 0.618033988749895) % 1.0
        sat = 0.65 + 0.35 * ((i * 7) % 3) / 2
        val = 0.95 - 0.25 * ((i * 5) % 2)
        colours[i] = np.round(np.array(colorsys.hsv_to_rgb(hue, sat, val)) * 255)
    return colours


def save_segmentation(seg: Segmentation, path: Any, *, kind: str = "labels") -> None:
    """Save ``seg`` to ``path`` (``.png`` or ``.npz``); see the module docstring for the forms."""
    from PIL import Image, PngImagePlugin

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        _save_npz(seg, path)
        return
    if suffix != ".png":
        raise InputError(f"path must end in .png or .npz, got {str(path)!r}")
    if kind not in ("labels", "color"):
        raise InputError(f"kind must be one of 'labels', 'color', got {kind!r}")
    n = len(seg)
    info = PngImagePlugin.PngInfo()
    info.add_text(_TEXT_KEY, json.dumps(_header(seg)))
    if kind == "labels":
        if n > 65535:
            raise InputError(
                f"a label PNG holds at most 65535 regions, got {n}; save to .npz instead"
            )
        dtype = np.uint8 if n <= 255 else np.uint16
        image = Image.fromarray(seg.labels.astype(dtype))
    elif n <= 255:
        image = _as_palette(seg.labels.astype(np.uint8))
    else:
        if n >= 2**24:
            raise InputError(f"a colour PNG holds fewer than 2**24 regions, got {n}; save to .npz instead")
        ids = seg.labels.astype(np.uint32)
        rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=info)


def _as_palette(indices: np.ndarray) -> Any:
    from PIL import Image

    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), np.ascontiguousarray(indices).tobytes())
    image.putpalette(label_palette(255).ravel().tolist())
    return image


def _header(seg: Segmentation) -> dict[str, Any]:
    return {
        "format": "seglab.segmentation/1",
        "n_regions": len(seg),
        "class_ids": None if seg.class_ids is None else seg.class_ids.tolist(),
        "scores": None if seg.scores is None else seg.scores.tolist(),
        "class_names": list(seg.class_names),
        "meta": json_safe(seg.meta),
    }


def _save_npz(seg: Segmentation, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "labels": seg.labels,
        "header": np.frombuffer(json.dumps(_header(seg)).encode(), dtype=np.uint8),
    }
    if seg.probabilities is not None:
        arrays["probabilities"] = seg.probabilities
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def load_segmentation(path: Any) -> Segmentation:
    """Load a segmentation saved by :func:`save_segmentation`, or any label PNG.

    A PNG without seglab's text chunk is read as labels (grey) or as the panoptic RGB
    encoding (colour); its labels are kept as they are.

    Raises
    ------
    InputError
        If the file does not exist.
    FormatError
        If the file is not a segmentation seglab can read.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"segmentation file {str(path)!r} does not exist")
    if path.suffix.lower() == ".npz":
        labels, header, probabilities = _read_npz(path)
        return _from_header(labels, header, probabilities, path)
    from PIL import Image, UnidentifiedImageError

    from seglab.core.image import DEFAULT_MAX_PIXELS, PIL_FORMATS, _pil_unlimited

    try:
        with _pil_unlimited():
            handle = Image.open(path, formats=PIL_FORMATS)
        with handle as image:
            if image.width * image.height > DEFAULT_MAX_PIXELS:
                raise FormatError(
                    f"{str(path)!r} must have at most {DEFAULT_MAX_PIXELS} pixels, got {image.width} x {image.height}"
                )
            image.load()
            header = json.loads(image.text[_TEXT_KEY]) if _TEXT_KEY in getattr(image, "text", {}) else None
            if image.mode == "P":
                labels = np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(image.size[1], image.size[0])
            elif image.mode == "RGB":
                rgb = np.asarray(image).astype(np.int64)
                labels = rgb[:, :, 0] + 256 * rgb[:, :, 1] + 65536 * rgb[:, :, 2]
            elif image.mode in ("L", "I;16", "I;16B", "I", "1"):
                labels = np.asarray(image).astype(np.int64)
            else:
                raise FormatError(f"{str(path)!r} has image mode {image.mode!r}, not a label image")
    except (UnidentifiedImageError, OSError, json.JSONDecodeError, RecursionError) as error:
        raise FormatError(f"{str(path)!r} is not a readable label PNG: {error}") from None
    if header is None:
        return Segmentation(_int32_labels(labels, path))
    return _from_header(labels, header, None, path)


#: Largest array a .npz member may declare (its header is read before anything is decompressed).
MAX_NPZ_BYTES = 2**32
_MAX_HEADER_BYTES = 64 * 2**20


def _read_npz(path: Path) -> tuple[np.ndarray, Any, np.ndarray | None]:
    """labels, parsed header and probabilities of a seglab .npz, each member's size checked first."""
    import zipfile

    where = f"{str(path)!r} is not a seglab .npz segmentation"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for member in ("labels.npy", "header.npy"):
                if member not in names:
                    raise FormatError(f"{where}: it has no {member[:-4]!r} array")
            for member in names & {"labels.npy", "header.npy", "probabilities.npy"}:
                _check_npy_header(archive, member, where)
        with np.load(path, allow_pickle=False) as data:
            labels = data["labels"]
            header = json.loads(bytes(data["header"]).decode())
            probabilities = data["probabilities"] if "probabilities" in data else None
    except FormatError:
        raise
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, RecursionError, UnicodeDecodeError) as error:
        raise FormatError(f"{where}: {type(error).__name__}: {error}") from None
    return labels, header, probabilities


def _check_npy_header(archive: Any, member: str, where: str) -> None:
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = reader(handle)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    limit = _MAX_HEADER_BYTES if member == "header.npy" else MAX_NPZ_BYTES
    if nbytes > limit:
        raise FormatError(f"{where}: its {member[:-4]!r} array must take at most {limit} bytes, got {shape} of {dtype}")
    if member == "header.npy" and (dtype != np.uint8 or len(shape) != 1):
        raise FormatError(f"{where}: its 'header' must be a 1-D uint8 array, got {shape} of {dtype}")
    if member == "labels.npy" and (dtype.kind not in "iub" or len(shape) != 2):
        raise FormatError(f"{where}: its 'labels' must be a 2-D integer array, got {shape} of {dtype}")


def _int32_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    """Labels as int32, refusing values that would wrap (uint64 ids above 2**31 - 1, negatives)."""
    if labels.size and labels.dtype != np.int32:
        low, high = labels.min(), labels.max()
        if low < 0 or high > np.iinfo(np.int32).max:
            raise FormatError(
                f"{str(path)!r}: labels must be between 0 and {np.iinfo(np.int32).max}, got {low}..{high}"
            )
    return labels.astype(np.int32)


def _from_header(
    labels: np.ndarray, header: Any, probabilities: np.ndarray | None, path: Path | None = None
) -> Segmentation:
    where = f"{str(path)!r}: the seglab header" if path is not None else "the seglab header"
    if not isinstance(header, dict):
        raise FormatError(f"{where} must be a JSON object, got {type(header).__name__}")
    class_ids = header.get("class_ids")
    scores = header.get("scores")
    names = header.get("class_names", [])
    meta = header.get("meta", {})
    if class_ids is not None and not (
        isinstance(class_ids, list) and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 2**31
                                            for c in class_ids)
    ):
        raise FormatError(f"{where}: class_ids must be a list of integers in 0..2**31-1 or null")
    if scores is not None and not (
        isinstance(scores, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores)
    ):
        raise FormatError(f"{where}: scores must be a list of numbers or null")
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise FormatError(f"{where}: class_names must be a list of strings")
    if not isinstance(meta, dict):
        raise FormatError(f"{where}: meta must be a JSON object, got {type(meta).__name__}")
    try:
        return Segmentation(
            _int32_labels(labels, path or Path("?")),
            class_ids=None if class_ids is None else np.asarray(class_ids, dtype=np.int64),
            scores=None if scores is None else np.asarray(scores, dtype=np.float64),
            class_names=tuple(names),
            probabilities=probabilities,
            meta=dict(meta),
        )
    except InputError as error:
        raise FormatError(f"{where} does not fit its labels: {error}") from None
