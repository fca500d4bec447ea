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


def test_auto_backend_uses_cached_onnx_and_leaves_checkpoint_folder_alone(trained, onnx_cache):
    import seglab

    checkpoint = trained / "best.pt"
    beside = sorted(p.name for p in trained.iterdir())
    image, _ = disk_pairs(1, size=80, seed=4)[0]
    auto = seglab.segment(image, "model", model=str(checkpoint), tile_size=64, overlap=16)
    eager = seglab.segment(image, "model", model=str(checkpoint), tile_size=64, overlap=16, backend="torch")
    assert auto.meta["backend"] == "onnx" and eager.meta["backend"] == "torch"
    assert np.abs(auto.probabilities - eager.probabilities).max() <= 1e-4
    np.testing.assert_array_equal(auto.labels, eager.labels)
    assert sorted(p.name for p in trained.iterdir()) == beside
    import hashlib

    cached = onnx_cache / "onnx" / f"{hashlib.sha256(checkpoint.read_bytes()).hexdigest()}.onnx"
    assert cached.is_file()
    stamp = cached.stat().st_mtime_ns
    again = seglab.segment(image, "model", model=str(checkpoint), tile_size=64, overlap=16, backend="onnx")
    assert cached.stat().st_mtime_ns == stamp  # reused, not exported again
    np.testing.assert_array_equal(again.probabilities, auto.probabilities)


def test_auto_backend_is_torch_off_cpu_or_without_onnxruntime(trained, monkeypatch):
    import importlib.util

    from seglab.deep.predict import resolve_backend

    model = load(trained / "best.pt", device="cpu")
    assert resolve_backend("auto", model) == "onnx"
    assert resolve_backend("auto", model, device="cuda") == "torch"
    assert resolve_backend("torch", model) == "torch"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert resolve_backend("auto", model) == "torch"
