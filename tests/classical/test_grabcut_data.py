"""GrabCut on real photos: Weizmann horses 1-40 with the box taken from the ground truth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from seglab.classical.interactive import grabcut

#: Measured 0.736 (min 0.43) with iterations=3, margin=32 and a 2-pixel box padding; see the report.
MEAN_IOU_FLOOR = 0.72
PAD = 2  # box padding; horse005 comes within 3 pixels of every border, so 5 would cover it all


def _load(root: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    name = f"horse{index:03d}.jpg"
    truth = np.asarray(Image.open(root / "figure_ground" / name).convert("L")) > 127
    rgb = np.asarray(Image.open(root / "rgb" / name).convert("RGB"))  # larger than the mask
    rgb = cv2.resize(rgb, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_AREA)
    return rgb, truth


def _box(truth: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(truth)
    height, width = truth.shape
    return (
        max(int(cols.min()) - PAD, 0),
        max(int(rows.min()) - PAD, 0),
        min(int(cols.max()) + 1 + PAD, width),
        min(int(rows.max()) + 1 + PAD, height),
    )


@pytest.fixture
def horses(data_dir: Path) -> Path:
    root = data_dir / "weizmann_horse"
    if not (root / "figure_ground").is_dir():
        pytest.skip(f"Weizmann horses not found under {root}")
    return root


def test_grabcut_weizmann_horses_mean_iou(horses: Path) -> None:
    ious = []
    for index in range(1, 41):
        rgb, truth = _load(horses, index)
        mask = grabcut(rgb, box=_box(truth), iterations=3).labels == 1
        ious.append((mask & truth).sum() / (mask | truth).sum())
    assert np.mean(ious) >= MEAN_IOU_FLOOR, f"mean IoU {np.mean(ious):.3f}"
    assert np.min(ious) > 0.3


#: Horses 1-20 enlarged 3x (crops of 750-950 px, shrunk to 512 for the graph cuts): measured mean
#: IoU 0.702 (0.718 at full resolution, which takes 2.2x longer); over horses 1-40, 0.711 and 0.701.
ENLARGED_MEAN_IOU_FLOOR = 0.68


def test_grabcut_on_enlarged_horses_works_shrunk(horses: Path) -> None:
    ious = []
    for index in range(1, 21):
        rgb, truth = _load(horses, index)
        big = cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        seg = grabcut(big, box=tuple(3 * v for v in _box(truth)), iterations=3)
        assert seg.meta["scale"] < 1
        found = cv2.resize((seg.labels == 1).astype(np.float32), truth.shape[::-1], interpolation=cv2.INTER_AREA) > 0.5
        ious.append((found & truth).sum() / (found | truth).sum())
    assert np.mean(ious) >= ENLARGED_MEAN_IOU_FLOOR, f"mean IoU {np.mean(ious):.3f}"
    assert np.min(ious) > 0.3
