"""Prediction: normalise, tile with overlap, blend, optional flip TTA, one region per class.

Tiles are processed one row of tiles at a time into a rolling strip buffer, so memory for
activations and accumulators is bounded by the tile size and the image width, whatever the
height. Each tile is padded to a multiple of 32 (reflection) and cropped back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from seglab.core.errors import expected
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_image, check_int, to_float01, to_gray, to_rgb

__all__ = ["predict", "resolve_backend", "prepare_image", "predict_probabilities", "tile_starts", "blend_window"]

Runner = Callable[[np.ndarray], np.ndarray]  # (N, C, h, w) float32 -> (N, K, h, w) logits


def prepare_image(image: Any, in_channels: int, mean: Any, std: Any) -> np.ndarray:
    """(H, W[, 3]) image of any dtype -> normalised (C, H, W) float32 with ``in_channels`` channels."""
    pixels = as_image(image)
    if in_channels == 1:
        pixels = to_gray(pixels)
    elif in_channels == 3:
        pixels = to_rgb(pixels)
    data = to_float01(pixels)
    data = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    if data.shape[0] != in_channels:
        raise expected("image", f"an image with {in_channels} channels for this model", data.shape)
    mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(std, np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray((data - mean) / std, dtype=np.float32)


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets covering ``[0, length)`` with tiles of ``tile`` every ``stride`` (last one flush)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _ramp(length: int, overlap: int) -> np.ndarray:
    ramp = np.ones(length, np.float32)
    if overlap > 0:
        edge = (np.arange(overlap, dtype=np.float32) + 1) / (overlap + 1)
        ramp[:overlap] = edge
        ramp[length - overlap:] = np.minimum(ramp[length - overlap:], edge[::-1])
    return ramp


def blend_window(height: int, width: int, overlap: int) -> np.ndarray:
    """(height, width) float32 weights: 1 inside, a linear ramp over ``overlap`` pixels at each edge."""
    return np.outer(_ramp(height, overlap), _ramp(width, overlap))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _run_tta(run: Runner, batch: np.ndarray, tta: bool) -> np.ndarray:
    probs = _softmax(run(batch).astype(np.float32))
    if not tta:
        return probs
    for axis in (-1, -2):
        flipped = np.ascontiguousarray(np.flip(batch, axis=axis))
        probs += np.flip(_softmax(run(flipped).astype(np.float32)), axis=axis)
    return probs / 3.0


def _pad_to(data: np.ndarray, height: int, width: int) -> np.ndarray:
    pad_h, pad_w = height - data.shape[1], width - data.shape[2]
    if pad_h == 0 and pad_w == 0:
        return data
    return np.pad(data, ((0, 0), (0, pad_h), (0, pad_w)), mode="symmetric")


def predict_probabilities(
    data: np.ndarray, run: Runner, classes: int, *, tile_size: int = 512, overlap: int = 64,
    tta: bool = False, batch_size: int = 4,
) -> np.ndarray:
    """Blend tile predictions of a normalised (C, H, W) array into (classes, H, W) float32 probabilities."""
    _, height, width = data.shape
    tile = int(np.ceil(tile_size / 32) * 32)
    tile_h = min(tile, int(np.ceil(height / 32) * 32))
    tile_w = min(tile, int(np.ceil(width / 32) * 32))
    padded = _pad_to(data, max(height, tile_h), max(width, tile_w))
    full_h, full_w = padded.shape[1:]
    over = min(overlap, tile_h // 2, tile_w // 2)
    window = blend_window(tile_h, tile_w, over)
    ys = tile_starts(full_h, tile_h, max(1, tile_h - over))
    xs = tile_starts(full_w, tile_w, max(1, tile_w - over))
    out = np.empty((classes, height, width), np.float32)
    acc = np.zeros((classes, tile_h, full_w), np.float32)
    weight = np.zeros((tile_h, full_w), np.float32)
    for k, y in enumerate(ys):
        for start in range(0, len(xs), batch_size):
            group = xs[start:start + batch_size]
            batch = np.stack([padded[:, y:y + tile_h, x:x + tile_w] for x in group])
            probs = _run_tta(run, batch, tta)
            for x, prob in zip(group, probs):
                acc[:, :, x:x + tile_w] += prob * window
                weight[:, x:x + tile_w] += window
        done = (ys[k + 1] - y) if k + 1 < len(ys) else tile_h
        rows = slice(y, min(y + done, height))
        n = rows.stop - rows.start
        if n > 0:
            out[:, rows] = acc[:, :n, :width] / weight[None, :n, :width]
        acc = np.concatenate([acc[:, done:], np.zeros((classes, done, full_w), np.float32)], axis=1)
        weight = np.concatenate([weight[done:], np.zeros((done, full_w), np.float32)], axis=0)
    return out


def torch_runner(model: Any, device: str | None = None) -> Runner:
    """A runner calling ``model.module`` under ``torch.inference_mode`` (fp16 autocast on CUDA)."""
    import torch

    from seglab.deep.models import set_threads

    set_threads()
    module = model.module.eval()
    device = device or next(module.parameters()).device.type
    module.to(device)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).to(device)
            if device == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    logits = module(tensor)
            else:
                logits = module(tensor)
            return logits.float().cpu().numpy()

    return run


def predict(
    model: Any,
    image: Any,
    *,
    tile_size: int = 512,
    overlap: int = 64,
    tta: bool = False,
    batch_size: int = 4,
    backend: str = "auto",
    device: str | None = None,
    onnx_path: str | None = None,
) -> Segmentation:
    """Segment ``image`` with a :class:`~seglab.deep.models.DeepModel` (or a checkpoint path).

    Parameters
    ----------
    model : DeepModel, ForestModel, a bring-your-own model or path-like
    image : (H, W[, 3]) ndarray of any dtype
    tile_size : int
        Tile edge in pixels (rounded up to a multiple of 32); larger images are tiled.
    overlap : int
        Pixels shared by neighbouring tiles, blended with linear ramps (at most ``tile_size // 2``).
    tta : bool
        Average the plain, left-right and up-down flipped predictions.
    batch_size : int
        Tiles per forward pass.
    backend : {"auto", "torch", "onnx"}
        ``"onnx"`` runs ONNX Runtime on ``onnx_path`` (when None, the model exported once to the
        cache, see :func:`seglab.deep.export.cached_export`; never beside the checkpoint);
        ``"auto"`` picks ONNX Runtime on the CPU when it is installed (:func:`resolve_backend`),
        falling back to torch with a warning when the export fails.
    device : str, optional
        Torch device; default the model's.

    Returns
    -------
    Segmentation
        One region per class present (class 0 = background is not a region), ``class_ids``,
        ``class_names``, ``scores`` (mean probability of the class over its region) and
        ``probabilities`` (classes, H, W) float32.
    """
    from seglab.deep.models import DeepModel, load

    if not isinstance(model, DeepModel) and not hasattr(model, "probabilities"):
        model = load(model, device=device)
    if not isinstance(model, DeepModel):  # pixel forest, ONNX / Keras models: they predict themselves
        return model.predict(image, tile_size=tile_size, overlap=overlap, tta=tta, batch_size=batch_size,
                             device=device)
    tile_size = check_int("tile_size", tile_size, minimum=32)
    overlap = min(check_int("overlap", overlap, minimum=0), tile_size // 2)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    data = prepare_image(image, model.in_channels, model.mean, model.std)
    chosen = resolve_backend(backend, model, device)
    run = None
    if chosen == "onnx":
        from seglab.deep.export import onnx_runner

        if backend == "auto":
            try:
                run = onnx_runner(model, onnx_path)
            except Exception as error:  # noqa: BLE001 - any export/runtime failure: eager still works
                warnings.warn(f"ONNX Runtime backend unavailable ({type(error).__name__}: {error}); "
                              "using torch", UserWarning, stacklevel=2)
                chosen = "torch"
        else:
            run = onnx_runner(model, onnx_path)
    if run is None:
        run = torch_runner(model, device)
    probs = predict_probabilities(data, run, model.classes, tile_size=tile_size, overlap=overlap,
                                  tta=tta, batch_size=batch_size)
    seg = segmentation_from_probabilities(probs, model.class_names)
    seg.meta["backend"] = chosen
    return seg


def resolve_backend(backend: str, model: Any, device: str | None = None) -> str:
    """``"torch"`` or ``"onnx"`` for ``backend`` in {"auto", "torch", "onnx"}.

    ``"auto"`` is ONNX Runtime (2-4.5x faster than eager on CPU, probabilities within 1e-5)
    when onnxruntime and onnx are installed, the model is exportable (not a Mask R-CNN) and it
    runs on the CPU; torch otherwise.
    """
    import importlib.util

    if backend not in ("auto", "torch", "onnx"):
        raise expected("backend", "one of 'auto', 'torch', 'onnx'", backend)
    if backend != "auto":
        return backend
    if getattr(model, "arch", "") == "maskrcnn":
        return "torch"
    if device is None:
        device = next(model.module.parameters()).device.type
    if str(device).split(":")[0] != "cpu":
        return "torch"
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return "torch"
    return "onnx"


def segmentation_from_probabilities(probs: np.ndarray, class_names: tuple[str, ...]) -> Segmentation:
    """Argmax classes -> one region per class present (background 0 excluded), with mean-probability scores."""
    class_map = probs.argmax(axis=0).astype(np.int32)
    counts = np.bincount(class_map.ravel(), minlength=probs.shape[0])
    present = np.flatnonzero(counts[1:]) + 1
    lut = np.zeros(probs.shape[0], np.int32)
    lut[present] = np.arange(1, present.size + 1, dtype=np.int32)
    labels = lut[class_map]
    scores = np.array([float(probs[c][class_map == c].mean()) for c in present], np.float64)
    return Segmentation(labels, class_ids=present.astype(np.int64), scores=scores,
                        class_names=tuple(class_names), probabilities=probs,
                        meta={"method": "model"})
