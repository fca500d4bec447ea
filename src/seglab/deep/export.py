"""ONNX export with dynamic batch, height and width, and ONNX Runtime as a prediction backend.

The exported graph takes the *normalised* (N, C, H, W) float32 image (H and W multiples of
32) and returns logits; normalisation, tiling and softmax stay in :mod:`seglab.deep.predict`,
so both backends share them. The model's description (classes, normalisation) is stored in
the ONNX metadata under ``seglab`` as JSON.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError

__all__ = ["export_onnx", "onnx_runner", "onnx_session"]


def export_onnx(model: Any, path: str | Path, *, opset: int = 18, sample_size: int = 64) -> Path:
    """Export ``model`` (DeepModel or checkpoint path) to ONNX with dynamic N, H, W.

    Parameters
    ----------
    model : DeepModel or path-like
    path : path-like
        Output ``.onnx`` file (written atomically).
    opset : int
        ONNX opset version.
    sample_size : int
        Edge of the example input used for tracing (a multiple of 32).

    Returns
    -------
    Path

    Examples
    --------
    >>> export_onnx("run/best.pt", "run/model.onnx")  # doctest: +SKIP
    """
    import onnx
    import torch

    from seglab.core.atomic import atomic_path
    from seglab.deep.models import DeepModel, load

    if not isinstance(model, DeepModel) and getattr(model, "arch", "") != "maskrcnn":
        model = load(model, device="cpu")
    if getattr(model, "arch", "") == "maskrcnn":
        raise InputError("model must be a semantic (smp) model for ONNX export, got a Mask R-CNN "
                         "(use backend='torch')")
    module = model.module.eval().to("cpu")
    example = torch.zeros(1, model.in_channels, sample_size, sample_size)
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (example,), str(tmp), input_names=["image"], output_names=["logits"],
            dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                          "logits": {0: "batch", 2: "height", 3: "width"}},
            opset_version=opset, dynamo=False,
        )
        graph = onnx.load(str(tmp))
        info = model.info()
        meta = {k: info[k] for k in ("arch", "model_args", "class_names", "in_channels", "normalization",
                                     "seglab_version")}
        entry = graph.metadata_props.add()
        entry.key, entry.value = "seglab", json.dumps(meta)
        onnx.save(graph, str(tmp))
    return path


def onnx_session(path: str | Path) -> Any:
    """An ONNX Runtime CPU (or CUDA when available) inference session for ``path``."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise InputError(f"ONNX file {str(path)!r} does not exist")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    options.intra_op_num_threads = max(1, int(os.environ.get("SEGLAB_THREADS", cores)))
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types
        raise FormatError(f"ONNX file {str(path)!r} must be a valid model, got {type(error).__name__}: {error}") from None


def onnx_runner(model: Any, onnx_path: str | Path | None = None) -> Any:
    """A runner for :func:`seglab.deep.predict.predict_probabilities` backed by ONNX Runtime.

    With ``onnx_path`` None the model is exported next to its checkpoint (``STEM.onnx``) when
    that file is missing or older than the checkpoint, else to a temporary file.
    """
    if onnx_path is None:
        onnx_path = _cached_export(model)
    session = onnx_session(onnx_path)
    name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(batch, np.float32)})[0]

    return run


def _cached_export(model: Any) -> Path:
    import tempfile

    if model.path:
        checkpoint = Path(model.path)
        target = checkpoint.with_suffix(".onnx")
        if target.is_file() and target.stat().st_mtime >= checkpoint.stat().st_mtime:
            return target
        try:
            return export_onnx(model, target)
        except OSError:
            pass
    handle = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False)
    handle.close()
    return export_onnx(model, handle.name)
