import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.metrics.pixel import (
    confusion_matrix,
    dice_per_class,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
    pixel_metrics,
    precision_recall_f1,
)

PRED = np.array([[0, 1, 1], [2, 2, 1]])
TRUE = np.array([[0, 1, 2], [2, 2, 255]])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float64])
def test_confusion_matrix_exact(dtype):
    pred, true = PRED.astype(dtype), TRUE.astype(np.int64)
    before = pred.copy()
    matrix = confusion_matrix(pred, true, ignore_index=255)
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 2]]
    assert (pred == before).all()


def test_metrics_exact():
    m = pixel_metrics(PRED, TRUE, ignore_index=255)
    assert m["pixel_accuracy"] == pytest.approx(4 / 5)
    assert m["iou"] == pytest.approx([1.0, 0.5, 2 / 3])
    assert m["dice"] == pytest.approx([1.0, 2 / 3, 0.8])
    assert m["mean_iou"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    assert mean_iou(PRED, TRUE, ignore_index=255) == pytest.approx(m["mean_iou"])
    assert iou_per_class(PRED, TRUE, ignore_index=255) == pytest.approx([1.0, 0.5, 2 / 3])
    assert dice_per_class(PRED, TRUE, ignore_index=255) == pytest.approx([1.0, 2 / 3, 0.8])
    assert m["precision"] == pytest.approx([1.0, 0.5, 1.0])
    assert m["recall"] == pytest.approx([1.0, 1.0, 2 / 3])
    assert m["support"] == [1, 1, 3]


def test_valid_mask_and_absent_class():
    valid = np.array([[1, 1, 0], [1, 1, 0]], bool)
    assert pixel_accuracy(PRED, TRUE, valid_mask=valid) == 1.0
    iou = iou_per_class(PRED, TRUE, num_classes=4, ignore_index=255)
    assert np.isnan(iou[3])


def test_binary_precision_recall():
    pred = np.array([[True, True], [False, False]])
    true = np.array([[1, 0], [1, 0]])
    assert precision_recall_f1(pred, true) == (0.5, 0.5, 0.5)
    true_void = np.array([[1, 255], [1, 0]])
    assert precision_recall_f1(pred, true_void, ignore_index=255) == pytest.approx((1.0, 0.5, 2 / 3))


def test_errors():
    with pytest.raises(InputError, match=r"prediction must have shape \(2, 3\) like the target, got \(3, 2\)"):
        confusion_matrix(PRED.T, TRUE)
    with pytest.raises(InputError, match="every label must be < num_classes = 2, got 255"):
        confusion_matrix(PRED, TRUE, num_classes=2)
    with pytest.raises(InputError, match="prediction must be a 2D"):
        confusion_matrix(np.zeros(3), np.zeros(3))
    with pytest.raises(InputError, match="prediction must be an integer or boolean label array"):
        confusion_matrix(np.full((2, 2), 0.5), np.zeros((2, 2), int))
