"""seglab.objects: properties, filters, hole filling, separation, crops, and the coins check."""

from __future__ import annotations

import numpy as np
import pytest

from seglab import objects
from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation


def blobs_image(dtype=np.uint8) -> np.ndarray:
    """40x50: a 10x10 square, a 15x10 rectangle, a 2x2 speck and a ring touching the border."""
    image = np.zeros((40, 50), dtype=np.float64)
    image[5:15, 5:15] = 1
    image[20:35, 20:30] = 1
    image[3:5, 40:42] = 1
    image[30:40, 40:50] = 1
    image[33:36, 44:47] = 0  # a hole
    if dtype == np.float64:
        return image * 0.8
    return (image * 0.8 * np.iinfo(dtype).max).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_detect_splits_fills_and_filters(dtype):
    image = blobs_image(dtype)
    before = image.copy()
    seg = objects.detect(image, "otsu", min_area=5)
    assert np.array_equal(image, before)
    assert seg.areas.tolist() == [100, 150, 100]  # speck dropped, hole filled
    assert objects.detect(image, "otsu", min_area=5, exclude_border=True).areas.tolist() == [100, 150]
    assert objects.detect(image, "otsu", min_area=0, fill=False).areas.tolist() == [4, 100, 150, 91]
    assert len(objects.detect(image, "otsu", split=False, min_area=0)) == 1


def test_object_table_and_records():
    image = np.zeros((20, 30, 3), np.uint8)
    image[2:8, 3:13] = (200, 100, 50)
    seg = Segmentation(
        np.pad(np.ones((6, 10), np.int32), ((2, 12), (3, 17))),
        class_ids=np.array([1]),
        class_names=("background", "box"),
        scores=np.array([0.5]),
    )
    table = objects.object_table(seg, image)
    assert [table[k][0] for k in ("x0", "y0", "x1", "y1", "area")] == [3, 2, 13, 8, 60]
    assert (table["centroid_row"][0], table["centroid_col"][0]) == (4.5, 7.5)
    assert table["solidity"][0] == 1.0
    assert [table[k][0] for k in ("mean_r", "mean_g", "mean_b")] == [200, 100, 50]
    [record] = objects.object_records(seg, image)
    assert record["box_xyxy"] == [3, 2, 13, 8]
    assert record["class_name"] == "box" and record["score"] == 0.5
    assert record["mean_color"] == [200.0, 100.0, 50.0]
    assert 0.8 < record["eccentricity"] < 0.85


def test_filter_by_class_and_area():
    seg = Segmentation(
        np.array([[1, 2, 2], [3, 3, 3]]), class_ids=np.array([1, 2, 1]), class_names=("bg", "a", "b")
    )
    assert objects.filter_objects(seg, classes="a").areas.tolist() == [1, 3]
    assert objects.filter_objects(seg, classes=[2]).areas.tolist() == [2]
    assert objects.filter_objects(seg, min_area=2, max_area=2).areas.tolist() == [2]
    with pytest.raises(InputError, match="class 'c' must be one of bg, a, b"):
        objects.filter_objects(seg, classes="c")
    with pytest.raises(InputError, match="min_area must be an integer >= 0, got -1"):
        objects.filter_objects(seg, min_area=-1)
    with pytest.raises(InputError, match="classes can only filter a segmentation with class_ids"):
        objects.filter_objects(Segmentation(seg.labels), classes="a")


def test_touches_border():
    seg = Segmentation(np.pad(np.array([[1, 0, 2]]), ((1, 1), (0, 1))))
    assert objects.touches_border(seg).tolist() == [True, False]


def test_separate_touching_disks():
    rows, cols = np.mgrid[:60, :90]
    merged = ((rows - 30) ** 2 + (cols - 28) ** 2 <= 18**2) | ((rows - 30) ** 2 + (cols - 60) ** 2 <= 18**2)
    seg = Segmentation.from_mask(merged, class_ids=np.array([1]), class_names=("bg", "cell"))
    parts = objects.separate_touching(seg, min_distance=10)
    assert len(parts) == 2
    assert parts.class_ids.tolist() == [1, 1]
    left = (rows - 30) ** 2 + (cols - 28) ** 2 <= 18**2
    iou = (left & (parts.labels == parts.labels[30, 20])).sum() / (
        left | (parts.labels == parts.labels[30, 20])
    ).sum()
    assert iou > 0.9
    assert objects.separate_touching(Segmentation.from_mask(left), min_distance=10).areas.tolist() == [
        left.sum()
    ]


def test_crops_with_padding_and_files(tmp_path):
    image = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30)
    before = image.copy()
    seg = Segmentation(np.pad(np.ones((4, 5), np.int32), ((1, 15), (25, 0))))
    [crop] = objects.crop_objects(image, seg, padding=3)
    assert crop.shape == (8, 8)  # clipped at the top and the right
    np.testing.assert_array_equal(crop, image[0:8, 22:30])
    crop[:] = 0
    assert np.array_equal(image, before)
    [masked] = objects.crop_objects(image, seg, padding=1, mask_background=True)
    assert masked[0, 0] == 0 and masked[1, 1] == image[1, 25]
    [path] = objects.save_crops(image, seg, tmp_path / "crops", padding=2)
    assert path.name == "0001.png" and path.is_file()
    with pytest.raises(
        InputError, match=r"image must have shape \(20, 30\) like the segmentation, got \(5, 5\)"
    ):
        objects.crop_objects(np.zeros((5, 5)), seg)


def test_coins_gives_its_24_coins():
    from skimage import data

    seg = objects.detect(data.coins(), "adaptive", block_size=151, offset=-15, min_area=300)
    assert len(seg) == 24
    rows = np.sort(seg.centroids[:, 0]).reshape(4, 6)  # four rows of six coins
    assert (rows.max(axis=1) - rows.min(axis=1)).max() < 20
    assert 1000 < seg.areas.min() and seg.areas.max() < 3500
