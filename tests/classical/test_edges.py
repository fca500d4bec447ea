"""Edge methods turned into regions: rectangles recovered, edge map kept, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from classical_helpers import from_uint8

import seglab
from seglab.classical._regions import regions_from_edges
from seglab.classical.edges import canny, log, sobel
from seglab.core.errors import InputError
from seglab.core.registry import get_method

METHODS = (sobel, canny, log)
DTYPES = ("uint8", "uint16", "float64")


@pytest.fixture
def rectangles(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """60x80 uint8 image of four flat rectangles (levels 40, 110, 170, 230, noise 3) and their labels."""
    truth = np.zeros((60, 80), np.int32)
    truth[:30, :50], truth[:30, 50:], truth[30:, :30], truth[30:, 30:] = 1, 2, 3, 4
    levels = np.array([0, 40, 110, 170, 230], float)
    image = levels[truth] + rng.normal(0, 3, truth.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), truth


def best_ious(labels: np.ndarray, truth: np.ndarray) -> list[float]:
    ious = []
    for t in range(1, truth.max() + 1):
        target = truth == t
        ious.append(max(
            ((labels == r) & target).sum() / ((labels == r) | target).sum() for r in np.unique(labels)
        ))
    return ious


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_region_per_rectangle(rectangles, method, dtype):
    image, truth = rectangles
    data = from_uint8(image, dtype)
    before = data.copy()
    seg = method(data)
    assert len(seg) == 4
    assert min(best_ious(seg.labels, truth)) >= 0.95
    assert seg.labels.min() == 1  # the regions tile the image
    assert seg.class_ids is None
    edges = seg.meta["edges"]
    assert edges.shape == truth.shape and edges.dtype == bool
    boundary = np.zeros_like(edges)
    boundary[27:33, :] = True
    boundary[:, 47:53] = True
    boundary[:, 27:33] = True
    stray = (edges & ~boundary).mean()  # edges away from the rectangle borders
    assert edges.any() and (stray == 0 if method is not log else stray < 0.02)  # LoG keeps some noise
    assert np.array_equal(data, before)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_colour_input(rectangles, method):
    image, truth = rectangles
    grey = method(image)
    colour = method(np.repeat(image[:, :, None], 3, axis=2))
    assert np.array_equal(grey.labels, colour.labels)
    assert np.array_equal(grey.meta["edges"], colour.meta["edges"])


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_flat_image_is_one_region(method):
    seg = method(np.full((30, 40), 90, np.uint8))
    assert len(seg) == 1 and seg.areas.tolist() == [1200]
    assert not seg.meta["edges"].any()


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_min_size_merges_small_regions(method):
    image = np.full((40, 40), 30, np.uint8)
    image[16:26, 16:26] = 220  # a 10x10 square
    assert len(method(image, min_size=200)) == 1
    small = method(image, min_size=20)
    assert len(small) == 2
    square = np.zeros((40, 40), bool)
    square[16:26, 16:26] = True
    assert max(best_ious(small.labels, square.astype(np.int32))) >= 0.8


def test_sobel_threshold_and_meta(rectangles):
    image, _ = rectangles
    auto = sobel(image)
    assert 0 < auto.meta["threshold"] < 1
    assert not sobel(image, threshold=2.0).meta["edges"].any()  # no step exceeds the full range
    loose = sobel(image, threshold=0.05)
    assert loose.meta["edges"].sum() >= auto.meta["edges"].sum()


def test_canny_thresholds_in_8_bit_units():
    image = np.zeros((20, 20), np.uint8)
    image[:, 10:] = 60  # a step of 60 gives a Sobel response of 240
    assert canny(image, low=100, high=200, sigma=0).meta["edges"].any()
    assert not canny(image, low=100, high=250, sigma=0).meta["edges"].any()
    assert canny(image.astype(np.uint16) * 257, low=100, high=200, sigma=0).meta["edges"].any()


def test_log_threshold_relative_to_max(rectangles):
    image, _ = rectangles
    everything = log(image, threshold=0.0).meta["edges"].sum()
    assert everything > log(image).meta["edges"].sum() > log(image, threshold=0.5).meta["edges"].sum()


def test_regions_from_edges_closes_one_pixel_gaps():
    edges = np.zeros((20, 20), bool)
    edges[:, 10] = True
    edges[7, 10] = False  # a one-pixel gap
    labels = regions_from_edges(edges, min_size=1)
    assert labels.max() == 2
    assert (labels[:, :10] == labels[0, 0]).all() and (labels[:, 11:] == labels[0, 19]).all()
    assert regions_from_edges(edges, min_size=1, gap=0).max() == 1  # without closing the sides touch


def test_regions_from_edges_assigns_edge_pixels_by_grey_level():
    edges = np.zeros((10, 10), bool)
    edges[:, 4] = True  # the edge is drawn on the dark side of the step at column 5
    gray = np.zeros((10, 10))
    gray[:, 5:] = 1.0
    labels = regions_from_edges(edges, min_size=1, gray=gray)
    assert (labels[:, :5] == 1).all() and (labels[:, 5:] == 2).all()


def test_regions_from_edges_all_edges_is_one_region():
    assert (regions_from_edges(np.ones((5, 5), bool), min_size=1) == 1).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda im: sobel(im, threshold=-1), "threshold must be a number >= 0.0, got -1.0"),
        (lambda im: sobel(im, min_size=-1), "min_size must be an integer >= 0, got -1"),
        (lambda im: sobel(im, min_size=2.5), "min_size must be an integer >= 0, got 2.5"),
        (lambda im: canny(im, low=50, high=30), r"high must be a number >= low \(50\), got 30"),
        (lambda im: canny(im, low=-1), "low must be a number >= 0.0, got -1.0"),
        (lambda im: canny(im, sigma=-1), "sigma must be a number >= 0.0, got -1.0"),
        (lambda im: canny(im, high=float("nan")), "high must be a number, got nan"),
        (lambda im: log(im, sigma=0), "sigma must be a number > 0.0, got 0.0"),
        (lambda im: log(im, threshold=1), "threshold must be a number >= 0 and < 1, got 1.0"),
        (lambda im: log(im, threshold=-0.1), "threshold must be a number >= 0.0, got -0.1"),
        (lambda im: log(im[None]), r"image must be a 2D \(H, W\) grey or 3D \(H, W, 3\) colour array, "
         r"got an array of shape \(1, 60, 80\) and dtype uint8"),
    ],
)
def test_errors(rectangles, call, message):
    with pytest.raises(InputError, match=f"^{message}$"):
        call(rectangles[0])


@pytest.mark.parametrize("name", ["sobel", "canny", "log"])
def test_segment_through_registry(rectangles, name):
    image, truth = rectangles
    seg = seglab.segment(image, name, min_size=40)
    assert seg.meta["method"] == name and seg.meta["params"] == {"min_size": 40}
    assert min(best_ious(seg.labels, truth)) >= 0.95
    assert "edges" not in seg.summary()["meta"]  # too big for JSON; kept in Python only
    assert get_method(name).kind == "edges"
