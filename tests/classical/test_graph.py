"""Felzenszwalb, SLIC and quickshift: exact regions on flat quadrants, label conventions, errors."""

from __future__ import annotations

import numpy as np
import pytest
from classical_helpers import from_unit

import seglab
from seglab.classical.graph import felzenszwalb, quickshift, slic
from seglab.core.errors import InputError
from seglab.core.registry import get_method

BACKENDS = ["opencv", "skimage"]


@pytest.fixture
def big_quadrants(rng: np.random.Generator) -> np.ndarray:
    """60x60 float image of four 30x30 quadrants at 0.1, 0.4, 0.6, 0.9 plus 0.01 noise."""
    image = np.zeros((60, 60))
    image[:30, :30], image[:30, 30:], image[30:, :30], image[30:, 30:] = 0.1, 0.4, 0.6, 0.9
    return np.clip(image + 0.01 * rng.normal(size=image.shape), 0, 1)


def _quadrant_ids(size: int) -> np.ndarray:
    half = size // 2
    ids = np.zeros((size, size), int)
    ids[:half, half:], ids[half:, :half], ids[half:, half:] = 1, 2, 3
    return ids


def _assert_inside_quadrants(labels: np.ndarray) -> None:
    """Every region lies inside one quadrant."""
    quadrant = _quadrant_ids(labels.shape[0])
    for region in np.unique(labels):
        assert np.unique(quadrant[labels == region]).size == 1, f"region {region} crosses a quadrant boundary"


def _assert_quadrant_labels(labels: np.ndarray) -> None:
    """Exactly four regions, one per quadrant, numbered 1..4 in raster order of the quadrants."""
    half = labels.shape[0] // 2
    assert np.unique(labels).tolist() == [1, 2, 3, 4]
    for value, (rows, cols) in enumerate(
        [
            (slice(None, half), slice(None, half)),
            (slice(None, half), slice(half, None)),
            (slice(half, None), slice(None, half)),
            (slice(half, None), slice(half, None)),
        ],
        start=1,
    ):
        assert (labels[rows, cols] == value).all()


# ---------------------------------------------------------------------------- felzenszwalb
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_felzenszwalb_quadrants_exact(quadrants: np.ndarray, dtype: type, backend: str) -> None:
    image = from_unit(quadrants, dtype)
    before = image.copy()
    seg = felzenszwalb(image, scale=100, sigma=0, min_size=10, backend=backend)
    _assert_quadrant_labels(seg.labels)
    assert seg.labels.dtype == np.int32
    assert seg.meta["backend"] == backend
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_felzenszwalb_fine_scale_stays_inside_quadrants(big_quadrants: np.ndarray, backend: str) -> None:
    seg = felzenszwalb(big_quadrants, scale=5, sigma=0, min_size=1, backend=backend)
    assert len(seg) > 4
    _assert_inside_quadrants(seg.labels)
    assert np.unique(seg.labels).tolist() == list(range(1, len(seg) + 1))


def test_felzenszwalb_colour_and_auto_backend(big_quadrants: np.ndarray) -> None:
    rgb = np.stack([big_quadrants, big_quadrants[::-1], big_quadrants[:, ::-1]], axis=2)
    seg = felzenszwalb(rgb, sigma=0, min_size=20)
    assert seg.meta["backend"] == "opencv"
    assert len(seg) == 4  # each channel splits the image in two differently: 4 cells
    _assert_inside_quadrants(seg.labels)


def test_felzenszwalb_min_size_merges_small_regions() -> None:
    image = np.zeros((40, 40), np.uint8)
    image[:, 20:] = 200
    image[5:8, 5:8] = 100  # a 9-pixel speck
    assert len(felzenszwalb(image, sigma=0, min_size=5)) == 3
    assert len(felzenszwalb(image, sigma=0, min_size=50)) == 2


# ---------------------------------------------------------------------------- slic
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_slic_quadrants_exact(quadrants: np.ndarray, dtype: type, backend: str) -> None:
    image = from_unit(quadrants, dtype)
    before = image.copy()
    seg = slic(image, n_segments=4, backend=backend)
    _assert_quadrant_labels(seg.labels)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_segments", [16, 36])
def test_slic_superpixels_stay_inside_quadrants(
    big_quadrants: np.ndarray, backend: str, n_segments: int
) -> None:
    seg = slic(big_quadrants, n_segments=n_segments, backend=backend)
    assert len(seg) == n_segments
    _assert_inside_quadrants(seg.labels)
    assert seg.labels.min() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_slic_colour_image(big_quadrants: np.ndarray, backend: str) -> None:
    rgb = np.stack([big_quadrants, big_quadrants, 1 - big_quadrants], axis=2)
    seg = slic(rgb, n_segments=16, sigma=0.5, backend=backend)
    assert len(seg) == 16
    _assert_inside_quadrants(seg.labels)


def test_slic_count_follows_n_segments(rng: np.random.Generator) -> None:
    image = 0.5 + 0.01 * rng.normal(size=(64, 64, 3))  # flat: the superpixels follow the seed grid
    assert [len(slic(image, n_segments=n)) for n in (16, 64)] == [16, 64]


# ---------------------------------------------------------------------------- quickshift
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_quickshift_quadrants(big_quadrants: np.ndarray, dtype: type) -> None:
    image = from_unit(big_quadrants, dtype)
    before = image.copy()
    seg = quickshift(image, kernel_size=5, max_dist=20)
    _assert_quadrant_labels(seg.labels)
    np.testing.assert_array_equal(image, before)


def test_quickshift_small_max_dist_gives_more_regions_inside_quadrants(big_quadrants: np.ndarray) -> None:
    seg = quickshift(big_quadrants, kernel_size=3, max_dist=6)
    assert len(seg) >= 4
    _assert_inside_quadrants(seg.labels)
    assert quickshift(big_quadrants, kernel_size=3, max_dist=6).labels.tolist() == seg.labels.tolist()


# ---------------------------------------------------------------------------- registry
@pytest.mark.parametrize("method", ["felzenszwalb", "slic", "quickshift"])
def test_registered_as_graph(method: str, big_quadrants: np.ndarray) -> None:
    assert get_method(method).kind == "graph"
    seg = seglab.segment(big_quadrants, method)
    assert seg.meta["method"] == method
    assert seg.labels.min() == 1
    assert np.unique(seg.labels).size == len(seg)


def test_backend_parameter_is_parsed_from_the_command_line() -> None:
    from seglab.core.registry import parse_params

    params = parse_params(get_method("slic"), ["backend=skimage", "n_segments=10"])
    assert params == {"backend": "skimage", "n_segments": 10}


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("function", "params", "match"),
    [
        (felzenszwalb, {"scale": 0}, r"scale must be a number > 0.0, got 0"),
        (felzenszwalb, {"sigma": -1.0}, r"sigma must be a number >= 0.0, got -1.0"),
        (felzenszwalb, {"min_size": 0}, r"min_size must be an integer >= 1, got 0"),
        (
            felzenszwalb,
            {"backend": "cuda"},
            r"backend must be one of 'auto', 'opencv', 'skimage', got 'cuda'",
        ),
        (slic, {"n_segments": 0}, r"n_segments must be an integer >= 1 and <= 400, got 0"),
        (slic, {"n_segments": 401}, r"n_segments must be an integer >= 1 and <= 400, got 401"),
        (slic, {"compactness": 0.0}, r"compactness must be a number > 0.0, got 0.0"),
        (slic, {"max_num_iter": 0}, r"max_num_iter must be an integer >= 1, got 0"),
        (slic, {"min_size_factor": 2.0}, r"min_size_factor must be a number >= 0.0 and <= 1.0, got 2.0"),
        (quickshift, {"kernel_size": 0}, r"kernel_size must be a number > 0.0, got 0"),
        (quickshift, {"max_dist": -1}, r"max_dist must be a number > 0.0, got -1"),
        (quickshift, {"ratio": 1.5}, r"ratio must be a number >= 0.0 and <= 1.0, got 1.5"),
    ],
)
def test_bad_parameters(quadrants: np.ndarray, function, params: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        function(quadrants, **params)


@pytest.mark.parametrize("function", [felzenszwalb, slic, quickshift])
def test_bad_image(function) -> None:
    with pytest.raises(InputError, match=r"image must be a 2D \(H, W\) grey or 3D \(H, W, 3\) colour array"):
        function(np.zeros((4, 4, 2)))
