"""What every deep model in seglab is: one protocol, and the registry that loads checkpoints.

A checkpoint names its architecture (``data["arch"]``); :data:`MODEL_LOADERS` maps that name to
the function that rebuilds the model, so :func:`seglab.deep.load` has no branch per family. The
smp semantic models (:class:`seglab.deep.models.DeepModel`) and torchvision's Mask R-CNN
(:class:`seglab.deep.maskrcnn.MaskRCNNModel`) both implement :class:`SegmentationModel`; a new
family is one module that defines its model class and registers its loader::

    @MODEL_LOADERS.decorator("mynet")
    def load_mynet(data: dict, path: str, device: str | None) -> MyNetModel: ...

Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from seglab.core.registry_base import Registry
from seglab.core.segmentation import Segmentation

__all__ = ["MODEL_LOADERS", "ModelLoader", "SegmentationModel"]


@runtime_checkable
class SegmentationModel(Protocol):
    """A trained model with everything needed to run it.

    Attributes
    ----------
    arch : str
        The architecture name stored in the checkpoint (the key of :data:`MODEL_LOADERS`).
    class_names : tuple of str
        Class 0 first (``"background"`` for most tasks).
    exportable : bool
        Whether :meth:`export` writes an ONNX file (and the ONNX Runtime backend can run it).
    """

    arch: str
    class_names: tuple[str, ...]
    exportable: bool

    @property
    def task(self) -> str:
        """``"semantic"`` or ``"instances"``."""

    def info(self) -> dict[str, Any]:
        """JSON-ready description: architecture, arguments, classes, normalisation, metrics."""

    def predict(self, image: Any, **options: Any) -> Segmentation:
        """Segment one image (semantic: one region per class; instances: one per instance)."""

    def predict_instances(self, image: Any, *, threshold: float = 0.5, seed_threshold: float = 0.5,
                          min_area: int = 8, **options: Any) -> Segmentation:
        """One region per instance (the ``model_instances`` method's call)."""

    def export(self, path: str | Path, **options: Any) -> Path:
        """Write an ONNX file; raises :class:`~seglab.InputError` when not :attr:`exportable`."""

    def save(self, path: str | Path, **extra: Any) -> Path:
        """Write the self-describing checkpoint."""


#: ``loader(checkpoint_dict, path, device) -> SegmentationModel``.
ModelLoader = Callable[[dict[str, Any], str | Path, str | None], SegmentationModel]

#: Checkpoint loaders by architecture name (``"unet"``, ``"fpn"``, ... and ``"maskrcnn"``).
MODEL_LOADERS: Registry[ModelLoader] = Registry(
    "model architecture", builtins=("seglab.deep.models", "seglab.deep.maskrcnn"))
