"""Pascal VOC segmentation: class and object palette PNGs, XML boxes, image lists.

Layout written under the target folder::

    SegmentationClass/STEM.png    palette PNG, index = class id (1.. for the categories)
    SegmentationObject/STEM.png   palette PNG, index = object id 1..N (at most 254 objects)
    Annotations/STEM.xml          filename, size and one <object> per region with its box
    ImageSets/Segmentation/SPLIT.txt   the stems
    labelmap.txt                  class names with their colours (the CVAT convention)

Both PNGs use the standard VOC palette; 255 is *void*. With ``void_border=w`` a band of
``w`` pixels around the objects is marked void, as in the VOC data. The band lies outside
the objects, so reading the files back still gives the exact objects. Boxes in the XML are
1-based and inclusive, as in VOC.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_path, atomic_write_text
from seglab.core.errors import InputError
from seglab.formats._common import (
    BACKGROUND_NAMES,
    Item,
    broken,
    build_segmentation,
    category_names,
    check_items,
    drop_empty,
    image_path,
    object_class_names,
)

__all__ = ["VOC_CLASSES", "from_voc", "to_voc", "voc_palette"]

VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOID = 255


def voc_palette() -> np.ndarray:
    """(256, 3) uint8: the standard Pascal VOC colour map (index 255 is the void cream)."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette[index] = (r, g, b)
    return palette


def to_voc(items: Any, target: Any, *, void_border: int = 0, split: str = "trainval") -> Path:
    """Write ``(image_path, Segmentation)`` pairs as a VOC segmentation folder.

    Parameters
    ----------
    items : sequence of (path, Segmentation)
    target : path-like
        The dataset folder (created).
    void_border : int
        Width in pixels of the void (255) band drawn around objects; 0 for none.
    split : str
        Name of the ImageSets list.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    InputError
        More than 254 objects in one image or more than 254 classes.
    """
    items = check_items(items)
    if isinstance(void_border, bool) or not isinstance(void_border, int) or void_border < 0:
        raise InputError(f"void_border must be an integer >= 0, got {void_border!r}")
    target = Path(target)
    categories = category_names(items)
    if len(categories) > 254:
        raise InputError(f"VOC holds at most 254 classes, got {len(categories)}")
    class_index = {name: i + 1 for i, name in enumerate(categories)}
    stems = []
    for path, seg in items:
        seg = drop_empty(seg, path, "VOC")
        if len(seg) > 254:
            raise InputError(f"{path.name}: a VOC object PNG holds at most 254 objects, got {len(seg)}")
        names = object_class_names(seg)
        lut = np.array([0, *[class_index[n] for n in names]], dtype=np.uint8)
        objects = seg.labels.astype(np.uint8)
        classes = lut[seg.labels]
        if void_border:
            band = _band(seg.labels > 0, void_border)
            objects[band] = VOID
            classes[band] = VOID
        _write_palette_png(target / "SegmentationClass" / f"{path.stem}.png", classes)
        _write_palette_png(target / "SegmentationObject" / f"{path.stem}.png", objects)
        atomic_write_text(target / "Annotations" / f"{path.stem}.xml", _xml(path, seg, names))
        stems.append(path.stem)
    atomic_write_text(
        target / "ImageSets" / "Segmentation" / f"{split}.txt", "".join(f"{s}\n" for s in stems)
    )
    palette = voc_palette()
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    lines += [
        f"{name}:{','.join(str(int(c)) for c in palette[i + 1])}::" for i, name in enumerate(categories)
    ]
    atomic_write_text(target / "labelmap.txt", "\n".join(lines) + "\n")
    return target


def _band(inside: np.ndarray, width: int) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(inside.astype(np.uint8), kernel).astype(bool) & ~inside


def _write_palette_png(path: Path, indices: np.ndarray) -> None:
    from PIL import Image

    image = Image.frombytes(
        "P", (indices.shape[1], indices.shape[0]), np.ascontiguousarray(indices).tobytes()
    )
    image.putpalette(voc_palette().ravel().tolist())
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def _xml(path: Path, seg: Any, names: list[str]) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = path.name
    size = ET.SubElement(root, "size")
    for key, value in (("width", seg.shape[1]), ("height", seg.shape[0]), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(root, "segmented").text = "1"
    for index, (x0, y0, x1, y1) in enumerate(seg.boxes_xyxy):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = names[index]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        box = ET.SubElement(obj, "bndbox")
        for key, value in (("xmin", x0 + 1), ("ymin", y0 + 1), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(box, key).text = str(int(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------- reading
def from_voc(target: Any, *, split: str | None = None, image_dir: Any = None) -> list[Item]:
    """Read a VOC segmentation folder written by :func:`to_voc` or from the VOC data.

    Parameters
    ----------
    target : path-like
        The dataset folder.
    split : str, optional
        An ImageSets/Segmentation list; by default every PNG in SegmentationObject.
    image_dir : path-like, optional
        Where the images are; by default ``target/JPEGImages``.

    Returns
    -------
    list of (Path, Segmentation)
        One region per object id, its class from SegmentationClass; void pixels are background.

    Raises
    ------
    FormatError
        A missing or non-palette PNG, PNGs of different sizes, an object spanning two classes,
        or XML that disagrees with the PNGs.
    """
    target = Path(target)
    stems = _stems(target, split)
    names = _class_names(target)
    images = Path(image_dir) if image_dir is not None else target / "JPEGImages"
    out: list[Item] = []
    for stem in stems:
        objects = _read_indices(target / "SegmentationObject" / f"{stem}.png")
        classes = _read_indices(target / "SegmentationClass" / f"{stem}.png")
        if classes.shape != objects.shape:
            raise broken(
                target / "SegmentationClass" / f"{stem}.png",
                "the class PNG",
                f"of size {objects.shape} like the object PNG",
                classes.shape,
            )
        objects = np.where(objects == VOID, 0, objects)
        ids = np.unique(objects[objects > 0])
        lut = np.zeros(256, dtype=np.int32)
        lut[ids] = np.arange(1, ids.size + 1)
        labels = lut[objects]
        object_names = []
        for object_id in ids:
            found = np.unique(classes[objects == object_id])
            found = found[(found != 0) & (found != VOID)]
            if found.size != 1:
                raise broken(
                    f"{stem}.png",
                    f"object {int(object_id)}",
                    "exactly one class in SegmentationClass",
                    found.tolist(),
                )
            object_names.append(_name(names, int(found[0])))
        filename = _check_xml(target / "Annotations" / f"{stem}.xml", labels)
        image = (
            image_path(filename, images, f"{stem}.xml: <filename>")
            if filename
            else next(iter(sorted(images.glob(f"{stem}.*"))), images / f"{stem}.jpg")
        )
        categories = (
            [n for n in names if n.lower() not in BACKGROUND_NAMES] if names else sorted(set(object_names))
        )
        categories += [n for n in object_names if n not in categories]
        out.append(
            (
                image,
                build_segmentation(
                    labels, object_names, categories, meta={"source": str(image), "format": "voc"}
                ),
            )
        )
    return out


def _stems(target: Path, split: str | None) -> list[str]:
    if split is not None:
        listing = target / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not listing.is_file():
            raise InputError(f"image list {str(listing)!r} does not exist")
        return [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
    folder = target / "SegmentationObject"
    if not folder.is_dir():
        raise InputError(f"VOC folder {str(target)!r} must contain SegmentationObject/, got none")
    return sorted(p.stem for p in folder.glob("*.png"))


def _class_names(target: Path) -> list[str]:
    labelmap = target / "labelmap.txt"
    if not labelmap.is_file():
        return list(VOC_CLASSES)
    return [
        line.split(":", 1)[0]
        for line in labelmap.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _name(names: list[str], class_id: int) -> str:
    return names[class_id] if class_id < len(names) else f"class_{class_id}"


def _read_indices(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InputError(f"VOC file {str(path)!r} does not exist")
    from seglab.core.image import PIL_FORMATS

    try:
        with Image.open(path, formats=PIL_FORMATS) as image:
            if image.mode not in ("P", "L"):
                raise broken(path, "the PNG", "a palette (P) or grey (L) index image", f"mode {image.mode!r}")
            return np.asarray(image).copy()
    except (UnidentifiedImageError, OSError) as error:
        raise broken(path, "the file", "a readable PNG", str(error)) from None


def _check_xml(path: Path, labels: np.ndarray) -> str | None:
    """Check the boxes of an Annotations XML file; return its ``filename``."""
    if not path.is_file():
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise broken(path, "the file", "valid XML", str(error)) from None
    height, width = labels.shape
    for number, obj in enumerate(root.iter("object"), start=1):
        try:
            box = obj.find("bndbox")
            keys = ("xmin", "ymin", "xmax", "ymax")
            x0, y0, x1, y1 = (float(box.find(k).text) for k in keys)  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError):
            raise broken(
                path.name,
                f"object {number} ({obj.findtext('name')})",
                "a bndbox with xmin, ymin, xmax, ymax",
                None,
            ) from None
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 < x0 or y1 < y0:
            raise broken(
                path.name,
                f"object {number} ({obj.findtext('name')}) bndbox",
                f"inside the image of width {width} and height {height} (1-based)",
                [x0, y0, x1, y1],
            )
    return root.findtext("filename")
