"""The ``"model"`` segmentation method: run a trained checkpoint through the registry.

Importing this module does not import torch (the registry imports it whenever any method is
used); torch loads on the first call. Loaded models are cached by path and modification time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seglab.core.errors import InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation

__all__ = ["model_method"]


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float, device: str | None) -> Any:
    from seglab.deep.models import load

    return load(path, device=device)


@register("model", kind="deep")
def model_method(
    image: np.ndarray,
    *,
    model: str = "",
    backend: Literal["torch", "onnx"] = "torch",
    tile_size: int = 512,
    overlap: int = 64,
    tta: bool = False,
    batch_size: int = 4,
    device: str | None = None,
) -> Segmentation:
    """Semantic segmentation with a trained model checkpoint (``seglab train`` writes one).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
    model : str
        Path to a seglab checkpoint (``best.pt``).
    backend : {"torch", "onnx"}
        PyTorch eager, or ONNX Runtime on ``STEM.onnx`` beside the checkpoint (exported when missing).
    tile_size : int
        Tile edge for sliding-window prediction (any image size, bounded memory).
    overlap : int
        Pixels shared by neighbouring tiles, blended linearly.
    tta : bool
        Average with left-right and up-down flipped predictions.
    batch_size : int
        Tiles per forward pass.
    device : str, optional
        Torch device (``"cpu"``, ``"cuda"``); default CUDA when available.

    Returns
    -------
    Segmentation
        One region per class present, with ``class_ids``, ``class_names``, ``scores`` and
        ``probabilities`` (classes, H, W) float32.

    Raises
    ------
    InputError
        No model given, or the file does not exist.

    Examples
    --------
    >>> seg = seglab.segment("cells.png", "model", model="runs/cells/best.pt")  # doctest: +SKIP
    """
    if not model:
        raise InputError("model must be the path of a checkpoint (e.g. runs/x/best.pt), got none")
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    from seglab.deep.predict import predict

    loaded = _cached(str(path.resolve()), path.stat().st_mtime, device)
    seg = predict(loaded, image, tile_size=tile_size, overlap=overlap, tta=tta, batch_size=batch_size,
                  backend=backend, device=device)
    seg.meta["model"] = str(path)
    return seg
