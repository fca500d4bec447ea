"""Chan-Vese and morphological snakes on a synthetic disk: IoU floors, phase convention, errors."""

from __future__ import annotations

import numpy as np
import pytest
from classical_helpers import from_uint8, iou

from seglab.classical.contour import chan_vese, morph_chan_vese, morph_geodesic
from seglab.core.errors import InputError
from seglab.core.registry import get_method


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
@pytest.mark.parametrize(
    ("function", "params"),
    [
        (chan_vese, {"max_num_iter": 50}),
        (morph_chan_vese, {"iterations": 50}),
        (morph_geodesic, {"iterations": 100}),
    ],
)
def test_disk(disk_image: tuple[np.ndarray, np.ndarray], dtype: type, function, params: dict) -> None:
    image, disk = disk_image
    image = from_uint8(image, dtype)
    before = image.copy()
    seg = function(image, **params)
    assert iou(seg.labels == 1, disk) >= 0.95
    assert seg.class_names == ("background", "foreground")
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize(
    ("function", "params"), [(chan_vese, {"max_num_iter": 50}), (morph_chan_vese, {"iterations": 50})]
)
def test_label_one_is_the_brighter_phase(
    disk_image: tuple[np.ndarray, np.ndarray], function, params: dict
) -> None:
    image, disk = disk_image
    seg = function(255 - image, **params)
    assert iou(seg.labels == 1, ~disk) >= 0.95


def test_geodesic_grows_from_a_small_box(disk_image: tuple[np.ndarray, np.ndarray]) -> None:
    image, disk = disk_image
    rgb = np.stack([image] * 3, axis=2)
    seg = morph_geodesic(rgb, box=(25, 27, 35, 37), balloon=1.0, iterations=100)
    assert iou(seg.labels == 1, disk) >= 0.95


@pytest.mark.parametrize("name", ["chan_vese", "morph_chan_vese", "morph_geodesic"])
def test_registered_as_contour(name: str) -> None:
    assert get_method(name).kind == "contour"


@pytest.mark.parametrize(
    ("function", "params", "match"),
    [
        (chan_vese, {"mu": -1.0}, r"mu must be a number >= 0.0, got -1.0"),
        (chan_vese, {"max_num_iter": 0}, r"max_num_iter must be an integer >= 1, got 0"),
        (chan_vese, {"dt": 0.0}, r"dt must be a number > 0.0, got 0.0"),
        (morph_chan_vese, {"iterations": 0}, r"iterations must be an integer >= 1, got 0"),
        (morph_chan_vese, {"smoothing": -1}, r"smoothing must be an integer >= 0, got -1"),
        (
            morph_geodesic,
            {"box": (100, 100, 120, 120)},
            r"box must overlap the image of width 64 and height 64",
        ),
        (morph_geodesic, {"alpha": 0.0}, r"alpha must be a number > 0.0, got 0.0"),
        (morph_geodesic, {"threshold": -0.5}, r"threshold must be a number >= 0.0, got -0.5"),
    ],
)
def test_errors(disk_image: tuple[np.ndarray, np.ndarray], function, params: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        function(disk_image[0], **params)


def test_geodesic_tiny_image_without_box() -> None:
    with pytest.raises(InputError, match=r"image must be larger than 4x4 without a box, got 4x4"):
        morph_geodesic(np.zeros((4, 4)))
