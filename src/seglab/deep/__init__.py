"""Deep segmentation (the only package that imports torch, and only when a function needs it).

``import seglab.deep`` is light; the names below load their module (and torch) on first use:

- :func:`load` -- a :class:`DeepModel` from a self-describing checkpoint;
- :func:`create_model` / :meth:`DeepModel.create` -- segmentation_models_pytorch architectures;
- :func:`train` -- the trainer (``best.pt``, ``metrics.json``, ``curves.png``);
- :func:`predict` -- tiled, blended, optionally flip-TTA prediction to a Segmentation;
- :func:`export_onnx` -- ONNX with dynamic height and width (``backend="onnx"`` runs it);
- :func:`train_instances` / :func:`predict_instances` -- U-Net with a boundary class + watershed;
- :func:`train_maskrcnn` / :func:`create_maskrcnn` / :func:`read_coco` -- torchvision Mask R-CNN.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "load": "seglab.deep.models",
    "create_model": "seglab.deep.models",
    "DeepModel": "seglab.deep.models",
    "ARCHITECTURES": "seglab.deep.models",
    "train": "seglab.deep.train",
    "TrainConfig": "seglab.deep.train",
    "TrainResult": "seglab.deep.train",
    "predict": "seglab.deep.predict",
    "export_onnx": "seglab.deep.export",
    "read_pairs": "seglab.deep.data",
    "read_labelled": "seglab.deep.data",
    "Pair": "seglab.deep.data",
    "train_instances": "seglab.deep.instances",
    "predict_instances": "seglab.deep.instances",
    "instance_targets": "seglab.deep.instances",
    "train_maskrcnn": "seglab.deep.maskrcnn",
    "create_maskrcnn": "seglab.deep.maskrcnn",
    "read_coco": "seglab.deep.maskrcnn",
    "MaskRCNNModel": "seglab.deep.maskrcnn",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seglab.deep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
