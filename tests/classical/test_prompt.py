"""prompt: clicks to one object on synthetic scenes with known answers, previous masks, every error."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from classical_helpers import from_uint8, iou

import seglab
from seglab.classical.prompt import prompt
from seglab.core.errors import InputError
from seglab.core.registry import get_method, parse_params


def _scene(rng: np.random.Generator, size: tuple[int, int] = (90, 120)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey-green textured background, a red square A and, touching it on the right, a square B
    of nearly the same red (one colour model cannot tell them apart)."""
    height, width = size
    image = np.empty((height, width, 3), np.float64)
    image[:] = (90, 120, 80)
    a = np.zeros(size, bool)
    b = np.zeros(size, bool)
    a[25:65, 20:60] = True
    b[25:65, 60:100] = True
    image[a] = (200, 50, 50)
    image[b] = (192, 58, 52)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), a, b


def test_one_click_gives_the_object(rng: np.random.Generator) -> None:
    image = np.empty((90, 120, 3), np.float64)
    image[:] = (90, 120, 80)
    rows, cols = np.mgrid[:90, :120]
    ellipse = ((rows - 45) / 25) ** 2 + ((cols - 60) / 40) ** 2 <= 1
    image[ellipse] = (60, 60, 200)
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    seg = prompt(image, points=[(60, 45, 1)])
    assert iou(seg.labels == 1, ellipse) >= 0.97
    # the trivial answer, a disc around the click, is far off
    disc = (rows - 45) ** 2 + (cols - 60) ** 2 <= 15**2
    assert iou(disc, ellipse) < 0.5
    assert seg.class_names == ("background", "foreground") and seg.class_ids.tolist() == [1]
    assert set(np.unique(seg.labels)) == {0, 1}


def test_a_negative_click_removes_a_touching_object(rng: np.random.Generator) -> None:
    image, a, b = _scene(rng)
    both = prompt(image, points=[(40, 45, 1)]).labels == 1
    assert iou(both, a | b) >= 0.95  # without the negative click the near-identical B comes along
    first = prompt(image, points=[(40, 45, 1), (80, 45, 0)]).labels == 1
    assert iou(first, a) >= 0.95
    # and the same through `previous`, as the annotator sends the next click
    again = prompt(image, points=[(40, 45, 1), (80, 45, 0)], previous=both).labels == 1
    assert iou(again, a) >= 0.95


def test_positive_clicks_on_two_objects_give_both(rng: np.random.Generator) -> None:
    image = np.full((80, 160, 3), (90, 120, 80), np.float64)
    left = np.zeros((80, 160), bool)
    right = np.zeros((80, 160), bool)
    left[20:60, 10:50] = True
    right[20:60, 110:150] = True
    image[left | right] = (220, 200, 40)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    one = prompt(image, points=[(30, 40, 1)]).labels == 1
    assert iou(one, left) >= 0.95  # star convexity: the region is connected to its click
    two = prompt(image, points=[(30, 40, 1), (130, 40, 1)]).labels == 1
    assert iou(two, left | right) >= 0.95


def test_a_box_alone_on_a_large_image_cuts_coarse_then_fine(rng: np.random.Generator) -> None:
    image = np.clip(rng.normal(70, 12, (300, 360, 3)), 0, 255).astype(np.uint8)
    disk = np.zeros((300, 360), np.uint8)
    cv2.circle(disk, (170, 150), 90, 1, -1)
    image[disk > 0] = np.clip(rng.normal(190, 12, (int(disk.sum()), 3)), 0, 255).astype(np.uint8)
    box = (70, 50, 272, 252)
    fast, every_round_fine = prompt(image, box=box), prompt(image, box=box, coarse_side=None)
    assert iou(fast.labels == 1, disk > 0) >= 0.97
    assert fast.meta["coarse_scale"] == round(160 / 234, 6)  # the box + 16 px margin is 234 px wide and every_round_fine.meta["coarse_scale"] is None
    assert iou(fast.labels == 1, every_round_fine.labels == 1) >= 0.98  # the last cut sets the boundary


def test_a_box_filling_the_image_learns_the_background_from_its_band(rng: np.random.Generator) -> None:
    # sky above the box, ground everywhere inside it, a purple disc on the ground: the outside
    # holds no ground colour, so a background model from the outside alone calls the ground object
    image = np.empty((90, 120, 3), np.float64)
    image[:] = (150, 110, 70)
    image[:12] = (120, 170, 230)
    disk = np.zeros((90, 120), np.uint8)
    cv2.circle(disk, (60, 52), 26, 1, -1)
    image[disk > 0] = (140, 40, 160)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    box = (0, 10, 120, 90)  # touches the left, right and bottom of the image
    found = prompt(image, box=box).labels == 1
    assert iou(found, disk > 0) >= 0.95
    whole_box_start = prompt(image, box=box, box_band=0.0).labels == 1
    assert iou(whole_box_start, disk > 0) < 0.5
    filled = np.zeros((90, 120), bool)
    filled[10:, :] = True
    assert iou(filled, disk > 0) < 0.3  # the trivial answer


def test_box_alone_and_box_with_clicks(disk_image: tuple[np.ndarray, np.ndarray]) -> None:
    image, disk = disk_image
    seg = prompt(image, box=(8, 10, 52, 54))
    assert iou(seg.labels == 1, disk) >= 0.95
    assert seg.meta["crop"] == [0, 0, 64, 64]  # box + margin 16 covers the image
    seg = prompt(image, box=(8, 10, 52, 54), points=[(30, 32, 1)])
    assert iou(seg.labels == 1, disk) >= 0.95


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_dtypes_grey_and_input_unchanged(disk_image: tuple[np.ndarray, np.ndarray], dtype: type) -> None:
    image, disk = disk_image
    image = from_uint8(image, dtype)
    before = image.copy()
    seg = prompt(image, points=[(30, 32, 1)])
    assert iou(seg.labels == 1, disk) >= 0.95
    np.testing.assert_array_equal(image, before)


def test_large_image_works_shrunk_and_snaps_back(rng: np.random.Generator) -> None:
    image, a, b = _scene(rng, size=(90, 120))
    big = np.kron(image, np.ones((8, 8, 1), np.uint8))  # 720 x 960
    big_a = np.kron(a, np.ones((8, 8), bool))
    seg = prompt(big, points=[(320, 360, 1), (640, 360, 0)], max_side=240)
    assert seg.meta["scale"] == 0.25
    assert iou(seg.labels == 1, big_a) >= 0.97
    assert seg.labels[360, 320] == 1 and seg.labels[360, 640] == 0


def test_previous_as_nested_lists_and_through_the_registry(disk_image: tuple[np.ndarray, np.ndarray]) -> None:
    image, disk = disk_image
    seg = seglab.segment(image, "prompt", points=[[30, 32, 1]], previous=disk.astype(int).tolist())
    assert iou(seg.labels == 1, disk) >= 0.95
    assert get_method("prompt").kind == "interactive"
    params = parse_params(get_method("prompt"), ["points=30,32,1;5,5,0", "box=8,10,52,54"])
    assert params == {"points": [(30, 32, 1), (5, 5, 0)], "box": (8, 10, 52, 54)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"prompt must be given at least one positive click \(x, y, 1\) or a box, got neither"),
        ({"points": [(5, 5, 0)]}, "got only negative clicks"),
        ({"points": [(5, 5, 2)]}, "points labels must be 1 \\(object\\) or 0 \\(background\\), got 2"),
        ({"points": [(5, 5)]}, r"points must be a list of \(x, y, label\) clicks .* got an array of shape \(1, 2\)"),
        ({"points": [(64, 5, 1)]}, r"points must lie inside the image \(0 <= x < 64, 0 <= y < 64\), got \(x, y\) = \(64, 5\)"),
        ({"points": "here"}, "points must be a list of \\(x, y, label\\) clicks, got 'here'"),
        ({"points": [(5, 5, 1)], "previous": np.zeros((10, 10), bool)},
         r"previous must have shape \(64, 64\) like the image, got \(10, 10\)"),
        ({"points": [(5, 5, 1)], "iterations": 0}, "iterations"),
        ({"points": [(5, 5, 1)], "smoothness": -1.0}, "smoothness"),
        ({"box": (70, 70, 80, 80)}, "box must overlap the image"),
        ({"box": (8, 10, 52, 54), "box_band": 0.6}, r"box_band must be a number >= 0.0 and <= 0.45, got 0.6"),
    ],
)
def test_errors(disk_image: tuple[np.ndarray, np.ndarray], kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        prompt(disk_image[0], **kwargs)
