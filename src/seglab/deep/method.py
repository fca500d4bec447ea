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

__all__ = ["load_cached", "model_instances", "model_method"]


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float, device: str | None) -> Any:
    from seglab.deep.models import load

    return load(path, device=device)


def load_cached(model: str | Path, device: str | None = None) -> Any:
    """The checkpoint at ``model``, loaded once per path and modification time (what the methods use).

    Raises
    ------
    InputError
        No path given, or no such file.
    """
    if not model:
        raise InputError("model must be the path of a checkpoint (e.g. runs/x/best.pt), got none")
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    return _cached(str(path.resolve()), path.stat().st_mtime, device)


@register("model", kind="deep", tiling="model", web=False)
def model_method(
    image: np.ndarray,
    *,
    model: str = "",
    backend: Literal["auto", "torch", "onnx"] = "auto",
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
    backend : {"auto", "torch", "onnx"}
        PyTorch eager, or ONNX Runtime on the model exported once to a cache
        (``$SEGLAB_CACHE/onnx`` or ``~/.cache/seglab/onnx``, named by the checkpoint's sha256;
        nothing is written beside the checkpoint). ``"auto"`` is ONNX Runtime when it is
        installed and the model runs on the CPU (2-4.5x faster than eager at equal output),
        torch otherwise. ``seg.meta["backend"]`` says which ran.
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
        ``probabilities`` (classes, H, W) float32. An instance checkpoint (trained with
        ``task="instances"``, or a Mask R-CNN) gives one region per instance with default
        thresholds instead; see the ``model_instances`` method for its parameters.

    Raises
    ------
    InputError
        No model given, or the file does not exist.

    Examples
    --------
    >>> seg = seglab.segment("cells.png", "model", model="runs/cells/best.pt")  # doctest: +SKIP
    """
    from seglab.deep.predict import predict

    loaded = load_cached(model, device)
    if loaded.task == "instances":
        return model_instances(image, model=model, backend=backend, tile_size=tile_size, overlap=overlap,
                               tta=tta, batch_size=batch_size, device=device)
    seg = predict(loaded, image, tile_size=tile_size, overlap=overlap, tta=tta, batch_size=batch_size,
                  backend=backend, device=device)
    seg.meta["model"] = str(model)
    return seg


@register("model_instances", kind="deep", web=False)
def model_instances(
    image: np.ndarray,
    *,
    model: str = "",
    threshold: float = 0.5,
    seed_threshold: float = 0.5,
    min_area: int = 8,
    backend: Literal["auto", "torch", "onnx"] = "auto",
    tile_size: int = 512,
    overlap: int = 64,
    tta: bool = False,
    batch_size: int = 4,
    device: str | None = None,
) -> Segmentation:
    """Instances with a trained instance checkpoint: boundary U-Net + watershed, or Mask R-CNN.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
    model : str
        Checkpoint written by ``train_instances`` / ``seglab train --task instances`` or
        ``train_maskrcnn``.
    threshold : float
        Boundary model: foreground where P(not background) exceeds it; Mask R-CNN: the minimum
        detection score.
    seed_threshold : float
        Boundary model: seeds where P(interior) exceeds it; Mask R-CNN: the mask threshold.
    min_area : int
        Boundary model: smallest instance kept (pixels).
    backend, tile_size, overlap, tta, batch_size, device
        As for the ``model`` method (boundary model; Mask R-CNN uses ``device`` only).

    Returns
    -------
    Segmentation
        One region per instance, ``class_ids``, ``class_names`` and ``scores`` (boundary model:
        mean foreground probability; Mask R-CNN: detection score).

    Raises
    ------
    InputError
        No model given, the file does not exist, or it is not an instance model.

    Examples
    --------
    >>> seg = seglab.segment("nuclei.png", "model_instances", model="runs/nuclei/best.pt")  # doctest: +SKIP
    """
    loaded = load_cached(model, device)
    seg = loaded.predict_instances(image, threshold=threshold, seed_threshold=seed_threshold, min_area=min_area,
                                   tile_size=tile_size, overlap=overlap, tta=tta, batch_size=batch_size,
                                   backend=backend, device=device)
    seg.meta["model"] = str(model)
    return seg
