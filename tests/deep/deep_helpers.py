"""Helpers shared by the deep tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np

#: A small, fast model for CPU tests (300k parameters).
TINY = {"arch": "unet", "encoder": "tu-mobilenetv3_small_050",
        "model_args": {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}}


def disk_pairs(n: int = 6, size: int = 64, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bright disks (class 1) on a dark noisy background."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    pairs = []
    for _ in range(n):
        cy, cx = rng.integers(size // 3, 2 * size // 3, 2)
        mask = ((rows - cy) ** 2 + (cols - cx) ** 2 <= (size // 4) ** 2).astype(np.uint8)
        image = np.clip(np.where(mask, 170, 70) + rng.normal(0, 15, mask.shape), 0, 255).astype(np.uint8)
        pairs.append((image, mask))
    return pairs
