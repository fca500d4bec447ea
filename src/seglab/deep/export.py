"""ONNX export with dynamic batch, height and width, and ONNX Runtime as a prediction backend.

The exported graph takes the *normalised* (N, C, H, W) float32 image (H and W multiples of
32) and returns logits; normalisation, tiling and softmax stay in :mod:`seglab.deep.predict`,
so both backends share them. The model's description (classes, normalisation) is stored in
the ONNX metadata under ``seglab`` as JSON. Prediction with ``backend="onnx"`` (or ``"auto"``
on CPU) exports once to ``$SEGLAB_CACHE/onnx/<sha256 of the checkpoint>.onnx`` (default
``~/.cache/seglab/onnx``) and reuses that file; nothing is written beside the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError

__all__ = ["export_onnx", "onnx_runner", "onnx_session", "onnx_cache_dir", "onnx_cache_path", "cached_export"]


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
    from seglab.deep.models import load
    from seglab.deep.protocol import SegmentationModel

    if not isinstance(model, SegmentationModel):
        model = load(model, device="cpu")
    if not model.exportable:
        return model.export(path)  # raises the model's own reason
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
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    options.intra_op_num_threads = max(1, int(os.environ.get("SEGLAB_THREADS", cores)))
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise FormatError(f"ONNX file {str(path)!r} must be a valid model, got {type(error).__name__}: {error}") from None


def onnx_runner(model: Any, onnx_path: str | Path | None = None) -> Any:
    """A runner for :func:`seglab.deep.predict.predict_probabilities` backed by ONNX Runtime.

    With ``onnx_path`` None the model is exported once to the cache (:func:`onnx_cache_path`),
    never beside its checkpoint, and the cached file is reused after that.
    """
    if onnx_path is None:
        onnx_path = cached_export(model)
    path = Path(onnx_path)
    if not path.is_file():
        raise InputError(f"ONNX file {str(path)!r} does not exist")
    session = _session(str(path.resolve()), path.stat().st_mtime_ns)
    name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(batch, np.float32)})[0]

    return run


@lru_cache(maxsize=4)
def _session(path: str, mtime_ns: int) -> Any:
    return onnx_session(path)


def onnx_cache_dir() -> Path:
    """``$SEGLAB_CACHE/onnx``, else ``$XDG_CACHE_HOME/seglab/onnx`` or ``~/.cache/seglab/onnx``."""
    if os.environ.get("SEGLAB_CACHE"):
        return Path(os.environ["SEGLAB_CACHE"]) / "onnx"
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "seglab" / "onnx"


@lru_cache(maxsize=16)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_digest(model: Any) -> str:
    """sha256 of the model's checkpoint file, or of its description and weights when it has none."""
    if model.path and Path(model.path).is_file():
        stat = Path(model.path).stat()
        return _file_digest(str(Path(model.path).resolve()), stat.st_mtime_ns, stat.st_size)
    digest = hashlib.sha256()
    info = model.info()
    digest.update(json.dumps({k: info[k] for k in ("arch", "model_args", "class_names", "in_channels",
                                                    "normalization")}, sort_keys=True, default=str).encode())
    for key, tensor in model.module.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def onnx_cache_path(model: Any) -> Path:
    """Where the ONNX export of ``model`` is cached: ``onnx_cache_dir() / <sha256>.onnx``."""
    return onnx_cache_dir() / f"{model_digest(model)}.onnx"


def cached_export(model: Any) -> Path:
    """The cached ONNX file of ``model``, exported (atomically) on first use.

    Nothing is written beside the checkpoint. When the cache folder cannot be written, the
    export goes to a temporary file instead.
    """
    target = onnx_cache_path(model)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return export_onnx(model, target)
    except OSError:
        handle = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False)
        handle.close()
        return export_onnx(model, handle.name)
