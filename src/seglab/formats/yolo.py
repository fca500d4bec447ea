"""YOLO segmentation (Ultralytics): one txt per image of normalised polygons, and data.yaml.

Layout written under the target folder::

    data.yaml          path, train / val image folders, class names {0: name, ...}
    labels/STEM.txt    one line per object: class x1 y1 x2 y2 ... (coordinates / image size)
    images/STEM.ext    a copy of the image, when it exists (the reader needs its size)

Vertices are pixel centres (``x / width``), filled together with their outline, as
Ultralytics rasterises them with ``cv2.fillPoly``. One object is one line, so its holes and
its separate parts are joined into one polygon by zero-width bridges (the Ultralytics
convention). A bridge into a hole runs inside the object and loses nothing; a bridge between
two parts crosses the background and adds its pixels: each object whose line does not
rasterise back to its exact mask is named in a warning.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_path, atomic_write_text
from seglab.core.errors import InputError
from seglab.core.image import IMAGE_SUFFIXES
from seglab.formats._common import (
    Item,
    broken,
    build_segmentation,
    category_names,
    check_items,
    drop_empty,
    object_class_names,
)
from seglab.formats.geometry import bridge, centre_contours, fill_polygons

__all__ = ["from_yolo", "object_polygon", "to_yolo"]


def object_polygon(mask: np.ndarray) -> np.ndarray:
    """One (K, 2) ``(x, y)`` polygon for a mask, parts and holes joined by zero-width bridges (K >= 3)."""
    pieces = []
    for outer, holes in centre_contours(mask):
        pieces.append(outer)
        pieces.extend(holes)
    polygon = bridge(pieces)
    while len(polygon) < 3:  # a one- or two-pixel object: repeat its points
        polygon = np.concatenate([polygon, polygon[-1:]])
    return polygon


def to_yolo(items: Any, target: Any, *, copy_images: bool = True) -> Path:
    """Write ``(image_path, Segmentation)`` pairs as a YOLO segmentation dataset.

    Parameters
    ----------
    items : sequence of (path, Segmentation)
    target : path-like
        The dataset folder (created).
    copy_images : bool
        Copy each existing image into ``images/`` (the reader needs the image for its size).

    Returns
    -------
    Path
        ``target``.

    Warns
    -----
    UserWarning
        For each object the polygon cannot hold exactly (several parts), with the pixel change.
    """
    items = check_items(items)
    target = Path(target)
    categories = category_names(items)
    class_index = {name: i for i, name in enumerate(categories)}
    missing = []
    for path, seg in items:
        seg = drop_empty(seg, path, "YOLO")
        height, width = seg.shape
        lines = []
        for index, name in enumerate(object_class_names(seg)):
            x0, y0, x1, y1 = (int(v) for v in seg.boxes_xyxy[index])
            crop = seg.labels[y0:y1, x0:x1] == index + 1
            polygon = object_polygon(crop)
            changed = int((fill_polygons([polygon], crop.shape) != crop).sum())
            if changed:
                warnings.warn(
                    f"{path.name}: region {index + 1} ({name}) has several parts or holes; the YOLO "
                    f"polygon joins them by bridges and changes {changed} pixel(s)",
                    UserWarning,
                    stacklevel=2,
                )
            normalised = (polygon + (x0, y0)) / (width, height)
            lines.append(f"{class_index[name]} " + " ".join(f"{v:.6f}" for v in normalised.ravel()))
        atomic_write_text(target / "labels" / f"{path.stem}.txt", "".join(f"{line}\n" for line in lines))
        if copy_images and path.is_file():
            with atomic_path(target / "images" / path.name) as tmp:
                shutil.copyfile(path, tmp)
        elif copy_images:
            missing.append(path.name)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        warnings.warn(
            f"image {missing[0]!r}{more} not found, so not copied: data.yaml's train/val folder "
            f"{str(target / 'images')!r} lacks it and YOLO cannot train on it; copy the images there "
            "(or give their folder: seglab convert --images DIR where the source format takes it)",
            UserWarning,
            stacklevel=2,
        )
    names = "".join(f"  {i}: {json.dumps(name)}\n" for i, name in enumerate(categories))
    text = f"# written by seglab\npath: .\ntrain: images\nval: images\nnc: {len(categories)}\nnames:\n{names}"
    atomic_write_text(target / "data.yaml", text)
    return target


# ---------------------------------------------------------------------------- reading
def from_yolo(target: Any, *, image_dir: Any = None) -> list[Item]:
    """Read a YOLO segmentation dataset (data.yaml, labels/*.txt, images/).

    Parameters
    ----------
    target : path-like
        The dataset folder.
    image_dir : path-like, optional
        Where the images are (their size de-normalises the polygons); default ``target/images``.

    Returns
    -------
    list of (Path, Segmentation)
        One region per line; a later line wins where two overlap.

    Raises
    ------
    FormatError
        A line with an unknown class, an odd number of coordinates, fewer than 3 points or a
        coordinate outside [0, 1]; a label file without its image.
    """
    target = Path(target)
    names = _read_names(target / "data.yaml")
    images = Path(image_dir) if image_dir is not None else target / "images"
    label_dir = target / "labels"
    if not label_dir.is_dir():
        raise InputError(f"YOLO folder {str(target)!r} must contain labels/, got none")
    out: list[Item] = []
    for label_file in sorted(label_dir.rglob("*.txt")):  # labels/sub/a.txt pairs with images/sub/a.*
        image = _find_image(images / label_file.parent.relative_to(label_dir), label_file)
        width, height = _image_size(image)
        labels = np.zeros((height, width), dtype=np.int32)
        object_names = []
        for number, line in enumerate(_read_text(label_file).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{label_file.name} line {number}"
            class_id, polygon = _parse_line(line, where, len(names))
            mask = fill_polygons([polygon * (width, height)], (height, width))
            labels[mask] = len(object_names) + 1
            object_names.append(names[class_id])
        out.append(
            (
                image,
                build_segmentation(
                    labels, object_names, names, meta={"source": str(image), "format": "yolo"}
                ),
            )
        )
    return out


def _parse_line(line: str, where: str, n_classes: int) -> tuple[int, np.ndarray]:
    fields = line.split()
    try:
        class_id = int(fields[0])
        values = np.array([float(v) for v in fields[1:]], dtype=np.float64)
    except ValueError:
        raise broken(where, "the line", "a class id then numbers", line) from None
    if not 0 <= class_id < n_classes:
        raise broken(where, "the class id", f"between 0 and {n_classes - 1} (names in data.yaml)", class_id)
    if values.size % 2 or values.size < 6:
        raise broken(where, "the polygon", "at least 3 (x, y) points", f"{values.size} numbers")
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise broken(where, "coordinates", "normalised to [0, 1]", f"[{values.min():g}, {values.max():g}]")
    return class_id, values.reshape(-1, 2)


def _find_image(images: Path, label_file: Path) -> Path:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (
            images / f"{label_file.stem}{suffix}",
            images / f"{label_file.stem}{suffix.upper()}",
        ):
            if candidate.is_file():
                return candidate
    raise broken(
        label_file.name,
        "the label file",
        f"matched by an image {label_file.stem}.* in {str(images)!r}",
        "no image (YOLO coordinates need its size)",
    )


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    from seglab.core.image import PIL_FORMATS

    try:
        with Image.open(path, formats=PIL_FORMATS) as image:
            return image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise broken(path, "the image", "readable", str(error)) from None


def _read_names(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(f"YOLO dataset file {str(path)!r} does not exist")
    text = _read_text(path)
    try:
        import yaml
    except ModuleNotFoundError:  # pragma: no cover - PyYAML is usually present
        data = {"names": _names_without_yaml(text)}
    else:
        try:
            data = yaml.load(text, Loader=_loader())
        except (yaml.YAMLError, RecursionError) as error:
            raise broken(path, "the file", "valid YAML without aliases", str(error)[:200]) from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        if sorted(names) != list(range(len(names))):
            raise broken(path, "names", "keyed 0..n-1", sorted(names))
        return [str(names[i]) for i in range(len(names))]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise broken(path, "names", "a list or a {0: name, ...} mapping", names)


MAX_TEXT_BYTES = 64 * 2**20


def _read_text(path: Path) -> str:
    """A label or YAML file as UTF-8 text; FormatError for a huge or non-UTF-8 file."""
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise broken(path.name, "the file", f"at most {MAX_TEXT_BYTES >> 20} MiB", f"{size} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise broken(path.name, "the file", "UTF-8 text", f"byte {error.start}: {error.reason}") from None


def _loader() -> Any:
    """PyYAML's SafeLoader refusing aliases: a few hundred bytes of nested aliases expand to billions of nodes."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("YAML aliases (*name) are not allowed in data.yaml")
            return super().compose_node(parent, index)

    return NoAliases


def _names_without_yaml(text: str) -> dict[int, str]:
    names: dict[int, str] = {}
    inside = False
    for line in text.splitlines():
        if line.startswith("names:"):
            inside = True
            continue
        if inside and line.startswith("  ") and ":" in line:
            key, value = line.strip().split(":", 1)
            value = value.strip()
            names[int(key)] = json.loads(value) if value.startswith('"') else value
        elif inside:
            break
    return names
