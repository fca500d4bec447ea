"""ONNX export with dynamic height and width, and the ONNX Runtime backend."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from deep_helpers import disk_pairs
from seglab.deep.export import export_onnx, onnx_session
from seglab.deep.models import load
from seglab.deep.predict import predict


def test_onnx_parity_with_torch(trained, tmp_path):
    model = load(trained / "best.pt", device="cpu")
    path = export_onnx(model, tmp_path / "m.onnx")
    session = onnx_session(path)
    assert session.get_inputs()[0].shape[2:] == ["height", "width"]
    for size in (64, 96):
        image, _ = disk_pairs(1, size=size, seed=size)[0]
        ref = predict(model, image, tile_size=64, overlap=16)
        got = predict(model, image, tile_size=64, overlap=16, backend="onnx", onnx_path=str(path))
        assert np.abs(ref.probabilities - got.probabilities).max() <= 1e-4
        np.testing.assert_array_equal(ref.labels, got.labels)
    rect, _ = disk_pairs(1, size=96, seed=1)[0]
    ref = predict(model, rect[:64], tile_size=128)
    got = predict(model, rect[:64], tile_size=128, backend="onnx", onnx_path=str(path))
    assert np.abs(ref.probabilities - got.probabilities).max() <= 1e-4
