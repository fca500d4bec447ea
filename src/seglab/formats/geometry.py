"""Masks to polygons and back, in the two coordinate conventions annotation tools use.

- *Corner* convention (COCO, pycocotools): pixel ``(row, col)`` covers ``[col, col + 1) x
  [row, row + 1)``; a pixel belongs to a polygon when its centre lies inside. Polygons come
  from marching squares at level 0.5 (edge midpoints, shifted by half a pixel), so every
  inside pixel centre lies strictly inside and every outside centre strictly outside:
  pycocotools rasterises them back to the exact mask.
- *Centre* convention (labelme, YOLO / Ultralytics, OpenCV): a vertex ``(x, y)`` is the
  centre of pixel ``(y, x)``, and a polygon is filled together with its outline
  (``cv2.fillPoly``, ``PIL.ImageDraw.polygon``). Polygons are OpenCV contours of the boundary
  pixels; holes are joined to their outer contour by a zero-width bridge (the Ultralytics
  convention), which the even-odd fill of both libraries keeps open.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bridge",
    "centre_contours",
    "corner_polygons",
    "fill_polygons",
    "has_holes",
]


def has_holes(mask: np.ndarray) -> bool:
    """True when ``mask`` has a background hole (a 4-connected background pocket it encloses)."""
    import cv2

    _, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())


def corner_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Outer boundaries of ``mask`` as (K, 2) float arrays of ``(x, y)`` in the corner convention.

    Only meaningful for masks without holes (see :func:`has_holes`); collinear vertices are dropped.
    """
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(mask.astype(np.uint8), 1)
    polygons = []
    for contour in find_contours(padded, 0.5, fully_connected="high"):
        contour = approximate_polygon(contour, tolerance=0.0)
        if contour.shape[0] > 1 and np.allclose(contour[0], contour[-1]):
            contour = contour[:-1]
        xy = np.stack([contour[:, 1], contour[:, 0]], axis=1) - 0.5  # -1 for the pad, +0.5 for corners
        polygons.append(xy)
    return polygons


def centre_contours(mask: np.ndarray) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Each outer contour of ``mask`` with its holes, as (K, 2) int arrays of ``(x, y)`` pixel centres."""
    import cv2

    contours, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    parts: list[tuple[np.ndarray, list[np.ndarray]]] = []
    for index, contour in enumerate(contours):
        if hierarchy[index][3] >= 0:
            continue
        holes = []
        child = hierarchy[index][2]
        while child >= 0:
            holes.append(contours[child][:, 0, :].astype(np.int64))
            child = hierarchy[child][0]
        parts.append((contour[:, 0, :].astype(np.int64), holes))
    return parts


def bridge(polygons: list[np.ndarray]) -> np.ndarray:
    """Join polygons into one by zero-width bridges between their closest vertices.

    The first polygon is the trunk; each next one is spliced in where it comes closest: the
    path goes out along the bridge, around the piece and back the same way.
    """
    from scipy.spatial import cKDTree

    joined = np.asarray(polygons[0], dtype=np.float64)
    for piece in polygons[1:]:
        piece = np.asarray(piece, dtype=np.float64)
        distances, nearest = cKDTree(joined).query(piece)
        j = int(np.argmin(distances))
        i = int(nearest[j])
        loop = np.concatenate([np.roll(piece, -j, axis=0), piece[j : j + 1]])
        joined = np.concatenate([joined[: i + 1], loop, joined[i:]])
    return joined


def fill_polygons(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask: the union of centre-convention polygons, each filled (even-odd) with its outline."""
    import cv2

    mask = np.zeros(shape, dtype=np.uint8)
    for polygon in polygons:
        points = np.rint(np.asarray(polygon, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [points], 1)  # one polygon per call: even-odd inside it, union across
    return mask.astype(bool)
