"""Tests for seglab.classical.cluster: kmeans and meanshift."""

from __future__ import annotations

import numpy as np
import pytest
from classical_helpers import from_unit

import seglab
from seglab.classical.cluster import kmeans, meanshift
from seglab.core.errors import InputError
from seglab.core.registry import get_method

QUADRANT_LABELS = np.repeat(np.repeat(np.array([[1, 2], [3, 4]]), 10, axis=0), 10, axis=1)
# ordered dark to light in CIE Lab
COLOURS = np.array([[30, 30, 200], [200, 30, 30], [30, 200, 30], [230, 230, 60]], dtype=float)


def colour_patches(rng: np.random.Generator, noise: float = 2.0) -> np.ndarray:
    image = COLOURS[QUADRANT_LABELS - 1] + rng.normal(0, noise, (20, 20, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- k-means
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_kmeans_quadrants_exact(quadrants: np.ndarray, dtype: type) -> None:
    image = from_unit(quadrants, dtype)
    before = image.copy()
    seg = kmeans(image, k=4)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)  # ordered darkest first
    assert seg.class_ids.tolist() == [1, 2, 3, 4]
    lightness = [c[0] for c in seg.meta["centers_lab"]]
    assert lightness == sorted(lightness) and len(seg.meta["centers_lab"][0]) == 1
    np.testing.assert_array_equal(image, before)


def test_kmeans_colour_exact(rng: np.random.Generator) -> None:
    image = colour_patches(rng)
    seg = kmeans(image, k=4, sample=100)  # fit on a sample, assign every pixel
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)
    assert len(seg.meta["centers_lab"][0]) == 3


def test_kmeans_is_deterministic(rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    first = kmeans(image, k=5, sample=300, seed=3)
    assert first == kmeans(image, k=5, sample=300, seed=3)
    assert len(first) == 5


def test_kmeans_regions_may_be_disconnected() -> None:
    image = np.zeros((10, 10), np.uint8)
    image[:, ::2] = 200  # stripes: two clusters, five components each
    seg = kmeans(image, k=2)
    assert len(seg) == 2 and len(seg.split_connected()) == 10


def test_kmeans_position_weight_splits_flat_image() -> None:
    image = np.full((10, 20), 128, np.uint8)
    with pytest.warns(UserWarning, match="k-means found only 1 non-empty clusters of k=2"):
        flat = kmeans(image, k=2)
    assert len(flat) == 1 and (flat.labels == 1).all()
    seg = kmeans(image, k=2, position_weight=1.0)
    assert len(seg) == 2
    np.testing.assert_array_equal(np.unique(seg.labels[:, :10]).size + np.unique(seg.labels[:, 10:]).size, 2)
    assert seg.labels[0, 0] != seg.labels[0, 19]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 1}, r"k must be an integer >= 2, got 1"),
        ({"k": 2.5}, r"k must be an integer >= 2, got 2.5"),
        ({"sample": 2}, r"sample must be an integer >= 4, got 2"),
        ({"position_weight": -0.5}, r"position_weight must be a number >= 0.0, got -0.5"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
    ],
)
def test_kmeans_errors(quadrants: np.ndarray, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        kmeans(quadrants, **params)


def test_kmeans_more_clusters_than_pixels() -> None:
    with pytest.raises(InputError, match=r"k must be at most the number of pixels 4, got 5"):
        kmeans(np.zeros((2, 2)), k=5)


# ---------------------------------------------------------------------------- mean shift
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_meanshift_one_region_per_patch(dtype: type) -> None:
    image = from_unit(COLOURS[QUADRANT_LABELS - 1] / 255.0, dtype)
    before = image.copy()
    seg = meanshift(image)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)  # raster order of first pixel
    np.testing.assert_array_equal(image, before)


def test_meanshift_noisy_patches(rng: np.random.Generator) -> None:
    seg = meanshift(colour_patches(rng, noise=3.0))
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)


def test_meanshift_grey(quadrants: np.ndarray) -> None:
    seg = meanshift(quadrants, min_size=20)
    np.testing.assert_array_equal(seg.labels, QUADRANT_LABELS)


def test_meanshift_small_regions_merge_into_most_similar_neighbour() -> None:
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 15:] = (200, 200, 200)
    image[8:11, 12:15] = (60, 60, 60)  # a 9-pixel speck in the black half, closer to black
    kept = meanshift(image, min_size=1)
    assert len(kept) == 3 and sorted(kept.areas.tolist()) == [9, 291, 300]
    merged = meanshift(image, min_size=50)
    assert merged.areas.tolist() == [300, 300]
    assert (merged.labels[8:11, 12:15] == merged.labels[0, 0]).all()


def test_meanshift_tiny_image_keeps_its_only_region() -> None:
    seg = meanshift(np.zeros((3, 3), np.uint8), min_size=50)
    assert seg.areas.tolist() == [9]


def test_meanshift_at_half_scale_finds_the_same_regions_as_full(rng: np.random.Generator) -> None:
    truth = np.repeat(np.repeat(np.array([[1, 2], [3, 4]]), 64, axis=0), 64, axis=1)
    image = np.clip(COLOURS[truth - 1] + rng.normal(0, 3.0, (128, 128, 3)), 0, 255).astype(np.uint8)
    half, full = meanshift(image), meanshift(image, scale=1.0)
    assert half.meta["scale"] == 0.5 and full.meta["scale"] == 1.0
    np.testing.assert_array_equal(full.labels, truth)
    np.testing.assert_array_equal(half.labels, truth)  # the quadrant edges fall on even pixels


def test_meanshift_half_scale_min_size_counts_full_size_pixels() -> None:
    image = np.zeros((128, 128, 3), np.uint8)
    image[:, 64:] = 200
    image[20:28, 20:28] = 90  # 64 full-size pixels, 16 at half scale
    assert len(meanshift(image, min_size=64)) == 3
    assert len(meanshift(image, min_size=65)) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scale": 0}, r"scale must be a number > 0.0 and <= 1.0, got 0"),
        ({"scale": 1.5}, r"scale must be a number > 0.0 and <= 1.0, got 1.5"),
        ({"spatial_radius": 0}, r"spatial_radius must be a number > 0.0, got 0"),
        ({"color_radius": -1.0}, r"color_radius must be a number > 0.0, got -1.0"),
        ({"min_size": 0}, r"min_size must be an integer >= 1, got 0"),
    ],
)
def test_meanshift_errors(quadrants: np.ndarray, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        meanshift(quadrants, **params)


# ---------------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", ["kmeans", "meanshift"])
def test_cluster_methods_registered_with_defaults(name: str, rng: np.random.Generator) -> None:
    assert get_method(name).kind == "cluster"
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    seg = seglab.segment(image, name)
    assert seg.meta["method"] == name
    assert seg.labels.min() == 1
    np.testing.assert_array_equal(np.unique(seg.labels), np.arange(1, len(seg) + 1))
