"""Instance segmentation and detection AP (COCO mask / box AP) through pycocotools."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected

__all__ = ["coco_ap"]

_NAMES = ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large",
          "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large")


def _records(seg: Any, image_id: int, with_scores: bool) -> list[dict[str, Any]]:
    from pycocotools import mask as mask_utils

    labels = np.asarray(seg.labels)
    class_ids = seg.class_ids if seg.class_ids is not None else np.ones(len(seg), dtype=np.int64)
    scores = seg.scores if seg.scores is not None else np.ones(len(seg))
    out = []
    for i in range(len(seg)):
        mask = np.asfortranarray(labels == i + 1, dtype=np.uint8)
        if not mask.any():
            continue
        rle = mask_utils.encode(mask)
        x0, y0, w, h = (float(v) for v in mask_utils.toBbox(rle))
        record = {"image_id": image_id, "category_id": int(class_ids[i]), "segmentation": rle,
                  "area": float(mask_utils.area(rle)), "bbox": [x0, y0, w, h], "iscrowd": 0}
        if with_scores:
            record["score"] = float(scores[i])
        out.append(record)
    return out


def coco_ap(predictions: Sequence[Any], targets: Sequence[Any], *, iou_type: str = "segm") -> dict[str, float]:
    """COCO average precision of instance predictions against ground-truth instances.

    Parameters
    ----------
    predictions, targets : list of Segmentation
        One per image: one region per instance, with ``class_ids`` (category ids; all 1 when
        None) and, for predictions, ``scores`` (all 1 when None).
    iou_type : {"segm", "bbox"}
        Mask AP or box AP.

    Returns
    -------
    dict
        ``ap`` (AP@[.50:.95]), ``ap50``, ``ap75``, ``ap_small`` ... ``ar100`` ... as pycocotools
        prints them (-1 where undefined).

    Examples
    --------
    >>> from seglab import Segmentation
    >>> gt = Segmentation(np.pad(np.ones((10, 10), int), 5))
    >>> round(coco_ap([gt], [gt])["ap"], 6)
    1.0
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if iou_type not in ("segm", "bbox"):
        raise InputError(f"iou_type must be one of 'segm', 'bbox', got {iou_type!r}")
    if len(predictions) != len(targets):
        raise InputError(f"predictions must have one entry per target ({len(targets)}), got {len(predictions)}")
    if not targets:
        raise expected("targets", "at least one image", targets)
    gt_records, dt_records, images = [], [], []
    for image_id, (pred, target) in enumerate(zip(predictions, targets), start=1):
        if pred.labels.shape != target.labels.shape:
            raise InputError(f"prediction {image_id - 1} must have shape {target.labels.shape} like its "
                             f"target, got {pred.labels.shape}")
        height, width = target.labels.shape
        images.append({"id": image_id, "height": height, "width": width})
        gt_records += _records(target, image_id, with_scores=False)
        dt_records += _records(pred, image_id, with_scores=True)
    for k, record in enumerate(gt_records, start=1):
        record["id"] = k
    categories = sorted({r["category_id"] for r in gt_records + dt_records} or {1})
    ground = COCO()
    ground.dataset = {"images": images, "annotations": gt_records,
                      "categories": [{"id": c, "name": str(c)} for c in categories]}
    with contextlib.redirect_stdout(io.StringIO()):
        ground.createIndex()
        detections = ground.loadRes(dt_records) if dt_records else COCO()
        if not dt_records:
            return {name: 0.0 for name in _NAMES}
        evaluator = COCOeval(ground, detections, iouType=iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(_NAMES, evaluator.stats)}
