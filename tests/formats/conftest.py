"""Shared fixtures for the format tests: a segmentation with a donut, a two-part object and a plain one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seglab.core.segmentation import Segmentation


@pytest.fixture
def objects_seg() -> Segmentation:
    """48x64: a donut (class ring), a two-part object (class pair), a square (class ring), with scores."""
    labels = np.zeros((48, 64), dtype=np.int32)
    rows, cols = np.mgrid[:48, :64]
    radius = np.hypot(rows - 16, cols - 16)
    labels[(radius <= 12) & (radius > 5)] = 1
    labels[32:44, 4:20] = 2
    labels[32:44, 23:40] = 2
    labels[4:20, 40:60] = 3
    return Segmentation(
        labels,
        class_ids=np.array([1, 2, 1]),
        scores=np.array([0.9, 0.8, 0.7]),
        class_names=("background", "ring", "pair"),
    )


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "images" / "img.png"
    path.parent.mkdir()
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(path)
    return path
