"""Fixtures for the deep tests: tiny synthetic data and one small trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("segmentation_models_pytorch")

from deep_helpers import TINY, disk_pairs


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONNX exports of the tests go to a temporary cache, not ~/.cache/seglab."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get("SEGLAB_CACHE")
    os.environ["SEGLAB_CACHE"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("SEGLAB_CACHE", None)
    else:
        os.environ["SEGLAB_CACHE"] = before


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with a checkpoint trained a few epochs on disks."""
    from seglab.deep.train import train

    out = tmp_path_factory.mktemp("run")
    train(disk_pairs(), out=out, epochs=4, img_size=64, batch_size=4, samples_per_epoch=16, lr=5e-3,
          class_names=("background", "disk"), **TINY)
    return out
