"""Sample images bundled with scikit-image (no download), for the demo, docs and tests."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_names", "sample", "samples", "coins", "astronaut", "camera", "coffee", "chelsea"]

#: Sample images used by ``seglab demo``: name -> (skimage.data function, what it shows).
SAMPLES = {
    "coins": ("coins", "24 coins on a dark background (grey)"),
    "astronaut": ("astronaut", "portrait photo (colour)"),
    "coffee": ("coffee", "a coffee cup on a table (colour)"),
    "chelsea": ("chelsea", "a cat (colour)"),
    "camera": ("camera", "the cameraman (grey)"),
    "immunohistochemistry": ("immunohistochemistry", "stained tissue (colour)"),
}


def sample_names() -> list[str]:
    """Names accepted by :func:`sample`."""
    return list(SAMPLES)


def sample(name: str) -> np.ndarray:
    """A bundled sample image as (H, W) or (H, W, 3) uint8.

    Raises
    ------
    InputError
        If ``name`` is not a sample name.
    """
    from seglab.core.errors import InputError
    from seglab.core.registry import suggest

    if name not in SAMPLES:
        raise InputError(f"sample name must be one of {', '.join(SAMPLES)}, got {name!r}{suggest(name, list(SAMPLES))}")
    import skimage.data

    return np.ascontiguousarray(getattr(skimage.data, SAMPLES[name][0])())


def samples() -> dict[str, np.ndarray]:
    """Every sample image by name."""
    return {name: sample(name) for name in SAMPLES}


def coins() -> np.ndarray:
    """skimage's coins: 303x384 grey, 24 coins."""
    return sample("coins")


def astronaut() -> np.ndarray:
    """skimage's astronaut: 512x512 RGB."""
    return sample("astronaut")


def camera() -> np.ndarray:
    """skimage's cameraman: 512x512 grey."""
    return sample("camera")


def coffee() -> np.ndarray:
    """skimage's coffee cup: 400x600 RGB."""
    return sample("coffee")


def chelsea() -> np.ndarray:
    """skimage's cat: 300x451 RGB."""
    return sample("chelsea")
