"""Models and self-describing checkpoints.

Architectures come from segmentation_models_pytorch (``Unet``, ``UnetPlusPlus``, ``FPN``,
``DeepLabV3Plus``, ...) with one vocabulary: ``encoder_name``, ``encoder_weights``,
``in_channels``, ``classes``. Nothing is downloaded: ``encoder_weights`` is None (random
initialisation) or a local file of weights.

A checkpoint is one ``torch.save`` file holding plain Python data and tensors, so
``torch.load(..., weights_only=True)`` reads it and :func:`load` needs no other file::

    {"format": "seglab-model", "format_version": 1, "arch": "unet",
     "model_args": {...}, "class_names": [...], "in_channels": 1,
     "normalization": {"mean": [...], "std": [...]}, "train_config": {...},
     "metrics": {...}, "seglab_version": "0.1.0", "state_dict": {...}}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seglab.core.errors import FormatError, InputError, expected

__all__ = [
    "ARCHITECTURES",
    "DeepModel",
    "create_model",
    "load",
    "save_checkpoint",
    "load_weights_file",
]

FORMAT = "seglab-model"
FORMAT_VERSION = 1


def _architectures() -> dict[str, type]:
    import segmentation_models_pytorch as smp

    names = (
        "Unet", "UnetPlusPlus", "FPN", "DeepLabV3", "DeepLabV3Plus", "Linknet", "PSPNet",
        "PAN", "MAnet", "UPerNet", "Segformer",
    )
    return {name.lower(): getattr(smp, name) for name in names if hasattr(smp, name)}


#: Lower-case architecture names accepted by :func:`create_model`.
ARCHITECTURES = (
    "unet", "unetplusplus", "fpn", "deeplabv3", "deeplabv3plus", "linknet", "pspnet",
    "pan", "manet", "upernet", "segformer",
)


def create_model(
    arch: str = "unet",
    *,
    encoder_name: str = "resnet18",
    in_channels: int = 3,
    classes: int = 2,
    encoder_weights: str | Path | None = None,
    **kwargs: Any,
) -> torch.nn.Module:
    """Build a segmentation_models_pytorch model that outputs NCHW logits.

    Parameters
    ----------
    arch : str
        One of :data:`ARCHITECTURES` (case-insensitive).
    encoder_name : str
        An smp encoder (``resnet18``, ``resnet34``, ``mobilenet_v2``, ``efficientnet-b0``,
        ``tu-...`` timm encoders).
    in_channels : int
        Image channels: 1 for grey, 3 for colour.
    classes : int
        Output channels (classes including background).
    encoder_weights : path or None
        None for random initialisation, or a local file (``.pt``/``.pth``/``.safetensors``)
        holding an encoder (or whole-model) state dict. Nothing is downloaded.
    **kwargs
        Other constructor arguments of the architecture (``encoder_depth``, ``decoder_channels``).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    InputError
        Unknown architecture, bad channel or class counts, a weights name that is not a file.

    Examples
    --------
    >>> model = create_model("unet", encoder_name="resnet18", in_channels=1, classes=2)
    >>> model(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 2, 64, 64])
    """
    archs = _architectures()
    key = str(arch).lower().replace("_", "").replace("-", "")
    if key not in archs:
        from seglab.core.registry import suggest

        listed = ", ".join(sorted(archs))
        raise InputError(f"arch must be one of {listed}, got {arch!r}{suggest(key, sorted(archs))}")
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise expected("in_channels", "an integer >= 1", in_channels)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise expected("classes", "an integer >= 1", classes)
    weights_file = None
    if encoder_weights is not None:
        weights_file = Path(encoder_weights)
        if not weights_file.is_file():
            raise InputError(
                f"encoder_weights must be None or a local weights file, got {str(encoder_weights)!r} "
                "(nothing is downloaded)"
            )
    try:
        model = archs[key](encoder_name=encoder_name, encoder_weights=None, in_channels=in_channels,
                           classes=classes, **kwargs)
    except (KeyError, ValueError, TypeError) as error:
        raise InputError(f"model arguments must be valid for {arch!r}: {error}") from None
    if weights_file is not None:
        load_weights_file(model, weights_file)
    return model


def load_weights_file(model: torch.nn.Module, path: str | Path) -> None:
    """Load a local state dict into ``model`` (whole model, or its ``encoder``), matching shapes.

    Keys prefixed ``encoder.`` or ``model.`` are accepted; tensors whose shape differs (the first
    convolution for another channel count, the head for another class count) are skipped with
    a warning.

    Raises
    ------
    FormatError
        If the file holds no tensor that fits the model.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    if not isinstance(state, dict):
        raise FormatError(f"weights file {str(path)!r} must hold a state dict, got {type(state).__name__}")
    target = model.state_dict()
    matched: dict[str, torch.Tensor] = {}
    skipped = []
    for key, tensor in state.items():
        for candidate in (key, f"encoder.{key}", key.removeprefix("model.")):
            if candidate in target:
                if target[candidate].shape == tensor.shape:
                    matched[candidate] = tensor
                else:
                    skipped.append(candidate)
                break
    if not matched:
        raise FormatError(f"weights file {str(path)!r} must hold weights of this model or its encoder, "
                          "got no matching tensor")
    if skipped:
        warnings.warn(f"{len(skipped)} tensors in {path.name} have another shape and were skipped "
                      f"(e.g. {skipped[0]})", UserWarning, stacklevel=3)
    model.load_state_dict(matched, strict=False)


@dataclass
class DeepModel:
    """A model with everything needed to run it: architecture, classes, normalisation.

    Build one with :func:`load` (from a checkpoint) or :meth:`create`; run it with
    :meth:`predict` (see :func:`seglab.deep.predict`).
    """

    module: torch.nn.Module
    arch: str
    model_args: dict[str, Any]
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    seglab_version: str = ""
    path: str = ""

    @classmethod
    def create(cls, arch: str = "unet", *, class_names: tuple[str, ...] | list[str] = ("background", "foreground"),
               in_channels: int = 3, mean: Any = None, std: Any = None,
               encoder_weights: str | Path | None = None, **model_args: Any) -> DeepModel:
        """A new (untrained) model; ``mean``/``std`` default to 0.5 and 0.25 per channel."""
        class_names = tuple(str(c) for c in class_names)
        if len(class_names) < 2:
            raise expected("class_names", "at least two names (background and one class)", class_names)
        args = {"encoder_name": "resnet18", **model_args, "in_channels": in_channels, "classes": len(class_names)}
        module = create_model(arch, encoder_weights=encoder_weights, **args)
        mean = tuple(float(v) for v in np.broadcast_to(0.5 if mean is None else mean, (in_channels,)))
        std = tuple(float(v) for v in np.broadcast_to(0.25 if std is None else std, (in_channels,)))
        from seglab import __version__

        return cls(module, str(arch).lower(), args, class_names, mean, std, seglab_version=__version__)

    @property
    def in_channels(self) -> int:
        return int(self.model_args["in_channels"])

    @property
    def classes(self) -> int:
        return len(self.class_names)

    @property
    def task(self) -> str:
        """``"semantic"`` or ``"instances"`` (boundary model + watershed, see :mod:`seglab.deep.instances`)."""
        return str(self.train_config.get("task", "semantic"))

    def info(self) -> dict[str, Any]:
        """JSON-ready description (no weights)."""
        n_params = sum(p.numel() for p in self.module.parameters())
        return {
            "arch": self.arch,
            "model_args": dict(self.model_args),
            "class_names": list(self.class_names),
            "in_channels": self.in_channels,
            "normalization": {"mean": list(self.mean), "std": list(self.std)},
            "parameters": int(n_params),
            "train_config": dict(self.train_config),
            "metrics": dict(self.metrics),
            "seglab_version": self.seglab_version,
            "path": self.path,
        }

    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint dict (plain data and CPU tensors)."""
        info = self.info()
        info.pop("parameters")
        info.pop("path")
        state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **info, "state_dict": state}

    def save(self, path: str | Path, **extra: Any) -> Path:
        """Write the checkpoint atomically; ``extra`` keys (optimizer state...) ride along."""
        return save_checkpoint(path, {**self.checkpoint(), **extra})

    #: smp models export to ONNX (see :func:`seglab.deep.export.export_onnx`).
    exportable = True

    def predict(self, image: Any, **kwargs: Any) -> Any:
        """Segment ``image``; see :func:`seglab.deep.predict.predict`."""
        from seglab.deep.predict import predict

        return predict(self, image, **kwargs)

    def predict_instances(self, image: Any, *, threshold: float = 0.5, seed_threshold: float = 0.5,
                          min_area: int = 8, **kwargs: Any) -> Any:
        """Instances of a boundary model (``task="instances"``); see :func:`seglab.deep.instances.predict_instances`.

        Raises
        ------
        InputError
            A semantic model.
        """
        from seglab.deep.instances import predict_instances

        if self.task != "instances":
            raise InputError(f"model must be an instance model (trained with task='instances'), "
                             f"got a semantic model with classes {list(self.class_names)}")
        return predict_instances(self, image, threshold=threshold, seed_threshold=seed_threshold,
                                 min_area=min_area, **kwargs)

    def export(self, path: str | Path, **kwargs: Any) -> Path:
        """ONNX with dynamic height and width; see :func:`seglab.deep.export.export_onnx`."""
        from seglab.deep.export import export_onnx

        return export_onnx(self, path, **kwargs)


def save_checkpoint(path: str | Path, data: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename."""
    from seglab.core.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict, validated.

    Raises
    ------
    InputError
        The file does not exist.
    FormatError
        Not a seglab checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for a broken file
        raise FormatError(f"model file {str(path)!r} must be a seglab checkpoint, got an unreadable file "
                          f"({type(error).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FormatError(f"model file {str(path)!r} must be a seglab checkpoint (format {FORMAT!r}), "
                          "got another file")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise FormatError(f"model file {str(path)!r} must have format version <= {FORMAT_VERSION}, "
                          f"got {data['format_version']} (upgrade seglab)")
    return data


def load(path: str | Path, *, device: str | None = None) -> DeepModel:
    """Load a checkpoint written by :func:`seglab.deep.train` or :meth:`DeepModel.save`.

    Parameters
    ----------
    path : path-like
        The ``.pt`` file; it holds everything (architecture, arguments, classes, normalisation).
    device : str, optional
        ``"cpu"``, ``"cuda"``...; default CUDA when available.

    Returns
    -------
    DeepModel or MaskRCNNModel
        In eval mode (a Mask R-CNN checkpoint gives :class:`seglab.deep.maskrcnn.MaskRCNNModel`).

    Raises
    ------
    InputError, FormatError
        Missing file, not a seglab checkpoint.
    """
    from seglab.deep.protocol import MODEL_LOADERS

    data = read_checkpoint(path)
    return MODEL_LOADERS.get(data["arch"])(data, path, device)


def _load_smp(data: dict[str, Any], path: str | Path, device: str | None) -> DeepModel:
    """A :class:`DeepModel` (an smp architecture) from a checkpoint dict."""
    module = create_model(data["arch"], **data["model_args"])
    module.load_state_dict(data["state_dict"])
    module.eval().to(device or default_device())
    norm = data.get("normalization", {})
    return DeepModel(
        module=module,
        arch=data["arch"],
        model_args=dict(data["model_args"]),
        class_names=tuple(data["class_names"]),
        mean=tuple(norm.get("mean", (0.5,) * data["in_channels"])),
        std=tuple(norm.get("std", (0.25,) * data["in_channels"])),
        train_config=dict(data.get("train_config", {})),
        metrics=dict(data.get("metrics", {})),
        seglab_version=str(data.get("seglab_version", "")),
        path=str(path),
    )


def _register_smp_loaders() -> None:
    from seglab.deep.protocol import MODEL_LOADERS

    for name in ARCHITECTURES:
        MODEL_LOADERS.add(name, _load_smp, origin=f"{__name__}._load_smp")


def default_device() -> str:
    """``"cuda"`` when a GPU is usable, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def set_threads() -> None:
    """Use at most the cores this process may run on (torch otherwise oversubscribes shared CPUs)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    wanted = max(1, min(cores, int(os.environ.get("SEGLAB_THREADS", cores))))
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


_register_smp_loaders()
