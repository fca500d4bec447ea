"""Evaluation: a prediction folder, or a method run on the fly, scored against a labelled dataset.

The library side of ``seglab evaluate`` (and of ``seglab bench``, which calls
:func:`evaluate_dataset` for every parameter set it tries): BSDS boundaries and regions, pixel
IoU / Dice / accuracy, COCO AP. Progress is reported through the ``progress`` callback the caller
passes; nothing here prints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.progress import ProgressFn, track

__all__ = ["EVAL_FORMATS", "PRED_SUFFIXES", "bsds_method_prediction", "evaluate_dataset"]

EVAL_FORMATS = ("bsds", "folder", "voc", "coco", "drive", "isbi", "cityscapes")
PRED_SUFFIXES = (".mat", ".png", ".npz", ".tif", ".tiff")


def _prediction_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"prediction folder {str(folder)!r} does not exist")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in PRED_SUFFIXES}


def _segment(method: str, params: dict[str, Any], image: np.ndarray) -> Any:
    import seglab

    return seglab.segment(image, method, **params)


def bsds_method_prediction(method: str, params: dict[str, Any], image_path: Path) -> Any:
    """Run ``method`` on one image and return what the BSDS benchmark scores.

    Edge methods (``sobel``, ``canny``, ``log``: ``meta["edges"]`` is their raw (H, W) bool edge
    map) are scored on those edges as the boundary map (thinned, as BSDS thins every machine
    map) and on their regions for covering / PRI / VOI; every other method on the boundaries of
    its regions (``seg2bmap``) and its regions.
    """
    from seglab.core.image import load_image

    seg = _segment(method, params, load_image(image_path))
    edges = seg.meta.get("edges") if isinstance(seg.meta, dict) else None
    if edges is not None:
        return {"boundary": np.asarray(edges, dtype=bool).astype(np.float64), "segs": [np.asarray(seg.labels)]}
    return [np.asarray(seg.labels)]


def _images_by_stem(folder: Path | None) -> dict[str, Path] | None:
    from seglab.core.image import IMAGE_SUFFIXES

    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise InputError(f"images folder {str(folder)!r} does not exist")
    return {p.stem: p for p in sorted(Path(folder).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def _image_path(images: dict[str, Path], name: str, folder: Path | None) -> Path:
    if name not in images:
        raise InputError(f"images folder {str(folder)!r} must hold an image named {name}.*, got none")
    return images[name]


def _bsds_inputs(gt: Path, split: str, limit: int | None) -> tuple[list[str], list[Path], list[Path]]:
    from seglab.datasets import read_dataset

    data = read_dataset(gt, "bsds", split=split)
    entries = data.entries[:limit] if limit else data.entries
    return [e["name"] for e in entries], [e["target_path"] for e in entries], [e["image_path"] for e in entries]


def evaluate_dataset(gt: Path, format: str, *, predictions: Path | None = None, method: str | None = None,
                     params: dict[str, Any] | None = None, thresholds: int = 99, split: str | None = None,
                     limit: int | None = None, workers: int | None = None, quiet: bool = True,
                     images: Path | None = None, names: Any = None,
                     progress: ProgressFn | None = None) -> dict[str, Any]:
    """Evaluate a prediction folder, or a method run on the fly, against a dataset.

    ``images`` (with ``method``): run the method on the images of this folder, matched to the
    ground truth by file stem, instead of the dataset's own images (e.g. the same scenes
    pre-processed, or another resolution of them). ``names``: evaluate only these image stems
    (BSDS; ``bench`` uses it for its tuning / scoring splits). ``progress(done, total, what)`` is
    called after each image (pixel formats); ``quiet`` is kept for old callers and ignored.

    Returns the metrics dict written by ``seglab evaluate --json`` (plus ``seconds_per_image``
    when a method ran).
    """
    from seglab.core.validate import check_choice

    check_choice("format", format, EVAL_FORMATS)
    if (predictions is None) == (method is None):
        raise InputError("evaluate needs exactly one of PRED (a prediction folder) or --method")
    if images is not None and method is None:
        raise InputError("--images needs --method (PRED already holds the predictions)")
    files = _prediction_files(predictions) if predictions is not None else {}
    by_stem = _images_by_stem(images)
    if format == "bsds":
        from functools import partial

        from seglab.metrics.bsds import evaluate_bsds

        stems, gts, paths = _bsds_inputs(gt, split or "val", None if names is not None else limit)
        if names is not None:
            keep = [i for i, n in enumerate(stems) if n in set(names)]
            stems, gts, paths = [stems[i] for i in keep], [gts[i] for i in keep], [paths[i] for i in keep]
        if method is not None:
            if by_stem is not None:
                paths = [_image_path(by_stem, n, images) for n in stems]
            preds: list[Any] = [partial(bsds_method_prediction, method, params or {}, p) for p in paths]
        else:
            missing = [n for n in stems if n not in files]
            if missing:
                raise InputError(f"prediction folder must hold a file for every image stem, got none for {missing[0]!r}"
                                 + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
            preds = [files[n] for n in stems]
        result = evaluate_bsds(preds, gts, thresholds=thresholds, workers=workers)
        result["boundary"].pop("images", None)
        return result
    result, seconds = _evaluate_pixels(gt, format, files, method, params or {}, split, limit, progress, by_stem,
                                       images, names)
    if method is not None:
        result["seconds_per_image"] = seconds / max(result.get("images", 1), 1)
    return result


def _evaluate_pixels(gt: Path, format: str, files: dict[str, Path], method: str | None,
                     params: dict[str, Any], split: str | None, limit: int | None,
                     progress: ProgressFn | None, by_stem: dict[str, Path] | None = None,
                     images: Path | None = None, names: Any = None) -> tuple[dict[str, Any], float]:
    from seglab.core.segmentation import Segmentation
    from seglab.datasets import read_dataset
    from seglab.datasets.base import read_mask
    from seglab.metrics.coco import coco_ap
    from seglab.metrics.pixel import confusion_matrix, metrics_from_confusion

    options = {"split": split} if split and format in ("voc", "cityscapes", "isbi", "drive") else {}
    data = read_dataset(gt, format, **options)
    if names is not None:
        wanted = set(names)
        indices: Any = [i for i, n in enumerate(data.names) if n in wanted]
    else:
        indices = range(min(len(data), limit) if limit else len(data))
    matrix, seconds, preds, targets = None, 0.0, [], []
    for index in track(list(indices), progress, "evaluate"):
        sample = data[index]
        name = sample.meta["name"]
        if method is not None:
            image = sample.image
            if by_stem is not None:
                from seglab.core.image import load_image

                image = load_image(_image_path(by_stem, name, images))
            start = time.perf_counter()
            seg = _segment(method, params, image)
            seconds += time.perf_counter() - start
        elif name in files:
            from seglab.core.segmentation_io import load_segmentation

            path = files[name]
            seg = load_segmentation(path) if path.suffix == ".npz" else Segmentation(read_mask(path))
        else:
            raise InputError(f"prediction folder must hold a file named {name}.*, got none")
        if format == "coco":
            preds.append(seg)
            targets.append(sample.target)
            continue
        pred = seg.class_map() if seg.class_ids is not None else seg.labels
        if format in ("drive", "isbi", "folder") and pred.max(initial=0) > 1 and sample.target.max() <= 1:
            pred = (pred > 0).astype(np.int64)
        part = confusion_matrix(pred, sample.target, ignore_index=sample.meta.get("ignore_index"),
                                valid_mask=sample.valid_mask, num_classes=256)
        matrix = part if matrix is None else matrix + part
    count = len(indices)
    if format == "coco":
        result = {"segm": coco_ap(preds, targets), "bbox": coco_ap(preds, targets, iou_type="bbox")}
    else:
        used = int(np.flatnonzero(matrix.sum(0) + matrix.sum(1)).max(initial=0)) + 1
        result = metrics_from_confusion(matrix[:used, :used])
    result["images"] = count
    return result, seconds
