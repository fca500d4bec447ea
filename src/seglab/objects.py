"""Objects from a segmentation: properties, filters, separation of touching objects, crops.

An *object* is a region of a :class:`~seglab.Segmentation`. A thresholding method returns one
foreground region, so :func:`detect` first splits regions into connected components
(``split=True``), fills holes, drops small objects and, when asked, objects touching the
border, and separates touching objects by a watershed on the distance transform.

>>> import numpy as np, seglab
>>> image = np.zeros((40, 40), np.uint8); image[5:15, 5:15] = 200; image[20:35, 20:30] = 200
>>> seg = seglab.objects.detect(image, "otsu")
>>> seg.areas.tolist()
[100, 150]
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_image, check_float, check_int, to_rgb, to_uint8

__all__ = [
    "crop_objects",
    "detect",
    "extract_objects",
    "fill_holes",
    "filter_objects",
    "object_records",
    "object_table",
    "save_crops",
    "separate_touching",
    "touches_border",
]


def detect(
    image: Any,
    method: str = "otsu",
    *,
    split: bool = True,
    fill: bool = True,
    min_area: int = 20,
    max_area: int | None = None,
    exclude_border: bool = False,
    separate: bool = False,
    min_distance: int = 7,
    **params: Any,
) -> Segmentation:
    """Segment ``image`` with ``method`` and turn the result into objects.

    Parameters
    ----------
    image : path-like or (H, W[, 3]) ndarray
    method : str
        A registered method (``seglab.methods()``); ``params`` are its keyword parameters.
    split, fill, min_area, max_area, exclude_border, separate, min_distance
        See :func:`extract_objects`.

    Returns
    -------
    Segmentation
        One region per object, numbered in raster order of their first pixel.

    Examples
    --------
    >>> from skimage import data
    >>> seg = detect(data.coins(), "adaptive", block_size=151, offset=-10, min_area=300,
    ...              exclude_border=True)   # doctest: +SKIP
    >>> len(seg)                              # doctest: +SKIP
    24
    """
    from seglab.core.registry import segment

    seg = segment(image, method, **params)
    return extract_objects(
        seg,
        split=split,
        fill=fill,
        min_area=min_area,
        max_area=max_area,
        exclude_border=exclude_border,
        separate=separate,
        min_distance=min_distance,
    )


def extract_objects(
    seg: Segmentation,
    *,
    split: bool = True,
    fill: bool = True,
    min_area: int = 20,
    max_area: int | None = None,
    exclude_border: bool = False,
    separate: bool = False,
    min_distance: int = 7,
) -> Segmentation:
    """Objects from any segmentation.

    Parameters
    ----------
    seg : Segmentation
    split : bool
        One object per connected component (8-connected); class and score follow the region.
    fill : bool
        Fill holes inside objects (see :func:`fill_holes`).
    min_area, max_area : int
        Keep objects with ``min_area <= area <= max_area`` pixels (``max_area=None``: no limit).
    exclude_border : bool
        Drop objects touching the image border.
    separate : bool
        Split touching objects by a watershed on the distance transform (see
        :func:`separate_touching`), before the area filter.
    min_distance : int
        Minimum distance between object centres for ``separate``.

    Returns
    -------
    Segmentation
    """
    if not isinstance(seg, Segmentation):
        raise expected("seg", "a Segmentation", seg)
    if split:
        seg = seg.split_connected()
    if fill:
        seg = fill_holes(seg)
    if separate:
        seg = separate_touching(seg, min_distance=min_distance)
    return filter_objects(seg, min_area=min_area, max_area=max_area, exclude_border=exclude_border)


# ---------------------------------------------------------------------------- filters
def filter_objects(
    seg: Segmentation,
    *,
    min_area: int = 0,
    max_area: int | None = None,
    classes: Any = None,
    exclude_border: bool = False,
) -> Segmentation:
    """Keep the objects whose area, class and position pass; the rest become background.

    Parameters
    ----------
    seg : Segmentation
    min_area, max_area : int
        Area limits in pixels, inclusive (``max_area=None``: no upper limit).
    classes : sequence of int or str, optional
        Keep only these classes, by id or by name.
    exclude_border : bool
        Drop objects touching the image border.

    Returns
    -------
    Segmentation
        Renumbered ``1..M`` in the original order.

    Examples
    --------
    >>> seg = Segmentation(np.array([[1, 0, 2], [0, 0, 2]]))
    >>> filter_objects(seg, min_area=2).labels.tolist()
    [[0, 0, 1], [0, 0, 1]]
    """
    min_area = check_int("min_area", min_area, minimum=0)
    keep = seg.areas >= min_area
    if max_area is not None:
        keep &= seg.areas <= check_int("max_area", max_area, minimum=0)
    if classes is not None:
        keep &= _class_mask(seg, classes)
    if exclude_border:
        keep &= ~touches_border(seg)
    return seg if keep.all() else seg[keep]


def _class_mask(seg: Segmentation, classes: Any) -> np.ndarray:
    wanted = [classes] if isinstance(classes, (str, int)) else list(classes)
    if seg.class_ids is None:
        raise InputError("classes can only filter a segmentation with class_ids, got one without")
    ids = set()
    for value in wanted:
        if isinstance(value, str):
            if value not in seg.class_names:
                raise InputError(
                    f"class {value!r} must be one of {', '.join(seg.class_names) or '(no names)'}"
                )
            ids.add(seg.class_names.index(value))
        else:
            ids.add(check_int("class id", value, minimum=0))
    return np.isin(seg.class_ids, sorted(ids))


def touches_border(seg: Segmentation) -> np.ndarray:
    """(N,) bool: whether each object has a pixel on the image border."""
    edge = np.concatenate([seg.labels[0], seg.labels[-1], seg.labels[:, 0], seg.labels[:, -1]])
    flags = np.zeros(len(seg) + 1, dtype=bool)
    flags[edge] = True
    return flags[1:]


def fill_holes(seg: Segmentation) -> Segmentation:
    """Fill the background holes of objects; a hole touching several objects goes to the nearest one.

    Examples
    --------
    >>> ring = np.ones((5, 5), int); ring[2, 2] = 0
    >>> fill_holes(Segmentation(ring)).areas.tolist()
    [25]
    """
    from scipy import ndimage

    foreground = seg.labels > 0
    holes = ndimage.binary_fill_holes(foreground) & ~foreground
    if not holes.any():
        return seg
    _, (rows, cols) = ndimage.distance_transform_edt(~foreground, return_indices=True)
    labels = seg.labels.copy()
    labels[holes] = seg.labels[rows[holes], cols[holes]]
    return dataclasses.replace(seg, labels=labels, meta=dict(seg.meta))


def separate_touching(seg: Segmentation, *, min_distance: int = 7) -> Segmentation:
    """Split objects made of touching blobs with a watershed on the distance transform.

    Each distance-transform peak (at least ``min_distance`` pixels from a higher one) seeds a
    basin; basins never cross the boundaries of the original objects. Class and score follow
    the original object.

    Parameters
    ----------
    seg : Segmentation
    min_distance : int
        Minimum distance in pixels between two seeds: about the radius of the smallest object.

    Returns
    -------
    Segmentation
    """
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.segmentation import find_boundaries, watershed

    min_distance = check_int("min_distance", min_distance, minimum=1)
    if len(seg) == 0:
        return seg
    inside = (seg.labels > 0) & ~find_boundaries(seg.labels, mode="inner", background=0)
    distance = ndimage.distance_transform_edt(inside)
    distance = ndimage.gaussian_filter(distance, 1.0)  # one peak per plateau
    peaks = peak_local_max(distance, min_distance=min_distance, labels=seg.labels, exclude_border=False)
    markers = np.zeros(seg.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    basins = watershed(-distance, markers, mask=seg.labels > 0)
    pairs = seg.labels.astype(np.int64) * (int(basins.max()) + 1) + basins
    unique, inverse = np.unique(pairs, return_inverse=True)
    labels = inverse.reshape(seg.shape).astype(np.int32)
    if unique[0] != 0:
        labels += 1
    parent = (unique[unique > 0] // (int(basins.max()) + 1)) - 1
    return dataclasses.replace(
        seg,
        labels=labels,
        class_ids=None if seg.class_ids is None else seg.class_ids[parent],
        scores=None if seg.scores is None else seg.scores[parent],
        meta=dict(seg.meta),
    )


# ---------------------------------------------------------------------------- properties
def object_table(seg: Segmentation, image: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Properties of every object as (N,) columns.

    Columns: ``id``, ``x0, y0, x1, y1`` (box, exclusive ends), ``area``, ``centroid_row``,
    ``centroid_col`` (array order) and ``centroid_x``, ``centroid_y`` (the same point in box
    order), ``perimeter``, ``eccentricity``, ``solidity``, and with an image the mean
    colour (``mean_r, mean_g, mean_b``, or ``mean`` for grey, in the image's units); ``class_id``
    and ``score`` when the segmentation has them. Empty objects get NaN.

    Examples
    --------
    >>> table = object_table(Segmentation(np.pad(np.ones((4, 4), int), 2)))
    >>> int(table["area"][0]), float(table["solidity"][0])
    (16, 1.0)
    """
    table: dict[str, np.ndarray] = {"id": seg.ids.astype(np.int64)}
    for column, values in zip(("x0", "y0", "x1", "y1"), seg.boxes_xyxy.T):
        table[column] = values
    table["area"] = seg.areas
    table["centroid_row"], table["centroid_col"] = seg.centroids.T
    table["centroid_x"], table["centroid_y"] = seg.centroids_xy.T
    shape_props = seg.regionprops_table(("perimeter", "eccentricity", "solidity"))
    for key in ("perimeter", "eccentricity", "solidity"):
        table[key] = shape_props[key]
    if image is not None:
        table.update(_mean_colour(seg, image))
    if seg.class_ids is not None:
        table["class_id"] = seg.class_ids
    if seg.scores is not None:
        table["score"] = seg.scores
    return table


def _mean_colour(seg: Segmentation, image: Any) -> dict[str, np.ndarray]:
    pixels = as_image(image)
    if pixels.shape[:2] != seg.shape:
        raise InputError(f"image must have shape {seg.shape} like the segmentation, got {pixels.shape[:2]}")
    flat = seg.labels.ravel()
    counts = np.bincount(flat, minlength=len(seg) + 1)[1:].astype(np.float64)
    channels = [pixels] if pixels.ndim == 2 else [pixels[:, :, c] for c in range(3)]
    names = ["mean"] if pixels.ndim == 2 else ["mean_r", "mean_g", "mean_b"]
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, channel in zip(names, channels):
            sums = np.bincount(flat, weights=channel.ravel().astype(np.float64), minlength=len(seg) + 1)[1:]
            out[name] = sums / counts
    return out


def object_records(seg: Segmentation, image: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One JSON-ready dict per object: id, box_xyxy, area, centroid_rc, shape, colour, class, score."""
    table = object_table(seg, image)
    records = []
    for i in range(len(seg)):
        record: dict[str, Any] = {
            "id": int(table["id"][i]),
            "box_xyxy": [int(table[k][i]) for k in ("x0", "y0", "x1", "y1")],
            "area": int(table["area"][i]),
            "centroid_rc": [_number(table["centroid_row"][i]), _number(table["centroid_col"][i])],
        }
        for key in ("perimeter", "eccentricity", "solidity"):
            record[key] = _number(table[key][i])
        colour = [k for k in ("mean", "mean_r", "mean_g", "mean_b") if k in table]
        if colour:
            record["mean_color"] = [_number(table[k][i]) for k in colour]
        if seg.class_ids is not None:
            record["class_id"] = int(seg.class_ids[i])
            if seg.class_names:
                record["class_name"] = seg.class_names[int(seg.class_ids[i])]
        if seg.scores is not None:
            record["score"] = float(seg.scores[i])
        records.append(record)
    return records


def _number(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 3)


# ---------------------------------------------------------------------------- crops
def crop_objects(
    image: Any, seg: Segmentation, *, padding: int = 0, mask_background: bool = False, fill_value: float = 0
) -> list[np.ndarray]:
    """Crops of the image around each object (its box grown by ``padding``, clipped to the image).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
    seg : Segmentation
    padding : int
        Pixels added on each side of the box.
    mask_background : bool
        Set pixels outside the object to ``fill_value``.

    Returns
    -------
    list of ndarray
        Copies (never views of the caller's image); an empty object gives an empty crop.
    """
    pixels = as_image(image)
    if pixels.shape[:2] != seg.shape:
        raise InputError(f"image must have shape {seg.shape} like the segmentation, got {pixels.shape[:2]}")
    padding = check_int("padding", padding, minimum=0)
    fill_value = check_float("fill_value", fill_value)
    height, width = seg.shape
    crops = []
    for index, (x0, y0, x1, y1) in enumerate(seg.boxes_xyxy):
        if x1 <= x0:
            crops.append(pixels[:0, :0].copy())
            continue
        top, left = max(int(y0) - padding, 0), max(int(x0) - padding, 0)
        bottom, right = min(int(y1) + padding, height), min(int(x1) + padding, width)
        crop = pixels[top:bottom, left:right].copy()
        if mask_background:
            crop[seg.labels[top:bottom, left:right] != index + 1] = fill_value
        crops.append(crop)
    return crops


def save_crops(
    image: Any, seg: Segmentation, folder: Any, *, padding: int = 0, mask_background: bool = False
) -> list[Path]:
    """Write each object's crop to ``folder/NNNN.png`` (8-bit RGB or grey); returns the paths."""
    from seglab.core.image import save_image

    folder = Path(folder)
    paths = []
    for index, crop in enumerate(crop_objects(image, seg, padding=padding, mask_background=mask_background)):
        if crop.size == 0:
            continue
        path = folder / f"{index + 1:04d}.png"
        save_image(path, to_uint8(crop) if crop.ndim == 2 else to_rgb(to_uint8(crop)))
        paths.append(path)
    return paths
