"""The BSDS500 benchmark on whole data sets: boundaries (ODS, OIS, AP) and regions (covering,
PRI, VOI), over a process pool.

A prediction for one image is any of the forms the BSDS code accepts:

- a hierarchy at double resolution (``ucm2``, shape ``(2H + 1, 2W + 1)``): boundaries are
  ``ucm2[2::2, 2::2]`` thresholded, regions the connected components of ``ucm2 <= t``;
- a soft boundary map (float in [0, 1], or uint8 / 255): boundary benchmark only;
- a list of label images (``segs``), one per "threshold"; a single label image or a
  :class:`~seglab.Segmentation` is a list of one;
- ``{"boundary": map, "segs": [labels, ...]}``: boundaries from ``map`` (soft or binary, e.g.
  an edge detector's raw edges) and regions from ``segs`` (optional).

Files: ``.mat`` with key ``ucm2`` or ``segs``, a grey PNG (soft boundaries) or a label PNG /
``.npz`` saved by seglab (pass ``kind="labels"``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.bsds_io import load_bsds_ground_truth
from seglab.core.errors import FormatError, InputError, expected
from seglab.metrics.boundary import MAX_DIST, BoundaryCounts, boundary_counts, summarize_boundaries
from seglab.metrics.region import RegionCounts, region_counts, summarize_regions, ucm_to_segmentations

__all__ = [
    "default_workers",
    "evaluate_bsds",
    "evaluate_bsds_image",
    "load_bsds_ground_truth",
    "load_bsds_prediction",
]


def load_bsds_prediction(path: str | Path, *, kind: str = "auto") -> Any:
    """Read one prediction file: ``.mat`` (``ucm2`` or ``segs``), a soft boundary PNG, or labels.

    Parameters
    ----------
    kind : {"auto", "boundary", "labels"}
        How to read an image file: ``"auto"`` reads a .mat by its key, a PNG with more than
        two distinct grey values as a soft boundary map unless it is 16-bit (labels), and a
        ``.npz`` as labels.

    Returns
    -------
    ndarray or list of ndarray
        A float map, a ucm2 array, or a list of label images.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".mat":
            from scipy.io import loadmat

            data = loadmat(str(path))
            if "ucm2" in data:
                return {"ucm2": np.asarray(data["ucm2"], dtype=np.float64)}
            if "segs" in data:
                return [np.asarray(s) for s in data["segs"].ravel()]
            raise FormatError(f"prediction {str(path)!r} must hold a 'ucm2' or 'segs' variable, "
                              f"got {sorted(k for k in data if not k.startswith('__'))}")
        if path.suffix.lower() == ".npz" or kind == "labels":
            from seglab.core.segmentation_io import load_segmentation

            return [np.asarray(load_segmentation(path).labels)]
        from PIL import Image

        with Image.open(path) as handle:
            array = np.asarray(handle)
    except FormatError:
        raise
    except Exception as error:  # noqa: BLE001
        raise FormatError(f"prediction {str(path)!r} must be a readable .mat or image, got {error}") from None
    if array.ndim == 3:
        array = array[..., 0]
    if kind == "boundary" or (kind == "auto" and array.dtype == np.uint8):
        return array.astype(np.float64) / 255.0
    return [array.astype(np.int64)]


def _as_prediction(prediction: Any, shape: tuple[int, int]) -> tuple[Any, list[np.ndarray] | None]:
    """(boundary input, segmentations or None) of a prediction for an image of ``shape``."""
    if isinstance(prediction, dict) and "ucm2" in prediction:
        prediction = prediction["ucm2"]
        if prediction.shape != (2 * shape[0] + 1, 2 * shape[1] + 1):
            raise InputError(f"ucm2 must have shape {(2 * shape[0] + 1, 2 * shape[1] + 1)} "
                             f"(double resolution), got {prediction.shape}")
        return ("ucm2", prediction), None
    if isinstance(prediction, dict) and "boundary" in prediction:
        boundary = np.asarray(prediction["boundary"], dtype=np.float64)
        if boundary.shape != shape:
            raise InputError(f"boundary must have shape {shape} like the ground truth, got {boundary.shape}")
        segs = prediction.get("segs")
        segs = None if segs is None else [np.asarray(getattr(s, "labels", s)) for s in segs]
        return boundary, segs
    if hasattr(prediction, "labels") and hasattr(prediction, "split_connected"):
        prediction = [np.asarray(prediction.labels)]
    if isinstance(prediction, (list, tuple)):
        segs = [np.asarray(getattr(s, "labels", s)) for s in prediction]
        return segs, segs
    array = np.asarray(prediction)
    if array.dtype.kind in "iub":
        return [array], [array]
    if array.dtype.kind == "f":
        return array, None
    raise expected("prediction", "a boundary map, a label image, a list of them or {'ucm2': array}", array)


def evaluate_bsds_image(
    prediction: Any,
    gt_segmentations: Sequence[np.ndarray],
    gt_boundaries: Sequence[np.ndarray] | None = None,
    *,
    thresholds: int = 99,
    max_dist: float = MAX_DIST,
    method: str = "assignment",
) -> tuple[BoundaryCounts, RegionCounts | None]:
    """Boundary and (where the prediction has regions) region counts of one image.

    Parameters
    ----------
    prediction : see the module docstring
    gt_segmentations : list of (H, W) label images, one per annotator
    gt_boundaries : list of (H, W) bool, optional
        Default: ``seg2bmap`` of each segmentation (BSDS stores the same).
    thresholds : int
        Thresholds for soft maps and hierarchies (BSDS uses 99; its self-test 5).
    """
    from seglab.metrics.boundary import seg2bmap

    shape = np.asarray(gt_segmentations[0]).shape
    bounds = list(gt_boundaries) if gt_boundaries is not None else [seg2bmap(s) for s in gt_segmentations]
    boundary_input, segs = _as_prediction(prediction, shape)
    region_thresholds = None
    if isinstance(boundary_input, tuple):
        ucm2 = boundary_input[1]
        values = np.linspace(1.0 / (thresholds + 1), 1.0 - 1.0 / (thresholds + 1), thresholds)
        boundary_input = ucm2[2::2, 2::2]
        segs, region_thresholds = ucm_to_segmentations(ucm2, values), values
    bdry = boundary_counts(boundary_input, bounds, thresholds=thresholds, max_dist=max_dist, method=method)
    regions = region_counts(segs, gt_segmentations, region_thresholds) if segs is not None else None
    return bdry, regions


def _evaluate_job(job: tuple[Any, Any, dict[str, Any]]) -> tuple[BoundaryCounts, RegionCounts | None, float]:
    prediction, gt, options = job
    seconds = 0.0
    if callable(prediction):  # a method run in the worker (seglab evaluate --method)
        start = time.perf_counter()
        prediction = prediction()
        seconds = time.perf_counter() - start
    if isinstance(prediction, (str, Path)):
        prediction = load_bsds_prediction(prediction, kind=options.pop("kind", "auto"))
    options.pop("kind", None)
    segs, bounds = load_bsds_ground_truth(gt) if isinstance(gt, (str, Path)) else (gt, None)
    return (*evaluate_bsds_image(prediction, segs, bounds, **options), seconds)


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def evaluate_bsds(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    *,
    thresholds: int = 99,
    max_dist: float = MAX_DIST,
    method: str = "assignment",
    kind: str = "auto",
    workers: int | None = None,
) -> dict[str, Any]:
    """The full BSDS benchmark over images, in parallel.

    Parameters
    ----------
    predictions : list
        One per image: a path (see :func:`load_bsds_prediction`), an in-memory prediction, or
        a picklable callable returning one (run in the worker and timed: the result then has
        ``seconds_per_image``).
    ground_truths : list
        One per image: a BSDS ``.mat`` path or a list of annotator label images.
    workers : int, optional
        Processes (default: every CPU available; 1 runs in this process).

    Returns
    -------
    dict
        ``{"boundary": {"ods", "ois", "ap", ...}, "covering", "pri", "voi", "images": n}``
        (the region entries only when every prediction has regions).

    Examples
    --------
    >>> gt = np.zeros((30, 30), int) + 1; gt[:, 15:] = 2
    >>> result = evaluate_bsds([gt], [[gt]], thresholds=5, workers=1)
    >>> result["boundary"]["ods"]["f"], result["covering"]["ods"]
    (1.0, 1.0)
    """
    if len(predictions) != len(ground_truths):
        raise InputError(f"ground_truths must have one entry per prediction ({len(predictions)}), "
                         f"got {len(ground_truths)}")
    if not predictions:
        raise expected("predictions", "at least one image", predictions)
    options = {"thresholds": thresholds, "max_dist": max_dist, "method": method, "kind": kind}
    jobs = [(p, g, dict(options)) for p, g in zip(predictions, ground_truths)]
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(jobs) == 1:
        results = [_evaluate_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_evaluate_job, jobs, chunksize=1))
    summary: dict[str, Any] = {"boundary": summarize_boundaries([r[0] for r in results]),
                               "images": len(results)}
    if all(r[1] is not None for r in results):
        summary.update(summarize_regions([r[1] for r in results]))
    if any(callable(p) for p in predictions):
        summary["seconds_per_image"] = sum(r[2] for r in results) / len(results)
    return summary
