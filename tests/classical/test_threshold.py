"""Threshold methods: exact labels on synthetic images, dtypes, invert, errors, registry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from classical_helpers import from_uint8
from skimage import filters

import seglab
from seglab.classical.threshold import adaptive, multiotsu, otsu, threshold
from seglab.core.errors import InputError
from seglab.core.registry import get_method

DTYPES = ("uint8", "uint16", "float64")


def scale(value: float, dtype: str) -> float:
    """A uint8 grey level in the units of ``dtype``."""
    return {"uint8": value, "uint16": value * 257, "float64": value / 255.0}[dtype]


@pytest.fixture
def quadrant_truth() -> np.ndarray:
    truth = np.zeros((20, 20), np.int32)
    truth[:10, 10:], truth[10:, :10], truth[10:, 10:] = 1, 2, 3
    return truth


@pytest.fixture
def spots(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """64x64 uint8: a left-to-right illumination ramp with 5x5 spots 60 levels above it."""
    ramp = np.tile(np.linspace(20, 120, 64), (64, 1))
    mask = np.zeros((64, 64), bool)
    for r in range(6, 64, 16):
        for c in range(6, 64, 16):
            mask[r : r + 5, c : c + 5] = True
    image = ramp + 60 * mask + rng.normal(0, 1, ramp.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


# ---------------------------------------------------------------- otsu
@pytest.mark.parametrize("dtype", DTYPES)
def test_otsu_finds_disk_exactly(disk_image, dtype):
    image, mask = disk_image
    data = from_uint8(image, dtype)
    before = data.copy()
    seg = otsu(data)
    assert np.array_equal(seg.labels, mask.astype(np.int32))
    assert seg.class_ids.tolist() == [1]
    assert seg.class_names == ("background", "foreground")
    assert seg.meta["threshold"] == pytest.approx(scale(66, dtype), rel=0.01)
    assert np.array_equal(data, before)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_otsu_quadrants(quadrants, dtype):
    seg = otsu(from_uint8(np.rint(quadrants * 255).astype(np.uint8), dtype))
    expected = np.zeros((20, 20), np.int32)
    expected[10:, :] = 1  # 0.6 and 0.9 are above, 0.1 and 0.4 below
    assert np.array_equal(seg.labels, expected)
    assert scale(0.4 * 255, dtype) < seg.meta["threshold"] < scale(0.6 * 255, dtype)


def test_otsu_quadrants_float_thresholds_at_bin_edge(quadrants):
    seg = otsu(quadrants)
    expected = np.zeros((20, 20), np.int32)
    expected[10:, :] = 1
    assert np.array_equal(seg.labels, expected)
    # scikit-image's 256-bin choice, moved from the bin centre to its upper edge
    half_bin = (quadrants.max() - quadrants.min()) / 512
    assert seg.meta["threshold"] == pytest.approx(filters.threshold_otsu(quadrants) + half_bin)


def test_otsu_uint16_keeps_16_bit_levels():
    image = np.zeros((10, 10), np.uint16)
    image[:, 5:] = 3  # only 3 levels apart: lost if squeezed to 8 bits
    seg = otsu(image)
    assert seg.labels[:, 5:].all() and not seg.labels[:, :5].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_otsu_invert_is_complement(disk_image, dtype):
    data = from_uint8(disk_image[0], dtype)
    assert np.array_equal(otsu(data, invert=True).labels, 1 - otsu(data).labels)


def test_otsu_colour_same_as_grey(disk_image):
    image, mask = disk_image
    colour = np.repeat(image[:, :, None], 3, axis=2)
    assert np.array_equal(otsu(colour).labels, mask.astype(np.int32))
    tinted = colour.copy()
    tinted[:, :, 0] = 0  # colour differs per channel, the grey conversion still separates
    assert np.array_equal(otsu(tinted).labels, mask.astype(np.int32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("invert", [False, True])
def test_constant_image_warns_and_has_no_threshold_split(dtype, invert):
    image = from_uint8(np.full((8, 8), 200, np.uint8), dtype)
    with pytest.warns(UserWarning, match=r"image is constant \(every pixel is .*\); otsu finds no threshold"):
        seg = otsu(image, invert=invert)
    assert (seg.labels == int(invert)).all()


def test_otsu_matches_skimage_on_uint8(disk_image):
    image = disk_image[0]
    assert otsu(image).meta["threshold"] == filters.threshold_otsu(image)


# ---------------------------------------------------------------- threshold
@pytest.mark.parametrize("dtype", DTYPES)
def test_fixed_threshold_in_image_units(disk_image, dtype):
    image, mask = disk_image
    data = from_uint8(image, dtype)
    seg = threshold(data, value=scale(127, dtype))
    assert np.array_equal(seg.labels, mask.astype(np.int32))
    assert seg.meta == {"threshold": scale(127, dtype), "kind": "fixed", "invert": False}


def test_fixed_threshold_is_strictly_above():
    image = np.array([[126, 127, 128]], np.uint8)
    assert threshold(image).labels.tolist() == [[0, 0, 1]]
    assert threshold(image, invert=True).labels.tolist() == [[1, 1, 0]]
    assert threshold(image.astype(np.float64), value=127.0).labels.tolist() == [[0, 0, 1]]
    assert threshold(image, value=126.5).labels.tolist() == [[0, 1, 1]]


def test_fixed_threshold_quadrants(quadrants, quadrant_truth):
    seg = threshold(quadrants, value=0.5)
    assert np.array_equal(seg.labels, (quadrant_truth >= 2).astype(np.int32))


def test_fixed_value_outside_range_warns(quadrants):
    message = r"value=127 lies outside the image's range \[.*\] \(dtype float64\), so every pixel is backgr"
    with pytest.warns(UserWarning, match=message):
        seg = threshold(quadrants)
    assert not seg.labels.any()
    with pytest.warns(UserWarning, match="every pixel is foreground"):
        threshold(quadrants, value=-1)


@pytest.mark.parametrize("kind", ["li", "mean"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_automatic_kinds_find_disk(disk_image, kind, dtype):
    image, mask = disk_image
    seg = threshold(from_uint8(image, dtype), kind=kind)
    assert np.array_equal(seg.labels, mask.astype(np.int32))
    assert seg.meta["kind"] == kind


@pytest.mark.parametrize(
    "kind, function",
    [("li", filters.threshold_li), ("yen", filters.threshold_yen),
     ("triangle", filters.threshold_triangle), ("mean", filters.threshold_mean)],
)
@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_automatic_kinds_match_skimage(disk_image, kind, function, dtype):
    data = from_uint8(disk_image[0], dtype)
    seg = threshold(data, kind=kind, value=1e9)  # value is ignored by the automatic kinds
    level = function(data)
    assert seg.meta["threshold"] == pytest.approx(float(level))
    assert np.array_equal(seg.labels, (data > level).astype(np.int32))
    assert np.array_equal(threshold(data, kind=kind, invert=True).labels, 1 - seg.labels)


def test_automatic_kind_on_constant_image_warns():
    with pytest.warns(UserWarning, match="threshold kind='yen' finds no threshold"):
        seg = threshold(np.full((5, 5), 0.3), kind="yen")
    assert not seg.labels.any()


# ---------------------------------------------------------------- multiotsu
@pytest.mark.parametrize("dtype", DTYPES)
def test_multiotsu_quadrants_four_classes(quadrants, quadrant_truth, dtype):
    image = from_uint8(np.rint(quadrants * 255).astype(np.uint8), dtype)
    seg = multiotsu(image, classes=4)
    assert np.array_equal(seg.labels, quadrant_truth)
    assert seg.class_ids.tolist() == [1, 2, 3]
    assert seg.class_names == ("background", "level 1", "level 2", "level 3")
    assert len(seg.meta["thresholds"]) == 3


def test_multiotsu_darkest_class_is_background():
    image = np.array([[10, 10, 120, 120, 240, 240]] * 3, np.uint8)
    seg = multiotsu(image)
    assert seg.labels[0].tolist() == [0, 0, 1, 1, 2, 2]
    assert np.array_equal(seg.class_map(), seg.labels)


def test_multiotsu_two_classes_is_otsu(disk_image):
    image = disk_image[0]
    assert np.array_equal(multiotsu(image, classes=2).labels, otsu(image).labels)


def test_multiotsu_colour_input(quadrants, quadrant_truth):
    grey = np.rint(quadrants * 255).astype(np.uint8)
    assert np.array_equal(multiotsu(np.dstack([grey] * 3), classes=4).labels, quadrant_truth)


# ---------------------------------------------------------------- adaptive
@pytest.mark.parametrize("kind", ["mean", "gaussian"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_finds_spots_under_uneven_light(spots, kind, dtype):
    image, mask = spots
    data = from_uint8(image, dtype)
    before = data.copy()
    seg = adaptive(data, block_size=15, offset=scale(-20, dtype), kind=kind)
    assert np.array_equal(seg.labels, mask.astype(np.int32))
    assert np.array_equal(data, before)
    assert not np.array_equal(otsu(image).labels, mask.astype(np.int32))  # a global threshold fails here


@pytest.mark.parametrize("kind", ["mean", "gaussian"])
@pytest.mark.parametrize("offset", [-3.0, 0.0, 2.5, 7.0])
def test_adaptive_uint8_backend_agrees_with_float_backend(disk_image, kind, offset):
    """cv2.adaptiveThreshold (uint8) and the float path use the same rule and sign of offset.

    They differ only where a pixel is within half a grey level of its threshold, because
    OpenCV rounds the uint8 local mean.
    """
    image = disk_image[0]
    data = image.astype(np.float64)
    fast = adaptive(image, block_size=15, offset=offset, kind=kind).labels
    exact = adaptive(data, block_size=15, offset=offset, kind=kind).labels
    window = (15, 15)
    if kind == "mean":
        local = cv2.boxFilter(data, -1, window, borderType=cv2.BORDER_REPLICATE)
    else:
        local = cv2.GaussianBlur(data, window, 0, borderType=cv2.BORDER_REPLICATE)
    assert np.array_equal(exact, (data > local - offset).astype(np.int32))
    far = np.abs(data - (local - offset)) > 0.5
    assert np.array_equal(fast[far], exact[far])
    assert (fast != exact).mean() < 0.05
    for dtype in ("uint16", "float64"):  # the float path is exact across dtypes
        scaled = adaptive(from_uint8(image, dtype), block_size=15, offset=scale(offset, dtype), kind=kind)
        assert np.array_equal(scaled.labels, exact)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_offset_sign_matches_skimage(disk_image, dtype):
    data = from_uint8(disk_image[0], dtype)
    ours = adaptive(data, block_size=15, offset=scale(4, dtype), kind="mean").labels
    local = filters.threshold_local(
        data.astype(np.float64), 15, method="mean", offset=scale(4, dtype), mode="nearest"
    )
    reference = (data > local).astype(np.int32)
    assert (ours == reference).mean() > 0.97  # uint8 rounds the local mean (see above)
    if dtype != "uint8":
        assert np.array_equal(ours, reference)
    more = adaptive(data, block_size=15, offset=scale(10, dtype), kind="mean").labels
    fewer = adaptive(data, block_size=15, offset=scale(-2, dtype), kind="mean").labels
    assert more.sum() > ours.sum() > fewer.sum()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0.0, 2.5, -1.5])
def test_adaptive_invert_is_complement(disk_image, dtype, offset):
    data = from_uint8(disk_image[0], dtype)
    plain = adaptive(data, block_size=9, offset=scale(offset, dtype)).labels
    inverted = adaptive(data, block_size=9, offset=scale(offset, dtype), invert=True).labels
    assert np.array_equal(inverted, 1 - plain)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_flat_image_is_background(dtype):
    image = from_uint8(np.full((30, 30), 77, np.uint8), dtype)
    assert not adaptive(image, block_size=7, kind="mean").labels.any()
    assert not adaptive(image, block_size=7, kind="gaussian").labels.any()
    assert adaptive(image, block_size=7, offset=scale(1, dtype)).labels.all()


def test_adaptive_colour_same_as_grey(spots):
    image, mask = spots
    colour = np.repeat(image[:, :, None], 3, axis=2)
    assert np.array_equal(adaptive(colour, block_size=15, offset=-20).labels, mask.astype(np.int32))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda im: adaptive(im, block_size=4), "block_size must be an odd integer >= 3, got 4"),
        (lambda im: adaptive(im, block_size=1), "block_size must be an odd integer >= 3, got 1"),
        (lambda im: adaptive(im, block_size=5.0), "block_size must be an odd integer >= 3, got 5.0"),
        (lambda im: adaptive(im, block_size=True), "block_size must be an odd integer >= 3, got True"),
        (lambda im: adaptive(im, offset=float("inf")), "offset must be a number, got inf"),
        (lambda im: adaptive(im, kind="median"), "kind must be one of 'mean', 'gaussian', got 'median'"),
        (lambda im: threshold(im, kind="otsu"),
         "kind must be one of 'fixed', 'li', 'yen', 'triangle', 'mean', got 'otsu'"),
        (lambda im: threshold(im, value=float("nan")), "value must be a number, got nan"),
        (lambda im: threshold(im, value="127"), "value must be a number, got '127'"),
        (lambda im: multiotsu(im, classes=1), "classes must be an integer >= 2 and <= 5, got 1"),
        (lambda im: multiotsu(im, classes=6), "classes must be an integer >= 2 and <= 5, got 6"),
        (lambda im: multiotsu(im, classes=2.5), "classes must be an integer >= 2 and <= 5, got 2.5"),
        (lambda im: multiotsu(im > 100, classes=3),
         "image must have at least 3 distinct grey levels for classes=3, got 2"),
        (lambda im: otsu(im[:, :, None, None]),
         r"image must be a 2D \(H, W\) grey or 3D \(H, W, 3\) colour array"),
        (lambda im: otsu("image.png"), r"image must be an image array \(use seglab.load_image for a file\)"),
        (lambda im: otsu(np.full((3, 3), np.nan)), r"image must be finite \(no NaN or infinity\)"),
    ],
)
def test_errors(disk_image, call, message):
    with pytest.raises(InputError, match=f"^{message}"):
        call(disk_image[0])


# ---------------------------------------------------------------- registry
def test_segment_through_registry(disk_image):
    image, mask = disk_image
    seg = seglab.segment(image, "otsu")
    assert np.array_equal(seg.labels, mask.astype(np.int32))
    assert seg.meta["method"] == "otsu" and "threshold" in seg.meta
    seg = seglab.segment(image, "adaptive", block_size=15, kind="mean")
    assert seg.meta["params"] == {"block_size": 15, "kind": "mean"}
    assert np.array_equal(seglab.segment(image, "multiotsu", classes=2).labels, mask.astype(np.int32))


def test_registry_reads_parameters():
    info = get_method("adaptive")
    assert info.kind == "threshold"
    assert info.param("kind").choices == ("mean", "gaussian")
    assert info.param("block_size").default == 35 and info.param("block_size").type_name == "int"
    assert get_method("threshold").param("kind").choices == ("fixed", "li", "yen", "triangle", "mean")
    assert get_method("threshold").param("value").default == 127
    assert [p.name for p in get_method("otsu").params] == ["invert"]
    message = "parameter 'kind' of method 'adaptive' must be one of 'mean', 'gaussian', got 'box'"
    with pytest.raises(InputError, match=message):
        seglab.segment(np.zeros((5, 5), np.uint8), "adaptive", kind="box")


def test_registry_reads_parameter_docs():
    assert get_method("adaptive").param("offset").doc.startswith("Subtracted from the local mean")
    assert get_method("otsu").param("invert").doc.startswith("Make the pixels at or below")
