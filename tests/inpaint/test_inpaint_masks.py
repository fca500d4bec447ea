"""Masks for inpainting from files, segmentations, points and boxes."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.core.image import save_image
from seglab.core.registry import methods
from seglab.core.segmentation import Segmentation
from seglab.inpaint import dilate_mask, mask_from_box, mask_from_file, mask_from_point, mask_from_segmentation


def _scene() -> np.ndarray:
    image = np.full((60, 80, 3), 60, np.uint8)
    image[20:40, 30:50] = (230, 40, 40)
    return image


def test_dilate_mask() -> None:
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    assert dilate_mask(mask, 0).sum() == 1
    assert dilate_mask(mask, 1).sum() == 5
    assert dilate_mask(mask, 2)[4, 2] and not dilate_mask(mask, 2)[2, 2]
    with pytest.raises(InputError, match=r"^dilate must be an integer >= 0, got -1$"):
        dilate_mask(mask, -1)


def test_mask_from_file_png_and_jpeg(tmp_path) -> None:
    mask = np.zeros((10, 12), np.uint8)
    mask[2:5, 3:7] = 1
    save_image(tmp_path / "m.png", mask)
    assert np.array_equal(mask_from_file(tmp_path / "m.png", (10, 12)), mask > 0)
    save_image(tmp_path / "m.jpg", mask * 255)
    assert np.array_equal(mask_from_file(tmp_path / "m.jpg"), mask > 0)
    with pytest.raises(InputError, match=r"like the image, got \(10, 12\)$"):
        mask_from_file(tmp_path / "m.png", (10, 13))


def test_mask_from_segmentation_ids_and_classes() -> None:
    labels = np.zeros((10, 10), np.int32)
    labels[1:3, 1:3], labels[5:8, 5:8], labels[0, 9] = 1, 2, 3
    seg = Segmentation(labels, class_ids=np.array([1, 2, 1]), scores=None, class_names=("background", "cat", "dog"))
    assert np.array_equal(mask_from_segmentation(seg, [2], dilate=0), labels == 2)
    assert np.array_equal(mask_from_segmentation(seg, 1, dilate=0), labels == 1)
    assert np.array_equal(mask_from_segmentation(seg, classes="cat", dilate=0), np.isin(labels, [1, 3]))
    assert np.array_equal(mask_from_segmentation(seg, classes=[2], dilate=0), labels == 2)
    with pytest.raises(InputError, match=r"^ids must be region ids between 1 and 3, got 4$"):
        mask_from_segmentation(seg, [4])
    with pytest.raises(InputError, match=r"^class must be one of 'background', 'cat', 'dog', got 'cow'$"):
        mask_from_segmentation(seg, classes="cow")
    with pytest.raises(InputError, match=r"^give exactly one of ids and classes"):
        mask_from_segmentation(seg)


def test_mask_from_box_rectangle_and_grabcut() -> None:
    image = _scene()
    rectangle = mask_from_box(image, (25, 15, 55, 45), method=None, dilate=0)
    assert rectangle.sum() == 30 * 30
    found = mask_from_box(image, (22, 12, 58, 48), dilate=0)
    truth = np.zeros(image.shape[:2], bool)
    truth[20:40, 30:50] = True
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.9


def test_point_outside_image() -> None:
    with pytest.raises(InputError, match=r"^point must lie inside the image \(0 <= x < 80, 0 <= y < 60\), got \(x, y\) = \(80, 5\)$"):
        mask_from_point(_scene(), (80, 5))


@pytest.mark.parametrize("method", ["region_growing", "grabcut"])
def test_mask_from_point_with_registered_method(method: str) -> None:
    if method not in {m.name for m in methods()}:
        pytest.skip(f"segmentation method {method!r} is not registered yet")
    image = _scene()
    found = mask_from_point(image, (40, 30), method=method, dilate=0)
    truth = np.zeros(image.shape[:2], bool)
    truth[20:40, 30:50] = True
    assert (found & truth).sum() / (found | truth).sum() > 0.8
