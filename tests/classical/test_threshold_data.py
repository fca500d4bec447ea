"""Otsu and adaptive threshold on the 30 ISBI 2012 EM training slices (label 255 = cell interior).

Floors sit a little under the measured pixel accuracies (mean over the 30 slices / worst slice):
otsu 0.7154 / 0.6775; adaptive defaults 0.6439 / 0.6162; adaptive mean, block 35, offset 20:
0.7780 / 0.7510. (About 78% of the pixels are cell interior, so a global threshold on this
textured data is a weak baseline; the numbers guard against regressions, not for quality.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seglab.classical.threshold import adaptive, otsu
from seglab.core.image import load_image


@pytest.fixture(scope="module")
def isbi(data_dir: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    root = data_dir / "isbi2012_em_membrane" / "train"
    images = sorted((root / "image").glob("*.png"), key=lambda p: int(p.stem))
    assert len(images) == 30
    pairs = []
    for path in images:
        image = load_image(path)
        label = load_image(root / "label" / path.name)
        pairs.append((image, label > 127))
    return pairs


def accuracies(pairs, method, **params) -> np.ndarray:
    return np.array([((method(image, **params).labels == 1) == truth).mean() for image, truth in pairs])


def test_isbi_otsu_pixel_accuracy(isbi):
    scores = accuracies(isbi, otsu)
    assert scores.mean() >= 0.70
    assert scores.min() >= 0.66


def test_isbi_adaptive_pixel_accuracy(isbi):
    default = accuracies(isbi, adaptive)
    assert default.mean() >= 0.63
    assert default.min() >= 0.60
    tuned = accuracies(isbi, adaptive, kind="mean", offset=20)
    assert tuned.mean() >= 0.76
    assert tuned.min() >= 0.74


def test_isbi_adaptive_offset_sign(isbi):
    """A positive offset lowers the local threshold, so more of the bright cell interior is kept."""
    image, truth = isbi[0]
    low = (adaptive(image, offset=-10).labels == 1).mean()
    zero = (adaptive(image).labels == 1).mean()
    high = (adaptive(image, offset=10).labels == 1).mean()
    assert low < zero < high
