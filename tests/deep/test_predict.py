"""Prediction: tiling and blending, TTA, the registry method."""

from __future__ import annotations

import numpy as np
import pytest
from deep_helpers import disk_pairs

import seglab
from seglab.core.errors import InputError
from seglab.deep.predict import predict_probabilities, segmentation_from_probabilities, tile_starts


def pointwise_runner(batch):
    """Logits that depend on each pixel only, so tiled and whole predictions must agree."""
    return np.concatenate([-batch[:, :1] * 3, batch[:, :1] * 3 + 0.1], axis=1)


def test_tile_starts_cover_flush():
    assert tile_starts(100, 64, 48) == [0, 36]
    assert tile_starts(50, 64, 48) == [0]
    assert tile_starts(128, 64, 48) == [0, 48, 64]


@pytest.mark.parametrize("shape", [(37, 53), (200, 130), (64, 64)])
@pytest.mark.parametrize("tta", [False, True])
def test_tiled_equals_whole_for_pointwise_model(shape, tta, rng):
    data = rng.normal(size=(1, *shape)).astype(np.float32)
    whole = predict_probabilities(data, pointwise_runner, 2, tile_size=512, overlap=0, tta=tta)
    tiled = predict_probabilities(data, pointwise_runner, 2, tile_size=64, overlap=16, tta=tta, batch_size=3)
    assert whole.shape == (2, *shape) and whole.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    np.testing.assert_allclose(whole.sum(0), 1, atol=1e-6)


def test_segmentation_one_region_per_class_present():
    probs = np.zeros((4, 3, 3), np.float32)
    probs[0] = 1
    probs[:, 0, 0] = [0, 0, 0, 1]
    probs[:, 2, 2] = [0, 1, 0, 0]
    seg = segmentation_from_probabilities(probs, ("bg", "a", "b", "c"))
    assert seg.class_ids.tolist() == [1, 3]
    assert seg.labels[0, 0] == 2 and seg.labels[2, 2] == 1 and seg.labels[1, 1] == 0
    assert seg.class_map()[0, 0] == 3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_segment_with_model_finds_disk(trained, dtype):
    image, mask = disk_pairs(1, size=96, seed=5)[0]
    if dtype == np.uint16:
        image = image.astype(np.uint16) * 257
    elif dtype == np.float64:
        image = image / 255.0
    before = image.copy()
    seg = seglab.segment(image, "model", model=str(trained / "best.pt"), tile_size=64, overlap=16)
    np.testing.assert_array_equal(image, before)
    assert seg.class_names == ("background", "disk")
    assert seg.probabilities.shape == (2, 96, 96) and seg.probabilities.dtype == np.float32
    iou = np.logical_and(seg.class_map() == 1, mask).sum() / np.logical_or(seg.class_map() == 1, mask).sum()
    assert iou > 0.7


def test_tta_and_colour_input(trained):
    image, _ = disk_pairs(1, size=64, seed=3)[0]
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    plain = seglab.segment(image, "model", model=str(trained / "best.pt"))
    colour = seglab.segment(rgb, "model", model=str(trained / "best.pt"), tta=True)
    assert np.mean(plain.class_map() == colour.class_map()) > 0.95


def test_model_method_errors(tmp_path):
    image = np.zeros((8, 8), np.uint8)
    with pytest.raises(InputError, match="model must be the path of a checkpoint"):
        seglab.segment(image, "model")
    with pytest.raises(InputError, match="does not exist"):
        seglab.segment(image, "model", model=str(tmp_path / "x.pt"))
    with pytest.raises(InputError, match="parameter 'backend' of method 'model' must be one of"):
        seglab.segment(image, "model", model="x.pt", backend="tf")
