"""Fixtures for the deep tests: tiny synthetic data and one small trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("segmentation_models_pytorch")

from deep_helpers import TINY, disk_pairs


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with a checkpoint trained a few epochs on disks."""
    from seglab.deep.train import train

    out = tmp_path_factory.mktemp("run")
    train(disk_pairs(), out=out, epochs=4, img_size=64, batch_size=4, samples_per_epoch=16, lr=5e-3,
          class_names=("background", "disk"), **TINY)
    return out
