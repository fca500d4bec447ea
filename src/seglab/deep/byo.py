"""Bring your own model: ONNX and Keras 3 segmentation models behind ``seglab predict`` and ``model``.

``seglab predict model.onnx images/`` and ``seglab.segment(image, "model", model="net.keras")``
run a model trained elsewhere. What seglab cannot read from the model file comes from a small
sidecar beside it, ``NAME.json`` or ``NAME.yaml`` (also ``NAME.onnx.json`` ...), every key optional::

    {"class_names": ["background", "vessel"],   # default background, class_1, ...
     "mean": [0.5], "std": [0.25],              # input = (pixel / 255 - mean) / std; default 0 and 1
     "channels": 1,                             # 1 or 3; default from the model's input
     "layout": "NCHW",                          # or "NHWC"; default from the input shape (Keras: NHWC)
     "input_size": [256, 256],                  # a fixed input: tiles of this size (or "resize": true)
     "resize": false,                           # resize the image to input_size and back instead
     "output": "logits"}                        # logits | probabilities | binary_logit | binary_probability

``binary_*`` outputs have one channel (P(class 1) or its logit). Keras runs on the torch backend
(``KERAS_BACKEND=torch``; no TensorFlow needed); its default output is read from the last
layer's activation (softmax: probabilities, sigmoid: binary_probability, else logits).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import FormatError, InputError
from seglab.core.segmentation import Segmentation

__all__ = ["ByoModel", "load_byo", "read_sidecar", "OUTPUTS"]

OUTPUTS = ("logits", "probabilities", "binary_logit", "binary_probability")
_KEYS = {"class_names", "mean", "std", "channels", "layout", "input_size", "resize", "output"}


def read_sidecar(model_path: str | Path) -> dict[str, Any]:
    """The sidecar of a model file (``{}`` when there is none); unknown keys are refused."""
    path = Path(model_path)
    for candidate in (path.with_suffix(".json"), path.with_suffix(".yaml"), path.with_suffix(".yml"),
                      Path(f"{path}.json"), Path(f"{path}.yaml")):
        if candidate.is_file():
            text = candidate.read_text()
            try:
                if candidate.suffix == ".json":
                    data = json.loads(text)
                else:
                    import yaml

                    data = yaml.safe_load(text)
            except Exception as error:  # noqa: BLE001 - json / yaml raise their own types
                raise FormatError(f"sidecar {str(candidate)!r} must be valid {candidate.suffix[1:].upper()}, "
                                  f"got {type(error).__name__}: {error}") from None
            if not isinstance(data, dict):
                raise FormatError(f"sidecar {str(candidate)!r} must hold a mapping, got {type(data).__name__}")
            unknown = sorted(set(data) - _KEYS)
            if unknown:
                raise FormatError(f"sidecar key must be one of {', '.join(sorted(_KEYS))}, got {unknown[0]!r} "
                                  f"in {str(candidate)!r}")
            return data
    return {}


@dataclass
class ByoModel:
    """A model brought by the user, with a runner ``(N, C, h, w) float32 -> (N, K, h, w) logits``."""

    run: Callable[[np.ndarray], np.ndarray]
    class_names: tuple[str, ...]
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    arch: str
    input_size: tuple[int, int] | None = None
    resize: bool = False
    path: str = ""
    sidecar: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> int:
        return len(self.class_names)

    @property
    def task(self) -> str:
        return "semantic"

    @property
    def model_args(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "classes": self.classes, **self.sidecar}

    def info(self) -> dict[str, Any]:
        return {"arch": self.arch, "model_args": self.model_args, "class_names": list(self.class_names),
                "in_channels": self.in_channels, "normalization": {"mean": list(self.mean), "std": list(self.std)},
                "parameters": 0, "train_config": {}, "metrics": {}, "seglab_version": "", "path": self.path,
                "threshold": None}

    def probabilities(self, image: Any, *, tile_size: int = 512, overlap: int = 64, tta: bool = False,
                      batch_size: int = 4) -> np.ndarray:
        """(classes, H, W) float32 probabilities."""
        import cv2

        from seglab.deep.predict import predict_probabilities, prepare_image

        data = prepare_image(image, self.in_channels, self.mean, self.std)
        height, width = data.shape[1:]
        if self.input_size is None:
            return predict_probabilities(data, self.run, self.classes, tile_size=tile_size, overlap=overlap,
                                         tta=tta, batch_size=batch_size)
        size_h, size_w = self.input_size
        if self.resize:
            small = np.stack([cv2.resize(c, (size_w, size_h), interpolation=cv2.INTER_AREA) for c in data])
            probs = predict_probabilities(small, self.run, self.classes, tile_size=size_h, overlap=0, tta=tta)
            return np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in probs])
        run = self.run

        def fixed(batch: np.ndarray) -> np.ndarray:  # windows smaller than the input are padded to it
            h, w = batch.shape[2:]
            padded = np.pad(batch, ((0, 0), (0, 0), (0, size_h - h), (0, size_w - w)), mode="symmetric")
            return run(padded)[:, :, :h, :w]

        return predict_probabilities(data, fixed, self.classes, tile_size=size_h, overlap=min(overlap, size_h // 4),
                                     tta=tta, batch_size=batch_size)

    #: Already a file of its own: nothing to export.
    exportable = False

    def export(self, path: str | Path, **_: Any) -> Path:
        """Refused: see :attr:`exportable`."""
        raise InputError(f"model must be a seglab checkpoint for ONNX export, got {self.arch} file {self.path!r}")

    def predict_instances(self, image: Any, **_: Any) -> Segmentation:
        """Refused: a model brought as a file is semantic."""
        raise InputError(f"model must be an instance model, got a semantic {self.arch} model")

    def save(self, path: str | Path, **_: Any) -> Path:
        """Refused: the model stays the user's file."""
        raise InputError(f"model must be a seglab model to save a checkpoint, got {self.arch} file {self.path!r}")

    def predict(self, image: Any, *, tile_size: int = 512, overlap: int = 64, tta: bool = False,
                batch_size: int = 4, **_: Any) -> Segmentation:
        """Segment ``image``: tiles of ``tile_size`` (or of the model's fixed input), blended."""
        from seglab.deep.predict import segmentation_from_probabilities

        seg = segmentation_from_probabilities(
            self.probabilities(image, tile_size=tile_size, overlap=overlap, tta=tta, batch_size=batch_size),
            self.class_names)
        seg.meta["backend"] = self.arch
        return seg


def _as_logits(output: np.ndarray, kind: str) -> np.ndarray:
    """Model output (N, K, h, w) -> logits whose softmax gives the model's probabilities."""
    output = output.astype(np.float32)
    if kind == "logits":
        return output
    if kind == "probabilities":
        return np.log(np.clip(output, 1e-7, 1.0))
    if kind == "binary_probability":
        p = np.clip(output[:, :1], 1e-7, 1 - 1e-7)
        output = np.log(p / (1 - p))
    return np.concatenate([np.zeros_like(output[:, :1]), output[:, :1]], axis=1)  # binary logit


def _check(sidecar: dict[str, Any], path: Path, shape: list[Any], default_layout: str,
           default_output: str) -> dict[str, Any]:
    """Resolve layout, channels, input size and output kind from the sidecar and the input shape."""
    dims = [d if isinstance(d, int) and d > 0 else None for d in shape]
    if len(dims) != 4:
        raise FormatError(f"model {str(path)!r} must take a 4-d image batch, got input shape {shape}")
    layout = sidecar.get("layout")
    if layout is None:
        layout = "NHWC" if dims[3] in (1, 3) and dims[1] not in (1, 3) else \
            ("NCHW" if dims[1] in (1, 3) else default_layout)
    if layout not in ("NCHW", "NHWC"):
        raise FormatError(f"sidecar layout must be 'NCHW' or 'NHWC', got {layout!r}")
    channels = sidecar.get("channels") or (dims[1] if layout == "NCHW" else dims[3]) or 3
    if channels not in (1, 3):
        raise FormatError(f"model channels must be 1 or 3, got {channels} for {str(path)!r}")
    spatial = dims[2:] if layout == "NCHW" else dims[1:3]
    size = sidecar.get("input_size") or (spatial if all(spatial) else None)
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if not sidecar.get("resize") and (size[0] != size[1] or size[0] % 32):
            raise FormatError(f"input_size must be square and a multiple of 32 to tile (or set \"resize\": "
                              f"true in the sidecar), got {list(size)} for {str(path)!r}")
    output = sidecar.get("output", default_output)
    if output not in OUTPUTS:
        raise FormatError(f"sidecar output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    return {"layout": layout, "channels": int(channels), "input_size": size, "output": output}


def _finish(run: Callable[[np.ndarray], np.ndarray], resolved: dict[str, Any], sidecar: dict[str, Any],
            path: Path, arch: str) -> ByoModel:
    layout, kind = resolved["layout"], resolved["output"]

    def logits(batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch.transpose(0, 2, 3, 1)) if layout == "NHWC" else batch
        y = np.asarray(run(x))
        if y.ndim == 3:  # (N, h, w): one channel without its axis
            y = y[:, None] if layout == "NCHW" else y[..., None]
        y = y.transpose(0, 3, 1, 2) if layout == "NHWC" else y
        return _as_logits(y, kind)

    channels = resolved["channels"]
    probe = resolved["input_size"] or (64, 64)
    classes = logits(np.zeros((1, channels, *probe), np.float32)).shape[1]
    names = tuple(str(n) for n in sidecar.get("class_names") or
                  ("background", *(f"class_{k}" for k in range(1, classes))))
    if len(names) != classes:
        raise FormatError(f"sidecar class_names must have {classes} names (the model's outputs), got {len(names)}")
    mean = tuple(float(v) for v in np.broadcast_to(sidecar.get("mean", 0.0), (channels,)))
    std = tuple(float(v) for v in np.broadcast_to(sidecar.get("std", 1.0), (channels,)))
    return ByoModel(run=logits, class_names=names, in_channels=channels, mean=mean, std=std, arch=arch,
                    input_size=resolved["input_size"], resize=bool(sidecar.get("resize", False)), path=str(path),
                    sidecar=dict(sidecar))


def _onnx(path: Path, sidecar: dict[str, Any]) -> ByoModel:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise FormatError(f"model file {str(path)!r} must be an ONNX model, got {type(error).__name__}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise FormatError(f"ONNX model {str(path)!r} must have one input, got {len(inputs)}")
    name = inputs[0].name
    resolved = _check(sidecar, path, list(inputs[0].shape), "NCHW", "logits")

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: batch.astype(np.float32)})[0]

    return _finish(run, resolved, sidecar, path, "onnx")


def _keras(path: Path, sidecar: dict[str, Any]) -> ByoModel:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        raise InputError("a .keras model needs Keras 3 (pip install 'seglab[keras]'), got it missing") from None
    if keras.backend.backend() != "torch":
        raise InputError(f"Keras must run on the torch backend (KERAS_BACKEND=torch), got "
                         f"{keras.backend.backend()!r}")
    try:
        model = keras.saving.load_model(str(path), compile=False)
    except Exception as error:  # noqa: BLE001 - keras raises many types for a broken archive
        raise FormatError(f"model file {str(path)!r} must be a Keras 3 .keras archive, got "
                          f"{type(error).__name__}: {error}") from None
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear") if model.layers else ""
    default = {"softmax": "probabilities", "sigmoid": "binary_probability"}.get(activation, "logits")
    resolved = _check(sidecar, path, list(model.inputs[0].shape), "NHWC", default)

    def run(batch: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(model(batch, training=False))

    return _finish(run, resolved, sidecar, path, "keras")


def load_byo(path: str | Path, *, device: str | None = None) -> ByoModel:
    """An ``.onnx`` or ``.keras`` model with its sidecar (see the module docstring).

    Raises
    ------
    InputError
        The file does not exist, or Keras is missing.
    FormatError
        Not a model of that kind, a bad sidecar, or class names that do not match the outputs.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    sidecar = read_sidecar(path)
    if path.suffix.lower() == ".onnx":
        return _onnx(path, sidecar)
    if path.suffix.lower() == ".keras":
        return _keras(path, sidecar)
    raise InputError(f"model file must end in .pt, .onnx or .keras, got {path.name!r}")
