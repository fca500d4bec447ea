"""Tests for seglab.classical.region: region_growing and watershed."""

from __future__ import annotations

import numpy as np
import pytest
from classical_helpers import from_unit, iou

import seglab
from seglab.classical.region import region_growing, watershed
from seglab.core.errors import InputError
from seglab.core.registry import get_method, parse_params

QUADRANT_LABELS = np.repeat(np.repeat(np.array([[1, 2], [3, 4]]), 10, axis=0), 10, axis=1)
QUADRANT_SEEDS = [(5, 5), (15, 5), (5, 15), (15, 15)]  # (x, y): TL, TR, BL, BR


def two_disks(dtype: type = np.uint8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two overlapping disks (radius 15, centres 27 px apart) touching at a neck."""
    rows, cols = np.mgrid[:40, :70]
    left = (rows - 20) ** 2 + (cols - 20) ** 2 <= 15**2
    right = (rows - 20) ** 2 + (cols - 47) ** 2 <= 15**2
    rng = np.random.default_rng(1)
    image = np.where(left | right, 0.8, 0.2) + 0.01 * rng.normal(size=left.shape)
    return from_unit(np.clip(image, 0, 1), dtype), left, right


# ---------------------------------------------------------------------------- region growing
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_region_growing_one_seed_per_quadrant(quadrants: np.ndarray, dtype: type) -> None:
    image = from_unit(quadrants, dtype)
    before = image.copy()
    seg = region_growing(image, seeds=QUADRANT_SEEDS, tolerance=20)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)
    np.testing.assert_array_equal(image, before)
    assert seg.meta["seeds_xy"] == [list(p) for p in QUADRANT_SEEDS]


def test_region_growing_read_only_and_strided_images(quadrants: np.ndarray) -> None:
    image = from_unit(quadrants, np.uint8)
    image.flags.writeable = False
    seg = region_growing(image, seeds=QUADRANT_SEEDS, tolerance=20)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)
    wide = np.repeat(from_unit(quadrants, np.uint8), 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(region_growing(wide, seeds=QUADRANT_SEEDS, tolerance=20).labels, QUADRANT_LABELS)


def test_region_growing_colour(rng: np.random.Generator) -> None:
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [200, 200, 30]], dtype=float)
    image = colours[QUADRANT_LABELS - 1] + rng.normal(0, 2, (20, 20, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    seg = region_growing(image, seeds=QUADRANT_SEEDS, tolerance=15)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)


def test_region_growing_tolerance_limits_growth() -> None:
    image = np.tile(np.arange(10, dtype=np.uint8) * 10, (3, 1))  # a ramp, 10 per column
    seg = region_growing(image, seeds=[(0, 0)], tolerance=25)
    np.testing.assert_array_equal(seg.labels, np.tile((np.arange(10) <= 2).astype(int), (3, 1)))


@pytest.mark.parametrize(("tolerance", "columns"), [(20, 3), (19.9, 2), (0, 1), (90, 10), (300.5, 10)])
def test_region_growing_tolerance_is_inclusive_on_uint8(tolerance: float, columns: int) -> None:
    image = np.tile(np.arange(10, dtype=np.uint8) * 10, (3, 1))
    seg = region_growing(image, seeds=[(0, 0)], tolerance=tolerance)
    assert seg.areas.tolist() == [3 * columns]  # |value - seed| <= tolerance, as for float images


@pytest.mark.parametrize(("connectivity", "area"), [(4, 1), (8, 2)])
def test_region_growing_connectivity(connectivity: int, area: int) -> None:
    image = np.zeros((4, 4), np.uint8)
    image[1, 1] = image[2, 2] = 200
    seg = region_growing(image, seeds=[(1, 1)], tolerance=5, connectivity=connectivity)
    assert seg.areas.tolist() == [area]


def test_region_growing_earlier_seed_wins_and_warns() -> None:
    image = np.zeros((8, 8), np.uint8)
    message = r"seeds\[1\] at \(x, y\) = \(5, 5\) lies inside the region grown from seeds\[0\]"
    with pytest.warns(UserWarning, match=message):
        seg = region_growing(image, seeds=[(0, 0), (5, 5)], tolerance=5)
    assert seg.areas.tolist() == [63, 1]
    assert seg.labels[5, 5] == 2


def test_region_growing_unreached_pixels_are_background() -> None:
    image = np.zeros((6, 6), np.uint8)
    image[:, 3:] = 255
    seg = region_growing(image, seeds=[(0, 0)], tolerance=10)
    assert seg.labels[:, :3].tolist() == [[1, 1, 1]] * 6
    assert not seg.labels[:, 3:].any()


def test_region_growing_automatic_seeds(quadrants: np.ndarray) -> None:
    seg = region_growing(quadrants)
    assert len(seg) == 4
    for rows, cols in [(slice(0, 10), slice(0, 10)), (slice(0, 10), slice(10, 20)),
                       (slice(10, 20), slice(0, 10)), (slice(10, 20), slice(10, 20))]:
        assert np.unique(seg.labels[rows, cols]).size == 1
    assert np.unique(seg.labels).tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seeds": [(5, 5), (25, 3)]},
         r"seeds must lie inside the image \(0 <= x < 20, 0 <= y < 20\), got \(x, y\) = \(25, 3\)"),
        ({"seeds": [(5, 5), (5.2, 4.9)]},
         r"seeds must be distinct pixels, got \(x, y\) = \(5, 5\) more than once"),
        ({"seeds": "abc"}, r"seeds must be a list of \(x, y\) pixel coordinates, got 'abc'"),
        ({"connectivity": 5}, r"connectivity must be one of 4, 8, got 5"),
        ({"tolerance": -1}, r"tolerance must be a number >= 0.0, got -1"),
        ({"max_seeds": 0}, r"max_seeds must be an integer >= 1, got 0"),
    ],
)
def test_region_growing_errors(quadrants: np.ndarray, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        region_growing(quadrants, **params)


def test_region_growing_registry(quadrants: np.ndarray) -> None:
    info = get_method("region_growing")
    assert info.kind == "region"
    params = parse_params(info, ["seeds=5,5;15,15", "tolerance=20", "connectivity=4"])
    assert params == {"seeds": [(5, 5), (15, 15)], "tolerance": 20.0, "connectivity": 4}
    seg = seglab.segment(quadrants, "region_growing", **params)
    assert seg.areas.tolist() == [100, 100]
    assert seg.meta["method"] == "region_growing"


# ---------------------------------------------------------------------------- watershed
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_watershed_splits_touching_disks(dtype: type) -> None:
    image, left, right = two_disks(dtype)
    before = image.copy()
    seg = watershed(image)
    assert seg.meta["mode"] == "objects"
    assert len(seg) == 2
    assert not seg.labels[~(left | right)].any()  # background stays 0
    first, second = seg.mask(1), seg.mask(2)
    assert iou(first, left) >= 0.95 and iou(second, right) >= 0.95
    assert (seg.labels[20, 30:37] != 0).all()  # the neck is inside the objects
    np.testing.assert_array_equal(image, before)


def test_watershed_binary_mask_and_dark_objects() -> None:
    _, left, right = two_disks()
    assert len(watershed(left | right)) == 2
    dark = np.where(left | right, 30, 220).astype(np.uint8)  # dark objects, bright background
    seg = watershed(dark)
    assert len(seg) == 2 and not seg.labels[~(left | right)].any()


def test_watershed_objects_marker_count() -> None:
    image, left, right = two_disks()
    seg = watershed(image, mode="objects", markers=1)
    assert len(seg) == 1
    np.testing.assert_array_equal(seg.labels > 0, left | right)


def test_watershed_objects_small_components_dropped() -> None:
    image, left, right = two_disks()
    image[2:5, 60:63] = image[20, 20]  # a 9-pixel speck
    assert len(watershed(image, min_size=64)) == 2
    assert len(watershed(image, min_size=1)) == 3


def test_watershed_gradient_quadrants(quadrants: np.ndarray) -> None:
    seg = watershed(quadrants)
    assert seg.meta["mode"] == "gradient"
    assert len(seg) == 4
    for rows, cols in [(slice(0, 9), slice(0, 9)), (slice(0, 9), slice(11, 20)),
                       (slice(11, 20), slice(0, 9)), (slice(11, 20), slice(11, 20))]:
        assert np.unique(seg.labels[rows, cols]).size == 1
    assert iou(seg.labels == seg.labels[0, 0], QUADRANT_LABELS == 1) >= 0.8


def test_watershed_marker_image_is_renumbered(quadrants: np.ndarray) -> None:
    markers = np.zeros((20, 20), np.int64)
    markers[5, 5], markers[15, 15] = 9, 5
    seg = watershed(quadrants, markers=markers, mode="gradient")
    assert len(seg) == 2
    assert seg.labels[15, 15] == 1 and seg.labels[5, 5] == 2
    assert seg.labels.min() == 1


@pytest.mark.parametrize("compactness", [0.0, 0.01])
def test_watershed_grid_markers(compactness: float, rng: np.random.Generator) -> None:
    image = rng.random((30, 30))
    seg = watershed(image, markers=9, mode="gradient", compactness=compactness)
    assert len(seg) == 9 and seg.areas.min() > 0


def test_watershed_colour_photo_like(rng: np.random.Generator) -> None:
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [200, 200, 30]], dtype=float)
    image = np.clip(colours[QUADRANT_LABELS - 1] + rng.normal(0, 2, (20, 20, 3)), 0, 255).astype(np.uint8)
    seg = watershed(image, mode="gradient")
    assert len(seg) == 4
    assert np.unique(seg.labels[:9, :9]).size == 1


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 5), (6, 5, 3)])
def test_watershed_flat_image_is_one_region(shape: tuple[int, ...]) -> None:
    seg = watershed(np.full(shape, 90, np.uint8))
    assert seg.meta["mode"] == "gradient" and seg.areas.tolist() == [shape[0] * shape[1]]


def test_watershed_no_objects_warns() -> None:
    with pytest.warns(UserWarning, match="watershed found no foreground objects"):
        seg = watershed(np.full((10, 10), 100, np.uint8), mode="objects")
    assert len(seg) == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"markers": np.ones((10, 10), np.int32)},
         r"markers must have shape \(20, 20\) like the image, got \(10, 10\)"),
        ({"markers": np.ones((20, 20))},
         r"markers must be an integer label image, got an array of shape \(20, 20\) and dtype float64"),
        ({"markers": np.full((20, 20), -1)}, r"markers must be non-negative labels \(0 = unmarked\), got -1"),
        ({"markers": np.zeros((20, 20), int)},
         r"markers must contain at least one positive label, got only zeros"),
        ({"markers": 0}, r"markers must be an integer >= 1, got 0"),
        ({"mode": "blobs"}, r"mode must be one of 'auto', 'objects', 'gradient', got 'blobs'"),
        ({"compactness": -1.0}, r"compactness must be a number >= 0.0, got -1.0"),
        ({"h": -2}, r"h must be a number >= 0.0, got -2"),
        ({"sigma": -1}, r"sigma must be a number >= 0.0, got -1"),
        ({"min_size": -1}, r"min_size must be an integer >= 0, got -1"),
    ],
)
def test_watershed_errors(quadrants: np.ndarray, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        watershed(quadrants, **params)


def test_watershed_registry_defaults(quadrants: np.ndarray) -> None:
    info = get_method("watershed")
    assert info.kind == "region"
    assert info.param("mode").choices == ("auto", "objects", "gradient")
    assert parse_params(info, ["markers=12", "compactness=0.5"]) == {"markers": 12, "compactness": 0.5}
    seg = seglab.segment(quadrants, "watershed")
    assert seg.labels.min() == 1 and np.unique(seg.labels).size == len(seg)


def test_watershed_coins() -> None:
    from skimage import data

    coins = data.coins()
    objects = watershed(coins, mode="objects", h=6)
    assert 22 <= len(objects) <= 26  # 24 coins; the bright top-left strip joins one of them
    photo = watershed(coins)
    assert photo.meta["mode"] == "gradient" and len(photo) > 24
