"""Mask R-CNN (torchvision) for instances: build, train on COCO-format data, predict, checkpoint.

Backbones: ``"resnet50"`` (torchvision's ``maskrcnn_resnet50_fpn``) or ``"mobilenet_v3"``
(a MobileNetV3-Large FPN backbone under the same Mask R-CNN heads, about 4x cheaper on CPU).
Everything starts random (nothing is downloaded); ``weights=PATH`` loads a local state dict
(a torchvision Mask R-CNN file, or a seglab checkpoint), skipping tensors of another shape
(a head with another class count).

The checkpoint is the same self-describing ``seglab-model`` file as the semantic models, with
``arch="maskrcnn"`` and ``train_config["task"] == "instances"``, so :func:`seglab.deep.load`
and the ``"model"`` method read it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seglab.core.errors import InputError, expected
from seglab.core.segmentation import Segmentation
from seglab.deep.protocol import MODEL_LOADERS

__all__ = [
    "BACKBONES",
    "InstanceSample",
    "MaskRCNNModel",
    "create_maskrcnn",
    "from_checkpoint",
    "instance_samples",
    "read_coco",
    "train_maskrcnn",
]

BACKBONES = ("resnet50", "mobilenet_v3")


@dataclass(frozen=True)
class InstanceSample:
    """One image with its instances: ``masks`` (N, H, W) bool and ``class_ids`` (N,) in 1..K."""

    image: np.ndarray
    masks: np.ndarray
    class_ids: np.ndarray
    name: str = ""


def create_maskrcnn(num_classes: int, *, backbone: str = "mobilenet_v3", min_size: int = 800,
                    max_size: int = 1333, weights: str | Path | None = None, channels: int = 256,
                    representation: int = 1024, **kwargs: Any) -> torch.nn.Module:
    """A torchvision Mask R-CNN with ``num_classes`` classes (background included).

    Parameters
    ----------
    num_classes : int
        Classes including background (2 for one object class).
    backbone : {"mobilenet_v3", "resnet50"}
    min_size, max_size : int
        torchvision resizes each image so its short side is ``min_size`` (long side at most ``max_size``).
    weights : path, optional
        Local state dict to start from (nothing is downloaded).
    channels, representation : int
        ``mobilenet_v3`` only: FPN / mask-head channels and box-head width (torchvision's are
        256 and 1024; 64 and 256 give a model about 8x smaller for small data and tests).
    **kwargs
        Other MaskRCNN arguments (``box_detections_per_img``, ``rpn_post_nms_top_n_train``...).

    Returns
    -------
    torchvision.models.detection.MaskRCNN

    Examples
    --------
    >>> model = create_maskrcnn(2, backbone="mobilenet_v3", min_size=128, max_size=128)
    """
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise expected("num_classes", "an integer >= 2 (background and at least one class)", num_classes)
    if backbone not in BACKBONES:
        raise InputError(f"backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}")
    if backbone == "resnet50":
        model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=num_classes,
                                      min_size=min_size, max_size=max_size, **kwargs)
    else:
        model = _mobilenet_maskrcnn(num_classes, channels=channels, representation=representation,
                                    min_size=min_size, max_size=max_size, **kwargs)
    if weights is not None:
        from seglab.deep.models import load_weights_file

        if not Path(weights).is_file():
            raise InputError(f"weights must be None or a local weights file, got {str(weights)!r} "
                             "(nothing is downloaded)")
        load_weights_file(model, weights)
    return model


def _mobilenet_maskrcnn(num_classes: int, *, channels: int, representation: int, **kwargs: Any) -> torch.nn.Module:
    """MobileNetV3-Large FPN (the last two stages, as torchvision's Faster R-CNN) under Mask R-CNN heads."""
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    features = mobilenet_v3_large(weights=None).features
    stages = [0] + [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)] + [len(features) - 1]
    returned = [len(stages) - 2, len(stages) - 1]
    body = BackboneWithFPN(features, {str(stages[k]): str(v) for v, k in enumerate(returned)},
                           [features[stages[k]].out_channels for k in returned], channels,
                           extra_blocks=LastLevelMaxPool())
    anchors = AnchorGenerator(((16, 32, 64, 128, 256),) * 3, ((0.5, 1.0, 2.0),) * 3)
    return MaskRCNN(body, num_classes=None, rpn_anchor_generator=anchors,
                    box_head=TwoMLPHead(channels * 7 * 7, representation),
                    box_predictor=FastRCNNPredictor(representation, num_classes),
                    mask_head=MaskRCNNHeads(channels, [channels] * 4, 1),
                    mask_predictor=MaskRCNNPredictor(channels, channels, num_classes), **kwargs)


@dataclass
class MaskRCNNModel:
    """A Mask R-CNN with its description; :meth:`predict` returns one region per instance."""

    module: torch.nn.Module
    class_names: tuple[str, ...]
    model_args: dict[str, Any]
    train_config: dict[str, Any] = field(default_factory=lambda: {"task": "instances"})
    metrics: dict[str, Any] = field(default_factory=dict)
    seglab_version: str = ""
    path: str = ""
    arch: str = "maskrcnn"

    @classmethod
    def create(cls, class_names: Any = ("background", "object"), **model_args: Any) -> MaskRCNNModel:
        """A new random model; ``model_args`` go to :func:`create_maskrcnn` (``weights`` is not stored)."""
        from seglab import __version__

        names = tuple(str(c) for c in class_names)
        if len(names) < 2:
            raise expected("class_names", "at least two names (background and one class)", names)
        weights = model_args.pop("weights", None)
        module = create_maskrcnn(len(names), weights=weights, **model_args)
        return cls(module, names, dict(model_args), seglab_version=__version__)

    #: torchvision's detection models do not export to ONNX with dynamic sizes here; torch runs them.
    exportable = False

    @property
    def task(self) -> str:
        return "instances"

    def predict_instances(self, image: Any, *, threshold: float = 0.5, seed_threshold: float = 0.5,
                          min_area: int = 8, device: str | None = None, **_: Any) -> Segmentation:
        """:meth:`predict` with the ``model_instances`` method's names: ``threshold`` is the minimum
        detection score, ``seed_threshold`` the mask threshold (``min_area`` and tiling options do
        not apply to a detector)."""
        return self.predict(image, score_threshold=threshold, mask_threshold=seed_threshold, device=device)

    def export(self, path: str | Path, **_: Any) -> Path:
        """Refused: see :attr:`exportable`."""
        raise InputError("model must be a semantic (smp) model for ONNX export, got a Mask R-CNN "
                         "(use backend='torch')")

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def info(self) -> dict[str, Any]:
        """JSON-ready description (no weights)."""
        return {"arch": self.arch, "model_args": dict(self.model_args), "class_names": list(self.class_names),
                "in_channels": 3, "normalization": {}, "parameters": sum(p.numel() for p in self.module.parameters()),
                "train_config": dict(self.train_config), "metrics": dict(self.metrics),
                "seglab_version": self.seglab_version, "path": self.path}

    def save(self, path: str | Path, **extra: Any) -> Path:
        """Write the self-describing checkpoint atomically."""
        from seglab.deep.models import FORMAT, FORMAT_VERSION, save_checkpoint

        info = self.info()
        info.pop("parameters")
        info.pop("path")
        state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
        return save_checkpoint(path, {"format": FORMAT, "format_version": FORMAT_VERSION, **info,
                                      "state_dict": state, **extra})

    def predict(self, image: Any, *, score_threshold: float = 0.5, mask_threshold: float = 0.5,
                device: str | None = None) -> Segmentation:
        """One region per detected instance (masks > ``mask_threshold``, pasted best score last wins).

        Instances are kept when their score is at least ``score_threshold``; where masks overlap
        the higher-scoring instance keeps the pixel. Returns ``class_ids``, ``class_names``, ``scores``.
        """
        from seglab.core.validate import as_image, to_float01, to_rgb
        from seglab.deep.models import set_threads

        set_threads()
        pixels = to_float01(to_rgb(as_image(image)))
        device = device or next(self.module.parameters()).device.type
        module = self.module.eval().to(device)
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(np.moveaxis(pixels, -1, 0), np.float32)).to(device)
            out = module([tensor])[0]
        scores = out["scores"].cpu().numpy()
        keep = np.flatnonzero(scores >= score_threshold)
        keep = keep[np.argsort(-scores[keep], kind="stable")]
        masks = out["masks"][:, 0].cpu().numpy() > mask_threshold if keep.size else np.zeros((0, *pixels.shape[:2]), bool)
        labels = np.zeros(pixels.shape[:2], np.int32)
        kept: list[int] = []
        for index in keep[::-1]:  # lowest score first, so the best one is pasted last
            if masks[index].any():
                labels[masks[index]] = len(kept) + 1
                kept.append(int(index))
        seg = Segmentation.from_labels(labels)
        present = np.unique(labels[labels > 0]) - 1
        order = [kept[k] for k in present]
        classes = out["labels"].cpu().numpy()
        return Segmentation(seg.labels, class_ids=classes[order].astype(np.int64), scores=scores[order],
                            class_names=self.class_names, meta={"method": "model", "task": "instances",
                                                                "arch": "maskrcnn"})


@MODEL_LOADERS.decorator("maskrcnn")
def from_checkpoint(data: dict[str, Any], path: str | Path, device: str | None = None) -> MaskRCNNModel:
    """A :class:`MaskRCNNModel` from a checkpoint dict (read by :func:`seglab.deep.models.read_checkpoint`)."""
    from seglab.deep.models import default_device

    module = create_maskrcnn(len(data["class_names"]), **data["model_args"])
    module.load_state_dict(data["state_dict"])
    module.eval().to(device or default_device())
    return MaskRCNNModel(module, tuple(data["class_names"]), dict(data["model_args"]),
                         train_config=dict(data.get("train_config", {})), metrics=dict(data.get("metrics", {})),
                         seglab_version=str(data.get("seglab_version", "")), path=str(path))


def read_coco(annotations: str | Path, images: str | Path | None = None) -> tuple[list[InstanceSample], tuple[str, ...]]:
    """COCO instances (polygons or RLE) -> samples and class names (background first).

    Parameters
    ----------
    annotations : path-like
        The COCO json file.
    images : path-like, optional
        Folder of the images (``file_name`` is relative to it); default the json's folder, or
        its ``images/`` subfolder when the file is not found there.
    """
    from pycocotools.coco import COCO

    from seglab.core.image import load_image

    annotations = Path(annotations)
    if not annotations.is_file():
        raise InputError(f"COCO annotation file {str(annotations)!r} does not exist")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(annotations))
    categories = sorted(coco.getCatIds())
    index = {cat: k + 1 for k, cat in enumerate(categories)}
    names = ("background", *(coco.loadCats(c)[0]["name"] for c in categories))
    roots = [Path(images)] if images is not None else [annotations.parent, annotations.parent / "images"]
    samples = []
    for info in coco.loadImgs(sorted(coco.getImgIds())):
        path = next((r / info["file_name"] for r in roots if (r / info["file_name"]).is_file()), None)
        if path is None:
            raise InputError(f"COCO image {info['file_name']!r} must exist under {roots[0]}, got no file")
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=info["id"], iscrowd=False)) if a.get("area", 1) > 0]
        masks = np.array([coco.annToMask(a) > 0 for a in anns], bool).reshape(-1, info["height"], info["width"])
        ids = np.array([index[a["category_id"]] for a in anns], np.int64)
        samples.append(InstanceSample(load_image(path), masks, ids, Path(info["file_name"]).stem))
    return samples, names


def instance_samples(data: Any) -> list[InstanceSample]:
    """(image, instance labels | Segmentation[, class ids]) items -> samples (class 1 by default)."""
    samples = []
    for k, item in enumerate(data):
        if isinstance(item, InstanceSample):
            samples.append(item)
            continue
        image, labels = np.asarray(item[0]), item[1]
        if isinstance(labels, Segmentation):
            seg = labels
        else:
            seg = Segmentation.from_labels(np.asarray(labels))
        masks = seg.masks() if len(seg) else np.zeros((0, *seg.shape), bool)
        if len(item) > 2:
            ids = np.asarray(item[2], np.int64)
        elif seg.class_ids is not None:
            ids = seg.class_ids
        else:
            ids = np.ones(len(seg), np.int64)
        samples.append(InstanceSample(image, np.asarray(masks, bool), ids, str(k)))
    return samples


def _target(sample: InstanceSample, flip_h: bool, flip_v: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    from seglab.core.validate import to_float01, to_rgb

    image = to_float01(to_rgb(sample.image))
    masks = sample.masks
    if flip_h:
        image, masks = image[:, ::-1], masks[:, :, ::-1]
    if flip_v:
        image, masks = image[::-1], masks[:, ::-1]
    keep = masks.reshape(len(masks), -1).any(1)
    masks, ids = masks[keep], sample.class_ids[keep]
    boxes = np.zeros((len(masks), 4), np.float32)
    for k, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        boxes[k] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    tensor = torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, -1, 0), np.float32))
    return tensor, {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(ids.astype(np.int64)),
                    "masks": torch.from_numpy(np.ascontiguousarray(masks, np.uint8))}


def train_maskrcnn(data: Any, *, out: str | Path, images: str | Path | None = None, class_names: Any = None,
                   epochs: int = 20, max_minutes: float | None = None, batch_size: int = 2, lr: float = 1e-4,
                   weight_decay: float = 1e-4, augment: bool = True, seed: int = 0, device: str | None = None,
                   quiet: bool = True, **model_args: Any) -> tuple[MaskRCNNModel, dict[str, Any]]:
    """Train a Mask R-CNN on instances; writes ``out/best.pt`` (lowest epoch loss) and ``metrics.json``.

    Parameters
    ----------
    data : path-like or list
        A COCO json file (images under ``images``), or (image, instance labels[, class ids]) items.
    out : path-like
        Run folder.
    class_names : sequence of str, optional
        Background first; default from the COCO categories, else ``("background", "object")``.
    epochs, max_minutes, batch_size, lr, weight_decay, augment, seed, device
        AdamW with a cosine schedule over ``epochs`` (or the time budget), flips when ``augment``.
    **model_args
        :func:`create_maskrcnn` arguments (``backbone``, ``min_size``, ``max_size``, ``weights``...).

    Returns
    -------
    (MaskRCNNModel, dict)
        The model after the last epoch and the metrics (per-epoch ``train_loss`` and per-step
        ``step_loss`` histories, ``train_seconds``).

    Examples
    --------
    >>> model, metrics = train_maskrcnn("coco/train.json", out="runs/mrcnn", epochs=30)  # doctest: +SKIP
    """
    from seglab.core.atomic import atomic_write_text
    from seglab.deep.models import default_device, set_threads

    if isinstance(data, (str, Path)):
        samples, names = read_coco(data, images)
    else:
        samples, names = instance_samples(data), ("background", "object")
    names = tuple(class_names) if class_names else names
    if not samples:
        raise expected("data", "at least one image with instances", 0)
    top = max((int(s.class_ids.max()) for s in samples if s.class_ids.size), default=0)
    if top >= len(names):
        raise InputError(f"class ids must be below {len(names)} (the class names), got {top}")
    set_threads()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = device or default_device()
    model = MaskRCNNModel.create(names, **model_args)
    module = model.module.to(device).train()
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=lr,
                                  weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(samples) / batch_size)
    total, step, start, history, best = epochs * steps_per_epoch, 0, time.perf_counter(), [], math.inf
    step_losses: list[float] = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.train_config = {"task": "instances", "epochs": epochs, "batch_size": batch_size, "lr": lr,
                          "max_minutes": max_minutes, "seed": seed, "train_images": len(samples)}
    reason = "epochs"
    for epoch in range(1, epochs + 1):
        losses = []
        order = rng.permutation(len(samples))
        for first in range(0, len(samples), batch_size):
            batch = [_target(samples[i], augment and rng.random() < 0.5, augment and rng.random() < 0.5)
                     for i in order[first:first + batch_size]]
            progress = step / total
            if max_minutes:
                progress = max(progress, (time.perf_counter() - start) / (60 * max_minutes))
            for group in optimizer.param_groups:
                group["lr"] = lr * (0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) + 1e-3)
            loss_dict = module([x.to(device) for x, _ in batch],
                               [{k: v.to(device) for k, v in t.items()} for _, t in batch])
            loss = sum(loss_dict.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step_losses.append(losses[-1])
            step += 1
        history.append(float(np.mean(losses)))
        if history[-1] < best:
            best = history[-1]
            model.metrics = {"epoch": epoch, "loss": best}
            model.save(out / "best.pt")
        if max_minutes and time.perf_counter() - start >= 60 * max_minutes:
            reason = "time budget"
            break
    metrics = {"best": model.metrics, "epochs_run": epoch, "stopped_by": reason,
               "train_seconds": round(time.perf_counter() - start, 2), "history": {"train_loss": history, "step_loss": step_losses},
               "checkpoint": str(out / "best.pt")}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    module.eval()
    return model, metrics
