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


def disk_instances(n: int = 4, size: int = 64, seed: int = 0, count: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Images of up to ``count`` disks (radius 6-9, every second one touching its predecessor)
    with their instance label images; intensity falls towards each disk's edge, like nuclei."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        labels = np.zeros((size, size), np.int32)
        image = np.zeros((size, size))
        centers: list[tuple[np.ndarray, float]] = []
        for _ in range(300):
            if len(centers) == count:
                break
            r = rng.uniform(6, 9)
            c = rng.uniform(r, size - r, 2)
            if centers and len(centers) % 2 == 1:  # touch the previous disk
                q, rq = centers[-1]
                angle = rng.uniform(0, 2 * np.pi)
                c = q + (rq + r - 1.5) * np.array([np.cos(angle), np.sin(angle)])
                if not (r <= c[0] <= size - r and r <= c[1] <= size - r):
                    continue
                others = centers[:-1]
            else:
                others = centers
            if any(np.hypot(*(c - q)) - r - rq < 2 for q, rq in others):
                continue
            dist = np.hypot(rows - c[0], cols - c[1])
            labels[(dist <= r) & (labels == 0)] = len(centers) + 1
            image = np.maximum(image, np.sqrt(np.clip(1 - (dist / r) ** 2, 0, 1)))
            centers.append((c, r))
        image = np.clip(40 + 160 * image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)
        out.append((image, labels))
    return out
