import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation
from seglab.metrics.coco import coco_ap


def _two_squares(shift=0):
    labels = np.zeros((40, 40), np.int32)
    labels[5:15, 5 + shift:15 + shift] = 1
    labels[20:35, 20:35] = 2
    return Segmentation(labels, class_ids=np.array([1, 2]), scores=np.array([0.9, 0.8]))


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_perfect_and_partial(iou_type):
    gt = _two_squares()
    assert coco_ap([gt], [gt], iou_type=iou_type)["ap"] == pytest.approx(1.0)
    moved = coco_ap([_two_squares(shift=4)], [gt], iou_type=iou_type)  # IoU 6/14 for square 1
    assert moved["ap50"] == pytest.approx(0.5)


def test_empty_prediction_and_errors():
    gt = _two_squares()
    assert coco_ap([Segmentation(np.zeros((40, 40), np.int32))], [gt])["ap"] == 0.0
    with pytest.raises(InputError, match="iou_type must be one of"):
        coco_ap([gt], [gt], iou_type="keypoints")
    with pytest.raises(InputError, match="predictions must have one entry per target"):
        coco_ap([], [gt])
