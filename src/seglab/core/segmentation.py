"""The one result type: every method returns a :class:`Segmentation`, every consumer takes one."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected

__all__ = ["Segmentation"]


@dataclass(frozen=True)
class Segmentation:
    """Regions of one image, stored as a label image.

    Parameters
    ----------
    labels : (H, W) ndarray of int32
        0 is background / unlabelled, ``1..N`` are regions. Regions may be disconnected
        (see :meth:`split_connected`) and may be empty (a class absent from the image).
    class_ids : (N,) ndarray of int, optional
        Class of region ``i + 1``; an index into ``class_names`` when both are given.
    scores : (N,) ndarray of float, optional
        Confidence of each region.
    class_names : tuple of str
        Index = class id; class 0 is ``"background"`` when present.
    probabilities : (C, H, W) ndarray of float32, optional
        Per-class probabilities (deep models).
    meta : dict
        Method, parameters, timings, source path.

    Notes
    -----
    ``N`` is ``len(class_ids)``, else ``len(scores)``, else ``labels.max()``. Masks, boxes,
    areas and centroids are computed on demand from the label image and cached.

    Examples
    --------
    >>> import numpy as np
    >>> seg = Segmentation(np.array([[0, 1], [2, 2]]))
    >>> len(seg), seg.areas.tolist()
    (2, [1, 2])
    >>> seg[seg.areas > 1].labels.tolist()
    [[0, 0], [1, 1]]
    """

    labels: np.ndarray
    class_ids: np.ndarray | None = None
    scores: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    probabilities: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 2:
            raise expected("labels", "a 2D (H, W) array", labels)
        if labels.dtype.kind not in "iub":
            raise expected("labels", "an integer array", labels)
        low, max_label = _min_max(labels)
        if low < 0:
            raise expected("labels", "non-negative (0 = background, 1..N = regions)", low)
        if max_label > np.iinfo(np.int32).max:
            raise expected("labels", "below 2**31", max_label)
        if labels.dtype != np.int32:
            labels = labels.astype(np.int32)
        object.__setattr__(self, "labels", labels)
        n = None
        for name in ("class_ids", "scores"):
            value = getattr(self, name)
            if value is None:
                continue
            array = np.asarray(value)
            if array.ndim != 1:
                raise expected(name, "a 1D array with one entry per region", array)
            if name == "class_ids":
                if array.size and array.dtype.kind not in "iu":
                    raise expected("class_ids", "an integer array", array)
                array = array.astype(np.int64)
            else:
                array = array.astype(np.float64)
            if n is not None and array.shape[0] != n:
                raise InputError(
                    f"scores must have one entry per region like class_ids ({n}), got {array.shape[0]}"
                )
            n = array.shape[0]
            object.__setattr__(self, name, array)
        if n is not None and max_label > n:
            raise InputError(
                f"labels must be at most the number of regions {n} (length of class_ids/scores), "
                f"got label {max_label}"
            )
        object.__setattr__(self, "_n", max_label if n is None else n)
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if self.class_ids is not None and self.class_names and self.class_ids.size:
            if self.class_ids.min() < 0 or self.class_ids.max() >= len(self.class_names):
                raise InputError(
                    f"class_ids must index class_names (0..{len(self.class_names) - 1}), "
                    f"got {int(self.class_ids.min())}..{int(self.class_ids.max())}"
                )
        if self.probabilities is not None:
            probs = np.asarray(self.probabilities, dtype=np.float32)
            if probs.ndim != 3 or probs.shape[1:] != labels.shape:
                raise InputError(
                    f"probabilities must have shape (C, {labels.shape[0]}, {labels.shape[1]}) "
                    f"like labels, got {probs.shape}"
                )
            object.__setattr__(self, "probabilities", probs)
        if not isinstance(self.meta, dict):
            raise expected("meta", "a dict", self.meta)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, shape: tuple[int, int], **kwargs: Any) -> Segmentation:
        """A segmentation of ``shape`` with no regions."""
        return cls(np.zeros(tuple(shape)[:2], dtype=np.int32), **kwargs)

    @classmethod
    def from_mask(cls, mask: np.ndarray, **kwargs: Any) -> Segmentation:
        """One region made of the true pixels of ``mask`` (possibly disconnected)."""
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise expected("mask", "a 2D (H, W) array", mask)
        return cls((mask > 0).astype(np.int32), **kwargs)

    @classmethod
    def from_labels(cls, labels: np.ndarray, **kwargs: Any) -> Segmentation:
        """Build from any integer label image, renumbering its labels to ``1..N`` in increasing order.

        Label 0 stays background; negative labels are treated as background too.
        """
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.dtype.kind not in "iub":
            raise expected("labels", "a 2D integer array", labels)
        if labels.dtype == bool:
            labels = labels.astype(np.int32)
        if labels.size and labels.dtype.kind == "i" and labels.min() < 0:
            labels = labels.clip(0)
        top = int(labels.max()) if labels.size else 0
        if top <= 4 * labels.size + 1024:
            # a lookup table is O(pixels); np.unique sorts and is far slower with many labels
            present = np.bincount(labels.ravel(), minlength=top + 1) > 0
            present[0] = False
            lut = np.cumsum(present, dtype=np.int64).astype(np.int32)
            if lut[-1] == top:  # already 1..N without gaps
                return cls(labels.astype(np.int32, copy=False), **kwargs)
            return cls(lut[labels], **kwargs)
        values = np.unique(labels)
        values = values[values > 0]
        out = np.zeros(labels.shape, dtype=np.int32)
        positive = labels > 0
        out[positive] = np.searchsorted(values, labels[positive]) + 1
        return cls(out, **kwargs)

    # ------------------------------------------------------------------ basic views
    def __len__(self) -> int:
        return self._n  # type: ignore[attr-defined]

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.labels.shape  # type: ignore[return-value]

    @property
    def ids(self) -> np.ndarray:
        """Region ids ``1..N``."""
        return np.arange(1, len(self) + 1)

    def mask(self, region_id: int) -> np.ndarray:
        """Boolean (H, W) mask of region ``region_id`` (1-based)."""
        if not 1 <= int(region_id) <= len(self):
            raise expected("region_id", f"between 1 and {len(self)}", region_id)
        return self.labels == int(region_id)

    def masks(self) -> np.ndarray:
        """Dense (N, H, W) boolean masks; costs N·H·W bytes, so prefer :meth:`mask` for one region."""
        return self.labels[None, :, :] == self.ids[:, None, None]

    @cached_property
    def areas(self) -> np.ndarray:
        """(N,) pixel count of each region."""
        return np.bincount(self.labels.ravel(), minlength=len(self) + 1)[1:].astype(np.int64)

    @cached_property
    def boxes_xyxy(self) -> np.ndarray:
        """(N, 4) boxes ``(x0, y0, x1, y1)`` with exclusive ends (x1 = last column + 1); zeros for empty regions."""
        n = len(self)
        boxes = np.zeros((n, 4), dtype=np.int64)
        if n == 0:
            return boxes
        from scipy import ndimage

        for index, slices in enumerate(ndimage.find_objects(self.labels, max_label=n)):
            if slices is not None:
                rows, cols = slices
                boxes[index] = (cols.start, rows.start, cols.stop, rows.stop)
        return boxes

    @cached_property
    def centroids(self) -> np.ndarray:
        """(N, 2) centroids as **(row, col)**, array order; NaN for empty regions.

        Boxes are ``(x0, y0, x1, y1)``; for the centroid in the same ``(x, y)`` order use
        :attr:`centroids_xy`.
        """
        n = len(self)
        flat = self.labels.ravel()
        rows, cols = np.indices(self.shape)
        area = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)
        sum_r = np.bincount(flat, weights=rows.ravel(), minlength=n + 1)[1:]
        sum_c = np.bincount(flat, weights=cols.ravel(), minlength=n + 1)[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([sum_r / area, sum_c / area], axis=1)

    @property
    def centroids_xy(self) -> np.ndarray:
        """(N, 2) centroids as (x, y) = (col, row), the order of boxes and prompts; NaN for empty regions."""
        return self.centroids[:, ::-1].copy()

    def class_map(self) -> np.ndarray:
        """(H, W) int32 class id per pixel, 0 for background.

        Without ``class_ids`` every region counts as class 1 (a foreground map).
        """
        if self.class_ids is None:
            return (self.labels > 0).astype(np.int32)
        lut = np.concatenate([[0], self.class_ids]).astype(np.int32)
        return lut[self.labels]

    def regionprops_table(
        self,
        properties: tuple[str, ...] = ("label", "area", "bbox", "centroid"),
        intensity_image: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Region properties as a dict of (N,) columns, one row per region including empty ones.

        Any property of :func:`skimage.measure.regionprops` may be asked for; empty regions get NaN.
        ``"centroid"`` gives ``centroid-0`` (row) and ``centroid-1`` (col) as scikit-image does;
        ``"centroid_xy"`` gives ``centroid_x`` and ``centroid_y``.
        """
        from skimage.measure import regionprops_table

        asked = tuple(p for p in properties if p != "centroid_xy")
        names = asked if "label" in asked else ("label", *asked)
        table = regionprops_table(self.labels, intensity_image=intensity_image, properties=names)
        if "centroid_xy" in properties:
            table = {**table, "centroid_x": self.centroids_xy[:, 0], "centroid_y": self.centroids_xy[:, 1]}
        present = table["label"].astype(np.int64)
        out: dict[str, np.ndarray] = {}
        for key, column in table.items():
            if key == "label":
                out[key] = self.ids.astype(np.int64)
                continue
            if key in ("centroid_x", "centroid_y"):  # already one row per region
                out[key] = column
                continue
            full = np.full(len(self), np.nan, dtype=np.float64)
            full[present - 1] = column
            out[key] = full
        return out

    # ------------------------------------------------------------------ transforms
    def __getitem__(self, key: Any) -> Segmentation:
        """Select regions like numpy and renumber them ``1..M`` in the order selected."""
        index = np.arange(len(self))[key]
        index = np.atleast_1d(index)
        if np.unique(index).size != index.size:
            raise InputError("region selection must not repeat a region")
        return self._select(index)

    def _select(self, index: np.ndarray) -> Segmentation:
        lut = np.zeros(len(self) + 1, dtype=np.int32)
        lut[index + 1] = np.arange(1, index.size + 1, dtype=np.int32)
        return dataclasses.replace(
            self,
            labels=lut[self.labels],
            class_ids=None if self.class_ids is None else self.class_ids[index],
            scores=None if self.scores is None else self.scores[index],
            meta=dict(self.meta),
        )

    def split_connected(self, connectivity: int = 2) -> Segmentation:
        """One region per connected component; class ids and scores follow their parent region.

        Parameters
        ----------
        connectivity : {1, 2}
            1 = 4-connected, 2 = 8-connected pixels.
        """
        from skimage.measure import label

        if connectivity not in (1, 2):
            raise expected("connectivity", "1 (4-connected) or 2 (8-connected)", connectivity)
        components = label(self.labels, background=0, connectivity=connectivity).astype(np.int32)
        n = int(components.max())
        parent = np.zeros(n + 1, dtype=np.int64)
        parent[components.ravel()] = self.labels.ravel()
        parent = parent[1:] - 1
        return dataclasses.replace(
            self,
            labels=components,
            class_ids=None if self.class_ids is None else self.class_ids[parent],
            scores=None if self.scores is None else self.scores[parent],
            meta=dict(self.meta),
        )

    # ------------------------------------------------------------------ files
    def save(self, path: Any, *, kind: str = "labels") -> None:
        """Save to a label PNG, a colour PNG or ``.npz``; see :mod:`seglab.core.segmentation_io`."""
        from seglab.core.segmentation_io import save_segmentation

        save_segmentation(self, path, kind=kind)

    @classmethod
    def load(cls, path: Any) -> Segmentation:
        """Load what :meth:`save` wrote."""
        from seglab.core.segmentation_io import load_segmentation

        return load_segmentation(path)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: regions with area, box and class, and the JSON-safe meta."""
        regions = []
        boxes, areas, centroids = self.boxes_xyxy, self.areas, self.centroids
        for i in range(len(self)):
            region: dict[str, Any] = {
                "id": i + 1,
                "area": int(areas[i]),
                "box_xyxy": [int(v) for v in boxes[i]],
                "centroid_rc": [None if np.isnan(v) else round(float(v), 2) for v in centroids[i]],
            }
            if self.class_ids is not None:
                region["class_id"] = int(self.class_ids[i])
                if self.class_names:
                    region["class_name"] = self.class_names[int(self.class_ids[i])]
            if self.scores is not None:
                region["score"] = float(self.scores[i])
            regions.append(region)
        return {
            "shape": list(self.shape),
            "n_regions": len(self),
            "class_names": list(self.class_names),
            "regions": regions,
            "meta": json_safe(self.meta),
        }

    def __repr__(self) -> str:
        extras = []
        if self.class_ids is not None:
            extras.append("class_ids")
        if self.scores is not None:
            extras.append("scores")
        if self.probabilities is not None:
            extras.append(f"probabilities{self.probabilities.shape}")
        method = self.meta.get("method")
        tail = f", method={method!r}" if method else ""
        more = f", with {', '.join(extras)}" if extras else ""
        noun = "region" if len(self) == 1 else "regions"
        return f"Segmentation({len(self)} {noun}, shape={self.shape}{more}{tail})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segmentation):
            return NotImplemented
        def same(a: Any, b: Any) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return np.array_equal(a, b)
        return (
            len(self) == len(other)
            and np.array_equal(self.labels, other.labels)
            and same(self.class_ids, other.class_ids)
            and same(self.scores, other.scores)
            and self.class_names == other.class_names
            and same(self.probabilities, other.probabilities)
        )

    __hash__ = None  # type: ignore[assignment]


_MINMAX_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32)


def _min_max(labels: np.ndarray) -> tuple[int, int]:
    """(min, max) of a label image in one pass; this runs on every result, so it must stay cheap.

    OpenCV's ``minMaxLoc`` does both in one pass (about 3x faster than numpy's two reductions on
    a 2048x2048 int32 image); it is used only when a method has already imported cv2.
    """
    if labels.size == 0:
        return 0, 0
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and labels.dtype in _MINMAX_DTYPES and labels.flags.c_contiguous:
        low, high = cv2.minMaxLoc(labels)[:2]
        return int(low), int(high)
    if labels.dtype == bool:
        return 0, int(labels.any())
    return int(labels.min()), int(labels.max())


def json_safe(value: Any) -> Any:
    """Return ``value`` with everything JSON cannot hold dropped (large arrays) or converted (numpy scalars)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            converted = json_safe(item)
            if converted is not _DROP:
                out[str(key)] = converted
        return out
    if isinstance(value, (list, tuple)):
        items = [json_safe(v) for v in value]
        return [v for v in items if v is not _DROP]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else _DROP
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__fspath__"):
        return str(value)
    return repr(value) if len(repr(value)) < 200 else _DROP


_DROP = object()
