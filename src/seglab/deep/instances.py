"""Instances from a U-Net with a boundary class plus watershed (learns from a few images).

The classic trick (Caicedo et al. 2019, "nucleus segmentation across imaging experiments"): an
instance label image becomes a 3-class semantic target -- background (0), object interior (1)
and object boundary (2, the inner boundary pixels of every instance, so touching objects are
separated by their boundaries) -- so the ordinary trainer learns it unchanged. At prediction,
foreground = interior + boundary, seeds = connected interior blobs, and a watershed on the
interior probability grows each seed over the foreground: one region per instance, scored by
its mean foreground probability.

``train_instances(data, out=RUN)`` writes a checkpoint whose ``train_config["task"]`` is
``"instances"``; the ``"model"`` method (and :func:`predict_instances`) then returns instances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError, expected
from seglab.core.segmentation import Segmentation

__all__ = [
    "INSTANCE_CLASSES",
    "instance_pairs",
    "instance_targets",
    "instances_from_probabilities",
    "predict_instances",
    "read_instance_folder",
    "train_instances",
]

#: The three semantic classes an instance label image is turned into.
INSTANCE_CLASSES = ("background", "interior", "boundary")


def instance_targets(labels: np.ndarray, *, ignore: np.ndarray | None = None) -> np.ndarray:
    """(H, W) instance labels (0 = background, one id per object) -> uint8 0/1/2 target.

    Parameters
    ----------
    labels : (H, W) integer ndarray
        Instance label image; any positive ids (not necessarily consecutive).
    ignore : (H, W) bool ndarray, optional
        Pixels set to 255 (ignored by the losses).

    Returns
    -------
    (H, W) uint8
        0 background, 1 interior, 2 boundary (inner boundary of each instance).

    Examples
    --------
    >>> labels = np.zeros((5, 7), int); labels[1:4, 1:3] = 1; labels[1:4, 3:6] = 2
    >>> instance_targets(labels)[2].tolist()
    [0, 2, 2, 2, 1, 2, 0]
    """
    from skimage.segmentation import find_boundaries

    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iub":
        raise expected("labels", "a 2D integer instance label image", labels)
    target = (labels > 0).astype(np.uint8)
    target[find_boundaries(labels, mode="inner") & (labels > 0)] = 2
    if ignore is not None:
        target[np.asarray(ignore, bool)] = 255
    return target


def _raw_mask(path: Path) -> np.ndarray:
    from seglab.core.image import load_image

    mask = load_image(path)
    if mask.ndim == 3:  # colour-coded instances: one id per distinct colour
        flat = mask.reshape(-1, mask.shape[-1])
        _, inverse = np.unique(flat, axis=0, return_inverse=True)
        ids = inverse.reshape(mask.shape[:2]).astype(np.int32)
        background = ids[np.all(mask == 0, axis=-1)]
        return np.where(ids == (background[0] if background.size else -1), 0, ids + 1)
    return mask.astype(np.int64)


def read_instance_folder(root: str | Path, *, images: str = "images", masks: str = "masks") -> list[Any]:
    """``root/images/NAME.*`` with ``root/masks/NAME.png`` instance label images -> 3-class Pairs.

    Masks are grey (uint8/uint16, one id per object) or colour (one colour per object).
    """
    from seglab.core.image import IMAGE_SUFFIXES, load_image
    from seglab.deep.data import Pair

    root = Path(root)
    image_dir, mask_dir = root / images, root / masks
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise InputError(f"folder dataset {str(root)!r} must have a {folder.name}/ subfolder, got none")
    by_stem = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [Pair(load_image(p), instance_targets(_raw_mask(by_stem[p.stem])), p.stem)
             for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in by_stem]
    if not pairs:
        raise InputError(f"folder dataset {str(root)!r} must hold images with masks of the same name, got none")
    return pairs


def instance_pairs(data: Any, format: str = "folder") -> list[Any]:
    """Training data for instances: a folder, or (image, instance labels | Segmentation) pairs -> Pairs."""
    from seglab.deep.data import Pair

    if isinstance(data, (str, Path)):
        if format not in ("folder", "coco"):
            raise InputError(f"format must be one of 'folder', 'coco' for instance training, got {format!r}")
        if not Path(data).exists():
            raise InputError(f"dataset folder {str(data)!r} does not exist")
        if format == "coco":
            from seglab.datasets import read_dataset

            return [Pair(s.image, instance_targets(s.target.labels), str(s.meta.get("name", "")))
                    for s in read_dataset(data, "coco")]
        return read_instance_folder(data)
    pairs = []
    for k, item in enumerate(data):
        if isinstance(item, Pair):
            pairs.append(item)
            continue
        image, labels = item[0], item[1]
        labels = labels.labels if isinstance(labels, Segmentation) else np.asarray(labels)
        pairs.append(Pair(np.asarray(image), instance_targets(labels), str(k)))
    return pairs


def train_instances(data: Any, *, out: str | Path, val: Any = None, format: str = "folder",
                    **options: Any) -> Any:
    """Train a U-Net (or any smp architecture) to find instances; see :func:`seglab.deep.train`.

    Parameters
    ----------
    data, val : folder or list of (image, instance labels)
        Instance label images (0 = background, one id per object); see :func:`instance_pairs`.
    out : path-like
        Run folder; ``best.pt`` predicts instances through the ``"model"`` method.
    format : {"folder"}
    **options
        Trainer options (``epochs``, ``img_size``, ``encoder``, ``max_minutes``...);
        ``class_weights`` defaults to ``[1, 1, 3]`` (boundaries are thin and separate touching objects).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> result = train_instances("data/nuclei", out="runs/nuclei", epochs=30)  # doctest: +SKIP
    >>> seglab.segment(image, "model", model="runs/nuclei/best.pt")  # doctest: +SKIP
    """
    from seglab.deep.train import train

    options.pop("task", None)
    options.pop("class_names", None)
    return train(data, out=out, val=val, format=format, task="instances", **options)


def instances_from_probabilities(
    probs: np.ndarray, *, threshold: float = 0.5, seed_threshold: float = 0.5, min_seed_area: int = 4,
    min_area: int = 8, class_name: str = "object",
) -> Segmentation:
    """Background/interior/boundary probabilities (3, H, W) -> one region per instance.

    Foreground is ``1 - P(background) > threshold``; seeds are connected components of
    ``P(interior) > seed_threshold`` with at least ``min_seed_area`` pixels; a watershed on
    ``1 - P(interior)`` grows them over the foreground. Foreground components left without a
    seed become instances of their own; instances smaller than ``min_area`` are dropped.
    Scores are the mean foreground probability over each instance.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    probs = np.asarray(probs, np.float32)
    if probs.ndim != 3 or probs.shape[0] != 3:
        raise expected("probs", "(3, H, W) background/interior/boundary probabilities", probs.shape)
    foreground_p = 1.0 - probs[0]
    foreground = foreground_p > threshold
    seeds, _ = ndimage.label(probs[1] > seed_threshold)
    if min_seed_area > 1:
        seeds = _drop_small(seeds, min_seed_area)
    labels = watershed(1.0 - probs[1], markers=seeds, mask=foreground)
    orphans, n_orphans = ndimage.label(foreground & (labels == 0))
    if n_orphans:
        labels = np.where(orphans > 0, orphans + labels.max(), labels)
    if min_area > 1:
        labels = _drop_small(labels, min_area)
    seg = Segmentation.from_labels(labels.astype(np.int32))
    n = int(seg.labels.max())
    sums = np.bincount(seg.labels.ravel(), weights=foreground_p.ravel(), minlength=n + 1)[1:]
    counts = np.bincount(seg.labels.ravel(), minlength=n + 1)[1:]
    scores = sums / np.maximum(counts, 1)
    return Segmentation(seg.labels, class_ids=np.ones(n, np.int64), scores=scores,
                        class_names=("background", class_name), probabilities=probs,
                        meta={"method": "model", "task": "instances"})


def _drop_small(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Set labels with fewer than ``min_area`` pixels to 0."""
    counts = np.bincount(labels.ravel())
    small = counts < min_area
    small[0] = False
    return np.where(small[labels], 0, labels) if small.any() else labels


def predict_instances(model: Any, image: Any, *, threshold: float = 0.5, seed_threshold: float = 0.5,
                      min_seed_area: int = 4, min_area: int = 8, **kwargs: Any) -> Segmentation:
    """Instances of ``image`` with a boundary model (DeepModel or checkpoint path).

    ``kwargs`` go to :func:`seglab.deep.predict.predict` (``tile_size``, ``overlap``, ``tta``,
    ``backend``...); the other parameters to :func:`instances_from_probabilities`.

    Raises
    ------
    InputError
        The model was not trained for instances (3 classes background/interior/boundary).
    """
    from seglab.deep.models import DeepModel, load
    from seglab.deep.predict import predict

    if not isinstance(model, DeepModel):
        model = load(model, device=kwargs.get("device"))
    if model.classes != 3:
        raise expected("model", "an instance model with classes background/interior/boundary",
                       model.class_names)
    semantic = predict(model, image, **kwargs)
    return instances_from_probabilities(semantic.probabilities, threshold=threshold,
                                        seed_threshold=seed_threshold, min_seed_area=min_seed_area,
                                        min_area=min_area)
